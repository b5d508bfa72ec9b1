"""The tool-call lifecycle every tool instrumentation shares: span, duration metric, run tally, opt-in content.

One :class:`ToolCall` per execution: entering it starts the span (``execute_tool {gen_ai.tool.name}`` unless the
caller names it) and makes it current; :meth:`ToolCall.set_result` keeps the result (recorded only with content capture
on), :meth:`ToolCall.set_error_result` marks a result that reports failure (an MCP ``isError`` reply); leaving it
ends the span, records ``gen_ai.execute_tool.duration`` with ``gen_ai.operation.name``, ``gen_ai.tool.name`` and
``error.type``, and counts the call in the current agent run. An exception leaving the block is recorded and re-raised
unchanged. Telemetry failures go to the error reporter, never to the tool's caller.
"""

from __future__ import annotations

import json
from timeit import default_timer
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import Histogram, Meter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from otel_agentperf import environment_variables as env
from otel_agentperf import semconv
from otel_agentperf._config import NO_CONTENT, read_capture_mode, read_int
from otel_agentperf._contexts import Attached, attach, detach
from otel_agentperf._guard import ErrorReporter
from otel_agentperf._runs import RunTally, count_tool_call, current_run
from otel_agentperf.instrumentation._retry import duration_histogram


class ToolTelemetry:
    """The tracer and tool-duration histogram of one instrumentation, and its content settings."""

    __slots__ = ("tracer", "duration", "reporter", "_capture", "_max_length")

    def __init__(self, tracer: Tracer, meter: Meter, reporter: ErrorReporter, **kwargs: Any) -> None:
        self.tracer = tracer
        self.duration: Histogram = duration_histogram(
            meter, semconv.GEN_AI_EXECUTE_TOOL_DURATION, "Duration of tool executions."
        )
        self.reporter = reporter
        self._capture: bool | None = None
        if "capture_content" in kwargs:
            self._capture = self._read_capture(kwargs["capture_content"])
        self._max_length = read_int(
            env.OTEL_AGENTPERF_CONTENT_MAX_LENGTH, "content_max_length", kwargs.get("content_max_length"), 8192, 1
        )

    @staticmethod
    def _read_capture(value: object) -> bool:
        mode = read_capture_mode(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "capture_content", value)
        return mode != NO_CONTENT

    @property
    def capture(self) -> bool:
        """Whether tool arguments and results are recorded (the keyword argument, else the variable, read now)."""
        return self._capture if self._capture is not None else self._read_capture(None)

    def content(self, value: Any) -> str:
        """``value`` as JSON text (strings as they are; its ``repr`` when not JSON-able), cut to the length limit."""
        if isinstance(value, str):
            text = value
        else:
            try:
                text = json.dumps(value, ensure_ascii=False, default=str)
            except (TypeError, ValueError):  # keys JSON cannot take (tuples), circular references
                text = repr(value)
        return text[: self._max_length]

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
        start: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: name,
        }
        for key, value in (
            (semconv.GEN_AI_TOOL_TYPE, tool_type),
            (semconv.GEN_AI_TOOL_DESCRIPTION, description),
            (semconv.GEN_AI_TOOL_CALL_ID, call_id),
        ):
            if value is not None:
                start[key] = value
        if attributes:
            start.update(attributes)
        span_name = span_name or f"{semconv.OPERATION_EXECUTE_TOOL} {name}"
        return ToolCall(self, name, span_name, kind, start, arguments, also_record)


class ToolCall:
    """One tool execution; a context manager (see the module docstring)."""

    __slots__ = (
        "telemetry",
        "name",
        "span",
        "_span_name",
        "_kind",
        "_attributes",
        "_arguments",
        "_token",
        "_started",
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
        self.telemetry = telemetry
        self._also_record = also_record
        self.name = name
        self.span: Span = trace.INVALID_SPAN
        self._span_name = span_name
        self._kind = kind
        self._attributes = attributes
        self._arguments = arguments
        self._token: Attached | None = None
        self._started = 0.0
        self._result: Any = None
        self._error_type: str | None = None
        self._error_message: str | None = None
        self._run: RunTally | None = None

    def set_result(self, result: Any) -> None:
        """Keep the tool's result (recorded on the span only with content capture on)."""
        self._result = result

    def set_error_result(self, error_type: str, message: str | None = None) -> None:
        """Mark the call failed although nothing was raised (a result that reports an error)."""
        self._error_type = error_type
        self._error_message = message

    def __enter__(self) -> ToolCall:
        telemetry = self.telemetry
        self._run = current_run()
        try:
            self.span = telemetry.tracer.start_span(self._span_name, kind=self._kind, attributes=self._attributes)
            self._token = attach(trace.set_span_in_context(self.span))
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            telemetry.reporter.report("tool call start", error)
        try:  # the span is current already: whatever the arguments are, the span tree stays the same
            if self._arguments is not None and self.span.is_recording() and telemetry.capture:
                self.span.set_attribute(semconv.GEN_AI_TOOL_CALL_ARGUMENTS, telemetry.content(self._arguments))
        except Exception as error:  # noqa: BLE001
            telemetry.reporter.report("tool call arguments", error)
        self._started = default_timer()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        duration = default_timer() - self._started
        if self._token is not None:
            # Apart from recording: whatever fails there, the caller's context is restored.
            detach(self._token)
            self._token = None
        try:
            self._end(error, duration)
        except Exception as failure:  # noqa: BLE001 - telemetry must never reach the caller
            self.telemetry.reporter.report("tool call end", failure)

    def _end(self, error: BaseException | None, duration: float) -> None:
        error_type = type(error).__qualname__ if error is not None else self._error_type
        span = self.span
        if span.is_recording():
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error) or error_type))
            elif error_type is not None:
                span.set_status(Status(StatusCode.ERROR, self._error_message or error_type))
            if error_type is not None:
                span.set_attribute(semconv.ERROR_TYPE, error_type)
            if self._result is not None and error is None and self.telemetry.capture:
                span.set_attribute(semconv.GEN_AI_TOOL_CALL_RESULT, self.telemetry.content(self._result))
        span.end()
        metric: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: self.name,
        }
        if error_type is not None:
            metric[semconv.ERROR_TYPE] = error_type
        self.telemetry.duration.record(duration, metric)
        if self._also_record is not None:
            method = self._attributes.get(semconv.MCP_METHOD_NAME)
            if method is not None:
                metric[semconv.MCP_METHOD_NAME] = method
            self._also_record.record(duration, metric)
        count_tool_call(self._run, error_type is not None)
