"""OpenTelemetry instrumentation for diskcache: hits, misses and lookup durations of every diskcache cache.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_diskcache``. By
hand::

    from otel_agentperf.instrumentation.diskcache import DiskcacheInstrumentor, name_cache

    DiskcacheInstrumentor().instrument(meter_provider=meter_provider)
    pages = name_cache(diskcache.FanoutCache("/var/cache/pages"), "pages")

    @pages.memoize()
    def fetch(url: str) -> str: ...

Configuration (keyword argument, environment variable, default)
---------------------------------------------------------------
- ``lookup_duration``, ``OTEL_AGENTPERF_CACHE_LOOKUP_DURATION``, ``True``: record ``agentperf.cache.lookup.duration``
  (one SQLite query per lookup).
- ``meter_provider``: defaults to the global one. No span is created: lookups count on the current span.

What is patched
---------------
``diskcache.Cache.get``, through which every read of a value goes: ``cache[key]``, ``get``, ``read``, ``memoize``
decorated functions, and ``FanoutCache``/``DjangoCache`` lookups (each is one ``get`` of one of its shard caches).
``get`` is called with a private default so that a stored value equal to the caller's default still counts as a hit;
the caller gets back exactly what ``get`` would have returned. A lookup that raises (``Timeout``) is not counted.
``key in cache``, ``pop``, ``pull`` and ``peek`` are not lookups of a cached value and are not counted.

Names: ``agentperf.cache.name`` is what :func:`name_cache` gave the cache (for a ``FanoutCache``, its shards take the
name), else ``Cache``.
"""

from __future__ import annotations

from collections.abc import Callable
from timeit import default_timer
from typing import Any, TypeVar

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf.core import caches as _cache
from otel_agentperf.core.caches import CacheRecorder, read_lookup_duration
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.instrumentation.diskcache.package import _instruments

__all__ = ["DiskcacheInstrumentor", "name_cache"]

_SYSTEM = "diskcache"
_MISSING = object()
_T = TypeVar("_T")


def name_cache(cache: _T, name: str) -> _T:
    """Give a diskcache ``Cache`` or ``FanoutCache`` (and its shards) the name its lookups carry; returns ``cache``."""
    _cache.name_cache(cache, name)
    for shard in getattr(cache, "_shards", ()):
        _cache.name_cache(shard, name)
    return cache


class DiskcacheInstrumentor(AgentPerfInstrumentor):
    """Counts the hits and misses of every diskcache cache."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        _, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        recorder = CacheRecorder(instruments, _SYSTEM, reporter, read_lookup_duration(kwargs))
        self._patch("diskcache.core", "Cache.get", _get_wrapper(recorder))


def _get_wrapper(recorder: CacheRecorder) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        if len(args) > 1:
            default, args = args[1], (args[0], _MISSING, *args[2:])
        else:
            default, kwargs = kwargs.get("default"), {**kwargs, "default": _MISSING}
        started = default_timer()
        value = wrapped(*args, **kwargs)
        if value is _MISSING:
            recorder.record_cache(instance, False, started)
            return default
        if type(value) is tuple and value and value[0] is _MISSING:  # expire_time=True or tag=True
            recorder.record_cache(instance, False, started)
            return (default, *value[1:])
        recorder.record_cache(instance, True, started)
        return value

    return wrapper
