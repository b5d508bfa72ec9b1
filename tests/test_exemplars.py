"""Exemplars link each metric point to the span it measures (the SDK's own exemplar reservoir, filter on)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import AlwaysOnExemplarFilter, MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan

from otel_agentperf import agent_run, tool
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.openai_tests.conftest import USER_MESSAGES, make_client


@pytest.fixture(params=[AlwaysOnExemplarFilter, TraceBasedExemplarFilter], ids=["always_on", "trace_based"])
def exemplar_meter_provider(request: pytest.FixtureRequest, metric_reader: InMemoryMetricReader) -> Iterator[Any]:
    provider = MeterProvider(metric_readers=[metric_reader], exemplar_filter=request.param())
    yield provider
    provider.shutdown()


@pytest.fixture
def openai_instrumented(tracer_provider, exemplar_meter_provider) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=exemplar_meter_provider)
    yield
    instrumentor.uninstrument()


def exemplar_span_ids(reader: InMemoryMetricReader) -> dict[str, set[int]]:
    """The span ids of the exemplars of each metric, from one collection (a collection resets the exemplars)."""
    ids: dict[str, set[int]] = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    ids.setdefault(metric.name, set()).update(exemplar.span_id for exemplar in point.exemplars)
    return ids


def span_named(spans: tuple[ReadableSpan, ...] | list[ReadableSpan], prefix: str) -> ReadableSpan:
    (span,) = [span for span in spans if span.name.startswith(prefix)]
    return span


@pytest.mark.parametrize("in_run", [True, False], ids=["in_run", "outside_run"])
def test_llm_points_link_to_their_own_llm_span(
    openai_instrumented, tracer_provider, span_exporter, metric_reader, in_run
):
    """Duration and token exemplars carry the LLM span's id, not the run's (and one exists outside a run too)."""
    client = make_client()
    if in_run:
        with agent_run("planner", tracer_provider=tracer_provider):
            client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    else:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)

    llm_span = span_named(span_exporter.get_finished_spans(), "chat ")
    exemplars = exemplar_span_ids(metric_reader)
    assert exemplars["gen_ai.client.operation.duration"] == {llm_span.context.span_id}
    assert exemplars["gen_ai.client.token.usage"] == {llm_span.context.span_id}
    assert exemplars["gen_ai.client.inference.usage.cache_read.input_tokens"] == {llm_span.context.span_id}


def test_stream_points_link_to_their_llm_span(openai_instrumented, span_exporter, metric_reader):
    """Time to first chunk and the deferred chunk gaps link to the stream's span."""
    client = make_client()
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, stream=True):
        pass

    llm_span = span_named(span_exporter.get_finished_spans(), "chat ")
    exemplars = exemplar_span_ids(metric_reader)
    assert exemplars["gen_ai.client.operation.time_to_first_chunk"] == {llm_span.context.span_id}
    assert exemplars["gen_ai.client.operation.time_per_output_chunk"] == {llm_span.context.span_id}


@pytest.mark.parametrize("in_run", [True, False], ids=["in_run", "outside_run"])
def test_tool_points_link_to_their_tool_span(
    tracer_provider, exemplar_meter_provider, span_exporter, metric_reader, in_run
):
    """A tool's duration exemplar carries the tool span's id; a run's duration exemplar carries the run's."""

    @tool(tracer_provider=tracer_provider, meter_provider=exemplar_meter_provider)
    def lookup(city: str) -> str:
        return city.upper()

    if in_run:
        with agent_run("planner", tracer_provider=tracer_provider, meter_provider=exemplar_meter_provider):
            lookup("paris")
    else:
        lookup("paris")

    spans = span_exporter.get_finished_spans()
    tool_span = span_named(spans, "execute_tool ")
    exemplars = exemplar_span_ids(metric_reader)
    assert exemplars["gen_ai.execute_tool.duration"] == {tool_span.context.span_id}
    if in_run:
        run_span = span_named(spans, "invoke_agent ")
        assert exemplars["gen_ai.invoke_agent.duration"] == {run_span.context.span_id}
