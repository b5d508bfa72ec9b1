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

from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.llm import LLMInvocation, LLMTelemetry
from otel_agentperf.core.provider import LLMOperation
from otel_agentperf.core.retries import current_retry_owner
from otel_agentperf.core.streams import (
    AsyncStreamManagerProxy,
    AsyncStreamProxy,
    SyncStreamManagerProxy,
    SyncStreamProxy,
)

PrepareKwargs = Callable[[dict[str, Any]], dict[str, Any]]


def llm_wrappers(
    telemetry: LLMTelemetry, operation: LLMOperation, prepare: PrepareKwargs | None = None
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (sync, async) in the wrapt signature for a method described by ``operation``.

    ``prepare`` may return changed keyword arguments for the call (for an opt-in request option); it is guarded.
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
        return invocation.finish(kwargs, result, SyncStreamProxy)

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
        return invocation.finish(kwargs, result, AsyncStreamProxy)

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


def sdk_response_wrappers(reporter: ErrorReporter) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (sync, async) for a Stainless client's ``_process_response(*, response, ...)``.

    Every successful HTTP response of a call (plain, streamed or raw) passes there, inside the call's context: its
    headers go to the current LLM call (``LLMInvocation.read_headers``), which reads only the rate-limit ones.
    """

    def hand_over(kwargs: Any) -> None:
        try:
            owner = current_retry_owner()
            if isinstance(owner, LLMInvocation):
                owner.read_headers(getattr(kwargs.get("response"), "headers", None))
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report("response headers", error)

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        hand_over(kwargs)
        return wrapped(*args, **kwargs)

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        hand_over(kwargs)
        return await wrapped(*args, **kwargs)

    return sync_wrapper, async_wrapper
