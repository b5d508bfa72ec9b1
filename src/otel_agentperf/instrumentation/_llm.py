"""The provider-agnostic lifecycle of one LLM call: span, context, metrics.

A provider module describes each instrumented method with an :class:`LLMOperation` (how to read the request, the
response and stream chunks); everything else is here and shared. A call goes through three guarded phases:

1. :meth:`LLMTelemetry.start` starts the CLIENT span with the attributes that sampling may use, makes it current
   (so SDK-internal retries and SDK-native spans see it) and returns an :class:`LLMInvocation`;
2. the user's call runs outside any telemetry ``try``; its exception is recorded and re-raised unchanged;
3. :meth:`LLMInvocation.finish` reads the response (or wraps a stream), records metrics and ends the span.

Metrics never depend on sampling; span attributes beyond the sampling ones are built only when the span records.

A stream's chunk gaps (``gen_ai.client.operation.time_per_output_chunk``, one point per chunk after the first) are
kept in a float array while the stream runs and recorded when it ends, so that each point carries the final
attributes (response model, ``error.type``) and a chunk costs an append, not a metric record. A stream longer than
``GAP_BUFFER`` chunks records its gaps in batches of that size, the early ones without a final ``error.type``.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Callable, Mapping
from timeit import default_timer
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.metrics import Meter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context

from otel_agentperf import semconv
from otel_agentperf._contexts import Attached, attach, detach
from otel_agentperf._guard import ErrorReporter
from otel_agentperf._runs import current_run, record_llm_call
from otel_agentperf.instrumentation._attribute_sets import Attributes, MetricAttributes, derive
from otel_agentperf.instrumentation._operation import LLMOperation, LLMSettings
from otel_agentperf.instrumentation._retry import RETRY_OWNER_KEY, RetryRecorder, duration_histogram

GAP_BUFFER = 1024
"""Chunk gaps a stream keeps before it records them (8 bytes each)."""


class LLMTelemetry:
    """The tracer, instruments and settings of one instrumentor, shared by all its wrappers."""

    __slots__ = (
        "tracer",
        "settings",
        "reporter",
        "duration",
        "token_usage",
        "time_to_first_chunk",
        "time_per_output_chunk",
        "cache_read_tokens",
        "cache_write_tokens",
        "retries",
        "metric_sets",
    )

    def __init__(self, tracer: Tracer, meter: Meter, settings: LLMSettings, reporter: ErrorReporter) -> None:
        self.tracer = tracer
        self.settings = settings
        self.reporter = reporter
        self.duration = duration_histogram(meter, semconv.GEN_AI_CLIENT_OPERATION_DURATION, "GenAI operation duration.")
        self.token_usage = meter.create_histogram(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE,
            unit=semconv.UNIT_TOKENS,
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=semconv.TOKEN_BUCKETS,
        )
        self.time_to_first_chunk = duration_histogram(
            meter, semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK, "Time from the request to the first output chunk."
        )
        self.time_per_output_chunk = (
            duration_histogram(
                meter,
                semconv.GEN_AI_CLIENT_TIME_PER_OUTPUT_CHUNK,
                "Time between an output chunk and the one before it.",
            )
            if settings.chunk_gaps
            else None
        )
        self.cache_read_tokens = meter.create_counter(
            semconv.GEN_AI_CLIENT_CACHE_READ_TOKENS,
            unit=semconv.UNIT_TOKENS,
            description="Input tokens served from the provider's prompt cache.",
        )
        self.cache_write_tokens = meter.create_counter(
            semconv.GEN_AI_CLIENT_CACHE_WRITE_TOKENS,
            unit=semconv.UNIT_TOKENS,
            description="Input tokens written to the provider's prompt cache.",
        )
        self.retries = RetryRecorder(meter)
        self.metric_sets = MetricAttributes()

    def start(self, operation: LLMOperation, instance: Any, kwargs: Mapping[str, Any]) -> LLMInvocation | None:
        """Start the span of one call and make it current; ``None`` if telemetry failed (the call goes on bare)."""
        try:
            attributes = operation.sampling_attributes(instance, kwargs)
            model = attributes.get(semconv.GEN_AI_REQUEST_MODEL)
            name = f"{operation.name} {model}" if model else operation.name
            span = self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            invocation = LLMInvocation(self, operation, span, attributes, kwargs)
            if self.settings.capture_content and span.is_recording():
                invocation.add_content(operation.input_content(kwargs))
            invocation.token = attach(otel_context.set_value(RETRY_OWNER_KEY, invocation, set_span_in_context(span)))
            return invocation
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report(f"{operation.name} start", error)
            return None


class LLMInvocation:
    """The state of one LLM call, filled by the provider's readers and turned into telemetry once at the end."""

    __slots__ = (
        "telemetry",
        "operation",
        "span",
        "metric_attributes",
        "start_time",
        "token",
        "ended",
        "response_id",
        "response_model",
        "finish_reasons",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "extra_attributes",
        "output_messages",
        "content",
        "chunk_count",
        "first_chunk_time",
        "last_chunk_time",
        "chunk_gaps",
        "retry_count",
        "backoff_time",
        "run",
        "kwargs",
        "capture_content",
    )

    def __init__(
        self,
        telemetry: LLMTelemetry,
        operation: LLMOperation,
        span: Span,
        attributes: Attributes,
        kwargs: Mapping[str, Any],
    ) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.span = span
        self.metric_attributes = attributes
        self.start_time = default_timer()
        self.token: Attached | None = None
        self.ended = False
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: list[str] | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_write_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.extra_attributes: Attributes | None = None
        self.output_messages: list[dict[str, Any]] | None = None
        self.content: Attributes | None = None
        self.chunk_count = 0
        self.first_chunk_time: float | None = None
        self.last_chunk_time = 0.0
        self.chunk_gaps: array[float] | None = None
        self.retry_count = 0
        self.backoff_time = 0.0
        self.run = current_run()
        self.kwargs = kwargs
        self.capture_content = telemetry.settings.capture_content

    # --- phase 3: the call returned or raised ----------------------------------------------------------------------
    def finish(self, kwargs: Mapping[str, Any], result: Any, stream_proxy: Callable[[Any, LLMInvocation], Any]) -> Any:
        """Leave the call's context; read ``result`` and end, or wrap it if it is a stream. Returns what to return."""
        self.detach()
        try:
            if self.operation.is_stream(kwargs, result):
                return stream_proxy(result, self)
            self.operation.read_response(self, result)
        except Exception as error:  # noqa: BLE001
            self.telemetry.reporter.report(f"{self.operation.name} response", error)
        self.end()
        return result

    def fail(self, error: BaseException) -> None:
        """Leave the call's context and end the span with ``error`` (which the caller then re-raises)."""
        self.detach()
        self.end(error)

    def on_chunk(self, chunk: object) -> None:
        """Account for one stream chunk (called by the stream proxies for every chunk)."""
        try:
            if self.operation.read_chunk(self, chunk):
                now = default_timer()
                if self.first_chunk_time is None:
                    self.first_chunk_time = now
                elif self.telemetry.time_per_output_chunk is not None:
                    gaps = self.chunk_gaps
                    if gaps is None:
                        self.chunk_gaps = gaps = array("d")
                    gaps.append(now - self.last_chunk_time)
                    if len(gaps) >= GAP_BUFFER:
                        attributes = self.telemetry.metric_sets.get(self.metric_attributes, self.response_model)[0]
                        self._record_gaps(attributes)
                self.last_chunk_time = now
                self.chunk_count += 1
        except Exception as error:  # noqa: BLE001
            self.telemetry.reporter.report(f"{self.operation.name} stream chunk", error)

    def end(self, error: BaseException | None = None, stream_end: str | None = None) -> None:
        """Record metrics and end the span, exactly once."""
        if self.ended:
            return
        self.ended = True
        try:
            self._record(error, stream_end)
        except Exception as internal:  # noqa: BLE001
            self.telemetry.reporter.report(f"{self.operation.name} end", internal)
            if self.span.is_recording():
                self.span.end()

    def add_retry(self, delay: float) -> None:
        """Count one retry of this call and the time waited before it."""
        self.retry_count += 1
        self.backoff_time += delay

    def add_content(self, attributes: Mapping[str, Any]) -> None:
        """Keep captured content, serialised and truncated, to put on the span or its event at the end."""
        if self.content is None:
            self.content = {}
        for key, value in attributes.items():
            self.content[key] = self.truncate(value)

    def add_attributes(self, attributes: Attributes) -> None:
        """Keep provider-specific response attributes for the span."""
        if self.extra_attributes is None:
            self.extra_attributes = {}
        self.extra_attributes.update(attributes)

    def truncate(self, value: Any) -> str:
        """Serialise captured content as JSON, each text in it cut to the configured length (the JSON stays valid)."""
        limit = self.telemetry.settings.content_max_length
        if isinstance(value, str):
            return value[:limit]
        return json.dumps(_cut_texts(value, limit), ensure_ascii=False, default=str)

    def detach(self) -> None:
        """Leave the call's context (once; later calls do nothing)."""
        token, self.token = self.token, None
        if token is not None:
            try:
                detach(token)
            except Exception as error:  # noqa: BLE001
                self.telemetry.reporter.report(f"{self.operation.name} context", error)

    # --- internals -------------------------------------------------------------------------------------------------
    def _record(self, error: BaseException | None, stream_end: str | None) -> None:
        telemetry = self.telemetry
        duration = max(default_timer() - self.start_time, 0.0)
        if error is None:
            attributes, input_set, output_set = telemetry.metric_sets.get(self.metric_attributes, self.response_model)
        else:
            attributes, input_set, output_set = derive(self.metric_attributes, self.response_model, _error_type(error))
        telemetry.duration.record(duration, attributes)
        self._record_tokens(attributes, input_set, output_set)
        record_llm_call(
            self.run,
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            error is not None,
        )
        if self.first_chunk_time is not None:
            telemetry.time_to_first_chunk.record(max(self.first_chunk_time - self.start_time, 0.0), attributes)
            self._record_gaps(attributes)
        span = self.span
        if span.is_recording():
            span.set_attributes(self._span_attributes(stream_end))
            if error is not None:
                span.set_attribute(semconv.ERROR_TYPE, attributes[semconv.ERROR_TYPE])
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            self._emit_content()
        span.end()

    def _record_gaps(self, attributes: Attributes) -> None:
        gaps = self.chunk_gaps
        histogram = self.telemetry.time_per_output_chunk
        if gaps and histogram is not None:
            record = histogram.record
            for gap in gaps:
                record(gap, attributes)
            del gaps[:]

    def _record_tokens(self, attributes: Attributes, input_set: Attributes, output_set: Attributes) -> None:
        telemetry = self.telemetry
        if self.input_tokens is not None:
            telemetry.token_usage.record(self.input_tokens, input_set)
        if self.output_tokens is not None:
            telemetry.token_usage.record(self.output_tokens, output_set)
        # A zero adds nothing to a counter: skipping it saves a metric point on every call without cache traffic.
        if self.cache_read_tokens:
            telemetry.cache_read_tokens.add(self.cache_read_tokens, attributes)
        if self.cache_write_tokens:
            telemetry.cache_write_tokens.add(self.cache_write_tokens, attributes)

    def _span_attributes(self, stream_end: str | None) -> Attributes:
        # Request attributes are read here, once, and only for recording spans: one set_attributes call per span.
        attributes = self.operation.request_attributes(self.kwargs)
        if self.response_id is not None:
            attributes[semconv.GEN_AI_RESPONSE_ID] = self.response_id
        if self.response_model is not None:
            attributes[semconv.GEN_AI_RESPONSE_MODEL] = self.response_model
        if self.finish_reasons is not None:
            attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] = self.finish_reasons
        if self.input_tokens is not None:
            attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] = self.input_tokens
        if self.output_tokens is not None:
            attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] = self.output_tokens
        if self.cache_read_tokens is not None:
            attributes[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = self.cache_read_tokens
        if self.cache_write_tokens is not None:
            attributes[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = self.cache_write_tokens
        if self.reasoning_tokens is not None:
            attributes[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning_tokens
        if self.extra_attributes:
            attributes.update(self.extra_attributes)
        if stream_end is not None:
            attributes[semconv.AGENTPERF_STREAM_END] = stream_end
            attributes[semconv.AGENTPERF_STREAM_CHUNKS] = self.chunk_count
            if self.first_chunk_time is not None:
                attributes[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.first_chunk_time - self.start_time
        if self.retry_count:
            attributes[semconv.AGENTPERF_RETRY_COUNT] = self.retry_count
            attributes[semconv.AGENTPERF_RETRY_BACKOFF_TIME] = self.backoff_time
        return attributes

    def _emit_content(self) -> None:
        settings = self.telemetry.settings
        if not settings.capture_content:
            return
        content = dict(self.content or {})
        if self.output_messages is not None:
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = self.truncate(self.output_messages)
        if not content:
            return
        if settings.capture_on_span:
            self.span.set_attributes(content)
        if settings.capture_in_event:
            self.span.add_event(semconv.CONTENT_EVENT_NAME, content)


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__ or semconv.ERROR_TYPE_OTHER


def _cut_texts(value: Any, limit: int) -> Any:
    """``value`` with every string longer than ``limit`` cut to it."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit]
    if isinstance(value, dict):
        return {key: _cut_texts(item, limit) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cut_texts(item, limit) for item in value]
    return value
