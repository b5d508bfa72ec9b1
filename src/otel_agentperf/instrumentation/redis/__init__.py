"""OpenTelemetry instrumentation for Redis used as a cache: hits, misses and lookup durations of redis-py reads.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_redis``. By hand::

    from otel_agentperf.instrumentation.redis import RedisCacheInstrumentor

    RedisCacheInstrumentor().instrument(meter_provider=meter_provider, key_prefix_separator=":")
    redis.Redis().get("embeddings:4f2a")     # a hit or a miss of the cache named "embeddings"

It measures the cache, not the database: it coexists with contrib's ``opentelemetry-instrumentation-redis`` (a span per
command) and with redis-py's own command metrics.

Configuration (keyword argument, default)
-----------------------------------------
- ``cache_name``, ``"redis"``: ``agentperf.cache.name`` of every lookup (unless a key prefix names it).
- ``key_prefix_separator``, ``None``: with ``":"``, a lookup of ``embeddings:4f2a`` is named ``embeddings`` (the part
  before the first separator of its first key; keys without it keep ``cache_name``). Use it only with a bounded set of
  prefixes: each distinct prefix is a metric series.
- ``lookup_duration``, ``OTEL_AGENTPERF_CACHE_LOOKUP_DURATION``, ``True``: record ``agentperf.cache.lookup.duration``
  (the round trip of the command).
- ``meter_provider``: defaults to the global one. No span is created: lookups count on the current span.

What is patched
---------------
``execute_command`` of ``redis.Redis`` and ``redis.asyncio.Redis`` (so also clients built by ``from_url`` and by
Sentinel); every method goes through it. Counted commands, each key a lookup: ``GET``, ``GETEX``, ``GETDEL`` and
``HGET`` (a nil reply is a miss), ``MGET`` and ``HMGET`` (one lookup per key or field, nil ones are misses),
``HGETALL`` (an empty reply is a miss: Redis never stores an empty hash). Other commands pass straight through after
one set-membership test. A command that raises (connection error, wrong type) is not counted.

Pipelines and transactions are not counted: ``Pipeline`` has its own ``execute_command`` that queues the command, and
its replies come back together from ``execute()``, so nothing in them is counted twice or half. ``RedisCluster``
clients are not covered; redis-py's ``Lock`` reads its key with ``GET`` and is counted like any other lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from timeit import default_timer
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf.core.caches import CacheRecorder, read_lookup_duration
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.redis.package import _instruments

__all__ = ["RedisCacheInstrumentor"]

_SYSTEM = "redis"
_SINGLE_KEY = frozenset({"GET", "GETEX", "GETDEL", "HGET"})
_MULTI_KEY = frozenset({"MGET", "HMGET"})
_WHOLE_HASH = "HGETALL"
COMMANDS = _SINGLE_KEY | _MULTI_KEY | {_WHOLE_HASH}
"""The commands counted as cache lookups."""


class RedisCacheInstrumentor(AgentPerfInstrumentor):
    """Counts the hits and misses of redis-py GET-style commands, sync and asyncio."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        name = kwargs.get("cache_name", _SYSTEM)
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"Expected cache_name to be a non-empty string, got {name!r}")
        separator = kwargs.get("key_prefix_separator")
        if separator is not None and (not isinstance(separator, str) or not separator):
            raise ConfigurationError(f"Expected key_prefix_separator to be a non-empty string, got {separator!r}")
        _, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        recorder = CacheRecorder(instruments, _SYSTEM, reporter, read_lookup_duration(kwargs))
        sync_wrapper, async_wrapper = _wrappers(_Lookups(recorder, name, separator))
        self._patch("redis.client", "Redis.execute_command", sync_wrapper)
        self._patch("redis.asyncio.client", "Redis.execute_command", async_wrapper)


class _Lookups:
    """Turns a command and its reply into hits and misses of a named cache."""

    __slots__ = ("recorder", "name", "separator")

    def __init__(self, recorder: CacheRecorder, name: str, separator: str | None) -> None:
        self.recorder = recorder
        self.name = name
        self.separator = separator

    def record(self, args: tuple[Any, ...], reply: Any, started: float) -> None:
        ended = default_timer()
        try:
            command = args[0]
            if command in _MULTI_KEY:
                if not isinstance(reply, list):
                    return
                hits = sum(value is not None for value in reply)
                misses = len(reply) - hits
            elif command == _WHOLE_HASH:
                hits = 1 if reply else 0
                misses = 1 - hits
            else:
                hits = 0 if reply is None else 1
                misses = 1 - hits
            name = self._name(args[1]) if self.separator is not None and len(args) > 1 else self.name
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.recorder.reporter.report("redis cache lookup", error)
            return
        if hits or misses:
            self.recorder.record(name, hits, misses, started, ended)

    def _name(self, key: Any) -> str:
        if isinstance(key, (bytes, bytearray, memoryview)):
            key = bytes(key).decode("utf-8", "replace")
        if isinstance(key, str) and self.separator is not None:
            prefix, found, _ = key.partition(self.separator)
            if found and prefix:
                return prefix
        return self.name


def _wrappers(lookups: _Lookups) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    def counted(args: tuple[Any, ...]) -> bool:
        command = args[0] if args else None
        return type(command) is str and command in COMMANDS and is_instrumentation_enabled()

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not counted(args):
            return wrapped(*args, **kwargs)
        started = default_timer()
        reply = wrapped(*args, **kwargs)
        lookups.record(args, reply, started)
        return reply

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not counted(args):
            return await wrapped(*args, **kwargs)
        started = default_timer()
        reply = await wrapped(*args, **kwargs)
        lookups.record(args, reply, started)
        return reply

    return sync_wrapper, async_wrapper
