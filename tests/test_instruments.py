"""The instrument factory: instruments per meter, observables that follow re-registration, deferred points."""

from __future__ import annotations

from array import array

from opentelemetry.metrics import Observation

from otel_agentperf.core import instruments as factory
from otel_agentperf.core.instruments import instruments
from tests.helpers import points

GAPS = "gen_ai.client.operation.time_per_output_chunk"


def test_one_instruments_object_per_meter(meter_provider):
    """Asking twice for a meter's instruments gives the same instruments, with the table's unit and description."""
    meter = meter_provider.get_meter("test")
    assert instruments(meter) is instruments(meter)
    histogram = instruments(meter).histogram("gen_ai.execute_tool.duration")
    assert histogram is instruments(meter).histogram("gen_ai.execute_tool.duration")
    assert histogram.unit == "s" and histogram.description == "Duration of tool executions."


def test_a_new_reader_replaces_the_old_one_on_the_same_meter(meter_provider, metric_reader):
    """Observing a name again on the same meter reports what the new reader reads (the SDK keeps the old instrument)."""
    found = instruments(meter_provider.get_meter("test"))
    slot = found.observe("gauge", "test.gauge", "1", "A gauge.", lambda options: [Observation(1)])
    slot.reader = None
    found.observe("gauge", "test.gauge", "1", "A gauge.", lambda options: [Observation(2)])
    assert [point.value for point in points(metric_reader, "test.gauge")] == [2]


def test_deferred_points_are_recorded_by_the_next_collection(meter_provider, metric_reader):
    """A batch handed to a deferred histogram is in the next collection, every point with its attributes."""
    gaps = instruments(meter_provider.get_meter("test")).deferred_histogram(GAPS)
    gaps.record_batch(array("d", [0.01, 0.02, 0.03]), {"gen_ai.request.model": "m"})
    (point,) = points(metric_reader, GAPS)
    assert point.count == 3 and abs(point.sum - 0.06) < 1e-9
    assert point.attributes == {"gen_ai.request.model": "m"}
    assert not points(metric_reader, "agentperf.deferred_points.dropped")


def test_a_full_queue_drops_and_counts(meter_provider, metric_reader, monkeypatch):
    """Beyond the bound, batches are dropped, never blocking, and the dropped points are counted."""
    monkeypatch.setattr(factory, "MAX_DEFERRED_POINTS", 4)
    gaps = instruments(meter_provider.get_meter("test")).deferred_histogram(GAPS)
    gaps.record_batch(array("d", [0.01, 0.02, 0.03]), {})
    gaps.record_batch(array("d", [0.04, 0.05]), {})
    (point,) = points(metric_reader, GAPS)
    assert point.count == 3
    (dropped,) = points(metric_reader, "agentperf.deferred_points.dropped")
    assert dropped.value == 2
    gaps.record_batch(array("d", [0.06, 0.07]), {})  # the queue was drained: room again
    assert points(metric_reader, GAPS)[0].count == 5
