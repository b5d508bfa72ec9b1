"""The counters summed in process and observed at collection (the cost counters)."""

from __future__ import annotations

import threading

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_agentperf import semconv
from otel_agentperf.core import instruments as instruments_module
from tests.helpers import points

NAME = semconv.AGENTPERF_CLIENT_COST


def counter_and_reader():
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    return instruments_module.instruments(meter).summed_counter(NAME), reader


def totals(reader) -> dict[frozenset, float]:
    return {frozenset(point.attributes.items()): point.value for point in points(reader, NAME)}


def test_equal_attribute_sets_sum_into_one_series_whatever_the_object():
    counter, reader = counter_and_reader()
    shared = {"gen_ai.request.model": "a"}
    for attributes in (shared, shared, {"gen_ai.request.model": "a"}, {"gen_ai.request.model": "b"}):
        counter.add(0.25, attributes)
    assert totals(reader) == {
        frozenset({("gen_ai.request.model", "a")}): 0.75,
        frozenset({("gen_ai.request.model", "b")}): 0.25,
    }


def test_sums_are_cumulative_across_collections_and_instrument_lookups():
    counter, reader = counter_and_reader()
    counter.add(1.0, {"k": "v"})
    assert list(totals(reader).values()) == [1.0]
    counter.add(2.0, {"k": "v"})
    assert list(totals(reader).values()) == [3.0]
    assert [point.value for point in points(reader, NAME)] == [3.0]


def test_attribute_sets_past_the_limit_go_to_the_overflow_set(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(instruments_module, "MAX_SUMMED_SETS", 3)
    counter, reader = counter_and_reader()
    for number in range(10):
        counter.add(1.0, {"gen_ai.request.model": f"model-{number}"})
    found = totals(reader)
    assert len(found) == 4
    assert found[frozenset({("otel.metric.overflow", True)})] == 7.0


def test_concurrent_adds_are_not_lost():
    counter, reader = counter_and_reader()
    attributes = {"k": "v"}

    def add_many() -> None:
        for _ in range(10_000):
            counter.add(1.0, attributes)

    threads = [threading.Thread(target=add_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(totals(reader).values()) == [40_000.0]
