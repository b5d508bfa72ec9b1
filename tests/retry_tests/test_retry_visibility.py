"""Every retry source leaves agentperf.retry.count on the span current when it retried, as SDK retries do."""

from __future__ import annotations

import backoff
import pytest
import tenacity

from otel_agentperf import tool
from otel_agentperf.instrumentation.backoff import BackoffInstrumentor
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from tests.retry_tests.helpers import Flaky


def _tenacity(flaky: Flaky) -> str:
    return tenacity.Retrying(wait=tenacity.wait_fixed(0.001), stop=tenacity.stop_after_attempt(5))(flaky)  # type: ignore[no-any-return]


def _backoff(flaky: Flaky) -> str:
    retried = backoff.on_exception(backoff.constant, ConnectionError, interval=0.001, jitter=None, max_tries=5)(flaky)
    return retried()  # type: ignore[no-any-return]


SOURCES = [(TenacityInstrumentor, _tenacity), (BackoffInstrumentor, _backoff)]


@pytest.mark.parametrize(("instrumentor", "retry"), SOURCES, ids=["tenacity", "backoff"])
def test_current_span_counts_its_retries(instrument, tracer_provider, span_exporter, instrumentor, retry):
    """Two retries inside a span: agentperf.retry.count=2 and the backoff time on that span, with two events."""
    instrument(instrumentor)
    with tracer_provider.get_tracer("test").start_as_current_span("step"):
        assert retry(Flaky(2)) == "ok"
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.retry.count"] == 2
    assert span.attributes["agentperf.retry.backoff_time"] == pytest.approx(0.002)
    assert [event.name for event in span.events] == ["agentperf.retry"] * 2


@pytest.mark.parametrize(("instrumentor", "retry"), SOURCES, ids=["tenacity", "backoff"])
def test_retries_inside_a_tool_count_on_the_tool_span(
    instrument, tracer_provider, meter_provider, span_exporter, instrumentor, retry
):
    """The tool span gets the count of the retries made while it ran; its parent gets none."""
    instrument(instrumentor)

    @tool(tracer_provider=tracer_provider, meter_provider=meter_provider)
    def fetch() -> str:
        return retry(Flaky(1))

    with tracer_provider.get_tracer("test").start_as_current_span("step"):
        fetch()
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    assert spans["execute_tool fetch"].attributes["agentperf.retry.count"] == 1
    assert "agentperf.retry.count" not in spans["step"].attributes


def test_no_span_no_attribute(instrument, span_exporter):
    """Without a current span a retry is still counted in the metric, and nothing fails."""
    instrument(TenacityInstrumentor)
    assert _tenacity(Flaky(1)) == "ok"
    assert not span_exporter.get_finished_spans()
