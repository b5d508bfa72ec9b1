"""The tool-execution lifecycle every tool integration shares: span, duration metric, run tally, opt-in content.

One :class:`ToolCall` per execution, an :class:`~otel_agentperf.core.lifecycle.Operation`: entering it starts the span
(``execute_tool {gen_ai.tool.name}`` unless the integration names it) and makes it current; :meth:`ToolCall.set_result`
keeps the result (recorded only with content capture on), :meth:`ToolCall.set_error_result` marks a result that
reports failure (an MCP ``isError`` reply, a handled LangChain error); leaving it restores the caller's context first,
then ends the span, records ``gen_ai.execute_tool.duration`` with ``gen_ai.operation.name``, ``gen_ai.tool.name`` and
``error.type`` (in a context holding the tool's span, so that its exemplar links to it), and counts the call in the
current agent run. An exception leaving the block is recorded and re-raised
unchanged. Telemetry failures go to the error reporter, never to the tool's caller.
"""

from __future__ import annotations

from timeit import default_timer
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import Histogram
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.content import ContentPolicy
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import Instruments
from otel_agentperf.core.lifecycle import Operation, error_type, operation_attributes
from otel_agentperf.core.tally import RunTally, count_tool_call, current_run


class ToolTelemetry:
    """The tracer, tool-duration histogram and content policy of one integration (or one declared tool)."""

    __slots__ = ("tracer", "duration", "reporter", "content")

    def __init__(
        self, tracer: Tracer, instruments: Instruments, reporter: ErrorReporter, content: ContentPolicy
    ) -> None:
        self.tracer = tracer
        self.duration: Histogram = instruments.histogram(semconv.GEN_AI_EXECUTE_TOOL_DURATION)
        self.reporter = reporter
        self.content = content

    @property
    def capture(self) -> bool:
        """Whether tool arguments and results are recorded."""
        return self.content.capture

    def call(
        self,
        name: str,
        *,
        tool_type: str | None = "function",
        description: str | None = None,
        call_id: str | None = None,
        arguments: Any = None,
        span_name: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: dict[str, AttributeValue] | None = None,
        also_record: Histogram | None = None,
    ) -> ToolCall:
        """A tool call to enter with ``with``; ``also_record`` also gets its duration (with ``mcp.method.name``)."""
        start = operation_attributes(
            semconv.OPERATION_EXECUTE_TOOL,
            (semconv.GEN_AI_TOOL_NAME, name),
            (semconv.GEN_AI_TOOL_TYPE, tool_type),
            (semconv.GEN_AI_TOOL_DESCRIPTION, description),
            (semconv.GEN_AI_TOOL_CALL_ID, call_id),
        )
        if attributes:
            start.update(attributes)
        span_name = span_name or f"{semconv.OPERATION_EXECUTE_TOOL} {name}"
        return ToolCall(self, name, span_name, kind, start, arguments, also_record)


class ToolCall(Operation):
    """One tool execution; a context manager (see the module docstring)."""

    __slots__ = (
        "span",
        "started",
        "_token",
        "telemetry",
        "name",
        "_span_name",
        "_kind",
        "_attributes",
        "_arguments",
        "_result",
        "_error_type",
        "_error_message",
        "_also_record",
        "_run",
    )

    def __init__(
        self,
        telemetry: ToolTelemetry,
        name: str,
        span_name: str,
        kind: SpanKind,
        attributes: dict[str, AttributeValue],
        arguments: Any,
        also_record: Histogram | None = None,
    ) -> None:
        self.begin(trace.INVALID_SPAN)
        self.telemetry = telemetry
        self._also_record = also_record
        self.name = name
        self._span_name = span_name
        self._kind = kind
        self._attributes = attributes
        self._arguments = arguments
        self._result: Any = None
        self._error_type: str | None = None
        self._error_message: str | None = None
        self._run: RunTally | None = None

    def set_result(self, result: Any) -> None:
        """Keep the tool's result (recorded on the span only with content capture on)."""
        self._result = result

    def set_error_result(self, kind: str = semconv.ERROR_TYPE_TOOL_ERROR, message: str | None = None) -> None:
        """Mark the call failed although nothing was raised (a result that reports an error)."""
        self._error_type = kind
        self._error_message = message

    def __enter__(self) -> ToolCall:
        telemetry = self.telemetry
        self._run = current_run()  # the call counts in the run it started in, wherever it ends
        try:
            span: Span = telemetry.tracer.start_span(self._span_name, kind=self._kind, attributes=self._attributes)
            self.begin(span)
            self.enter()
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            telemetry.reporter.report("tool call start", error)
        try:  # the span is current already: whatever the arguments are, the span tree stays the same
            if self._arguments is not None and telemetry.content.capture and self.span.is_recording():
                self.span.set_attribute(
                    semconv.GEN_AI_TOOL_CALL_ARGUMENTS, telemetry.content.serialise(self._arguments)
                )
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            telemetry.reporter.report("tool call arguments", error)
        self.started = default_timer()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        duration = default_timer() - self.started
        self.leave()  # first, whatever fails below: the caller's context is restored
        try:
            self._end(error, duration)
        except Exception as failure:  # noqa: BLE001 - telemetry must never reach the caller
            self.end_after_failure()
            self.telemetry.reporter.report("tool call end", failure)

    def _end(self, error: BaseException | None, duration: float) -> None:
        kind = error_type(error) if error is not None else self._error_type
        attributes: dict[str, AttributeValue] | None = None
        if self._result is not None and error is None and self.telemetry.content.capture and self.span.is_recording():
            attributes = {semconv.GEN_AI_TOOL_CALL_RESULT: self.telemetry.content.serialise(self._result)}
        self.close_span(attributes, kind, error, self._error_message)
        metric: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: self.name,
        }
        if kind is not None:
            metric[semconv.ERROR_TYPE] = kind
        context = self.metric_context()
        self.telemetry.duration.record(duration, metric, context)
        if self._also_record is not None:
            method = self._attributes.get(semconv.MCP_METHOD_NAME)
            if method is not None:
                metric[semconv.MCP_METHOD_NAME] = method
            self._also_record.record(duration, metric, context)
        count_tool_call(self._run, kind is not None, duration)
