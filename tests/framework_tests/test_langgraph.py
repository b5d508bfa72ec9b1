"""LangGraph as users run it, over the fake LLM service: runs, nodes, LLM and tool spans in one trace."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool as langchain_tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import create_react_agent
from langgraph.types import Command, interrupt
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from typing_extensions import TypedDict

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor
from tests.framework_tests.conftest import chat_model
from tests.helpers import points

# create_react_agent is deprecated in favour of create_agent; both are in use, and both are traced.
pytestmark = pytest.mark.filterwarnings("ignore:create_react_agent has been moved")


@langchain_tool
def search(query: str) -> str:
    """Search the web."""
    return f"sunny in Paris ({query})"


def tree(spans: tuple[ReadableSpan, ...]) -> list[tuple[int, str]]:
    """(depth, name) of every span in start order; asserts that they all share one trace."""
    assert len({span.context.trace_id for span in spans}) == 1
    by_id = {span.context.span_id: span for span in spans}

    def depth(span: ReadableSpan) -> int:
        level = 0
        while span.parent is not None:
            assert span.parent.span_id in by_id, f"{span.name} has a parent outside the trace"
            span, level = by_id[span.parent.span_id], level + 1
        return level

    return [(depth(span), span.name) for span in sorted(spans, key=lambda span: span.start_time)]


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


REACT_TREE = [
    (0, "invoke_agent researcher"),
    (1, "node agent"),
    (2, "chat gpt-4o-mini"),
    (1, "node tools"),
    (2, "execute_tool search"),
    (1, "node agent"),
    (2, "chat gpt-4o-mini"),
]


def test_react_agent_is_one_run_with_its_steps(graphs, span_exporter, metric_reader):
    """create_react_agent: a tool call then the answer, as one agent run whose nodes hold the LLM and tool spans."""
    agent = create_react_agent(chat_model(), [search], name="researcher")
    result = agent.invoke({"messages": [("user", "Weather in Paris?")]})
    assert "sunny in Paris" in result["messages"][-1].content
    spans = span_exporter.get_finished_spans()
    assert tree(spans) == REACT_TREE
    (run,) = named(spans, "invoke_agent researcher")
    assert run.kind is SpanKind.INTERNAL and run.status.status_code is StatusCode.UNSET
    assert run.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert run.attributes["gen_ai.agent.name"] == "researcher"
    assert run.attributes["agentperf.run.llm_calls"] == 2
    assert run.attributes["agentperf.run.tool_calls"] == 1
    assert run.attributes["agentperf.run.end"] == "completed"
    chats = named(spans, "chat gpt-4o-mini")
    assert len(chats) == 2 and all(chat.parent.span_id != run.context.span_id for chat in chats)
    nodes = sorted((s for s in spans if s.name.startswith("node ")), key=lambda span: span.start_time)
    assert [(n.attributes["agentperf.node.name"], n.attributes["agentperf.node.step"]) for n in nodes] == [
        ("agent", 1),
        ("tools", 2),
        ("agent", 3),
    ]
    assert [node.attributes["agentperf.node.type"] for node in nodes] == ["model", "tool", "model"]
    (duration,) = points(metric_reader, "gen_ai.invoke_agent.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.agent.name"] == "researcher"
    (inference,) = points(metric_reader, "gen_ai.invoke_agent.inference_calls")
    (tool_calls,) = points(metric_reader, "gen_ai.invoke_agent.tool_calls")
    assert (inference.sum, tool_calls.sum) == (2, 1)
    assert sum(point.count for point in points(metric_reader, "gen_ai.client.operation.duration")) == 2


async def test_create_agent_async_is_one_run(graphs, span_exporter):
    """langchain.agents.create_agent, awaited: the same tree, with its model node."""
    agent = create_agent(chat_model(), [search], name="assistant")
    result = await agent.ainvoke({"messages": [("user", "Weather in Paris?")]})
    assert "sunny in Paris" in result["messages"][-1].content
    assert tree(span_exporter.get_finished_spans()) == [
        (0, "invoke_agent assistant"),
        (1, "node model"),
        (2, "chat gpt-4o-mini"),
        (1, "node tools"),
        (2, "execute_tool search"),
        (1, "node model"),
        (2, "chat gpt-4o-mini"),
    ]


def test_graph_run_nests_in_a_manual_run(graphs, tracer_provider, meter_provider, span_exporter):
    """A graph invoked inside agent_run() is a child run, whose counts add to the outer run's."""
    agent = create_react_agent(chat_model(), [search], name="researcher")
    with agent_run("session", tracer_provider=tracer_provider, meter_provider=meter_provider) as outer:
        agent.invoke({"messages": [("user", "Weather?")]})
    assert outer.summary.llm_calls == 2 and outer.summary.tool_calls == 1
    assert tree(span_exporter.get_finished_spans()) == [(0, "invoke_agent session")] + [
        (depth + 1, name) for depth, name in REACT_TREE
    ]


class Notes(TypedDict):
    notes: Annotated[list[str], operator.add]


def _pipeline() -> Any:
    """A workflow: plan (an LLM call) → research (a subgraph: two steps) → write."""
    model = chat_model()

    def plan(state: Notes) -> Notes:
        return {"notes": [model.invoke("Plan the report").content]}

    def gather(state: Notes) -> Notes:
        return {"notes": [search.invoke({"query": "paris"})]}

    def check(state: Notes) -> Notes:
        return {"notes": ["checked"]}

    research = StateGraph(Notes)
    research.add_node("gather", gather)
    research.add_node("check", check)
    research.add_edge(START, "gather")
    research.add_edge("gather", "check")
    research.add_edge("check", END)

    def write(state: Notes) -> Notes:
        return {"notes": ["report"]}

    graph = StateGraph(Notes)
    graph.add_node("plan", plan)
    graph.add_node("research", research.compile(name="research"))
    graph.add_node("write", write)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "research")
    graph.add_edge("research", "write")
    graph.add_edge("write", END)
    return graph.compile(name="report")


def test_workflow_with_subgraph_nests(graphs, span_exporter, metric_reader):
    """A graph without tool node is a workflow run; its subgraph is a nested run under the node that runs it."""
    result = _pipeline().invoke({"notes": []})
    assert result["notes"][-1] == "report"
    spans = span_exporter.get_finished_spans()
    assert tree(spans) == [
        (0, "invoke_workflow report"),
        (1, "node plan"),
        (2, "chat gpt-4o-mini"),
        (1, "node research"),
        (2, "invoke_workflow research"),
        (3, "node gather"),
        (4, "execute_tool search"),
        (3, "node check"),
        (1, "node write"),
    ]
    (root,) = named(spans, "invoke_workflow report")
    assert root.attributes["gen_ai.workflow.name"] == "report"
    assert root.attributes["agentperf.run.llm_calls"] == 1 and root.attributes["agentperf.run.tool_calls"] == 1
    nodes = [span for span in spans if span.name.startswith("node ")]
    types = {span.attributes["agentperf.node.name"]: span.attributes["agentperf.node.type"] for span in nodes}
    assert types == {"plan": "model", "research": "tool", "gather": "tool", "check": "function", "write": "function"}
    workflows = points(metric_reader, "gen_ai.invoke_workflow.duration")
    assert sorted(point.attributes["gen_ai.workflow.name"] for point in workflows) == ["report", "research"]
    assert points(metric_reader, "gen_ai.invoke_agent.inference_calls") == []


def test_stream_stopped_early_ends_the_run_as_closed(graphs, span_exporter):
    """A consumer that stops after the first step: the run ends at once, as closed, and no later node runs."""
    stream = _pipeline().stream({"notes": []}, stream_mode="updates")
    first = next(stream)
    assert list(first) == ["plan"]
    stream.close()
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing of the run leaks into the consumer's context
    spans = span_exporter.get_finished_spans()
    assert tree(spans) == [(0, "invoke_workflow report"), (1, "node plan"), (2, "chat gpt-4o-mini")]
    (root,) = named(spans, "invoke_workflow report")
    assert root.attributes["agentperf.run.end"] == "closed"
    assert root.status.status_code is StatusCode.UNSET


async def test_astream_stopped_early_ends_the_run_as_closed(graphs, span_exporter):
    """The same with astream, closed with aclose()."""
    stream = _pipeline().astream({"notes": []}, stream_mode="updates")
    assert list(await anext(stream)) == ["plan"]
    await stream.aclose()
    (root,) = named(span_exporter.get_finished_spans(), "invoke_workflow report")
    assert root.attributes["agentperf.run.end"] == "closed"


def _approval_graph() -> Any:
    def draft(state: Notes) -> Notes:
        return {"notes": ["draft"]}

    def approve(state: Notes) -> Notes:
        answer = interrupt("approve the draft?")
        return {"notes": [f"approved: {answer}"]}

    graph = StateGraph(Notes)
    graph.add_node("draft", draft)
    graph.add_node("approve", approve)
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "approve")
    graph.add_edge("approve", END)
    return graph.compile(name="review", checkpointer=InMemorySaver())


def test_interrupt_ends_the_run_and_resume_links_to_it(graphs, span_exporter):
    """interrupt(): the run ends as interrupted (not an error); the resumed run is a new one, linked to the first."""
    graph = _approval_graph()
    config = {"configurable": {"thread_id": "thread-7"}}
    paused = graph.invoke({"notes": []}, config)
    assert "__interrupt__" in paused
    resumed = graph.invoke(Command(resume="yes"), config)
    assert resumed["notes"][-1] == "approved: yes"
    runs = named(span_exporter.get_finished_spans(), "invoke_workflow review")
    first, second = sorted(runs, key=lambda span: span.start_time)
    assert first.attributes["agentperf.run.end"] == "interrupted"
    assert first.status.status_code is StatusCode.UNSET
    assert first.attributes["gen_ai.conversation.id"] == "thread-7"
    assert second.attributes["agentperf.run.end"] == "completed"
    (link,) = second.links
    assert link.context.span_id == first.context.span_id and link.attributes["agentperf.run.resumes"] is True
    approvals = named(span_exporter.get_finished_spans(), "node approve")
    (paused_node,) = [span for span in approvals if span.end_time < second.start_time]
    assert paused_node.attributes["agentperf.node.interrupted"] is True
    assert paused_node.status.status_code is StatusCode.UNSET


def test_failing_node_marks_node_and_run(graphs, span_exporter):
    """A node that raises: the user's exception propagates unchanged; node and run spans carry error.type."""
    error = ValueError("bad input")

    def broken(state: Notes) -> Notes:
        raise error

    graph = StateGraph(Notes)
    graph.add_node("broken", broken)
    graph.add_edge(START, "broken")
    with pytest.raises(ValueError) as caught:
        graph.compile(name="fragile").invoke({"notes": []})
    assert caught.value is error
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    for name in ("invoke_workflow fragile", "node broken"):
        assert spans[name].status.status_code is StatusCode.ERROR
        assert spans[name].attributes["error.type"] == "ValueError"
    assert spans["invoke_workflow fragile"].attributes["agentperf.run.end"] == "error"


def test_uninstrument_removes_runs_and_nodes(instrument, span_exporter):
    """After uninstrument(), a graph run leaves no span of ours; instrumenting twice makes no second span."""
    instrumentor = instrument(LangChainToolsInstrumentor)
    instrument(LangChainToolsInstrumentor)
    _pipeline().invoke({"notes": []})
    assert len(named(span_exporter.get_finished_spans(), "node plan")) == 1
    span_exporter.clear()
    instrumentor.uninstrument()
    _pipeline().invoke({"notes": []})
    assert span_exporter.get_finished_spans() == ()
