"""Resource-usage gauges against the real test process: the numbers move the way the process does."""

from __future__ import annotations

import gc
import json
import os
import tempfile
import threading
import time

import psutil
import pytest

from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.resource_usage import ResourceUsageInstrumentor
from tests.helpers import metrics_by_name, points


def _value(reader, name, **attributes):
    found = [p.value for p in points(reader, name) if all(p.attributes.get(k) == v for k, v in attributes.items())]
    assert found, f"no {name} point with {attributes}"
    return found[0]


def test_memory_grows_with_an_allocation(instrument, metric_reader):
    """Allocating 64 MiB shows in process.memory.usage and the peak."""
    instrument(ResourceUsageInstrumentor)
    before = _value(metric_reader, "process.memory.usage")
    block = bytearray(64 * 1024 * 1024)
    time.sleep(0.06)  # a reading is shared for 50 ms
    after = _value(metric_reader, "process.memory.usage")
    assert after - before > 50 * 1024 * 1024
    assert _value(metric_reader, "agentperf.process.memory.peak") >= after * 0.99  # getrusage and psutil differ a bit
    del block


def test_cpu_time_and_utilization(instrument, metric_reader):
    """Burning CPU raises process.cpu.time; utilization is in (0, 1]."""
    instrument(ResourceUsageInstrumentor)

    def cpu_time() -> float:
        return sum(p.value for p in points(metric_reader, "process.cpu.time"))

    before = cpu_time()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        sum(range(1000))
    time.sleep(0.06)
    assert cpu_time() - before >= 0.25
    utilization = sum(p.value for p in points(metric_reader, "process.cpu.utilization"))
    assert 0 < utilization <= 1


def test_threads_and_file_descriptors(instrument, metric_reader):
    """Opening files and starting threads raise their counts."""
    instrument(ResourceUsageInstrumentor)
    threads_before = _value(metric_reader, "process.thread.count")
    fds_before = _value(metric_reader, "process.unix.file_descriptor.count")
    stop = threading.Event()
    workers = [threading.Thread(target=stop.wait) for _ in range(5)]
    for worker in workers:
        worker.start()
    files = [tempfile.TemporaryFile() for _ in range(10)]
    time.sleep(0.06)
    try:
        assert _value(metric_reader, "process.thread.count") - threads_before >= 5
        assert _value(metric_reader, "process.unix.file_descriptor.count") - fds_before >= 10
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        for file in files:
            file.close()


def test_gc_counters_and_pause_time(instrument, metric_reader):
    """gc.collect() moves the generation-2 collection count and the pause time."""
    instrument(ResourceUsageInstrumentor)
    before = _value(metric_reader, "cpython.gc.collections", **{"cpython.gc.generation": 2})
    pause_before = _value(metric_reader, "agentperf.cpython.gc.pause.time")
    gc.collect()
    assert _value(metric_reader, "cpython.gc.collections", **{"cpython.gc.generation": 2}) == before + 1
    assert _value(metric_reader, "agentperf.cpython.gc.pause.time") > pause_before


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_reports_its_own_process(instrument, metric_reader):
    """After a fork the child's gauges read the child: its memory, not the parent's."""
    instrument(ResourceUsageInstrumentor)
    _value(metric_reader, "process.memory.usage")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            block = bytearray(256 * 1024 * 1024)
            time.sleep(0.06)
            usage = _value(metric_reader, "process.memory.usage")
            own = psutil.Process().memory_info().rss
            os.write(write_end, json.dumps({"usage": usage, "own": own, "len": len(block)}).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)
    parent = psutil.Process().memory_info().rss
    assert abs(report["usage"] - report["own"]) < 16 * 1024 * 1024
    assert report["usage"] - parent > 160 * 1024 * 1024


def test_basic_preset_is_small(instrument, metric_reader):
    """The default preset has memory but not paging faults or system gauges."""
    instrument(ResourceUsageInstrumentor)
    basic = set(metrics_by_name(metric_reader))
    assert "process.memory.usage" in basic and "process.paging.faults" not in basic
    assert not {name for name in basic if name.startswith(("system.", "hw."))}


def test_full_preset_with_exclude(instrument, metric_reader):
    """preset=full adds the optional instruments; exclude globs remove names."""
    instrument(ResourceUsageInstrumentor, preset="full", exclude=["process.uptime", "system.memory.*"])
    names = set(metrics_by_name(metric_reader))
    assert {"process.paging.faults", "process.context_switches", "system.cpu.utilization"} <= names
    assert "process.uptime" not in names and "system.memory.usage" not in names


def test_bad_configuration(instrument):
    """An unknown preset or an exclude that is not a list fails at instrument()."""
    with pytest.raises(ConfigurationError, match="preset"):
        instrument(ResourceUsageInstrumentor, preset="everything")
    with pytest.raises(ConfigurationError, match="exclude"):
        instrument(ResourceUsageInstrumentor, exclude="process.*")


def test_psutil_error_drops_that_observation(instrument, metric_reader, monkeypatch):
    """A psutil AccessDenied on one value drops that value only; nothing raises into the reader."""

    def denied(self):
        raise psutil.AccessDenied(os.getpid())

    monkeypatch.setattr(psutil.Process, "num_fds", denied)
    instrument(ResourceUsageInstrumentor)
    names = set(metrics_by_name(metric_reader))
    assert "process.unix.file_descriptor.count" not in names
    assert "process.memory.usage" in names


def test_uninstrument_stops_observations(instrument, metric_reader):
    """After uninstrument() the callbacks report nothing and the GC hook is gone."""
    instrumentor = instrument(ResourceUsageInstrumentor)
    assert points(metric_reader, "process.memory.usage")
    hooks = len(gc.callbacks)
    instrumentor.uninstrument()
    assert len(gc.callbacks) == hooks - 1
    assert not points(metric_reader, "process.memory.usage")


def test_peak_memory_is_never_below_current_memory(instrument, metric_reader, monkeypatch):
    """The kernel's peak (getrusage) may lag the current RSS: the peak reported is at least the usage read with it."""
    import otel_agentperf.instrumentation.resource_usage as resource_usage

    monkeypatch.setattr(resource_usage, "peak_rss", lambda: 4096)  # a peak counter that has not caught up yet
    instrument(ResourceUsageInstrumentor)
    for _ in range(3):
        metrics = metrics_by_name(metric_reader)  # one export
        (usage,) = metrics["process.memory.usage"].data.data_points
        (peak,) = metrics["agentperf.process.memory.peak"].data.data_points
        assert peak.value >= usage.value
        time.sleep(0.06)


def test_cpu_utilization_is_reported_from_the_first_collection(instrument, metric_reader):
    """The first collection reports utilization measured since instrument(), not nothing."""
    instrument(ResourceUsageInstrumentor)
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        sum(range(1000))
    utilization = points(metric_reader, "process.cpu.utilization")
    assert {point.attributes["cpu.mode"] for point in utilization} == {"user", "system"}
    assert 0 < sum(point.value for point in utilization) <= 1


def test_reinstrumenting_on_the_same_meter_provider_reports_live_values(instrument, metric_reader):
    """After uninstrument() then instrument(), every observable instrument reports again, with current values."""
    first = instrument(ResourceUsageInstrumentor, preset="full")
    before = set(metrics_by_name(metric_reader))
    first.uninstrument()
    instrument(ResourceUsageInstrumentor, preset="full")
    pause_before = _value(metric_reader, "agentperf.cpython.gc.pause.time")
    threads_before = _value(metric_reader, "process.thread.count")
    for _ in range(20):
        gc.collect()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    time.sleep(0.06)
    try:
        names = set(metrics_by_name(metric_reader))
        assert _value(metric_reader, "agentperf.cpython.gc.pause.time") > pause_before
        assert _value(metric_reader, "process.thread.count") == threads_before + 1
    finally:
        stop.set()
        thread.join()
    assert before <= names
