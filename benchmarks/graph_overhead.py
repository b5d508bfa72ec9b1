"""Cost of tracing LangGraph runs and nodes: per graph run and per node step, against the bare graph, one run.

Two graphs of trivial nodes (each adds 1 to a counter): ``short`` has 1 node, ``long`` has ``--nodes`` nodes in a
line. Each is invoked bare (uninstrumented) and traced (``LangChainToolsInstrumentor`` with SDK providers and an
in-memory exporter), interleaved round by round. The per-node cost is the slope between the two graphs (the extra
time of ``long`` over ``short`` per extra node); the per-run cost is what is left for the run itself. Also shown: the
SDK's own price of one span with three attributes (``span-floor``), the least a span per node can cost. Figures are
medians of per-round means, in microseconds. Run ``python benchmarks/graph_overhead.py``.

``--callgrind`` counts instructions instead (the figure of record on a shared machine): one process under
``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``) runs each variant as segments of 3 and 8 invocations between
marks at which callgrind dumps its counters; differences between segments are free of set-up and warm-up. Needs
``valgrind``; takes a minute or two.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.graph import START, StateGraph
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from typing_extensions import TypedDict

from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor


class Counter(TypedDict):
    count: int


def line_graph(nodes: int) -> Any:
    graph = StateGraph(Counter)
    previous = START
    for index in range(nodes):
        name = f"step{index}"
        graph.add_node(name, lambda state: {"count": state["count"] + 1})
        graph.add_edge(previous, name)
        previous = name
    return graph.compile(name=f"line{nodes}")


def per_call_us(function: Callable[[], object], calls: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


SEGMENTS = (3, 8)
MARK = "os_getppid"
"""The interpreter's C function for ``os.getppid()``: callgrind dumps its counters each time it is entered."""


def run_segments(nodes: int) -> None:
    """Child of ``--callgrind``: each variant's segments between marks; prints the segments' labels (JSON)."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    graphs = {"short": line_graph(1), "long": line_graph(nodes)}
    tracer = tracer_provider.get_tracer("floor")
    labels: list[str | None] = []

    def mark(label: str | None) -> None:
        labels.append(label)
        os.getppid()

    def segments(label: str, call: Callable[[], object]) -> None:
        for count in SEGMENTS:
            for _ in range(3):
                call()
            exporter.clear()
            gc.collect()
            mark(None)
            for _ in range(count):
                call()
            mark(f"{label}/{count}")

    gc.disable()
    instrumentor = LangChainToolsInstrumentor()
    for traced in (False, True):
        if traced:
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        for name, graph in graphs.items():
            segments(f"{name}-{'traced' if traced else 'bare'}", lambda graph=graph: graph.invoke({"count": 0}))
        if traced:
            instrumentor.uninstrument()
    segments("span-floor", lambda: tracer.start_span("node step", attributes={"agentperf.node.name": "s"}).end())
    print(json.dumps(labels))


def callgrind(nodes: int) -> None:
    """Instructions per graph run and per node step, traced and bare (see the module docstring)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", f"--dump-before={MARK}"]
        command += [sys.executable, str(Path(__file__).resolve()), "--run-segments", "--nodes", str(nodes)]
        result = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False
        )
        if result.returncode != 0:
            raise SystemExit(f"callgrind run failed:\n{result.stderr[-3000:]}")
        labels = json.loads(result.stdout.strip().splitlines()[-1])
        dumps = sorted(Path(directory).glob("callgrind.out.*"), key=lambda path: int(path.suffix[1:]))
        counts: dict[str, int] = {}
        for label, dump in zip(labels, dumps, strict=False):
            found = re.search(r"^(?:summary|totals):\s+(\d+)", dump.read_text(), re.MULTILINE)
            if label is not None and found is not None:
                counts[label] = int(found.group(1))
    low, high = SEGMENTS

    def per_call(label: str) -> float:
        return (counts[f"{label}/{high}"] - counts[f"{label}/{low}"]) / (high - low)

    bare_node = (per_call("long-bare") - per_call("short-bare")) / (nodes - 1)
    traced_node = (per_call("long-traced") - per_call("short-traced")) / (nodes - 1)
    run_added = per_call("short-traced") - per_call("short-bare") - (traced_node - bare_node)
    print(f"per node step: bare {bare_node:,.0f}, traced {traced_node:,.0f}, added {traced_node - bare_node:,.0f}")
    print(f"per graph run (1 node): bare {per_call('short-bare'):,.0f}, added {run_added:,.0f}")
    print(f"one span with an attribute (the SDK's floor): {per_call('span-floor'):,.0f}   (instructions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--run-segments", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.run_segments:
        run_segments(options.nodes)
        return
    if options.callgrind:
        callgrind(options.nodes)
        return
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    short, long = line_graph(1), line_graph(options.nodes)
    tracer = tracer_provider.get_tracer("floor")
    attributes = {"agentperf.node.name": "step", "agentperf.node.step": 1, "agentperf.node.type": "function"}

    def span_floor() -> None:
        tracer.start_span("node step", attributes=attributes).end()

    samples: dict[str, list[float]] = {}
    instrumentor = LangChainToolsInstrumentor()
    for _ in range(options.rounds):
        for traced in (False, True):
            if traced:
                instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
            for name, graph in (("short", short), ("long", long)):
                key = f"{name}-{'traced' if traced else 'bare'}"
                value = per_call_us(lambda graph=graph: graph.invoke({"count": 0}), options.calls)
                samples.setdefault(key, []).append(value)
                exporter.clear()
            if traced:
                instrumentor.uninstrument()
        samples.setdefault("span-floor", []).append(per_call_us(span_floor, options.calls * 10))
        exporter.clear()
    median = {key: statistics.median(values) for key, values in samples.items()}
    extra_nodes = options.nodes - 1
    bare_node = (median["long-bare"] - median["short-bare"]) / extra_nodes
    traced_node = (median["long-traced"] - median["short-traced"]) / extra_nodes
    node_cost = traced_node - bare_node
    run_cost = (median["short-traced"] - median["short-bare"]) - node_cost
    for key in ("short-bare", "short-traced", "long-bare", "long-traced", "span-floor"):
        print(f"{key:>14}: {median[key]:9.1f} µs")
    print(f"per node step: bare {bare_node:.1f} µs, traced {traced_node:.1f} µs, added {node_cost:.1f} µs")
    print(f"per graph run: added {run_cost:.1f} µs (run span, summary and its metric points)")
    print(f"added per node over the SDK's price of one span: {node_cost / median['span-floor']:.2f}x")


if __name__ == "__main__":
    main()
