"""The tool decorator and context manager on every kind of function."""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf import agent_run, tool, tool_call
from otel_agentperf.exceptions import ConfigurationError
from tests.helpers import one_span, points


@pytest.fixture
def providers(tracer_provider, meter_provider):
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def test_sync_tool_span_and_metric(providers, span_exporter, metric_reader):
    """@tool on a function: an INTERNAL execute_tool span with the tool attributes, and the duration metric."""

    @tool(**providers)
    def search(query: str) -> list[str]:
        """Search the docs."""
        return [query.upper()]

    assert search("otel") == ["OTEL"]
    span = one_span(span_exporter)
    assert span.name == "execute_tool search" and span.kind is SpanKind.INTERNAL
    assert span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert span.attributes["gen_ai.tool.name"] == "search"
    assert span.attributes["gen_ai.tool.type"] == "function"
    assert span.attributes["gen_ai.tool.description"] == "Search the docs."
    assert "gen_ai.tool.call.arguments" not in span.attributes
    assert "gen_ai.tool.call.result" not in span.attributes
    (point,) = points(metric_reader, "gen_ai.execute_tool.duration")
    assert point.count == 1 and dict(point.attributes) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
    }


async def test_async_tool_that_raises(providers, span_exporter, metric_reader):
    """An async tool's exception propagates unchanged; span and metric carry error.type."""
    error = TimeoutError("slow API")

    @tool(name="weather", **providers)
    async def get_weather(city: str) -> dict[str, str]:
        raise error

    with pytest.raises(TimeoutError) as caught:
        await get_weather("Paris")
    assert caught.value is error
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "TimeoutError"
    (point,) = points(metric_reader, "gen_ai.execute_tool.duration")
    assert point.attributes["error.type"] == "TimeoutError"


def test_generators_are_timed_over_their_iteration(providers, span_exporter):
    """A generator tool's span ends when its iteration ends, not when it is created."""

    @tool(**providers)
    def pages(n: int):
        yield from range(n)

    iterator = pages(3)
    assert not span_exporter.get_finished_spans()
    assert list(iterator) == [0, 1, 2]
    assert one_span(span_exporter).name == "execute_tool pages"


async def test_async_generator_tool(providers, span_exporter):
    """An async generator tool gives one span around its iteration."""

    @tool(**providers)
    async def chunks():
        yield "a"
        yield "b"

    assert [item async for item in chunks()] == ["a", "b"]
    assert one_span(span_exporter).name == "execute_tool chunks"


def test_content_capture_records_arguments_and_result(providers, span_exporter, monkeypatch):
    """With capture on, arguments (by parameter name) and the result are JSON on the span, cut to the limit."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    monkeypatch.setenv("OTEL_AGENTPERF_CONTENT_MAX_LENGTH", "40")

    @tool(name="echo_args", **providers)
    def echo(text: str, times: int = 1) -> str:
        return text * times

    echo("ab", times=30)
    span = one_span(span_exporter)
    assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"text": "ab", "times": 30}
    assert span.attributes["gen_ai.tool.call.result"] == "ab" * 20


def test_context_manager_with_call_id_and_run(providers, span_exporter):
    """tool_call() inside an agent run: span carries the call id, the run counts the call."""
    with agent_run("r", **providers) as run, tool_call("calculator", call_id="call-7", **providers) as call:
        call.set_result(4)
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    assert spans["execute_tool calculator"].attributes["gen_ai.tool.call.id"] == "call-7"
    assert spans["execute_tool calculator"].parent.span_id == spans["invoke_agent r"].context.span_id
    assert run.summary.tool_calls == 1


def test_bad_name_is_a_configuration_error():
    """An empty tool name is refused when the tool is declared."""
    with pytest.raises(ConfigurationError, match="non-empty string"):
        tool(name="")
