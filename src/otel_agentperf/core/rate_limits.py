"""Rate-limit headroom, read from an LLM provider's response headers.

Only these headers are read, case-insensitively, and no other (never an authorization header):

- OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``; resets are durations (``6m0s``, ``20ms``).
- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``; resets
  are RFC 3339 times, turned into seconds from now.
- ``retry-after-ms`` (milliseconds) or else ``retry-after`` (seconds or an HTTP date).

:func:`read_rate_limits` turns them into the span attributes ``agentperf.rate_limit.*``. When none is present it
answers ``None`` after one C-level scan of the header names; when some are, it visits only those (one pass over the
names, then one step per header found), with reset values remembered by their raw text.

:class:`RateLimitInstruments` keeps the last limits per provider and model and turns them into the headroom gauge
(``remaining / limit``) when metrics are collected, so a response costs one dictionary store on the caller's path.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple

from opentelemetry.metrics import CallbackOptions, Observation

from otel_agentperf import semconv
from otel_agentperf.core.instruments import Instruments

RateLimits = dict[str, int | float]
"""Span attributes ``agentperf.rate_limit.<kind>.<limit|remaining|reset>`` and ``agentperf.rate_limit.retry_after``."""

_second = itemgetter(1)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_MAX_REMEMBERED = 256
_RETRY_AFTER_SECONDS = "retry-after"
"""Where ``retry-after`` waits while it is unknown whether ``retry-after-ms`` (which wins) is there too."""


def read_rate_limits(headers: Mapping[str, str] | Any, now: float | None = None) -> RateLimits | None:
    """The rate-limit span attributes a response's headers give, or ``None`` if they give none.

    Args:
        headers: the response headers: an ``httpx.Headers`` or any mapping of names to values.
        now: the current time (``time.time()``), to turn Anthropic's reset times into seconds.
    """
    triples = getattr(headers, "_list", None)  # httpx.Headers: (raw name, lower-case name, value) triples
    if type(triples) is list and (not triples or len(triples[0]) == 3):
        if _RAW_NAMES.isdisjoint(map(_second, triples)):  # C-level: no Python step per header
            return None
        return _parse([triple for triple in triples if triple[1] in _RAW_NAMES], _RAW_FIELDS, now)
    text = "\n".join(headers).lower()
    if "ratelimit-" not in text and "retry-after" not in text:
        return None
    found = [
        (name, lower, value)
        for name in headers
        if (lower := name.lower()) in _FIELDS and isinstance(value := headers[name], (str, bytes))
    ]
    return _parse(found, _FIELDS, now)


def _parse(found: Iterable[tuple[Any, Any, Any]], fields: Mapping[Any, Field], now: float | None) -> RateLimits | None:
    """The attributes of the ``(name, lower-case name, value)`` headers ``found`` (only names of ``fields``)."""
    attributes: RateLimits = {}
    for _, name, value in found:
        attribute, remembered, parse, from_now = fields[name]
        if parse is None:  # a remaining count: new with every response
            try:
                count = int(value)
            except ValueError:
                continue
            if count >= 0:
                attributes[attribute] = count
            continue
        if remembered is not None:  # a limit or a reset, the same in many responses: parsed once
            parsed = remembered.get(value, _MISSING)  # one get: another thread may clear the cache meanwhile
            if parsed is _MISSING:
                parsed = _remember(remembered, value, parse)
        else:
            if now is None:
                now = time.time()
            parsed = parse(value, now)
        if parsed is None:
            continue
        if from_now:  # a moment: seconds from now
            if now is None:
                now = time.time()
            parsed = parsed - now if parsed > now else 0.0
        attributes[attribute] = parsed
    if _RETRY_AFTER_SECONDS in attributes:
        attributes.setdefault(semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER, attributes.pop(_RETRY_AFTER_SECONDS))
    return attributes or None


def headroom(limits: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """``(kind, remaining / limit)``, from 0 to 1, for each kind whose limit and remaining count are both known."""
    for kind, limit_name, remaining_name in _HEADROOM_NAMES:
        limit, remaining = limits.get(limit_name), limits.get(remaining_name)
        if limit and remaining is not None:
            yield kind, min(max(remaining / limit, 0.0), 1.0)


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip()


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


@lru_cache(maxsize=64)
def _timestamp(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


_MISSING: Any = object()


def _remember(cache: dict[Any, Any], value: str | bytes, parse: Callable[..., Any]) -> Any:
    """``parse(value)``, kept by the raw value for a plain dict look-up next time; the cache starts over when full."""
    found = cache[value] = parse(_text(value))
    if len(cache) > _MAX_REMEMBERED:
        cache.clear()
    return found


def _limit(value: str) -> int | None:
    return int(value) if value.isdigit() and value.isascii() else None


def _retry_after(value: str | bytes, now: float) -> float | None:
    text = _text(value)
    seconds = _duration(text)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now, 0.0)


def _retry_after_ms(value: str | bytes, now: float) -> float | None:
    try:
        return max(float(value) / 1000, 0.0)
    except ValueError:
        return None


class Field(NamedTuple):
    """How one header is read."""

    attribute: str
    """The span attribute it sets."""
    remembered: dict[Any, Any] | None
    """Parsed values by raw value, for values that repeat across responses (limits, resets)."""
    parse: Callable[..., Any] | None
    """``parse(text)`` when remembered, else ``parse(value, now)``; ``None`` for a count (``int``)."""
    from_now: bool = False
    """Whether ``parse`` gives a moment (seconds since the epoch) to turn into seconds from now."""


def _fields() -> dict[str, Field]:
    """Each header name read (lower case) and how."""
    fields: dict[str, Field] = {}
    limits: dict[Any, Any] = {}
    durations: dict[Any, Any] = {}
    moments: dict[Any, Any] = {}
    for kind in semconv.RATE_LIMIT_KINDS:
        prefix = f"{semconv.AGENTPERF_RATE_LIMIT_PREFIX}{kind}."
        limit, remaining = Field(prefix + "limit", limits, _limit), Field(prefix + "remaining", None, None)
        if kind in ("requests", "tokens"):
            reset = Field(prefix + "reset", durations, _duration)
            for part, field in (("limit", limit), ("remaining", remaining), ("reset", reset)):
                fields[f"x-ratelimit-{part}-{kind}"] = field
        reset = Field(prefix + "reset", moments, _timestamp, from_now=True)
        for part, field in (("limit", limit), ("remaining", remaining), ("reset", reset)):
            fields[f"anthropic-ratelimit-{kind.replace('_', '-')}-{part}"] = field
    fields["retry-after-ms"] = Field(semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER, None, _retry_after_ms)
    fields["retry-after"] = Field(_RETRY_AFTER_SECONDS, None, _retry_after)
    return fields


_FIELDS = _fields()
_RAW_FIELDS = {name.encode("latin-1"): field for name, field in _FIELDS.items()}
_RAW_NAMES = frozenset(_RAW_FIELDS)
HEADER_NAMES = frozenset(_FIELDS)
"""Every header name this module reads (lower case)."""
_PREFIX = semconv.AGENTPERF_RATE_LIMIT_PREFIX
_HEADROOM_NAMES = tuple(
    (kind, f"{_PREFIX}{kind}.limit", f"{_PREFIX}{kind}.remaining") for kind in semconv.RATE_LIMIT_KINDS
)
HEADROOM_KEYS = frozenset(name for _, *names in _HEADROOM_NAMES for name in names)
"""The span attributes :func:`headroom` reads."""

MAX_TRACKED = 512
"""Provider and model pairs whose headroom is kept; more are not tracked (the gauge's series stay bounded)."""


class RateLimitInstruments:
    """The rate-limit metrics of one meter: the headroom gauge, the 429 counter and the waits 429s asked for."""

    __slots__ = ("_latest", "rejections", "retry_after")

    def __init__(self, instruments: Instruments) -> None:
        self._latest: dict[tuple[Any, Any], RateLimits] = {}
        self.rejections = instruments.counter(semconv.AGENTPERF_RATE_LIMIT_REJECTIONS)
        self.retry_after = instruments.histogram(semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER_DURATION)
        instruments.observe(
            "gauge",
            semconv.AGENTPERF_RATE_LIMIT_HEADROOM,
            semconv.UNIT_RATIO,
            "Share of the provider's rate limit left after the last response (remaining / limit).",
            self._observe,
        )

    def record(self, call: Mapping[str, Any], limits: RateLimits | None, status_code: int | None = None) -> None:
        """Record one response of a call whose metric attributes are ``call`` (provider and request model are read)."""
        key = (call.get(semconv.GEN_AI_PROVIDER_NAME), call.get(semconv.GEN_AI_REQUEST_MODEL))
        latest = self._latest
        if limits is not None and _names_limits(limits) and (key in latest or len(latest) < MAX_TRACKED):
            latest[key] = limits
        if status_code == 429:
            attributes = _attributes(key)
            self.rejections.add(1, attributes)
            retry_after = None if limits is None else limits.get(semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER)
            if retry_after is not None:
                self.retry_after.record(retry_after, attributes)

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        for key, limits in self._latest.copy().items():  # a copy taken atomically: responses go on meanwhile
            attributes = _attributes(key)
            for kind, ratio in headroom(limits):
                yield Observation(ratio, {**attributes, semconv.AGENTPERF_RATE_LIMIT_KIND: kind})


def _names_limits(limits: RateLimits) -> bool:
    """Whether a response named any limit: a 429 with only ``retry-after`` keeps the headroom the last one gave."""
    return len(limits) > (semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER in limits)


def _attributes(key: tuple[Any, Any]) -> dict[str, Any]:
    provider, model = key
    attributes = {}
    if provider is not None:
        attributes[semconv.GEN_AI_PROVIDER_NAME] = provider
    if model is not None:
        attributes[semconv.GEN_AI_REQUEST_MODEL] = model
    return attributes
