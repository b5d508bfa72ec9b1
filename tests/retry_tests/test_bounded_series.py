"""Polling loops retry without end; the retry metrics must keep a handful of series however many attempts they make."""

from __future__ import annotations

import backoff
import tenacity

from otel_agentperf.instrumentation.backoff import BackoffInstrumentor
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor

RETRIES = 10_000


def _poll_until(count: int) -> object:
    """A poll that answers ``None`` (not ready) ``count`` times, then ``"ready"``."""
    answers = iter([None] * count + ["ready"])
    return lambda: next(answers)


def _points(reader) -> dict[tuple[str, str], list]:
    """Every data point by (instrumentation scope, metric name)."""
    found = {}
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found[scope_metrics.scope.name.rsplit(".", 1)[-1], metric.name] = list(metric.data.data_points)
    return found


def test_polling_loops_keep_the_retry_series_bounded(instrument, metric_reader):
    """10,000 retries of a tenacity loop (retry_if_result, stop_never) and of a backoff on_predicate loop."""
    instrument(TenacityInstrumentor)
    instrument(BackoffInstrumentor)
    retrying = tenacity.Retrying(
        wait=tenacity.wait_none(), stop=tenacity.stop_never, retry=tenacity.retry_if_result(lambda value: value is None)
    )
    assert retrying(_poll_until(RETRIES)) == "ready"
    polled = backoff.on_predicate(backoff.constant, interval=0, jitter=None)(_poll_until(RETRIES))
    assert polled() == "ready"

    points = _points(metric_reader)
    assert {key: len(series) for key, series in points.items()} == {
        ("tenacity", "agentperf.retries"): 1,
        ("tenacity", "agentperf.retry.backoff.duration"): 1,
        ("backoff", "agentperf.retries"): 1,
        ("backoff", "agentperf.retry.backoff.duration"): 1,
    }
    for source in ("tenacity", "backoff"):
        (retries,) = points[source, "agentperf.retries"]
        assert dict(retries.attributes) == {"agentperf.retry.source": source, "error.type": "result"}
        assert retries.value == RETRIES
