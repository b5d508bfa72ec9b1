"""Cost of one collection of the resource-usage gauges, against reading the same values with psutil directly.

- ``bare``: one ``psutil.Process.oneshot()`` reading CPU times, memory, threads, file descriptors, plus
  ``gc.get_stats()`` and ``getrusage``: what any gauge module must read;
- ``basic`` / ``full``: ``InMemoryMetricReader.get_metrics_data()`` with ``ResourceUsageInstrumentor`` (each preset),
  which reads, builds observations and aggregates them.

Medians of per-round means, µs per collection, and the ratio to ``bare``. Run ``python benchmarks/resource_usage.py``.
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
from collections.abc import Callable

import psutil
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_agentperf.instrumentation.resource_usage import ResourceUsageInstrumentor
from otel_agentperf.instrumentation.resource_usage import _sampler as sampler

ROUNDS, CALLS = 7, 200


def per_call_us(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        function()
    return (time.perf_counter() - started) / CALLS * 1e6


def bare() -> None:
    process = psutil.Process()
    with process.oneshot():
        process.cpu_times(), process.memory_info(), process.num_threads(), process.num_fds()
    gc.get_stats(), resource.getrusage(resource.RUSAGE_SELF)


def collection(preset: str) -> float:
    """µs per collection with the gauges of ``preset`` (instrumented for this measurement only)."""
    reader = InMemoryMetricReader()
    instrumentor = ResourceUsageInstrumentor()
    instrumentor.instrument(meter_provider=MeterProvider(metric_readers=[reader]), preset=preset)
    try:
        return per_call_us(reader.get_metrics_data)
    finally:
        instrumentor.uninstrument()


def main() -> None:
    sampler._FRESH_FOR = 0.0  # real collections are seconds apart: take a fresh psutil reading every time
    variants: dict[str, Callable[[], float]] = {
        "bare": lambda: per_call_us(bare),
        "basic": lambda: collection("basic"),
        "full": lambda: collection("full"),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, measure in variants.items():
            samples[name].append(measure())
    baseline = statistics.median(samples["bare"])
    for name, values in samples.items():
        value = statistics.median(values)
        print(f"{name:<6} {value:8.1f} µs per collection  {value / baseline:5.1f}x bare")


if __name__ == "__main__":
    main()
