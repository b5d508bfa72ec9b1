"""OpenTelemetry instrumentation for MCP clients (mcp SDK >= 2): one span and two duration metrics per tool call.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_mcp``. By hand::

    from otel_agentperf.instrumentation.mcp import MCPInstrumentor

    MCPInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration: ``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``) records the tool's
arguments and result, cut to ``content_max_length`` (``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``); ``tracer_provider``,
``meter_provider``.

What is recorded
----------------
Each ``tools/call`` is a CLIENT span ``tools/call {tool}`` (the MCP conventions' name) with ``mcp.method.name``,
``gen_ai.operation.name=execute_tool``, ``gen_ai.tool.name``, ``gen_ai.tool.type=extension`` and, with content
capture on, ``gen_ai.tool.call.arguments`` and ``gen_ai.tool.call.result``. A result with ``isError`` marks the span
ERROR with ``error.type=tool_error``; an exception (a JSON-RPC error, a timeout) marks it with the exception's class and
propagates unchanged. The duration goes to ``mcp.client.operation.duration`` (with ``mcp.method.name``,
``gen_ai.tool.name``, ``error.type``) and to ``gen_ai.execute_tool.duration``, and the current agent run counts the
call.

What is patched
---------------
``mcp.client.session.ClientSession.call_tool``, which ``mcp.Client.call_tool`` and ``ClientSessionGroup`` also go
through (a call the client resends, e.g. after an input-required round, is one span per round).

The SDK's own spans
-------------------
The mcp SDK emits spans of its own: a SERVER span ``tools/call {tool}`` in every server, and on JSON-RPC transports a
CLIENT span ``MCP send ...`` per message, both in the context current when the request is sent. Ours is current
around the call, so the SDK's client span is its child and the trace context the SDK puts in ``params._meta`` carries
ours to the server: the server's span becomes a child of ours across the process boundary. Nothing is emitted twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import Histogram
from opentelemetry.trace import SpanKind

from otel_agentperf import semconv
from otel_agentperf.core.content import ContentPolicy
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.tool_execution import ToolCall, ToolTelemetry
from otel_agentperf.instrumentation.mcp.package import _instruments

__all__ = ["MCPInstrumentor"]

_TOOLS_CALL = "tools/call"


class MCPInstrumentor(AgentPerfInstrumentor):
    """Traces the tool calls of MCP client sessions."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = ToolTelemetry(tracer, instruments, reporter, ContentPolicy.resolve(kwargs))
        operation_duration = instruments.histogram(semconv.MCP_CLIENT_OPERATION_DURATION)
        self._patch("mcp.client.session", "ClientSession.call_tool", _call_tool_wrapper(telemetry, operation_duration))


def _call_tool_wrapper(telemetry: ToolTelemetry, operation_duration: Histogram) -> Callable[..., Awaitable[Any]]:
    async def wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        name = args[0] if args else kwargs.get("name")
        if not isinstance(name, str):
            return await wrapped(*args, **kwargs)
        arguments = args[1] if len(args) > 1 else kwargs.get("arguments")
        call = telemetry.call(
            name,
            tool_type="extension",
            arguments=arguments,
            span_name=f"{_TOOLS_CALL} {name}",
            kind=SpanKind.CLIENT,
            attributes={semconv.MCP_METHOD_NAME: _TOOLS_CALL},
            also_record=operation_duration,
        )
        with call:
            result = await wrapped(*args, **kwargs)
            _read_result(call, result)
        return result

    return wrapper


def _read_result(call: ToolCall, result: Any) -> None:
    try:
        if getattr(result, "is_error", False) is True:
            call.set_error_result(semconv.ERROR_TYPE_TOOL_ERROR, "the tool reported an error")
        content = getattr(result, "content", None)
        if content is not None and call.telemetry.capture:
            call.set_result([_dump(item) for item in content])
    except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
        call.telemetry.reporter.report("mcp tool result", error)


def _dump(item: Any) -> Any:
    dump = getattr(item, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else str(item)
