"""Cost of the cache instrumentors per lookup, against the bare lookup and the SDK cost of the metrics, one run.

Variants, each timed over the same cachetools ``LRUCache`` hit, interleaved round by round:
- ``bare``: ``cache.get(key)`` uninstrumented;
- ``sdk-work``: the bare lookup plus what the instrumentation records, made directly with the SDK (one counter add
  and one histogram record with the same attributes): the floor for any instrumentation emitting these metrics;
- ``ours``: with ``CachetoolsInstrumentor``; ``ours-no-duration``: with ``lookup_duration=False``;
- ``ours-in-span``: ``ours`` while a recording span is current (the span's hit counter is updated, and the SDK's
  default ``trace_based`` exemplar filter offers both measurements to its exemplar reservoirs);
- ``in-span-no-exemplars``: the same with a meter provider whose exemplar filter is ``AlwaysOffExemplarFilter``
  (``OTEL_METRICS_EXEMPLAR_FILTER=always_off``), which separates the span update from the exemplar sampling.

Also a functools ``lru_cache`` hit with and without ``instrument_cache``, and a diskcache hit. Figures are medians of
per-round means, in microseconds per lookup, and the ratio to ``bare``. Run ``python benchmarks/cache_overhead.py``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import tempfile
import time
from collections.abc import Callable

import cachetools
import diskcache
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor
from otel_agentperf.instrumentation.diskcache import DiskcacheInstrumentor
from otel_agentperf.instrumentation.functools_cache import instrument_cache

ATTRIBUTES = {"agentperf.cache.name": "LRUCache", "agentperf.cache.system": "cachetools"}


def per_call_us(function: Callable[[], object], calls: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


def measure(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def cachetools_variants(calls: int, meter_provider: MeterProvider, tracer_provider: TracerProvider) -> dict:
    cache = cachetools.LRUCache(maxsize=16)
    cache["key"] = "value"
    meter = meter_provider.get_meter("sdk-work")
    counter = meter.create_counter("sdk.work.requests")
    histogram = meter.create_histogram("sdk.work.duration")
    hit_attributes = {**ATTRIBUTES, "agentperf.cache.result": "hit"}

    def sdk_work() -> None:
        started = time.perf_counter()
        cache.get("key")
        counter.add(1, hit_attributes)
        histogram.record(time.perf_counter() - started, ATTRIBUTES)

    with_duration = CachetoolsInstrumentor()
    without_duration = CachetoolsInstrumentor()

    no_exemplars = MeterProvider(metric_readers=[InMemoryMetricReader()], exemplar_filter=AlwaysOffExemplarFilter())

    def instrumented(
        instrumentor: CachetoolsInstrumentor, provider: MeterProvider = meter_provider, **kwargs: object
    ) -> Callable[[], float]:
        def run() -> float:
            instrumentor.instrument(meter_provider=provider, **kwargs)
            try:
                return per_call_us(lambda: cache.get("key"), calls)
            finally:
                instrumentor.uninstrument()

        return run

    def in_span(provider: MeterProvider) -> Callable[[], float]:
        def run() -> float:
            with tracer_provider.get_tracer("bench").start_as_current_span("step"):
                return instrumented(with_duration, provider)()

        return run

    return {
        "bare": lambda: per_call_us(lambda: cache.get("key"), calls),
        "sdk-work": lambda: per_call_us(sdk_work, calls),
        "ours": instrumented(with_duration),
        "ours-no-duration": instrumented(without_duration, lookup_duration=False),
        "ours-in-span": in_span(meter_provider),
        "in-span-no-exemplars": in_span(no_exemplars),
    }


def other_variants(calls: int, meter_provider: MeterProvider, directory: str) -> dict:
    @functools.lru_cache(maxsize=16)
    def square(x: int) -> int:
        return x * x

    counted = instrument_cache(square, meter_provider=meter_provider)
    disk = diskcache.Cache(directory)
    disk.set("key", "value")
    disk_instrumentor = DiskcacheInstrumentor()

    def disk_instrumented() -> float:
        disk_instrumentor.instrument(meter_provider=meter_provider)
        try:
            return per_call_us(lambda: disk.get("key"), calls // 10)
        finally:
            disk_instrumentor.uninstrument()

    return {
        "lru_cache bare": lambda: per_call_us(lambda: square(3), calls),
        "lru_cache ours": lambda: per_call_us(lambda: counted(3), calls),
        "diskcache bare": lambda: per_call_us(lambda: disk.get("key"), calls // 10),
        "diskcache ours": disk_instrumented,
    }


def report(title: str, figures: dict[str, float], baseline: str) -> None:
    print(title)
    for name, value in figures.items():
        print(f"  {name:<20} {value:8.2f} µs  {value / figures[baseline]:6.1f}x {baseline}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    options = parser.parse_args()
    rounds, calls = (3, 2_000) if options.quick else (9, 20_000)
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    tracer_provider = TracerProvider()
    with tempfile.TemporaryDirectory() as directory:
        report(
            "cachetools LRUCache hit",
            measure(cachetools_variants(calls, meter_provider, tracer_provider), rounds),
            "bare",
        )
        figures = measure(other_variants(calls, meter_provider, directory), rounds)
        report("functools.lru_cache hit", {k: v for k, v in figures.items() if k.startswith("lru")}, "lru_cache bare")
        report("diskcache hit", {k: v for k, v in figures.items() if k.startswith("disk")}, "diskcache bare")


if __name__ == "__main__":
    main()
