"""A cache method called with no Python frame above it (a thread's target, an atexit callback) is counted as the
user's lookup, and raises nothing of ours."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import _thread, atexit, time
    import cachetools
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor

    reader = InMemoryMetricReader()
    CachetoolsInstrumentor().instrument(meter_provider=MeterProvider(metric_readers=[reader]))
    cache = cachetools.LRUCache(maxsize=4)
    cache["k"] = 1

    def lookups():
        data = reader.get_metrics_data()
        return sum(
            point.value
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == "agentperf.cache.requests"
            for point in metric.data.data_points
        ) if data else 0

    def report():
        print("lookups", lookups())

    _thread.start_new_thread(cache.__getitem__, ("k",))
    _thread.start_new_thread(cache.get, ("k",))
    deadline = time.monotonic() + 60
    while lookups() < 2 and time.monotonic() < deadline:  # the threads have no Python code to signal their end
        time.sleep(0.01)
    atexit.register(report)
    atexit.register(cache.__getitem__, "k")
    atexit.register(cache.get, "missing")
    """
)


def test_lookups_without_a_python_caller():
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OTEL_AGENTPERF_STRICT": "true"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.split() == ["lookups", "4"]
