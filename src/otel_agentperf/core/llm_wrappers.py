"""The three-phase wrappers that every LLM method shares (sync and async).

1. Pre-call telemetry (:meth:`LLMTelemetry.start`) is guarded: if it fails the call runs bare.
2. The user's call runs outside any telemetry ``try``. Its exception is recorded and re-raised with a bare ``raise``,
   so type, object and traceback are what they would be without us.
3. Post-call telemetry (:meth:`LLMInvocation.finish`) is guarded: if it fails the result is returned as it is.

Raw-response calls of Stainless-style clients (``with_raw_response``, ``with_streaming_response``) are traced where
every call of the client passes, its ``request`` method (:func:`raw_response_wrappers`), and skipped by the resource
method's wrappers (``raw_header``): the raw forms bind the resource method once per client, so a client first used
before ``instrument()`` never reaches its patch, and one bound while instrumented would reach it after
``uninstrument()``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.llm import LLMInvocation, LLMTelemetry
from otel_agentperf.core.provider import (
    STAINLESS_RAW_HEADER,
    STAINLESS_REQUESTS,
    STAINLESS_RESPONSE_HOOKS,
    STAINLESS_RETRY_SLEEPS,
    LLMOperation,
)
from otel_agentperf.core.retries import current_retry_owner, sdk_sleep_wrappers
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
    raw_header: str | None = None,
    async_stream: StreamWrapper = AsyncStreamProxy,
    sync_stream: StreamWrapper = SyncStreamProxy,
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (sync, async) in the wrapt signature for a method described by ``operation``.

    ``prepare`` may return changed keyword arguments for the call (for an opt-in request option); it is guarded.
    A call whose ``extra_headers`` hold ``raw_header`` passes through untraced (:func:`raw_response_wrappers` traces
    it).
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

    def is_raw(kwargs: dict[str, Any], header: str) -> bool:
        headers: Any = kwargs.get("extra_headers")
        return bool(headers) and header in headers

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled() or raw_header is not None and is_raw(kwargs, raw_header):
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
        if not is_instrumentation_enabled() or raw_header is not None and is_raw(kwargs, raw_header):
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


Route = tuple[LLMOperation, "PrepareKwargs | None"]
"""An operation and its ``prepare`` hook, for the API path (``/chat/completions``) a raw-response call posts to."""


class _ClientResource:
    """Stands in for the resource of a call seen at the client: operations read the client as ``_client``."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client


def raw_response_wrappers(
    telemetry: LLMTelemetry, routes: Mapping[str, Route]
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (sync, async) for a Stainless client's ``request``: they trace its raw-response calls.

    A call is traced when its options carry the raw-response header and it posts to one of ``routes``; any other
    call passes through. The operation reads the request body (the SDK's ``json_data``: the call's keyword
    arguments as sent). The caller gets the SDK's raw response object itself. Its body is parsed once, by
    ``parse()``, whose result the SDK keeps for the caller's own ``parse()``; a stream's parsed form is the SDK's
    stream wrapped in a stream proxy, so the span ends when the stream is read to its end or closed, as for a plain
    streamed call.
    """

    def start(instance: Any, args: Any, kwargs: Any) -> tuple[LLMInvocation, dict[str, Any]] | None:
        options = args[1] if len(args) > 1 else kwargs.get("options")
        headers = getattr(options, "headers", None)
        if not isinstance(headers, Mapping) or not headers.get(STAINLESS_RAW_HEADER):
            return None
        try:
            route = routes.get(options.url)
            body = options.json_data
            if route is None or not isinstance(body, dict):
                return None
            operation, prepare = route
            if prepare is not None:
                options.json_data = body = prepare(body)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            telemetry.reporter.report("raw response start", error)
            return None
        invocation = telemetry.start(operation, _ClientResource(instance), body)
        return None if invocation is None else (invocation, body)

    def finish(invocation: LLMInvocation, body: dict[str, Any], raw: Any, parsed: Any, proxy: Any) -> None:
        returned = invocation.finish(body, parsed, proxy)
        if returned is not parsed:
            _keep_parsed(invocation, raw, parsed, returned)

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        started = start(instance, args, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        invocation, body = started
        try:
            raw = wrapped(*args, **kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        try:
            parsed = raw.parse()
        except Exception as error:  # noqa: BLE001 - the caller's own parse() raises it again
            telemetry.reporter.report(f"{invocation.operation.name} raw response", error)
            parsed = None
        finish(invocation, body, raw, parsed, SyncStreamProxy)
        return raw

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        started = start(instance, args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        invocation, body = started
        try:
            raw = await wrapped(*args, **kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        try:
            parsed = raw.parse()  # a coroutine for the async streamed-response class, not for the legacy one
            if inspect.isawaitable(parsed):
                parsed = await parsed
        except Exception as error:  # noqa: BLE001 - the caller's own parse() raises it again
            telemetry.reporter.report(f"{invocation.operation.name} raw response", error)
            parsed = None
        finish(invocation, body, raw, parsed, AsyncStreamProxy)
        return raw

    return sync_wrapper, async_wrapper


def _keep_parsed(invocation: LLMInvocation, raw: Any, parsed: Any, proxy: Any) -> None:
    """Make the raw response's ``parse()`` return ``proxy`` (the stream proxy) instead of ``parsed``."""
    try:
        cache = raw._parsed_by_type
        for key, value in cache.items():
            if value is parsed:
                cache[key] = proxy
                return
        raise LookupError("the parsed stream is not in the raw response's cache")
    except Exception as error:  # noqa: BLE001 - an SDK that keeps no parse cache gets a span without stream details
        telemetry = invocation.telemetry
        telemetry.reporter.report(f"{invocation.operation.name} raw stream", error)
        invocation.end()


def stainless_client_patches(
    telemetry: LLMTelemetry, routes: Mapping[str, Route], source: str, reporter: ErrorReporter
) -> list[tuple[str, Callable[..., Any]]]:
    """``(method of <package>._base_client, wrapper)`` for a Stainless-style client (openai, anthropic).

    Its ``request`` (raw-response calls, ``routes`` by API path), ``_sleep_for_retry`` (its retries, with ``source``)
    and ``_process_response`` (every response's rate-limit headers), sync and async.
    """
    hooks = (
        (STAINLESS_REQUESTS, raw_response_wrappers(telemetry, routes)),
        (STAINLESS_RETRY_SLEEPS, sdk_sleep_wrappers(telemetry.retries, source, reporter)),
        (STAINLESS_RESPONSE_HOOKS, sdk_response_wrappers(reporter)),
    )
    return [pair for paths, wrappers in hooks for pair in zip(paths, wrappers, strict=True)]
