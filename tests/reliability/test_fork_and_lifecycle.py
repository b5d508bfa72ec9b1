"""Fork, and instrumentation switched on or off while calls are in flight."""

from __future__ import annotations

import json
import os
import threading

import pytest

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.instrumentation.resource_usage import ResourceUsageInstrumentor
from tests.helpers import points
from tests.llm_drivers import DRIVERS

CHAT = next(driver for driver in DRIVERS if driver.id == "openai-chat")


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_traces_and_reports_its_own_pid(instrument, span_exporter, metric_reader):
    """In a forked child an instrumented call works (no deadlock) and its span is recorded in the child."""
    instrument(OpenAIInstrumentor)
    instrument(ResourceUsageInstrumentor)
    CHAT.call(CHAT.client())  # the parent has used every lock once
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            before = len(span_exporter.get_finished_spans())
            CHAT.call(CHAT.client())
            spans = len(span_exporter.get_finished_spans()) - before
            threads = [p.value for p in points(metric_reader, "process.thread.count")]
            os.write(write_end, json.dumps({"spans": spans, "pid": os.getpid(), "threads": threads}).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read() or "{}")
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert report["spans"] == 1 and report["pid"] == pid
    assert report["threads"] == [1]  # the child has only the thread that forked


def test_uninstrument_while_calls_are_in_flight(instrument, span_exporter):
    """Threads calling in a loop while uninstrument() runs: every call succeeds, no span is left half-done."""
    instrumentor = instrument(OpenAIInstrumentor)
    client = CHAT.client()
    errors: list[BaseException] = []
    done = threading.Event()

    def caller() -> None:
        while not done.is_set():
            try:
                CHAT.call(client)
            except BaseException as error:  # noqa: BLE001 - collected: none may happen
                errors.append(error)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(span_exporter.get_finished_spans()) < 20:
        pass
    instrumentor.uninstrument()
    after = len(span_exporter.get_finished_spans())
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(span_exporter.get_finished_spans()) - after <= len(threads)  # only calls already inside the wrapper


def test_instrumenting_while_a_stream_is_open(instrument, span_exporter):
    """A stream opened before instrument() is read to its end after it, untouched and untraced."""
    client = CHAT.client()
    stream = CHAT.call(client, stream=True)
    instrument(OpenAIInstrumentor)
    chunks = list(stream)
    assert chunks and not span_exporter.get_finished_spans()
    CHAT.call(client)
    assert len(span_exporter.get_finished_spans()) == 1
