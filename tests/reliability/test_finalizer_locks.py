"""An abandoned stream's finalizer runs whenever the cyclic GC does, also while its thread holds a lock the ending
needs; it must neither take that lock nor hang. The ending is queued and done by a thread of its own."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentperf import agent_run
from otel_agentperf.core.streams import finish_abandoned
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.llm_drivers import DRIVERS

CHAT = next(driver for driver in DRIVERS if driver.id == "openai-chat")


def _abandon_in_a_cycle(client: Any) -> None:
    """Open a stream, read one chunk, and leave it in a reference cycle that only the cyclic GC frees."""
    stream = CHAT.call(client, stream=True)
    next(iter(stream))
    cycle: list[Any] = [stream]
    cycle.append(cycle)


def _finishes(work: Any) -> bool:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(60)  # a deadlock detector, not a speed check: the work takes milliseconds
    return not thread.is_alive()


@pytest.fixture
def client(instrument: Any) -> Any:
    instrument(OpenAIInstrumentor)
    return CHAT.client()


def test_collection_while_the_run_tally_lock_is_held(client, tracer_provider, meter_provider, span_exporter):
    """The GC runs the finalizer while the thread holds the run's own lock, which ending the stream takes."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    with agent_run("held", **providers) as run:
        _abandon_in_a_cycle(client)

        def collect_holding_the_lock() -> None:
            assert run._tally is not None
            with run._tally.lock:
                gc.collect()

        assert _finishes(collect_holding_the_lock)
        assert finish_abandoned()
    assert run.summary is not None and run.summary.llm_calls == 1
    ended = [span.attributes.get("agentperf.stream.end") for span in span_exporter.get_finished_spans()]
    assert sorted(ended, key=str) == [None, "abandoned"]


@pytest.fixture
def _collect_constantly() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    yield
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("_collect_constantly")
def test_collections_inside_metric_records(client, meter_provider, span_exporter):
    """Collections at nearly every allocation, while streams are abandoned and their metrics recorded in 4 threads."""
    histogram = meter_provider.get_meter("stress").create_histogram("stress.values")

    def work() -> None:
        for index in range(25):
            _abandon_in_a_cycle(client)
            for value in range(20):
                histogram.record(value, {"index": index % 3})

    def run_threads() -> None:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert _finishes(run_threads)
    gc.collect()
    assert finish_abandoned()
    ended = [span.attributes["agentperf.stream.end"] for span in span_exporter.get_finished_spans()]
    assert ended == ["abandoned"] * 100
