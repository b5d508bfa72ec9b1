"""Resource-usage gauges: process CPU, memory, peak memory, threads, descriptors, GC; optionally system and GPU.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_resource_usage``.
By hand::

    from otel_agentperf.instrumentation.resource_usage import ResourceUsageInstrumentor

    ResourceUsageInstrumentor().instrument(meter_provider=meter_provider, preset="full", exclude=["process.uptime"])

Configuration (keyword argument, environment variable, default)
---------------------------------------------------------------
- ``preset``, ``OTEL_AGENTPERF_RESOURCE_USAGE_PRESET``, ``basic``: ``basic`` or ``full`` (see the table in README).
- ``exclude``, ``OTEL_AGENTPERF_RESOURCE_USAGE_EXCLUDE`` (comma-separated), none: glob patterns of instrument names
  to leave out (``process.paging.*``).
- ``meter_provider``: defaults to the global one.

How it reads
------------
Observable instruments whose callbacks share one ``psutil`` ``oneshot()`` reading per collection (a reading is reused
for 50 ms), so ``process.cpu.time`` and ``process.cpu.utilization`` see the same interval. Utilization is CPU time
over wall time times the CPUs the process may use (its affinity, capped by a cgroup v2 quota), since the previous
collection, and for the first collection since ``instrument()``. The peak memory is never below the current resident
memory of the same collection. After a fork the child
reads its own pid. A value psutil cannot read (access denied, process gone, platform without it) is left out of that
collection; nothing raises into the reader. ``uninstrument()`` stops every observation.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable
from typing import Any

import psutil
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.semconv._incubating.metrics import cpython_metrics, process_metrics

from otel_agentperf import environment_variables as env
from otel_agentperf import semconv
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import Observed, scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.process import peak_rss
from otel_agentperf.core.settings import read_choice
from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.resource_usage._gpu import gpu_callbacks
from otel_agentperf.instrumentation.resource_usage._sampler import GCPauses, ProcessSampler, Reading
from otel_agentperf.instrumentation.resource_usage.package import _instruments

__all__ = ["ResourceUsageInstrumentor"]

Callback = Callable[[CallbackOptions], Iterable[Observation]]
_PRESETS = ("BASIC", "FULL")
_BASIC = {
    process_metrics.PROCESS_CPU_TIME,
    process_metrics.PROCESS_CPU_UTILIZATION,
    process_metrics.PROCESS_MEMORY_USAGE,
    process_metrics.PROCESS_MEMORY_VIRTUAL,
    process_metrics.PROCESS_THREAD_COUNT,
    process_metrics.PROCESS_UNIX_FILE_DESCRIPTOR_COUNT,
    semconv.AGENTPERF_PROCESS_MEMORY_PEAK,
    cpython_metrics.CPYTHON_GC_COLLECTIONS,
    semconv.AGENTPERF_CPYTHON_GC_PAUSE_TIME,
}


class ResourceUsageInstrumentor(AgentPerfInstrumentor):
    """Reports the process's resource usage as observable instruments."""

    _dependencies = _instruments
    _observed: list[Observed]
    _pauses: GCPauses | None = None

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        preset = read_choice(
            env.OTEL_AGENTPERF_RESOURCE_USAGE_PRESET, "preset", kwargs.get("preset"), _PRESETS, "BASIC"
        )
        full_preset = preset == "FULL"
        exclude = _read_exclude(kwargs.get("exclude"))
        _, instruments = scope(None, kwargs.get("meter_provider"), __name__)
        self._observed = []
        self._pauses = GCPauses()
        wanted = _process_instruments(ProcessSampler(), self._pauses)
        if full_preset:
            wanted.update(_system_instruments())
        for name, (kind, unit, description, read) in wanted.items():
            if (full_preset or name in _BASIC) and not any(fnmatch.fnmatch(name, p) for p in exclude):
                self._observed.append(instruments.observe(kind, name, unit, description, _guarded(read, reporter)))
        if not any(fnmatch.fnmatch(semconv.AGENTPERF_CPYTHON_GC_PAUSE_TIME, p) for p in exclude):
            self._pauses.install()

    def _uninstrument(self, **kwargs: Any) -> None:
        for observed in getattr(self, "_observed", ()):
            observed.reader = None
        self._observed = []
        if self._pauses is not None:
            self._pauses.remove()
        super()._uninstrument(**kwargs)


def _guarded(read: Callback, reporter: ErrorReporter) -> Callback:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        try:
            return list(read(options))
        except Exception as error:  # noqa: BLE001 - nothing may raise into the metric reader
            reporter.report("resource usage", error)
            return []

    return callback


def _system_instruments() -> dict[str, tuple[str, str, str, Callback]]:
    extra: dict[str, tuple[str, str, str, Callback]] = {
        semconv.SYSTEM_CPU_UTILIZATION: ("gauge", "1", "System CPU utilization.", _system_cpu),
        semconv.SYSTEM_MEMORY_USAGE: ("gauge", "By", "System memory in use.", _system_memory_usage),
        semconv.SYSTEM_MEMORY_UTILIZATION: ("gauge", "1", "Share of system memory in use.", _system_memory_utilization),
    }
    for name, callback in gpu_callbacks().items():
        unit = "1" if name.endswith("utilization") else "By"
        extra[name] = ("gauge", unit, f"GPU {name.removeprefix('hw.gpu.').replace('.', ' ')}.", callback)
    return extra


def _read_exclude(value: object) -> list[str]:
    if value is None:
        raw = os.environ.get(env.OTEL_AGENTPERF_RESOURCE_USAGE_EXCLUDE, "")
        return [pattern.strip() for pattern in raw.split(",") if pattern.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(pattern, str) for pattern in value):
        raise ConfigurationError(f"Expected exclude to be a list of glob patterns, got {value!r}")
    return [str(pattern) for pattern in value]


def _observe(
    reading: Callable[[], Reading], pick: Callable[[Reading], Iterable[tuple[Any, dict[str, str]]]]
) -> Callback:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(value, attributes) for value, attributes in pick(reading()) if value is not None]

    return callback


def _process_instruments(sampler: ProcessSampler, pauses: GCPauses) -> dict[str, tuple[str, str, str, Callback]]:
    counter, gauge, updown = "counter", "gauge", "up_down_counter"
    read = sampler.reading
    user, system = {semconv.CPU_MODE: "user"}, {semconv.CPU_MODE: "system"}
    return {
        process_metrics.PROCESS_CPU_TIME: (
            counter, "s", "CPU time of the process.",
            _observe(read, lambda r: [(r.cpu_user, user), (r.cpu_system, system)]),
        ),
        process_metrics.PROCESS_CPU_UTILIZATION: (
            gauge, "1", "CPU utilization of the process over the CPUs it may use.",
            _observe(read, lambda r: [(r.utilization_user, user), (r.utilization_system, system)]),
        ),
        process_metrics.PROCESS_MEMORY_USAGE: (
            updown, "By", "Resident memory of the process.", _observe(read, lambda r: [(r.rss, {})]),
        ),
        process_metrics.PROCESS_MEMORY_VIRTUAL: (
            updown, "By", "Virtual memory of the process.", _observe(read, lambda r: [(r.vms, {})]),
        ),
        process_metrics.PROCESS_MEMORY_UTILIZATION: (
            gauge, "1", "Share of physical memory the process uses.",
            _observe(read, lambda r: [(None if r.memory_percent is None else r.memory_percent / 100, {})]),
        ),
        semconv.AGENTPERF_PROCESS_MEMORY_PEAK: (
            gauge, "By", "Peak resident memory of the process since it started.",
            _observe(read, lambda r: [(_peak(r), {})]),
        ),
        process_metrics.PROCESS_THREAD_COUNT: (
            updown, "{thread}", "Threads of the process.", _observe(read, lambda r: [(r.threads, {})]),
        ),
        process_metrics.PROCESS_UNIX_FILE_DESCRIPTOR_COUNT: (
            updown, "{file_descriptor}", "Open file descriptors.", _observe(read, lambda r: [(r.fds, {})]),
        ),
        process_metrics.PROCESS_CONTEXT_SWITCHES: (
            counter, "{context_switch}", "Context switches of the process.",
            _observe(read, lambda r: [
                (r.ctx_voluntary, {semconv.PROCESS_CONTEXT_SWITCH_TYPE: "voluntary"}),
                (r.ctx_involuntary, {semconv.PROCESS_CONTEXT_SWITCH_TYPE: "involuntary"}),
            ]),
        ),
        process_metrics.PROCESS_PAGING_FAULTS: (
            counter, "{fault}", "Page faults of the process.",
            _observe(read, lambda r: [
                (r.faults_major, {semconv.PROCESS_PAGING_FAULT_TYPE: "major"}),
                (r.faults_minor, {semconv.PROCESS_PAGING_FAULT_TYPE: "minor"}),
            ]),
        ),
        process_metrics.PROCESS_UPTIME: (
            gauge, "s", "Seconds since the process started.", _observe(read, lambda r: [(r.uptime, {})]),
        ),
        cpython_metrics.CPYTHON_GC_COLLECTIONS: (
            counter, "{collection}", "Garbage collections, by generation.", _gc("collections"),
        ),
        cpython_metrics.CPYTHON_GC_COLLECTED_OBJECTS: (
            counter, "{object}", "Objects collected, by generation.", _gc("collected"),
        ),
        cpython_metrics.CPYTHON_GC_UNCOLLECTABLE_OBJECTS: (
            counter, "{object}", "Uncollectable objects found, by generation.", _gc("uncollectable"),
        ),
        semconv.AGENTPERF_CPYTHON_GC_PAUSE_TIME: (
            counter, "s", "Time spent in garbage collections.", lambda options: [Observation(pauses.total)],
        ),
    }  # fmt: skip


def _peak(reading: Reading) -> int | None:
    """The peak resident memory, never below the current reading (``getrusage`` updates its peak lazily)."""
    known = [value for value in (peak_rss(), reading.rss) if value is not None]
    return max(known) if known else None


def _gc(key: str) -> Callback:
    import gc  # noqa: PLC0415

    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(stats[key], {semconv.CPYTHON_GC_GENERATION: generation})
            for generation, stats in enumerate(gc.get_stats())
        ]

    return callback


def _system_cpu(options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(psutil.cpu_percent(interval=None) / 100)]


def _system_memory_usage(options: CallbackOptions) -> Iterable[Observation]:
    memory = psutil.virtual_memory()
    return [
        Observation(memory.used, {semconv.SYSTEM_MEMORY_STATE: "used"}),
        Observation(memory.available, {semconv.SYSTEM_MEMORY_STATE: "free"}),
    ]


def _system_memory_utilization(options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(psutil.virtual_memory().percent / 100)]
