"""Rate-limit headroom, read from an LLM provider's response headers.

Only these headers are read, case-insensitively, and no other (never an authorization header):

- OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``; resets are durations (``6m0s``, ``20ms``).
- Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``; resets
  are RFC 3339 times, turned into seconds from now.
- ``retry-after-ms`` (milliseconds) or else ``retry-after`` (seconds or an HTTP date).

:func:`read_rate_limits` answers ``None`` after one C-level scan of the header names when none of them is present;
when some are, it keeps only those names (one pass, no decoding), looks up each known name directly and parses only
what is there, with reset values remembered by their raw text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, NamedTuple, cast

from otel_agentperf import semconv
from otel_agentperf.core.instruments import Instruments

_second = itemgetter(1)
_third = itemgetter(2)
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
        names = _RAW_NAMES
        values: dict[Any, Any] = {key: value for _, key, value in triples if key in names}
        return _parse(values.get, _RAW_LOOKUPS, now)
    text = "\n".join(headers).lower()
    if "atelimit-" not in text and "retry-after" not in text:
        return None
    values = {key.lower(): headers[key] for key in headers if key.lower() in _HEADERS}
    return _parse(values.get, _LOOKUPS, now)


class _Lookups(NamedTuple):
    kinds: tuple[tuple[int, Any, Any, Any, Callable[[Any, float], float | None]], ...]
    retry_after_ms: Any
    retry_after: Any


def _parse(get: Callable[[Any], Any], names: _Lookups, now: float | None) -> RateLimits | None:
    """Look up each known name directly (a few dict lookups, never a loop over all headers); parse what is there."""
    kinds: list[KindLimit | None] = [None, None, None, None]
    found = False
    for index, limit_name, remaining_name, reset_name, reset in names.kinds:
        limit, remaining, reset_value = get(limit_name), get(remaining_name), get(reset_name)
        if limit is None and remaining is None and reset_value is None:
            continue
        if reset_value is not None:
            if now is None:
                now = time.time()
            reset_value = reset(reset_value, now)
        limits = _make_kind((_count(limit), _count(remaining), reset_value))
        if limits != _NOTHING:
            kinds[index], found = limits, True
    retry_after = None
    value = get(names.retry_after_ms)
    if value is not None:
        retry_after = _retry_after_ms(_text(value), 0.0)
    if retry_after is None and (value := get(names.retry_after)) is not None:
        retry_after = _retry_after(_text(value), time.time() if now is None else now)
    if not found:
        return None if retry_after is None else RateLimits(retry_after=retry_after)
    return RateLimits(kinds[0], kinds[1], kinds[2], kinds[3], retry_after)


_NOTHING = KindLimit(None, None, None)
_make_kind = KindLimit._make  # tuple.__new__: no Python-level __new__ frame
_MISSING: Any = object()
_RESET_DURATIONS: dict[str | bytes, float | None] = {}
_RESET_TIMES: dict[str | bytes, float | None] = {}
_MAX_REMEMBERED = 256


def _remember(cache: dict[str | bytes, float | None], value: str | bytes, parsed: float | None) -> None:
    """Keep a parsed reset value by its raw text (a plain dict look-up next time); start over when full."""
    if len(cache) >= _MAX_REMEMBERED:
        cache.clear()
    cache[value] = parsed


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value.strip()


def _count(value: str | bytes | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and value.isascii() else None


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


def _reset_in(value: str | bytes, now: float) -> float | None:
    found = _RESET_DURATIONS.get(value, _MISSING)  # one get: another thread may clear the cache meanwhile
    if found is not _MISSING:
        return cast("float | None", found)
    seconds = _duration(_text(value))
    _remember(_RESET_DURATIONS, value, seconds)
    return seconds


@lru_cache(maxsize=64)
def _timestamp(value: str) -> float | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _reset_at(value: str | bytes, now: float) -> float | None:
    moment = cast("float | None", _RESET_TIMES.get(value, _MISSING))
    if moment is _MISSING:
        moment = _timestamp(_text(value))
        _remember(_RESET_TIMES, value, moment)
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


def _lookups(encode: Callable[[str], Any]) -> _Lookups:
    kinds = []
    for index, kind in enumerate(semconv.RATE_LIMIT_KINDS):
        if kind in ("requests", "tokens"):
            names = (f"x-ratelimit-{field}-{kind}" for field in ("limit", "remaining", "reset"))
            kinds.append((index, *map(encode, names), _reset_in))
        prefix = f"anthropic-ratelimit-{kind.replace('_', '-')}"
        names = (f"{prefix}-{field}" for field in ("limit", "remaining", "reset"))
        kinds.append((index, *map(encode, names), _reset_at))
    return _Lookups(tuple(kinds), encode("retry-after-ms"), encode("retry-after"))


def _latin1(name: str) -> bytes:
    return name.encode("latin-1")


_LOOKUPS = _lookups(str)
_RAW_LOOKUPS = _lookups(_latin1)
HEADER_NAMES = frozenset(name for kind in _LOOKUPS.kinds for name in kind[1:4]) | {
    _LOOKUPS.retry_after_ms,
    _LOOKUPS.retry_after,
}
"""Every header name this module reads (lower case)."""
_HEADERS = HEADER_NAMES
_RAW_NAMES = frozenset(map(_latin1, HEADER_NAMES))


class RateLimitInstruments:
    """The rate-limit metrics: headroom gauge, 429 counter and the histogram of the waits 429s asked for."""

    __slots__ = ("headroom", "rejections", "retry_after")

    def __init__(self, instruments: Instruments) -> None:
        self.headroom = instruments.gauge(semconv.AGENTPERF_RATE_LIMIT_HEADROOM)
        self.rejections = instruments.counter(semconv.AGENTPERF_RATE_LIMIT_REJECTIONS)
        self.retry_after = instruments.histogram(semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER_DURATION)

    def record(self, limits: RateLimits | None, attributes: Mapping[str, Any], status_code: int | None = None) -> None:
        """Record one response; ``attributes`` are low-cardinality (provider and request model)."""
        if limits is not None:
            for kind, ratio in limits.headroom().items():
                self.headroom.set(ratio, {**attributes, semconv.AGENTPERF_RATE_LIMIT_KIND: kind})
        if status_code == 429:
            self.rejections.add(1, attributes)
            if limits is not None and limits.retry_after is not None:
                self.retry_after.record(limits.retry_after, attributes)
