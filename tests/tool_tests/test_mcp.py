"""MCP tool calls through the real mcp SDK: an in-process MCPServer and the SDK's own Client."""

from __future__ import annotations

import json

import anyio
import pytest
from mcp import Client
from mcp.server import MCPServer
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.mcp import MCPInstrumentor
from tests.helpers import points


def _server() -> MCPServer:
    server = MCPServer("test-tools")

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool()
    def explode(reason: str) -> str:
        raise ValueError(reason)

    @server.tool()
    async def slow() -> str:
        await anyio.sleep(5)
        return "late"

    return server


def _ours(exporter):
    return [
        span for span in exporter.get_finished_spans() if span.instrumentation_scope.name.startswith("otel_agentperf")
    ]


async def test_call_tool_span_and_both_metrics(instrument, span_exporter, metric_reader):
    """A successful call: CLIENT span tools/call add with the MCP and GenAI attributes; both duration metrics."""
    instrument(MCPInstrumentor)
    async with Client(_server()) as client:
        result = await client.call_tool("add", {"a": 2, "b": 3})
    assert result.is_error is False
    (span,) = _ours(span_exporter)
    assert span.name == "tools/call add" and span.kind is SpanKind.CLIENT
    assert span.attributes["mcp.method.name"] == "tools/call"
    assert span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert span.attributes["gen_ai.tool.name"] == "add"
    assert "gen_ai.tool.call.arguments" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET
    (mcp_point,) = points(metric_reader, "mcp.client.operation.duration")
    assert dict(mcp_point.attributes) == {
        "mcp.method.name": "tools/call",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
    }
    (tool_point,) = points(metric_reader, "gen_ai.execute_tool.duration")
    assert tool_point.count == 1


async def test_error_result_marks_span_and_metrics(instrument, span_exporter, metric_reader):
    """A tool that raises on the server comes back as isError: span ERROR, error.type=tool_error, run counts it."""
    instrument(MCPInstrumentor)
    async with Client(_server()) as client, agent_run("r") as run:
        result = await client.call_tool("explode", {"reason": "boom"})
    assert result.is_error is True
    (span,) = [span for span in _ours(span_exporter) if span.name.startswith("tools/call")]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "tool_error"
    (point,) = points(metric_reader, "mcp.client.operation.duration")
    assert point.attributes["error.type"] == "tool_error"
    assert (run.summary.tool_calls, run.summary.errors) == (1, 1)


async def test_content_capture(instrument, span_exporter):
    """With capture on, arguments and the result content are on the span as JSON."""
    instrument(MCPInstrumentor, capture_content=True)
    async with Client(_server()) as client:
        await client.call_tool("add", {"a": 20, "b": 22})
    (span,) = _ours(span_exporter)
    assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"a": 20, "b": 22}
    assert "42" in span.attributes["gen_ai.tool.call.result"]


async def test_sdk_spans_are_children_of_ours(instrument, tracer_provider, span_exporter):
    """The SDK's own server span for the call nests under our client span: one tool call, one tree."""
    from opentelemetry import trace

    instrument(MCPInstrumentor)
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = tracer_provider  # the SDK's spans use the global provider
    try:
        async with Client(_server()) as client:
            await client.call_tool("add", {"a": 1, "b": 1})
    finally:
        trace._TRACER_PROVIDER = previous
    spans = span_exporter.get_finished_spans()
    (ours,) = _ours(span_exporter)
    theirs = [span for span in spans if span is not ours and "add" in span.name]
    assert theirs, [span.name for span in spans]
    assert all(span.context.trace_id == ours.context.trace_id for span in theirs)
    assert ours.context.span_id in {span.parent.span_id for span in theirs if span.parent}


async def test_exception_propagates_unchanged(instrument, span_exporter):
    """A call that times out raises the SDK's own exception; the span and metric carry its class."""
    instrument(MCPInstrumentor)
    async with Client(_server()) as client:
        with pytest.raises(Exception) as caught:
            await client.call_tool("slow", {}, read_timeout_seconds=0.05)
    (span,) = [span for span in _ours(span_exporter) if span.name == "tools/call slow"]
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert span.status.status_code is StatusCode.ERROR
