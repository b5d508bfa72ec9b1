"""The tool decorator and context manager on every kind of function."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf import agent, agent_run, tool, tool_call
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


def test_generator_tools_iterated_in_turns_keep_the_consumer_context_clean(providers, span_exporter):
    """Between items the consumer is not inside the tool's span, and zip() over two tools leaves no span behind."""
    tracer = providers["tracer_provider"].get_tracer("consumer")

    @tool(**providers)
    def letters():
        with tracer.start_as_current_span("inside"):
            pass
        yield from "ab"

    @tool(**providers)
    def numbers():
        yield from (1, 2, 3)

    with tracer.start_as_current_span("consumer") as consumer:
        for _pair in zip(letters(), numbers(), strict=False):
            assert trace.get_current_span() is consumer
            with tracer.start_as_current_span("between"):
                pass
        assert trace.get_current_span() is consumer
    assert trace.get_current_span() is trace.INVALID_SPAN
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    consumer_id = spans["consumer"].context.span_id
    assert spans["between"].parent.span_id == consumer_id
    assert spans["execute_tool letters"].parent.span_id == consumer_id
    assert spans["execute_tool numbers"].parent.span_id == consumer_id
    assert spans["inside"].parent.span_id == spans["execute_tool letters"].context.span_id


def test_generator_tool_closed_early_ends_without_error(providers, span_exporter):
    """A consumer that stops early ends the tool's span normally: stopping is not a failure of the tool."""
    closed = []

    @tool(**providers)
    def endless():
        try:
            yield from iter(int, 1)
        finally:
            closed.append(True)

    for item in endless():
        if item == 0:
            break
    assert closed == [True]
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes


def test_send_and_throw_reach_a_generator_tool(providers, span_exporter):
    """send() and throw() pass through the wrapper as through yield from; the return value stays the same."""

    @tool(**providers)
    def accumulate():
        total = 0
        while True:
            try:
                value = yield total
            except ValueError:
                return total
            total += value

    generator = accumulate()
    assert next(generator) == 0
    assert generator.send(2) == 2
    assert generator.send(3) == 5
    with pytest.raises(StopIteration) as stopped:
        generator.throw(ValueError("done"))
    assert stopped.value.value == 5
    assert one_span(span_exporter).status.status_code is StatusCode.UNSET


async def test_asend_and_athrow_reach_an_async_generator_tool(providers, span_exporter):
    """asend() and athrow() reach the wrapped async generator; an exception it does not handle fails the span."""

    @tool(**providers)
    async def echo():
        value = None
        while True:
            try:
                value = yield value
            except KeyError:
                value = "recovered"

    generator = echo()
    assert await generator.asend(None) is None
    assert await generator.asend("x") == "x"
    assert await generator.athrow(KeyError("k")) == "recovered"
    with pytest.raises(RuntimeError, match="stop"):
        await generator.athrow(RuntimeError("stop"))
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RuntimeError"


async def test_async_generator_tools_in_concurrent_tasks_keep_their_parents(providers, span_exporter):
    """Two tasks iterate async generator tools in turns: each tool's span and children stay in its own task's tree."""
    tracer = providers["tracer_provider"].get_tracer("consumer")

    @tool(**providers)
    async def ticks(label: str):
        for index in range(3):
            with tracer.start_as_current_span(f"tick {label}"):
                await asyncio.sleep(0)
            yield index

    async def consume(label: str) -> None:
        with tracer.start_as_current_span(f"task {label}") as task_span:
            async for _ in ticks(label):
                assert trace.get_current_span() is task_span
                await asyncio.sleep(0)

    await asyncio.gather(consume("a"), consume("b"))
    spans = span_exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    for label in "ab":
        ticks_of_label = [span for span in spans if span.name == f"tick {label}"]
        assert len(ticks_of_label) == 3
        tool_span = by_id[ticks_of_label[0].parent.span_id]
        assert {by_id[span.parent.span_id].name for span in ticks_of_label} == {"execute_tool ticks"}
        assert len({span.parent.span_id for span in ticks_of_label}) == 1
        assert by_id[tool_span.parent.span_id].name == f"task {label}"


def test_generator_agent_counts_only_its_own_work(providers):
    """A generator agent's run counts the tool calls of its body, not those the consumer makes between items."""
    runs = []

    @agent("streaming", on_end=runs.append, **providers)
    def steps():
        for _ in range(2):
            with tool_call("inner", **providers):
                pass
            yield

    for _ in steps():
        with tool_call("outer", **providers):
            pass
    (summary,) = runs
    assert summary.tool_calls == 2
