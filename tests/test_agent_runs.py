"""Agent runs: span, metric and summary, with everything the instrumentors see counted automatically."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import threading
import time

import cachetools
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf import RunCollector, RunSummary, agent, agent_run, tool, workflow
from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.runs import record_tool_call
from tests.helpers import metrics_by_name, points
from tests.openai_tests.conftest import USER_MESSAGES, make_async_client, make_client


@pytest.fixture
def providers(tracer_provider, meter_provider):
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def test_run_span_metric_and_summary(providers, instrument, span_exporter, metric_reader):
    """A run with two real LLM calls: invoke_agent span above the chat spans, tokens summed, metric recorded."""
    instrument(OpenAIInstrumentor)
    client = make_client()
    with agent_run("researcher", conversation_id="conv-1", **providers) as run:
        answers = [client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES) for _ in range(2)]
    summary = run.summary
    assert isinstance(summary, RunSummary)
    assert summary.llm_calls == 2
    assert summary.input_tokens == sum(answer.usage.prompt_tokens for answer in answers)
    assert summary.output_tokens == sum(answer.usage.completion_tokens for answer in answers)
    assert summary.error_type is None and summary.duration > 0
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    root = spans["invoke_agent researcher"]
    assert root.kind is SpanKind.INTERNAL
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.conversation.id"] == "conv-1"
    assert root.attributes["agentperf.run.llm_calls"] == 2
    assert root.attributes["agentperf.run.input_tokens"] == summary.input_tokens
    assert spans["chat gpt-4o-mini"].parent.span_id == root.context.span_id
    (point,) = points(metric_reader, "gen_ai.invoke_agent.duration")
    assert point.count == 1 and point.attributes["gen_ai.agent.name"] == "researcher"
    assert "gen_ai.conversation.id" not in point.attributes


def test_run_that_raises_still_summarises(providers, span_exporter, metric_reader):
    """The user's exception propagates unchanged; the run ends with its summary, error.type and ERROR status."""
    error = ValueError("no answer")
    with pytest.raises(ValueError) as caught, agent_run("failing", **providers) as run:
        record_tool_call(failed=True)
        raise error
    assert caught.value is error
    assert run.summary is not None and run.summary.error_type == "ValueError"
    assert run.summary.tool_calls == 1 and run.summary.errors == 1
    (span,) = span_exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValueError"
    (point,) = points(metric_reader, "gen_ai.invoke_agent.duration")
    assert point.attributes["error.type"] == "ValueError"


def test_nested_runs_roll_up(providers, instrument):
    """Cache lookups in a nested run count in it and in its parent."""
    instrument(CachetoolsInstrumentor)
    cache = cachetools.LRUCache(maxsize=2)
    cache["a"] = 1
    with agent_run("outer", **providers) as outer:
        cache.get("a")
        with agent_run("inner", **providers) as inner:
            cache.get("a")
            cache.get("b")
    assert (inner.summary.cache_hits, inner.summary.cache_misses) == (1, 1)
    assert (outer.summary.cache_hits, outer.summary.cache_misses) == (2, 1)
    assert outer.summary.cache_hit_rate == pytest.approx(2 / 3)


async def test_concurrent_tasks_keep_their_own_counts(providers, instrument):
    """asyncio.gather of runs making different numbers of LLM calls: each run counts only its own."""
    instrument(OpenAIInstrumentor)
    client = make_async_client()

    @agent("worker", **providers)
    async def work(calls: int) -> RunSummary | None:
        for _ in range(calls):
            await client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
        return None

    collector = RunCollector()
    runs = []

    async def one(calls: int) -> None:
        async with agent_run("worker", on_end=collector, **providers) as run:
            await asyncio.gather(*(work(1) for _ in range(calls)))
        runs.append((calls, run.summary.llm_calls))

    await asyncio.gather(*(one(calls) for calls in (1, 2, 3, 4)))
    assert sorted(runs) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert collector.count == 4 and collector.totals()["llm_calls"] == 10


def test_threads_in_a_copied_context_count_in_the_run(providers):
    """Work in threads started with contextvars.copy_context().run lands in the run; plain threads do not."""
    with agent_run("threads", **providers) as run:
        copied = [threading.Thread(target=contextvars.copy_context().run, args=(record_tool_call, False)) for _ in "ab"]
        plain = threading.Thread(target=record_tool_call, args=(False,))
        for thread in [*copied, plain]:
            thread.start()
        for thread in [*copied, plain]:
            thread.join()
    assert run.summary.tool_calls == 2


def test_agent_decorator_on_sync_and_generator_functions(providers, span_exporter):
    """@agent on a function and on a generator: one span per call, around the whole iteration."""

    @agent(**providers)
    def answer(x: int) -> int:
        return x + 1

    @agent("lister", **providers)
    def items(n: int):
        yield from range(n)

    assert answer(1) == 2
    assert list(items(3)) == [0, 1, 2]
    names = sorted(span.name for span in span_exporter.get_finished_spans())
    assert names == ["invoke_agent lister", f"invoke_agent {answer.__qualname__}"]


def test_on_end_callback_error_does_not_reach_the_user(providers, monkeypatch, caplog):
    """A failing on_end callback is logged; the run's body result stands."""
    monkeypatch.setenv("OTEL_AGENTPERF_STRICT", "false")

    def broken(summary: RunSummary) -> None:
        raise RuntimeError("callback bug")

    with agent_run("callback", on_end=broken, **providers) as run:
        value = 42
    assert value == 42 and run.summary is not None
    assert "agent run on_end callback" in caplog.text


def test_summary_to_dict_and_rates(providers):
    """to_dict() holds every field plus the two rates (None when undefined)."""
    with agent_run("empty", **providers) as run:
        pass
    values = run.summary.to_dict()
    assert values["name"] == "empty" and values["llm_calls"] == 0
    assert values["cache_hit_rate"] is None and values["prompt_cache_hit_rate"] is None


def test_collector_averages_percentiles_and_window(providers):
    """RunCollector: averages over the window or the last N, nearest-rank percentiles, totals over all runs."""
    with agent_run("r", **providers) as run:
        record_tool_call(failed=False)
    collector = RunCollector(window=3)
    for duration in (1.0, 2.0, 3.0, 4.0):
        collector(dataclasses.replace(run.summary, duration=duration))
    assert collector.count == 4
    assert collector.totals()["tool_calls"] == 4
    assert collector.averages()["tool_calls"] == 1
    assert collector.percentiles()[0.5] == 3.0
    assert collector.percentiles()[0.99] == 4.0
    assert collector.averages(last=1)["duration"] == 4.0


def test_bad_arguments_are_configuration_errors():
    """An empty name, an uncallable on_end or a bad window fail at the call that sets them up."""
    with pytest.raises(ConfigurationError, match="non-empty string"):
        agent_run("")
    with pytest.raises(ConfigurationError, match="on_end"):
        agent("x", on_end=5)(lambda: None)
    with pytest.raises(ConfigurationError, match="window"):
        RunCollector(window=0)


def test_agent_metrics_count_calls_per_run(providers, instrument, metric_reader):
    """Each run records its LLM and tool calls on the conventions' per-agent histograms, with the agent's name."""
    instrument(OpenAIInstrumentor)
    client = make_client()
    with agent_run("counter", **providers):
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
        record_tool_call(failed=False)
    with agent_run("counter", **providers):
        pass
    (inference,) = points(metric_reader, "gen_ai.invoke_agent.inference_calls")
    (tools,) = points(metric_reader, "gen_ai.invoke_agent.tool_calls")
    assert (inference.count, inference.sum, inference.max) == (2, 3, 3)
    assert (tools.count, tools.sum) == (2, 1)
    assert inference.attributes == {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "counter"}
    assert list(inference.explicit_bounds) == [1, 2, 4, 8, 16, 32, 64, 128]
    metric = metrics_by_name(metric_reader)["gen_ai.invoke_agent.tool_calls"]
    assert metric.unit == "{tool_call}"


def test_workflow_span_metric_and_nested_agent(providers, span_exporter, metric_reader):
    """workflow() is a run of its own kind: invoke_workflow span above the agent, its own duration metric."""

    @workflow("pipeline", **providers)
    def pipeline() -> int:
        with agent_run("step", **providers):
            record_tool_call(failed=False)
        return 7

    assert pipeline() == 7
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    root, step = spans["invoke_workflow pipeline"], spans["invoke_agent step"]
    assert root.kind is SpanKind.INTERNAL and root.parent is None
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "pipeline"
    assert "gen_ai.agent.name" not in root.attributes
    assert root.attributes["agentperf.run.tool_calls"] == 1
    assert step.parent.span_id == root.context.span_id
    (point,) = points(metric_reader, "gen_ai.invoke_workflow.duration")
    assert point.attributes == {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "pipeline"}
    (agent_point,) = points(metric_reader, "gen_ai.invoke_agent.inference_calls")
    assert agent_point.attributes["gen_ai.agent.name"] == "step"  # workflows record no per-agent counts


def test_time_split_llm_retry_backoff_tool_and_rest(providers, instrument):
    """A run's time splits into LLM calls (without their retry waits), retry waits, tools and the rest."""
    instrument(OpenAIInstrumentor)
    client = make_client(max_retries=2)

    @tool(**providers)
    def slow_tool() -> None:
        time.sleep(0.05)

    with agent_run("split", **providers) as run:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers={"x-fake-fault": "retry-once:429"}
        )
        slow_tool()
        time.sleep(0.03)
    summary = run.summary
    assert summary.retries == 1 and 0.015 <= summary.backoff_time < 1.0
    assert 0.05 <= summary.tool_time < summary.duration
    assert 0 < summary.llm_time < summary.duration
    assert summary.other_time >= 0.03
    parts = summary.llm_time + summary.tool_time + summary.backoff_time + summary.other_time
    assert parts == pytest.approx(summary.duration)
    values = summary.span_attributes()
    assert values["agentperf.run.backoff_time"] == summary.backoff_time
    assert values["agentperf.run.end"] == "completed"


def test_generator_run_closed_early_ends_as_closed(providers, span_exporter):
    """An @agent generator whose consumer stops early ends normally, with agentperf.run.end=closed."""

    @agent("stream", **providers)
    def numbers():
        yield from range(10)

    iterator = numbers()
    assert next(iterator) == 0
    iterator.close()
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.run.end"] == "closed"
    assert span.status.status_code is StatusCode.UNSET
