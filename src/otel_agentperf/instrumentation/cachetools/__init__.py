"""OpenTelemetry instrumentation for cachetools: hits, misses and lookup durations of every ``cachetools.Cache``.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_cachetools``. By
hand::

    from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor, name_cache

    CachetoolsInstrumentor().instrument(meter_provider=meter_provider)
    embeddings = name_cache(cachetools.LRUCache(maxsize=1024), "embeddings")

    @cachetools.cached(cachetools.TTLCache(maxsize=256, ttl=60))
    def search(query: str) -> list[str]: ...

    name_cache(search.cache, "search")

Configuration (keyword argument, environment variable, default)
---------------------------------------------------------------
- ``lookup_duration``, ``OTEL_AGENTPERF_CACHE_LOOKUP_DURATION``, ``True``: record ``agentperf.cache.lookup.duration``
  (about half of the cost per lookup, see ``otel_agentperf.core.caches``).
- ``meter_provider``: defaults to the global one. No span is created: lookups count on the current span.

What is patched
---------------
``__getitem__`` and ``get`` of ``cachetools.Cache`` and of each class of the ``cachetools`` module that defines its
own (``LRUCache``, ``LFUCache``, ``TTLCache``, ``TLRUCache``, the timed caches' ``get``). cachetools' subclasses call
the ``Cache.__getitem__`` they bound when their class was created, so the outermost method of each class is the one
wrapped. The patches are on the classes: caches created before ``instrument()``, subclasses, and the ``cached`` and
``cachedmethod`` decorators (which run ``cache[key]`` at each call) are all covered, whether decorated before or after
``instrument()``. A decorator over a plain ``dict`` is not a cachetools cache and is not counted.

``cache[key]`` is a hit when it returns and a miss when it raises ``KeyError`` (``Cache.__missing__``). For a subclass
with its own ``__missing__`` (a loading cache), a lookup is a miss when the key was not stored before it (a
time-to-live entry that expired but is still stored then counts as a hit). ``get(key, default)`` is a hit when the key
is present, even if its value equals ``default``. The lookups that cachetools makes for itself (``popitem`` when it
evicts, ``expire``, ``pop``, ``setdefault``, iterating ``values()``) are not counted: a wrapper counts a call only
when it comes from outside the ``cachetools`` and ``collections.abc`` modules.

Names: ``agentperf.cache.name`` is what :func:`name_cache` gave the cache, else its class name (``LRUCache``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, MutableMapping
from timeit import default_timer
from types import FrameType
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf.core.caches import CacheRecorder, name_cache, read_lookup_duration
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.instrumentation.cachetools.package import _instruments

__all__ = ["CachetoolsInstrumentor", "name_cache"]

_SYSTEM = "cachetools"
_NOT_FOUND = object()


class CachetoolsInstrumentor(AgentPerfInstrumentor):
    """Counts the hits and misses of every cachetools cache."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        import cachetools  # noqa: PLC0415 - imported only once the dependency check passed

        _, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        recorder = CacheRecorder(instruments, _SYSTEM, reporter, read_lookup_duration(kwargs))
        internal = _InternalCallers(cachetools.Cache.__init__.__globals__, MutableMapping.pop.__globals__)
        getitem = _getitem_wrapper(recorder, internal, cachetools.Cache.__dict__["__missing__"])
        get = _get_wrapper(recorder, internal)
        for value in vars(cachetools).values():
            if isinstance(value, type) and issubclass(value, cachetools.Cache):
                if "__getitem__" in value.__dict__:
                    self._patch("cachetools", f"{value.__name__}.__getitem__", getitem)
                if "get" in value.__dict__:
                    self._patch("cachetools", f"{value.__name__}.get", get)


class _InternalCallers:
    """Tells a lookup made by cachetools itself (evicting, expiring, iterating) from a lookup by its user."""

    __slots__ = ("_library", "_abc", "_wrapt")

    def __init__(self, library: dict[str, Any], abc: dict[str, Any]) -> None:
        self._library = library
        self._abc = abc
        # Without its C extension wrapt calls wrappers from Python frames of its own: look past them.
        module = sys.modules.get("wrapt.wrappers")
        self._wrapt = vars(module) if module is not None else None

    def __call__(self) -> bool:
        try:
            frame: FrameType | None = sys._getframe(2)  # 0: here, 1: the wrapper, 2: whoever called the method
        except ValueError:  # no Python caller (a thread's target, an atexit callback): the user's own lookup
            return False
        while frame is not None and frame.f_globals is self._wrapt:
            frame = frame.f_back
        if frame is None:
            return False
        caller = frame.f_globals
        return caller is self._library or caller is self._abc


def _getitem_wrapper(recorder: CacheRecorder, internal: _InternalCallers, default_missing: Any) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if internal() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        stored = None
        if type(instance).__missing__ is not default_missing:
            stored = _is_stored(instance, args, kwargs)
        started = default_timer()
        try:
            value = wrapped(*args, **kwargs)
        except KeyError:
            recorder.record_cache(instance, False, started)
            raise
        recorder.record_cache(instance, stored is not False, started)
        return value

    return wrapper


def _get_wrapper(recorder: CacheRecorder, internal: _InternalCallers) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if internal() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        if len(args) == 1 and not kwargs:
            key, default = args[0], None
        elif len(args) == 2 and not kwargs:
            key, default = args
        elif len(args) == 1 and kwargs.keys() == {"default"}:
            key, default = args[0], kwargs["default"]
        else:  # an unusual spelling: leave it alone, uncounted
            return wrapped(*args, **kwargs)
        started = default_timer()
        value = wrapped(key, _NOT_FOUND)
        if value is _NOT_FOUND:
            recorder.record_cache(instance, False, started)
            return default
        recorder.record_cache(instance, True, started)
        return value

    return wrapper


def _is_stored(cache: Any, args: Any, kwargs: Any) -> bool | None:
    """Whether the key is in the cache's storage before a lookup runs ``__missing__``; ``None`` if unknown."""
    try:
        key = args[0] if args else kwargs["key"]
        return bool(key in cache._Cache__data)
    except Exception:  # noqa: BLE001 - an unhashable key, or another cachetools layout: the lookup itself will tell
        return None
