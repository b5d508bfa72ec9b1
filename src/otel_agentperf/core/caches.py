"""The cache-recording core that every cache instrumentation shares.

Each lookup is counted in ``agentperf.cache.requests`` (``{request}``, one per key) with ``agentperf.cache.name``,
``agentperf.cache.system`` and ``agentperf.cache.result`` (``hit`` | ``miss``); the time the lookup call took goes to
``agentperf.cache.lookup.duration`` (seconds, buckets from 1 µs to 1 s, see ``semconv.CACHE_LOOKUP_BUCKETS``) with the
name and system; the current run (``agent_run()``) counts the hit or miss; and the current span gets two counter
attributes, ``agentperf.cache.hits`` and ``agentperf.cache.misses``, so that a trace tells which step hit.

Hit ratio per cache in Prometheus (dots become underscores, counters get ``_total``)::

    sum by (agentperf_cache_name) (rate(agentperf_cache_requests_total{agentperf_cache_result="hit"}[5m]))
      / sum by (agentperf_cache_name) (rate(agentperf_cache_requests_total[5m]))

Why counters on the span and not one event per lookup: an in-process lookup takes well under a microsecond, so what
the instrumentation adds is the cost, and an event costs several times an attribute update; events would also fill the
span's event limit (128) in any loop and push out retry events and exceptions. Counts on a span updated from several
threads at once may miss an increment (read, then write); the metrics are exact.

The two metric points dominate the cost (``benchmarks/cache_overhead.py``): ``lookup_duration=False`` (or
``OTEL_AGENTPERF_CACHE_LOOKUP_DURATION=false``) drops the histogram. Inside a sampled span the SDK's default exemplar
filter (``trace_based``) also offers each point to its exemplar reservoir, which costs more than the span's counter
update; ``OTEL_METRICS_EXEMPLAR_FILTER=always_off`` turns exemplars off for the whole process.

A lookup that raises (a connection error, an unhashable key) is not counted: it is neither a hit nor a miss.
"""

from __future__ import annotations

from timeit import default_timer
from typing import TYPE_CHECKING, Any, Final, TypeVar

from opentelemetry.trace import get_current_span
from opentelemetry.util.types import AttributeValue

from otel_agentperf import environment_variables as env
from otel_agentperf import semconv
from otel_agentperf.core.instruments import Instruments
from otel_agentperf.core.settings import read_bool
from otel_agentperf.core.tally import record_cache_lookup
from otel_agentperf.exceptions import ConfigurationError

if TYPE_CHECKING:
    from otel_agentperf.core.guard import ErrorReporter

NAME_ATTRIBUTE: Final = "_otel_agentperf_cache_name"
_MAX_NAMES = 1000  # attribute sets kept per recorder; names beyond it are built per lookup

_T = TypeVar("_T")
_Sets = tuple[dict[str, AttributeValue], dict[str, AttributeValue], dict[str, AttributeValue]]


def name_cache(cache: _T, name: str) -> _T:
    """Give ``cache`` the name its lookups carry as ``agentperf.cache.name``; returns ``cache``.

    Example::

        embeddings = name_cache(cachetools.LRUCache(maxsize=1024), "embeddings")
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"Expected name to be a non-empty string, got {name!r}")
    try:
        setattr(cache, NAME_ATTRIBUTE, name)
    except AttributeError:
        raise ConfigurationError(f"{type(cache).__name__} objects take no name (no instance attributes)") from None
    return cache


def cache_name(cache: object) -> str:
    """The name given with :func:`name_cache`, else the cache's class name."""
    name = getattr(cache, NAME_ATTRIBUTE, None)
    return name if isinstance(name, str) else type(cache).__name__


def read_lookup_duration(kwargs: dict[str, Any]) -> bool:
    """Whether to record the lookup-duration histogram (kwarg ``lookup_duration``, env, default true)."""
    return read_bool(env.OTEL_AGENTPERF_CACHE_LOOKUP_DURATION, "lookup_duration", kwargs.get("lookup_duration"), True)


class CacheRecorder:
    """The cache instruments of one instrumentation, and how one lookup is recorded."""

    __slots__ = ("system", "reporter", "_requests", "_duration", "_sets")

    def __init__(
        self, instruments: Instruments, system: str, reporter: ErrorReporter, lookup_duration: bool = True
    ) -> None:
        self.system = system
        self.reporter = reporter
        self._requests = instruments.counter(semconv.AGENTPERF_CACHE_REQUESTS)
        self._duration = instruments.histogram(semconv.AGENTPERF_CACHE_LOOKUP_DURATION) if lookup_duration else None
        self._sets: dict[str, _Sets] = {}

    def record(self, name: str, hits: int, misses: int, started: float, ended: float | None = None) -> None:
        """Record one lookup call that began at ``started`` (``default_timer()``) and found ``hits`` of its keys.

        ``ended`` defaults to now. Never raises, except in strict mode: a failure goes to the error reporter.
        """
        elapsed = (default_timer() if ended is None else ended) - started
        try:
            self._record(name, hits, misses, elapsed)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report(f"{self.system} cache lookup", error)

    def record_cache(self, cache: object, hit: bool, started: float) -> None:
        """Record one single-key lookup in ``cache``, named by :func:`cache_name`; never raises (but in strict mode)."""
        elapsed = default_timer() - started
        try:
            self._record(cache_name(cache), int(hit), int(not hit), elapsed)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report(f"{self.system} cache lookup", error)

    def _record(self, name: str, hits: int, misses: int, elapsed: float) -> None:
        hit_set, miss_set, duration_set = self._attribute_sets(name)
        if hits:
            self._requests.add(hits, hit_set)
        if misses:
            self._requests.add(misses, miss_set)
        if self._duration is not None:
            self._duration.record(max(elapsed, 0.0), duration_set)
        for _ in range(hits):
            record_cache_lookup(True)
        for _ in range(misses):
            record_cache_lookup(False)
        span = get_current_span()
        if span.is_recording():
            counts = getattr(span, "attributes", None) or {}
            if hits:
                span.set_attribute(semconv.AGENTPERF_CACHE_HITS, _count(counts, semconv.AGENTPERF_CACHE_HITS) + hits)
            if misses:
                total = _count(counts, semconv.AGENTPERF_CACHE_MISSES) + misses
                span.set_attribute(semconv.AGENTPERF_CACHE_MISSES, total)

    def _attribute_sets(self, name: str) -> _Sets:
        sets = self._sets.get(name)
        if sets is None:
            base: dict[str, AttributeValue] = {
                semconv.AGENTPERF_CACHE_NAME: name,
                semconv.AGENTPERF_CACHE_SYSTEM: self.system,
            }
            sets = (
                {**base, semconv.AGENTPERF_CACHE_RESULT: semconv.CACHE_RESULT_HIT},
                {**base, semconv.AGENTPERF_CACHE_RESULT: semconv.CACHE_RESULT_MISS},
                base,
            )
            if len(self._sets) < _MAX_NAMES:
                self._sets[name] = sets
        return sets


def _count(attributes: Any, key: str) -> int:
    value = attributes.get(key)
    return value if isinstance(value, int) else 0
