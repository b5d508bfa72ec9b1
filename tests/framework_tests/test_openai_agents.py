"""The OpenAI Agents SDK as users run it, over the fake LLM service: runs, handoffs, tools, guardrails, one trace."""

from __future__ import annotations

import asyncio
import contextvars
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import openai
import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    OpenAIChatCompletionsModel,
    Runner,
    RunResultStreaming,
    flush_traces,
    function_tool,
    input_guardrail,
)
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from tests.framework_tests.test_langgraph import named, tree
from tests.helpers import fake_handler, points
from tests.openai_tests.conftest import API_KEY, BASE_URL


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No key for the SDK's own trace exporter, and any connection attempt off this machine fails the test."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    attempts: list[Any] = []
    connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"offline test tried to reach {address}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    yield
    flush_traces()  # the SDK's exporter exports now, while the guard is on
    assert attempts == []


@pytest.fixture
def agents_sdk(instrument):
    instrument(OpenAIInstrumentor)
    instrument(OpenAIAgentsInstrumentor)


def model() -> OpenAIChatCompletionsModel:
    """The fake service calls each offered tool in turn, then answers: the function tool, then the handoff."""
    client = openai.AsyncOpenAI(
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake_handler())),
        default_headers={"x-fake-tools": "each"},
    )
    return OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)


@function_tool
def get_weather(query: str) -> str:
    """The weather in a city."""
    return "sunny"


@input_guardrail
def polite(context, agent, message) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)


def triage_agent() -> Agent:
    forecaster = Agent(name="forecaster", instructions="Tell the weather.", model=model())
    return Agent(
        name="triage",
        instructions="Look it up, then hand off.",
        model=model(),
        tools=[get_weather],
        handoffs=[forecaster],
        input_guardrails=[polite],
    )


EXPECTED_TREE = [
    (0, "invoke_agent triage"),
    (1, "guardrail polite"),
    (1, "chat gpt-4o-mini"),
    (1, "execute_tool get_weather"),
    (1, "chat gpt-4o-mini"),
    (1, "invoke_agent forecaster"),
    (2, "chat gpt-4o-mini"),
]


async def test_run_with_tool_and_handoff_is_one_tree(agents_sdk, span_exporter, metric_reader):
    """Runner.run: the run, its guardrail, LLM calls counted once, the tool, and the agent handed off to, nested."""
    result = await Runner.run(triage_agent(), "Weather in Paris?")
    assert result.last_agent.name == "forecaster"
    spans = span_exporter.get_finished_spans()
    assert sorted(tree(spans)) == sorted(EXPECTED_TREE)
    (run,) = named(spans, "invoke_agent triage")
    assert run.kind is SpanKind.INTERNAL and run.parent is None
    assert run.attributes["gen_ai.agent.name"] == "triage"
    assert run.attributes["agentperf.run.llm_calls"] == 3
    assert run.attributes["agentperf.run.tool_calls"] == 1
    (handoff,) = named(spans, "invoke_agent forecaster")
    assert handoff.attributes["agentperf.run.llm_calls"] == 1
    (tool,) = named(spans, "execute_tool get_weather")
    assert tool.attributes["gen_ai.tool.name"] == "get_weather" and tool.status.status_code is StatusCode.UNSET
    (guardrail,) = named(spans, "guardrail polite")
    assert guardrail.attributes["agentperf.guardrail.triggered"] is False
    assert len(named(spans, "chat gpt-4o-mini")) == 3  # the SDK's generation spans add none
    (tool_point,) = points(metric_reader, "gen_ai.execute_tool.duration")
    assert tool_point.count == 1 and tool_point.attributes["gen_ai.tool.name"] == "get_weather"
    inference = {
        p.attributes["gen_ai.agent.name"]: p.sum for p in points(metric_reader, "gen_ai.invoke_agent.inference_calls")
    }
    assert inference == {"triage": 3, "forecaster": 1}


def test_run_sync_is_one_run(agents_sdk, span_exporter):
    """Runner.run_sync goes through the same run (in a thread of its own, whose loop the SDK leaves open)."""

    def run_sync() -> Any:
        try:
            return Runner.run_sync(triage_agent(), "Weather in Paris?")
        finally:
            loop = asyncio.get_event_loop_policy().get_event_loop()
            asyncio.set_event_loop(None)
            loop.close()

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(contextvars.copy_context().run, run_sync).result()
    assert result.last_agent.name == "forecaster"
    assert sorted(tree(span_exporter.get_finished_spans())) == sorted(EXPECTED_TREE)


async def test_streamed_run_read_in_full(agents_sdk, span_exporter):
    """run_streamed read to its end: the same tree; the caller's context is left as it was."""
    result = Runner.run_streamed(triage_agent(), "Weather in Paris?")
    assert isinstance(result, RunResultStreaming)
    async for _ in result.stream_events():
        pass
    await asyncio.sleep(0)  # the run loop's done callback
    spans = span_exporter.get_finished_spans()
    assert sorted(tree(spans)) == sorted(EXPECTED_TREE)
    (run,) = named(spans, "invoke_agent triage")
    assert run.attributes["agentperf.run.end"] == "completed"


async def test_streamed_run_cancelled_after_the_first_event(agents_sdk, span_exporter):
    """A consumer that reads one event and cancels: the run ends at once, as cancelled, not as an error."""
    result = Runner.run_streamed(triage_agent(), "Weather in Paris?")
    async for _ in result.stream_events():
        result.cancel()
        break
    for _ in range(20):
        if named(span_exporter.get_finished_spans(), "invoke_agent triage"):
            break
        await asyncio.sleep(0.01)
    (run,) = named(span_exporter.get_finished_spans(), "invoke_agent triage")
    assert run.attributes["agentperf.run.end"] == "cancelled"
    assert run.status.status_code is StatusCode.UNSET
    assert run.attributes["agentperf.run.llm_calls"] < 3


async def test_uninstrument_removes_runs_and_the_processor(instrument, span_exporter):
    """After uninstrument(), a run leaves no span of ours, and our processor is off the SDK's list."""
    from agents.tracing import get_trace_provider

    instrumentor = instrument(OpenAIAgentsInstrumentor)
    processors = get_trace_provider()._multi_processor._processors
    assert any(type(item).__name__ == "_Processor" for item in processors)
    instrumentor.uninstrument()
    assert not any(type(item).__name__ == "_Processor" for item in get_trace_provider()._multi_processor._processors)
    await Runner.run(triage_agent(), "Weather in Paris?")
    assert span_exporter.get_finished_spans() == ()
