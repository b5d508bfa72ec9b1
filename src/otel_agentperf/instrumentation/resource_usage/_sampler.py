"""One psutil reading per collection, shared by every process instrument, fork-safe and never raising."""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from typing import Any

import psutil

_FRESH_FOR = 0.05
"""Seconds a reading stays valid: every callback of one collection shares it."""

_PSUTIL_ERRORS = (psutil.Error, NotImplementedError, AttributeError, OSError)


@dataclass
class Reading:
    """What one ``oneshot()`` read; a field is ``None`` when the platform or permissions did not give it."""

    taken: float = 0.0
    cpu_user: float | None = None
    cpu_system: float | None = None
    utilization_user: float | None = None
    utilization_system: float | None = None
    rss: int | None = None
    vms: int | None = None
    memory_percent: float | None = None
    threads: int | None = None
    fds: int | None = None
    ctx_voluntary: int | None = None
    ctx_involuntary: int | None = None
    faults_major: int | None = None
    faults_minor: int | None = None
    uptime: float | None = None


def usable_cpus() -> float:
    """The CPUs this process may use: its affinity, capped by a cgroup v2 quota when one is set."""
    try:
        cpus = float(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        cpus = float(os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as limits:
            quota, period = limits.read().split()
        if quota != "max":
            cpus = min(cpus, int(quota) / int(period))
    except (OSError, ValueError):
        pass
    return max(cpus, 0.01)


class ProcessSampler:
    """Reads the current process once per collection; re-targets itself after a fork.

    The CPU times at creation are the baseline of the first collection's utilization.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._process: psutil.Process | None = None
        self._reading = Reading()
        self._previous_cpu: tuple[float, float, float] | None = None
        self._cpus = usable_cpus()
        self._target_current_process()

    def _target_current_process(self) -> None:
        self._pid = os.getpid()
        self._reading = Reading()
        self._previous_cpu = None
        self._process = None
        try:
            self._process = psutil.Process(self._pid)
            times = self._process.cpu_times()
        except _PSUTIL_ERRORS:
            return
        self._previous_cpu = (time.monotonic(), times.user, times.system)

    def reading(self) -> Reading:
        """The reading of this collection (taken now unless one was taken in the last 50 ms)."""
        now = time.monotonic()
        if os.getpid() != self._pid:
            self._target_current_process()  # after a fork: the child's utilization counts from here
        elif now - self._reading.taken < _FRESH_FOR:
            return self._reading
        self._reading = self._read(now)
        return self._reading

    def _read(self, now: float) -> Reading:
        reading = Reading(taken=now)
        process = self._process
        if process is None:
            return reading
        with process.oneshot():
            _fill(reading, "cpu", lambda: process.cpu_times())
            _fill(reading, "memory", lambda: process.memory_info())
            _fill(reading, "memory_percent", lambda: process.memory_percent())
            _fill(reading, "threads", lambda: process.num_threads())
            _fill(reading, "fds", lambda: process.num_fds())
            _fill(reading, "ctx", lambda: process.num_ctx_switches())
            _fill(reading, "uptime", lambda: time.time() - process.create_time())
        _fill(reading, "faults", _page_faults)
        self._utilization(reading, now)
        return reading

    def _utilization(self, reading: Reading, now: float) -> None:
        if reading.cpu_user is None or reading.cpu_system is None:
            return
        previous, self._previous_cpu = self._previous_cpu, (now, reading.cpu_user, reading.cpu_system)
        if previous is None or now <= previous[0]:
            return
        capacity = (now - previous[0]) * self._cpus
        reading.utilization_user = max(reading.cpu_user - previous[1], 0.0) / capacity
        reading.utilization_system = max(reading.cpu_system - previous[2], 0.0) / capacity


def _page_faults() -> tuple[int, int]:
    import resource  # noqa: PLC0415 - not on Windows

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_majflt, usage.ru_minflt


def _fill(reading: Reading, what: str, read: Any) -> None:
    try:
        value = read()
    except (*_PSUTIL_ERRORS, ImportError):
        return
    if what == "cpu":
        reading.cpu_user, reading.cpu_system = value.user, value.system
    elif what == "memory":
        reading.rss, reading.vms = value.rss, value.vms
    elif what == "ctx":
        reading.ctx_voluntary, reading.ctx_involuntary = value.voluntary, value.involuntary
    elif what == "faults":
        reading.faults_major, reading.faults_minor = value
    else:
        setattr(reading, what, value)


class GCPauses:
    """Total seconds spent in garbage collections, measured through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self.total += time.perf_counter() - self._started
            self._started = 0.0

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
