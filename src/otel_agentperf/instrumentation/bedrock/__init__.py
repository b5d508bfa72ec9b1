"""OpenTelemetry instrumentation for Amazon Bedrock Runtime through botocore (boto3): spans, GenAI metrics, retries.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_bedrock``
(disable it with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentperf_bedrock``). By hand::

    from otel_agentperf.instrumentation.bedrock import BedrockInstrumentor

    BedrockInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration
-------------
``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``content_max_length``
(``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``) and ``chunk_gaps`` (``OTEL_AGENTPERF_CHUNK_GAPS``), as for the OpenAI
instrumentor; ``tracer_provider``, ``meter_provider``.

What is patched
---------------
``botocore.client.BaseClient._make_api_call``, which every client call goes through: calls of a ``bedrock-runtime``
client to ``Converse``, ``ConverseStream``, ``InvokeModel`` and ``InvokeModelWithResponseStream`` get a CLIENT span
(``chat {modelId}``, ``embeddings {modelId}`` for a model id with ``embed`` in it) with ``gen_ai.provider.name``
``aws.bedrock``; every other call passes through untouched. The streamed calls' ``EventStream`` (``["stream"]``,
``["body"]``) is wrapped in place in the returned dict: the span ends when it is read to its end, closed, or dropped.
``invoke_model``'s body is not read: its usage comes from the response headers.

Retries: botocore sleeps before each retry in ``botocore.endpoint.Endpoint._needs_retry`` (legacy, standard and
adaptive modes alike); for ``bedrock-runtime`` operations each retry is recorded (``agentperf.retry.source=botocore``,
``error.type`` the HTTP status or the exception's class) with the time it slept, ``x-amz-retry-after`` included. The
adaptive mode's client-side rate limiting, which may wait before any send, is not a retry and is not recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf import semconv
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.llm import LLMInvocation, LLMTelemetry, resolve_llm_settings
from otel_agentperf.core.llm_wrappers import llm_wrappers
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.retries import RetryRecorder, record_sdk_retry
from otel_agentperf.core.streams import SyncIterableProxy
from otel_agentperf.instrumentation.bedrock.package import _instruments

__all__ = ["BedrockInstrumentor"]

_SERVICE = "bedrock-runtime"


class BedrockInstrumentor(AgentPerfInstrumentor):
    """Instruments botocore's Bedrock Runtime calls (Converse and InvokeModel, streamed or not) and their retries."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        from otel_agentperf.instrumentation.bedrock._operations import Converse, InvokeModel  # noqa: PLC0415

        settings = resolve_llm_settings(kwargs)
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = LLMTelemetry(tracer, instruments, settings, reporter)

        def wrapped_for(operation: Any, stream_key: str | None = None) -> Callable[..., Any]:
            if stream_key is None:
                return llm_wrappers(telemetry, operation)[0]
            return llm_wrappers(telemetry, operation, sync_stream=_event_stream_wrapper(stream_key))[0]

        operations = {
            "Converse": wrapped_for(Converse()),
            "ConverseStream": wrapped_for(Converse(streamed=True), "stream"),
            "InvokeModel": wrapped_for(InvokeModel()),
            "InvokeModelWithResponseStream": wrapped_for(InvokeModel(streamed=True), "body"),
        }
        embeddings = wrapped_for(InvokeModel(name="embeddings"))
        self._patch("botocore.client", "BaseClient._make_api_call", _api_call_wrapper(operations, embeddings))
        self._patch("botocore.endpoint", "Endpoint._needs_retry", _needs_retry_wrapper(telemetry.retries, reporter))


def _api_call_wrapper(operations: dict[str, Callable[..., Any]], embeddings: Callable[..., Any]) -> Callable[..., Any]:
    """Route the Bedrock Runtime operations to their LLM wrappers, with the call's parameters as keyword arguments."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not args or len(args) < 2 or kwargs:
            return wrapped(*args, **kwargs)
        operation_name, params = args[0], args[1]
        traced = operations.get(operation_name) if type(operation_name) is str else None
        if traced is None or not isinstance(params, dict) or _service(instance) != _SERVICE:
            return wrapped(*args, **kwargs)
        if operation_name == "InvokeModel" and "embed" in str(params.get("modelId", "")):
            traced = embeddings

        def call(**_: Any) -> Any:
            return wrapped(*args)

        return traced(call, instance, (), params)

    return wrapper


def _service(client: Any) -> object:
    return getattr(getattr(getattr(client, "meta", None), "service_model", None), "service_name", None)


def _event_stream_wrapper(key: str) -> Callable[[Any, LLMInvocation], Any]:
    """Wrap the ``EventStream`` held under ``key`` of a streamed call's result, in place."""

    def wrap(result: Any, invocation: LLMInvocation) -> Any:
        stream = result.get(key) if isinstance(result, dict) else None
        if stream is None:
            invocation.end()
            return result
        result[key] = SyncIterableProxy(stream, invocation)
        return result

    return wrap


def _needs_retry_wrapper(recorder: RetryRecorder, reporter: ErrorReporter) -> Callable[..., Any]:
    """Record each retry botocore decides on for Bedrock Runtime, with the time it slept before it."""
    from time import time_ns  # noqa: PLC0415
    from timeit import default_timer  # noqa: PLC0415

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        started_ns, started = time_ns(), default_timer()
        retried = wrapped(*args, **kwargs)
        if retried is True:
            try:
                _record(recorder, args, kwargs, default_timer() - started, started_ns)
            except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
                reporter.report("botocore retry", error)
        return retried

    return wrapper


def _record(recorder: RetryRecorder, args: Any, kwargs: Any, delay: float, started_ns: int) -> None:
    names = ("attempts", "operation_model", "request_dict", "response", "caught_exception")
    bound = {**dict(zip(names, args, strict=False)), **kwargs}
    operation_model = bound.get("operation_model")
    if getattr(getattr(operation_model, "service_model", None), "service_name", None) != _SERVICE:
        return
    response = bound.get("response")
    http_response = response[0] if isinstance(response, tuple) and response else None
    status_code = getattr(http_response, "status_code", None)
    attempts = bound.get("attempts")
    failure = bound.get("caught_exception")
    record_sdk_retry(
        recorder,
        semconv.RETRY_SOURCE_BOTOCORE,
        attempts if type(attempts) is int else 0,
        failure if isinstance(failure, BaseException) else None,
        status_code if type(status_code) is int else None,
        delay,
        started_ns,
        getattr(http_response, "headers", None),
    )
