"""The three-phase wrappers that every LLM method shares (sync and async).

1. Pre-call telemetry (:meth:`LLMTelemetry.start`) is guarded: if it fails the call runs bare.
2. The user's call runs outside any telemetry ``try``. Its exception is recorded and re-raised with a bare ``raise``,
   so type, object and traceback are what they would be without us.
3. Post-call telemetry (:meth:`LLMInvocation.finish`) is guarded: if it fails the result is returned as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf.core.llm import LLMInvocation, LLMTelemetry
from otel_agentperf.core.provider import LLMOperation
from otel_agentperf.core.streams import (
    AsyncStreamManagerProxy,
    AsyncStreamProxy,
    SyncStreamManagerProxy,
    SyncStreamProxy,
)

PrepareKwargs = Callable[[dict[str, Any]], dict[str, Any]]
StreamWrapper = Callable[[Any, LLMInvocation], Any]


def llm_wrappers(
    telemetry: LLMTelemetry,
    operation: LLMOperation,
    prepare: PrepareKwargs | None = None,
    async_stream: StreamWrapper = AsyncStreamProxy,
    sync_stream: StreamWrapper = SyncStreamProxy,
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (sync, async) in the wrapt signature for a method described by ``operation``.

    ``prepare`` may return changed keyword arguments for the call (for an opt-in request option); it is guarded.
    ``sync_stream`` and ``async_stream`` wrap a streamed result for its invocation: a stream proxy class
    (:class:`AsyncGeneratorProxy` for an SDK that returns async generators), or a function that wraps the stream
    inside a result (botocore returns a dict holding an ``EventStream``).
    """

    def prepared(kwargs: dict[str, Any]) -> dict[str, Any]:
        assert prepare is not None
        try:
            return prepare(kwargs)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            telemetry.reporter.report(f"{operation.name} prepare", error)
            return kwargs

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        if prepare is not None:
            kwargs = prepared(kwargs)
        invocation = telemetry.start(operation, instance, kwargs)
        if invocation is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        return invocation.finish(kwargs, result, sync_stream)

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        if prepare is not None:
            kwargs = prepared(kwargs)
        invocation = telemetry.start(operation, instance, kwargs)
        if invocation is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        return invocation.finish(kwargs, result, async_stream)

    return sync_wrapper, async_wrapper


def stream_manager_wrappers(
    telemetry: LLMTelemetry, operation: LLMOperation
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Wrappers (sync, async) for a method that returns a stream manager; the span starts when it is entered."""

    def wrapper(proxy: type[SyncStreamManagerProxy | AsyncStreamManagerProxy]) -> Callable[..., Any]:
        def wrap(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            manager = wrapped(*args, **kwargs)
            if not is_instrumentation_enabled():
                return manager

            def start() -> LLMInvocation | None:
                if not is_instrumentation_enabled():
                    return None
                return telemetry.start(operation, instance, {**kwargs, "stream": True})

            return proxy(manager, start)

        return wrap

    return wrapper(SyncStreamManagerProxy), wrapper(AsyncStreamManagerProxy)
