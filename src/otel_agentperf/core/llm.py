"""The lifecycle of one LLM call, whatever the provider: span, context, metrics, run tally.

A provider adapter describes each instrumented method with an ``LLMOperation`` (``core.provider``: how to read the
request, the response and stream chunks into an ``LLMResult``); everything else is here and shared. A call goes
through three guarded phases (``core.llm_wrappers``):

1. :meth:`LLMTelemetry.start` starts the CLIENT span with the attributes that sampling may use, makes it current
   (so SDK-internal retries and SDK-native spans see it) and returns an :class:`LLMInvocation`;
2. the user's call runs outside any telemetry ``try``; its exception is recorded and re-raised unchanged;
3. :meth:`LLMInvocation.finish` reads the response (or wraps a stream), records metrics and ends the span.

A call that starts while another LLM call of this package is current (LiteLLM calling the openai SDK, a LiteLLM
Router calling ``litellm.completion`` per attempt) is *nested*: it keeps its span, a child of the outer call's, but
records no metric points and is not counted in the run, which count the outer call once. Its retries count once too,
on its own span's events, and add to the outer call's ``agentperf.retry.count`` and backoff time.

Every metric point of a call is recorded in a context holding the call's span, so that an exemplar links to the LLM
span it measures (also for points recorded after the span stopped being current, and outside any run). Metrics never
depend on sampling; span attributes beyond the sampling ones are built only when the span records.

A stream's chunk gaps (``gen_ai.client.operation.time_per_output_chunk``, one point per chunk after the first) are
kept in a float array while the stream runs and handed over when it ends, with the final attributes (response
model, ``error.type``), to a deferred histogram (``core.instruments``) that records them at the next metric
collection: a chunk costs an append on the caller's path, not a metric record. A stream longer than ``GAP_BUFFER``
chunks hands its gaps over in batches of that size, the early ones without a final ``error.type``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from timeit import default_timer
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Tracer

from otel_agentperf import environment_variables as env
from otel_agentperf import semconv
from otel_agentperf.core.attribute_sets import Attributes, MetricAttributes, derive
from otel_agentperf.core.content import ContentPolicy
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import Instruments
from otel_agentperf.core.lifecycle import Operation, error_type
from otel_agentperf.core.pricing import CallCost, CostInstruments, PriceTable, bundled_prices, resolve_prices
from otel_agentperf.core.provider import LLMOperation, LLMResult
from otel_agentperf.core.rate_limits import RateLimitInstruments, RateLimits, read_rate_limits
from otel_agentperf.core.retries import RETRY_OWNER_KEY, RetryRecorder
from otel_agentperf.core.settings import read_bool
from otel_agentperf.core.tally import current_run, record_llm_call

_RETRY_AFTER = semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER

GAP_BUFFER = 1024
"""Chunk gaps a stream keeps before it records them (8 bytes each)."""


@dataclass(frozen=True, slots=True)
class LLMSettings:
    """Settings resolved once at ``instrument()`` time and shared by every wrapper of an instrumentor."""

    content: ContentPolicy = field(default_factory=ContentPolicy)
    chunk_gaps: bool = True
    """Whether streams record ``time_per_output_chunk`` (one point per output chunk after the first)."""
    stream_include_usage: bool = False
    """OpenAI: ask streamed chat completions for token usage."""
    prices: PriceTable = field(default_factory=bundled_prices)
    """The price table calls are priced with (the bundled one, extended by the user's)."""


def resolve_llm_settings(kwargs: Mapping[str, Any], **provider_settings: Any) -> LLMSettings:
    """The shared LLM settings from keyword arguments, then environment variables, then defaults."""
    return LLMSettings(
        content=ContentPolicy.resolve(kwargs),
        chunk_gaps=read_bool(env.OTEL_AGENTPERF_CHUNK_GAPS, "chunk_gaps", kwargs.get("chunk_gaps"), True),
        prices=resolve_prices(kwargs.get("prices")),
        **provider_settings,
    )


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
        "rate_limits",
        "costs",
    )

    def __init__(
        self, tracer: Tracer, instruments: Instruments, settings: LLMSettings, reporter: ErrorReporter
    ) -> None:
        self.tracer = tracer
        self.settings = settings
        self.reporter = reporter
        self.duration = instruments.histogram(semconv.GEN_AI_CLIENT_OPERATION_DURATION)
        self.token_usage = instruments.histogram(semconv.GEN_AI_CLIENT_TOKEN_USAGE)
        self.time_to_first_chunk = instruments.histogram(semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK)
        self.time_per_output_chunk = (
            instruments.deferred_histogram(semconv.GEN_AI_CLIENT_TIME_PER_OUTPUT_CHUNK) if settings.chunk_gaps else None
        )
        self.cache_read_tokens = instruments.counter(semconv.GEN_AI_CLIENT_CACHE_READ_TOKENS)
        self.cache_write_tokens = instruments.counter(semconv.GEN_AI_CLIENT_CACHE_WRITE_TOKENS)
        self.retries = RetryRecorder(instruments)
        self.metric_sets = MetricAttributes()
        self.rate_limits = RateLimitInstruments(instruments)
        self.costs = CostInstruments(instruments)

    def start(self, operation: LLMOperation, instance: Any, kwargs: Mapping[str, Any]) -> LLMInvocation | None:
        """Start the span of one call and make it current; ``None`` if telemetry failed (the call goes on bare)."""
        try:
            attributes = operation.sampling_attributes(instance, kwargs)
            model = attributes.get(semconv.GEN_AI_REQUEST_MODEL)
            name = f"{operation.name} {model}" if model else operation.name
            span = self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            invocation = LLMInvocation(self, operation, span, attributes, kwargs)
            outer = otel_context.get_value(RETRY_OWNER_KEY)
            if isinstance(outer, LLMInvocation):
                invocation.outer = outer
                invocation.metric_attributes = outer.metric_attributes  # its retries are labelled as the call's
            if invocation.capture_content and span.is_recording():
                invocation.add_content(operation.input_content(kwargs))
            invocation.enter(otel_context.set_value(RETRY_OWNER_KEY, invocation))
            return invocation
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report(f"{operation.name} start", error)
            return None


class LLMInvocation(Operation, LLMResult):
    """One LLM call: its span (an :class:`Operation`), the :class:`LLMResult` its readers fill, and its timings."""

    __slots__ = (
        "span",
        "started",
        "_token",
        "telemetry",
        "operation",
        "metric_attributes",
        "ended",
        "content",
        "chunk_count",
        "first_chunk_time",
        "last_chunk_time",
        "chunk_gaps",
        "retry_count",
        "backoff_time",
        "run",
        "kwargs",
        "limits",
        "headers_read",
        "failure_read_inside",
        "cost",
        "outer",
    )

    def __init__(
        self,
        telemetry: LLMTelemetry,
        operation: LLMOperation,
        span: Span,
        attributes: Attributes,
        kwargs: Mapping[str, Any],
    ) -> None:
        LLMResult.__init__(self, telemetry.settings.content.capture)
        self.span = span  # Operation.begin(), inlined: this runs on every call
        self.started = default_timer()
        self._token = None
        self.telemetry = telemetry
        self.operation = operation
        self.metric_attributes = attributes
        self.ended = False
        self.content: Attributes | None = None
        self.chunk_count = 0
        self.first_chunk_time: float | None = None
        self.last_chunk_time = 0.0
        self.chunk_gaps: array[float] | None = None
        self.retry_count = 0
        self.backoff_time = 0.0
        self.run = current_run()
        self.kwargs = kwargs
        self.limits: RateLimits | None = None
        self.headers_read = False
        self.failure_read_inside = False
        """Whether a nested call has just read the failure this call now sees again (as its own error or retry)."""
        self.cost: CallCost | None = None

        self.outer: LLMInvocation | None = None
        """The LLM call this one is nested in, which records the metrics and the run's count for both."""

    # --- phase 3: the call returned or raised ----------------------------------------------------------------------
    def finish(self, kwargs: Mapping[str, Any], result: Any, stream_proxy: Callable[[Any, LLMInvocation], Any]) -> Any:
        """Leave the call's context; read ``result`` and end, or wrap it if it is a stream. Returns what to return."""
        self.leave()
        try:
            if not self.headers_read:
                headers = self.operation.response_headers(result)
                if headers is not None:
                    self.read_headers(headers)
            if self.operation.is_stream(kwargs, result):
                return stream_proxy(result, self)
            self.operation.read_response(self, result)
        except Exception as error:  # noqa: BLE001
            self.telemetry.reporter.report(f"{self.operation.name} response", error)
        self.end()
        return result

    def fail(self, error: BaseException) -> None:
        """Leave the call's context and end the span with ``error`` (which the caller then re-raises)."""
        self.leave()
        try:
            self.read_failure(self.operation.response_headers(error), self.operation.error_status(error))
        except Exception as internal:  # noqa: BLE001
            self.telemetry.reporter.report(f"{self.operation.name} error headers", internal)
        self.end(error)

    def read_failure(self, headers: object | None, status_code: int | None) -> None:
        """Read a failed attempt's response seen here as an exception, unless a nested call has read it already.

        The exception is this call's error or one its retry loop retries; LiteLLM re-raises the openai SDK's 429 as its
        own, which the nested openai call has counted.
        """
        if self.outer is not None:
            self.outer.failure_read_inside = True
        if self.failure_read_inside:
            self.failure_read_inside = False
        elif headers is not None or status_code == 429:
            self.read_headers(headers, status_code)

    def read_headers(self, headers: object | None, status_code: int | None = None) -> None:
        """Read the rate-limit headers of one HTTP response of this call (each attempt's; the last one is kept).

        ``status_code`` is set for a response that failed (429: a rate-limit rejection). Without rate-limit headers
        this costs one C-level scan of the header names.
        """
        if status_code is None:
            self.headers_read = True  # the response the call returns: finish() need not look again
        if self.outer is not None:  # the outermost call records what its nested calls read, once
            self.outer.read_headers(headers, status_code)
            return
        limits = None if headers is None else read_rate_limits(headers)
        if limits is None and status_code != 429:
            return
        self.telemetry.rate_limits.record(self.metric_attributes, limits, status_code)
        if limits is not None:
            previous = self.limits
            if previous is not None and _RETRY_AFTER in previous:
                limits.setdefault(_RETRY_AFTER, previous[_RETRY_AFTER])  # what the last 429 asked for
            self.limits = limits

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
            self.end_after_failure()
            self.telemetry.reporter.report(f"{self.operation.name} end", internal)

    def add_retry(self, delay: float) -> None:
        """Count one retry of this call (and of the call it is nested in) and the time waited before it."""
        self.retry_count += 1
        self.backoff_time += delay
        if self.outer is not None:
            self.outer.add_retry(delay)

    def add_content(self, attributes: Mapping[str, Any]) -> None:
        """Keep captured content, serialised and truncated, to put on the span or its event at the end."""
        if self.content is None:
            self.content = {}
        for key, value in attributes.items():
            self.content[key] = self.telemetry.settings.content.serialise(value)

    # --- internals -------------------------------------------------------------------------------------------------
    def _record(self, error: BaseException | None, stream_end: str | None) -> None:
        duration = max(default_timer() - self.started, 0.0)
        kind = None if error is None else error_type(error)
        if self.outer is None:
            self._record_metrics(duration, error, kind)
        if self.span.is_recording():
            if self.capture_content:
                self._emit_content()
            self.close_span(self._span_attributes(stream_end), kind, error)
        else:
            self.span.end()

    def _record_metrics(self, duration: float, error: BaseException | None, kind: str | None) -> None:
        telemetry = self.telemetry
        if kind is None:
            attributes, input_set, output_set = telemetry.metric_sets.get(self.metric_attributes, self.response_model)
        else:
            attributes, input_set, output_set = derive(self.metric_attributes, self.response_model, kind)
        context = self.metric_context()
        telemetry.duration.record(duration, attributes, context)
        self._record_tokens(attributes, input_set, output_set, context)
        cost = self.cost = self._price()
        if cost is not None:
            telemetry.costs.record(cost, attributes)
        if self.run is not None:
            record_llm_call(
                self.run,
                self.input_tokens,
                self.output_tokens,
                self.cache_read_tokens,
                self.cache_write_tokens,
                error is not None,
                max(duration - self.backoff_time, 0.0),
                None if cost is None else cost.amount,
                cost is None and bool(self.input_tokens or self.output_tokens),
            )
        if self.first_chunk_time is not None:
            telemetry.time_to_first_chunk.record(max(self.first_chunk_time - self.started, 0.0), attributes, context)
            self._record_gaps(attributes, context)

    def _price(self) -> CallCost | None:
        """The call's cost from its own token counts (which include cached tokens); ``None`` if it cannot be priced."""
        if self.input_tokens is None and self.output_tokens is None:
            return None
        attributes = self.metric_attributes
        provider = attributes.get(semconv.GEN_AI_PROVIDER_NAME)
        model = self.response_model or attributes.get(semconv.GEN_AI_REQUEST_MODEL)
        if not isinstance(provider, str) or not isinstance(model, str):
            return None
        return self.telemetry.settings.prices.cost(
            provider,
            model,
            input_tokens=self.input_tokens or 0,
            output_tokens=self.output_tokens or 0,
            cache_read_tokens=self.cache_read_tokens or 0,
            cache_write_tokens=self.cache_write_tokens or 0,
            input_includes_cache=True,
        )

    def _record_gaps(self, attributes: Attributes, context: Context | None = None) -> None:
        gaps = self.chunk_gaps
        histogram = self.telemetry.time_per_output_chunk
        if gaps and histogram is not None:
            self.chunk_gaps = None  # the queue owns the array now
            if self.outer is None:  # a nested call's gaps are the outer call's
                histogram.record_batch(gaps, attributes, context or self.metric_context())

    def _record_tokens(
        self, attributes: Attributes, input_set: Attributes, output_set: Attributes, context: Context
    ) -> None:
        telemetry = self.telemetry
        if self.input_tokens is not None:
            telemetry.token_usage.record(self.input_tokens, input_set, context)
        if self.output_tokens is not None:
            telemetry.token_usage.record(self.output_tokens, output_set, context)
        # A zero adds nothing to a counter: skipping it saves a metric point on every call without cache traffic.
        if self.cache_read_tokens:
            telemetry.cache_read_tokens.add(self.cache_read_tokens, attributes, context)
        if self.cache_write_tokens:
            telemetry.cache_write_tokens.add(self.cache_write_tokens, attributes, context)

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
            attributes[semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = self.cache_write_tokens
        if self.reasoning_tokens is not None:
            attributes[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning_tokens
        if self.extra_attributes:
            attributes.update(self.extra_attributes)
        if stream_end is not None:
            attributes[semconv.AGENTPERF_STREAM_END] = stream_end
            attributes[semconv.AGENTPERF_STREAM_CHUNKS] = self.chunk_count
            if self.first_chunk_time is not None:
                attributes[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.first_chunk_time - self.started
        if self.retry_count:
            attributes[semconv.AGENTPERF_RETRY_COUNT] = self.retry_count
            attributes[semconv.AGENTPERF_RETRY_BACKOFF_TIME] = self.backoff_time
        if self.limits is not None:
            attributes.update(self.limits)
        if self.cost is not None:
            attributes.update(self.cost.attributes())
        return attributes

    def _emit_content(self) -> None:
        policy = self.telemetry.settings.content
        if not policy.capture:
            return
        content = dict(self.content or {})
        if self.output_messages is not None:
            content[semconv.GEN_AI_OUTPUT_MESSAGES] = policy.serialise(self.output_messages)
        if not content:
            return
        if policy.on_span:
            self.span.set_attributes(content)
        if policy.in_event:
            self.span.add_event(semconv.CONTENT_EVENT_NAME, content)
