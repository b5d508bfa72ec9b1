"""LangChain tools through the real langchain-core: invoke, ainvoke, run, arun, errors and handled errors."""

from __future__ import annotations

import pytest
from langchain_core.tools import StructuredTool, ToolException
from langchain_core.tools import tool as langchain_tool
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor
from tests.helpers import one_span, points


@langchain_tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _fail(reason: str) -> str:
    raise ToolException(reason)


async def _afail(reason: str) -> str:
    raise ToolException(reason)


@pytest.mark.parametrize("style", ["invoke", "run"])
def test_sync_call_is_one_span(style, instrument, span_exporter, metric_reader):
    """invoke() (which calls run()) and run() each give exactly one execute_tool span and one metric point."""
    instrument(LangChainToolsInstrumentor)
    result = getattr(multiply, style)({"a": 6, "b": 7})
    assert result == 42
    span = one_span(span_exporter)
    assert span.name == "execute_tool multiply" and span.kind is SpanKind.INTERNAL
    assert span.attributes["gen_ai.tool.description"] == "Multiply two integers."
    assert "gen_ai.tool.call.arguments" not in span.attributes
    assert sum(point.count for point in points(metric_reader, "gen_ai.execute_tool.duration")) == 1


@pytest.mark.parametrize("style", ["ainvoke", "arun"])
async def test_async_call_is_one_span(style, instrument, span_exporter):
    """ainvoke() and arun() each give one span."""
    instrument(LangChainToolsInstrumentor)
    assert await getattr(multiply, style)({"a": 2, "b": 3}) == 6
    assert one_span(span_exporter).attributes["gen_ai.tool.name"] == "multiply"


def test_tool_call_id_and_capture(instrument, span_exporter):
    """Invoked with a tool call: the call id is on the span; with capture on, input and output too."""
    instrument(LangChainToolsInstrumentor, capture_content=True)
    message = multiply.invoke({"type": "tool_call", "id": "call-1", "name": "multiply", "args": {"a": 3, "b": 3}})
    assert message.content == "9"
    span = one_span(span_exporter)
    assert span.attributes["gen_ai.tool.call.id"] == "call-1"
    assert '"a": 3' in span.attributes["gen_ai.tool.call.arguments"]
    assert span.attributes["gen_ai.tool.call.result"] == "9"


def test_raising_tool_propagates_unchanged(instrument, span_exporter, metric_reader):
    """An unhandled ToolException reaches the caller; span and metric carry its class."""
    failing = StructuredTool.from_function(_fail, name="fail", description="Always fails.")
    instrument(LangChainToolsInstrumentor)
    with pytest.raises(ToolException, match="nope"):
        failing.invoke({"reason": "nope"})
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "ToolException"
    (point,) = points(metric_reader, "gen_ai.execute_tool.duration")
    assert point.attributes["error.type"] == "ToolException"


def test_handled_error_with_call_id_is_a_tool_error(instrument, span_exporter):
    """handle_tool_error with a tool call: LangChain returns an error ToolMessage; the span says tool_error."""
    failing = StructuredTool.from_function(_fail, name="fail", description="Fails.", handle_tool_error=True)
    instrument(LangChainToolsInstrumentor)
    message = failing.invoke({"type": "tool_call", "id": "c2", "name": "fail", "args": {"reason": "bad"}})
    assert message.status == "error"
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == "tool_error"


@pytest.mark.parametrize("style", ["invoke", "ainvoke"])
async def test_handled_error_without_call_id_is_a_tool_error(style, instrument, span_exporter, metric_reader):
    """handle_tool_error without a tool call returns a plain string, yet the span and metric say tool_error."""
    failing = StructuredTool.from_function(
        _fail, coroutine=_afail, name="fail", description="Fails.", handle_tool_error=True
    )
    instrument(LangChainToolsInstrumentor)
    result = getattr(failing, style)({"reason": "bad"})
    if style == "ainvoke":
        result = await result
    assert result == "bad"
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "tool_error"
    (point,) = points(metric_reader, "gen_ai.execute_tool.duration")
    assert point.attributes["error.type"] == "tool_error"


def test_handled_error_of_an_inner_tool_does_not_mark_the_outer_one(instrument, span_exporter):
    """A tool that calls another tool whose error is handled: only the inner call is marked."""
    inner = StructuredTool.from_function(_fail, name="inner", description="Fails.", handle_tool_error=True)

    def outer_body(reason: str) -> str:
        return "outer saw: " + inner.invoke({"reason": reason})

    outer = StructuredTool.from_function(outer_body, name="outer", description="Calls inner.")
    instrument(LangChainToolsInstrumentor)
    assert outer.invoke({"reason": "x"}) == "outer saw: x"
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    assert spans["execute_tool inner"].attributes["error.type"] == "tool_error"
    assert "error.type" not in spans["execute_tool outer"].attributes
    assert spans["execute_tool outer"].status.status_code is StatusCode.UNSET


def test_uninstrument_restores(instrument, span_exporter):
    """After uninstrument() tools run untraced."""
    instrument(LangChainToolsInstrumentor).uninstrument()
    assert multiply.invoke({"a": 1, "b": 1}) == 1
    assert not span_exporter.get_finished_spans()
