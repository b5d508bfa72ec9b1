"""Rate-limit headroom, read from an LLM provider's response headers.

Only these headers are read, case-insensitively, and no other (never an authorization header):

- OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``; resets are durations (``6m0s``, ``20ms``).
- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``; resets
  are RFC 3339 times, turned into seconds from now.
- ``retry-after-ms`` (milliseconds) or else ``retry-after`` (seconds or an HTTP date).

:func:`read_rate_limits` answers ``None`` after one C-level scan of the header names when none of them is present.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from opentelemetry.metrics import Meter

from otel_agentperf import semconv

_second = itemgetter(1)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class KindLimit(NamedTuple):
    """One kind of limit: its size, what remains of it, and the seconds until it resets (``None`` if not reported)."""

    limit: int | None
    remaining: int | None
    reset: float | None


class RateLimits(NamedTuple):
    """What a response said about the caller's rate limits, per kind; ``None`` for what it did not say."""

    requests: KindLimit | None = None
    tokens: KindLimit | None = None
    input_tokens: KindLimit | None = None
    output_tokens: KindLimit | None = None
    retry_after: float | None = None

    def attributes(self) -> dict[str, int | float]:
        """Span attributes ``agentperf.rate_limit.<kind>.<limit|remaining|reset>`` and ``…retry_after``."""
        attributes: dict[str, int | float] = {}
        for kind, names in _ATTRIBUTE_NAMES:
            values = getattr(self, kind)
            if values is not None:
                attributes.update((name, value) for name, value in zip(names, values, strict=True) if value is not None)
        if self.retry_after is not None:
            attributes[semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER] = self.retry_after
        return attributes

    def headroom(self) -> dict[str, float]:
        """``remaining / limit`` (0 to 1) of each kind that reports both, by kind."""
        ratios: dict[str, float] = {}
        for kind in semconv.RATE_LIMIT_KINDS:
            values = getattr(self, kind)
            if values is not None and values.limit and values.remaining is not None:
                ratios[kind] = min(max(values.remaining / values.limit, 0.0), 1.0)
        return ratios


_ATTRIBUTE_NAMES = tuple(
    (kind, tuple(f"{semconv.AGENTPERF_RATE_LIMIT_PREFIX}{kind}.{field}" for field in KindLimit._fields))
    for kind in semconv.RATE_LIMIT_KINDS
)


def read_rate_limits(headers: Mapping[str, str] | Any, now: float | None = None) -> RateLimits | None:
    """The rate limits a response reported, or ``None`` if it has none of the headers.

    Args:
        headers: the response headers: an ``httpx.Headers`` or any mapping of names to values.
        now: the current time (``time.time()``), to turn Anthropic's reset times into seconds.
    """
    triples = getattr(headers, "_list", None)  # httpx.Headers: (raw name, lower-case name, value) triples
    if type(triples) is list and triples and len(triples[0]) == 3:
        if _RAW_NAMES.isdisjoint(map(_second, triples)):  # a C-level scan while the headers are absent
            return None
        found = [
            (spec, value.decode("latin-1").strip()) for _, key, value in triples if (spec := _RAW_HEADERS.get(key))
        ]
    else:
        text = "\n".join(headers).lower()
        if "atelimit-" not in text and "retry-after" not in text:
            return None
        found = [(spec, headers[key].strip()) for key in headers if (spec := _HEADERS.get(key.lower()))]
    return _parse(found, time.time() if now is None else now)


_Spec = tuple[str, int, "Callable[[str, float], Any]"]


def _parse(found: list[tuple[_Spec, str]], now: float) -> RateLimits | None:
    fields: dict[str, list[Any]] = {}
    for (kind, index, parse), value in found:
        parsed = parse(value, now)
        if parsed is not None:
            if kind not in fields:
                fields[kind] = [None, None, None]
            fields[kind][index] = parsed
    retry_after = fields.pop("retry-after-ms", fields.pop("retry-after", (None,)))[0]
    if not fields:
        return None if retry_after is None else RateLimits(retry_after=retry_after)
    kinds = [KindLimit._make(fields[kind]) if kind in fields else None for kind in semconv.RATE_LIMIT_KINDS]
    return RateLimits._make((*kinds, retry_after))


def _count(value: str, _now: float) -> int | None:
    return int(value) if value.isdigit() else None


@lru_cache(maxsize=256)
def _duration(value: str) -> float | None:
    """Seconds in a Go-style duration (``6m0s``, ``20ms``, ``1.5s``, ``2h3m``) or a plain number of seconds."""
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        return None
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _reset_in(value: str, now: float) -> float | None:
    return _duration(value)


@lru_cache(maxsize=64)
def _timestamp(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _reset_at(value: str, now: float) -> float | None:
    moment = _timestamp(value)
    return None if moment is None else max(moment - now, 0.0)


def _retry_after(value: str, now: float) -> float | None:
    seconds = _duration(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now, 0.0)


def _retry_after_ms(value: str, _now: float) -> float | None:
    try:
        return max(float(value) / 1000, 0.0)
    except ValueError:
        return None


def _header_table() -> dict[str, _Spec]:
    table: dict[str, _Spec] = {}
    for kind in ("requests", "tokens"):
        table[f"x-ratelimit-limit-{kind}"] = (kind, 0, _count)
        table[f"x-ratelimit-remaining-{kind}"] = (kind, 1, _count)
        table[f"x-ratelimit-reset-{kind}"] = (kind, 2, _reset_in)
    for kind in semconv.RATE_LIMIT_KINDS:
        prefix = f"anthropic-ratelimit-{kind.replace('_', '-')}"
        table[f"{prefix}-limit"] = (kind, 0, _count)
        table[f"{prefix}-remaining"] = (kind, 1, _count)
        table[f"{prefix}-reset"] = (kind, 2, _reset_at)
    table["retry-after"] = ("retry-after", 0, _retry_after)
    table["retry-after-ms"] = ("retry-after-ms", 0, _retry_after_ms)
    return table


_HEADERS = _header_table()
_RAW_HEADERS = {name.encode("latin-1"): spec for name, spec in _HEADERS.items()}
_RAW_NAMES = _RAW_HEADERS.keys()
HEADER_NAMES = frozenset(_HEADERS)
"""Every header name this module reads (lower case)."""


class RateLimitInstruments:
    """The rate-limit metrics: headroom gauge, 429 counter and the histogram of the waits 429s asked for."""

    def __init__(self, meter: Meter) -> None:
        self.headroom = meter.create_gauge(
            semconv.AGENTPERF_RATE_LIMIT_HEADROOM,
            unit=semconv.UNIT_RATIO,
            description="Share of the provider's rate limit left after the last response (remaining / limit).",
        )
        self.rejections = meter.create_counter(
            semconv.AGENTPERF_RATE_LIMIT_REJECTIONS,
            unit=semconv.UNIT_RESPONSES,
            description="Responses refused by the provider's rate limit (HTTP 429).",
        )
        self.retry_after = meter.create_histogram(
            semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER_DURATION,
            unit=semconv.UNIT_SECONDS,
            description="Seconds a rate-limited (HTTP 429) response asked the client to wait.",
            explicit_bucket_boundaries_advisory=semconv.RETRY_AFTER_BUCKETS,
        )

    def record(self, limits: RateLimits | None, attributes: Mapping[str, str], status_code: int | None = None) -> None:
        """Record one response; ``attributes`` are low-cardinality (provider and request model)."""
        if limits is not None:
            for kind, ratio in limits.headroom().items():
                self.headroom.set(ratio, {**attributes, semconv.AGENTPERF_RATE_LIMIT_KIND: kind})
        if status_code == 429:
            self.rejections.add(1, attributes)
            if limits is not None and limits.retry_after is not None:
                self.retry_after.record(limits.retry_after, attributes)
