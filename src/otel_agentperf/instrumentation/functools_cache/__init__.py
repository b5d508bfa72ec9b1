"""Hits, misses and lookup durations of ``functools.lru_cache`` and ``functools.cache`` functions, by explicit opt-in.

Usage
-----
Wrap the cached function (the wrapper keeps ``cache_info()``, ``cache_clear()``, ``cache_parameters()`` and
``__wrapped__``)::

    from otel_agentperf.instrumentation.functools_cache import instrument_cache

    @instrument_cache
    @functools.lru_cache(maxsize=1024)
    def embed(text: str) -> list[float]: ...

    @instrument_cache(name="tokenizer")
    @functools.cache
    def tokenizer(model: str) -> Tokenizer: ...

Configuration (keyword argument, environment variable, default)
---------------------------------------------------------------
- ``name``: ``agentperf.cache.name``; defaults to the function's ``__qualname__``.
- ``lookup_duration``, ``OTEL_AGENTPERF_CACHE_LOOKUP_DURATION``, ``True``: record ``agentperf.cache.lookup.duration``.
- ``meter_provider``: defaults to the global one (a proxy until the SDK is configured, so module-level use is fine).

What is patched
---------------
Nothing: there is no ``agentperf_functools`` entry point. A global hook would have to replace ``functools.lru_cache``
itself, and that reaches only functions decorated after it, through the module attribute: not ``from functools import
lru_cache`` bound earlier (the common spelling), and every library decorating after it, whose hot internal caches
(``re``, ``typing``, parsers) would then pay the cost and flood the metric with names. Replacing a standard-library
function for a whole process is too wide a change for what it gives.

How it works
------------
``lru_cache`` counts hits and misses in C but calls no hook, so each call reads ``cache_info()`` before and after: the
call was a miss when the miss count grew, else a hit (exact for recursive functions: an inner call's hits and misses
are its own). Under threads, a concurrent call that misses between the two reads makes a hit look like a miss: the
number of lookups stays exact, their split may not. A call that raises is counted as a miss when the miss count grew
(the function ran and failed) and not at all otherwise (an unhashable argument). Each call costs two ``cache_info()``
reads (about 0.4 µs each) on top of the metrics.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from timeit import default_timer
from typing import Any, TypeVar, cast, overload

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import MeterProvider

from otel_agentperf import environment_variables as env
from otel_agentperf.core.caches import CacheRecorder, read_lookup_duration
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.settings import read_bool
from otel_agentperf.exceptions import ConfigurationError

__all__ = ["instrument_cache"]

_SYSTEM = "functools"
_INSTRUMENTED = "_otel_agentperf_instrumented"
_logger = logging.getLogger(__name__)
_F = TypeVar("_F", bound=Callable[..., Any])


@overload
def instrument_cache(
    fn: _F, name: str | None = None, *, meter_provider: MeterProvider | None = None, lookup_duration: bool | None = None
) -> _F: ...


@overload
def instrument_cache(
    fn: None = None,
    name: str | None = None,
    *,
    meter_provider: MeterProvider | None = None,
    lookup_duration: bool | None = None,
) -> Callable[[_F], _F]: ...


def instrument_cache(
    fn: _F | None = None,
    name: str | None = None,
    *,
    meter_provider: MeterProvider | None = None,
    lookup_duration: bool | None = None,
) -> _F | Callable[[_F], _F]:
    """Wrap an ``lru_cache``/``cache``-decorated function so that each call records a hit or a miss.

    Usable as ``instrument_cache(fn)``, ``@instrument_cache`` or ``@instrument_cache(name="embeddings")``. A function
    it already wrapped is returned as it is (with a warning): wrapping twice would count each lookup twice.

    Raises:
        ConfigurationError: ``fn`` has no ``cache_info()`` (it is not an ``lru_cache`` function), or ``name`` is
            not a non-empty string.
    """
    if fn is None:
        return functools.partial(
            instrument_cache, name=name, meter_provider=meter_provider, lookup_duration=lookup_duration
        )
    cache_info = getattr(fn, "cache_info", None)
    if not callable(cache_info):
        raise ConfigurationError(f"Expected a function decorated with functools.lru_cache or cache, got {fn!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(f"Expected name to be a non-empty string, got {name!r}")
    if getattr(fn, _INSTRUMENTED, False):
        _logger.warning("%r is already instrumented; it is returned as it is", fn)
        return fn
    reporter = ErrorReporter(read_bool(env.OTEL_AGENTPERF_STRICT, "strict", None, False))
    _, instruments = scope(None, meter_provider, __name__)
    recorder = CacheRecorder(instruments, _SYSTEM, reporter, read_lookup_duration({"lookup_duration": lookup_duration}))
    cache_name = name or getattr(fn, "__qualname__", None) or type(fn).__name__
    return cast(_F, _wrap(fn, cache_info, recorder, cache_name))


def _wrap(fn: Callable[..., Any], cache_info: Callable[[], Any], recorder: CacheRecorder, name: str) -> Any:
    def misses() -> int | None:
        try:
            return int(cache_info().misses)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            recorder.reporter.report(f"{name} cache_info", error)
            return None

    def record(before: int | None, started: float, failed: bool) -> None:
        ended = default_timer()
        after = misses()
        if before is None or after is None:
            return
        if after > before:
            recorder.record(name, 0, 1, started, ended)
        elif not failed:
            recorder.record(name, 1, 0, started, ended)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return fn(*args, **kwargs)
        before = misses()
        started = default_timer()
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            record(before, started, True)
            raise
        record(before, started, False)
        return result

    setattr(wrapper, _INSTRUMENTED, True)
    wrapper.cache_info = fn.cache_info  # type: ignore[attr-defined]
    wrapper.cache_clear = fn.cache_clear  # type: ignore[attr-defined]
    if hasattr(fn, "cache_parameters"):
        wrapper.cache_parameters = fn.cache_parameters  # type: ignore[attr-defined]
    return wrapper
