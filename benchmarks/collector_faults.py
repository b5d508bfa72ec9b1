"""The user's calls under collector faults: latency, memory, exceptions, and recovery, against a run with no collector.

Scenarios, each in the same process, one after the other (the instrumented openai SDK calling an in-process fake LLM
service; spans through a ``BatchSpanProcessor`` and metrics through a ``PeriodicExportingMetricReader``, both OTLP/HTTP
with the SDK's default queue limits and a 2 s export timeout):
- ``no collector``: no exporter configured at all (the baseline);
- ``healthy``: a real OTLP receiver (oteltest ``HttpSink``);
- ``refusing``: nothing listens on the port;
- ``black hole``: a socket that accepts connections and never answers;
- ``slow``: an HTTP server that answers 200 after 1.5 s;
- ``comes back``: refusing at first, then a real receiver starts on the same port; telemetry made after it is up must
  arrive.

For each: µs per call (median of batches) and its ratio to the baseline, RSS growth over the scenario, exceptions seen
by the caller, spans received. Exits non-zero when an exception reached the caller or the returning collector got
nothing. Run ``python benchmarks/collector_faults.py`` (``--calls`` sets the calls per scenario).
"""

from __future__ import annotations

import argparse
import gc
import logging
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import openai
import psutil
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from oteltest.sink import HttpSink
from oteltest.sink.handler import AccumulatingHandler
from oteltest.telemetry import get_spans

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "demo"))
from llm_server import respond  # noqa: E402

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor  # noqa: E402

MESSAGES = [{"role": "user", "content": "What changed in the last release?"}]
BATCH = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_client() -> openai.OpenAI:
    def handler(request: httpx2.Request) -> httpx2.Response:
        status, headers, body = respond(request.method, request.url.path, dict(request.headers), request.content)
        return httpx2.Response(status, headers=headers, content=body if isinstance(body, bytes) else b"".join(body))

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    return openai.OpenAI(api_key="sk-bench", base_url="http://llm.test/v1", http_client=http, max_retries=0)


@contextmanager
def black_hole(port: int) -> Iterator[None]:
    listener = socket.create_server(("127.0.0.1", port))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@contextmanager
def slow_server(port: int, delay: float) -> Iterator[None]:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", 0)))
            time.sleep(delay)
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def receiver(port: int, handler: AccumulatingHandler) -> Iterator[None]:
    sink = HttpSink(handler, logging.getLogger("sink"), port=port)
    sink.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield
    finally:
        sink.stop()


def providers(port: int | None) -> tuple[TracerProvider, MeterProvider]:
    tracer_provider = TracerProvider()
    readers = []
    if port is not None:
        endpoint = f"http://127.0.0.1:{port}"
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces", timeout=2)))
        exporter = OTLPMetricExporter(f"{endpoint}/v1/metrics", timeout=2)
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=500))
    return tracer_provider, MeterProvider(metric_readers=readers)


def run_calls(client: openai.OpenAI, calls: int, errors: list[BaseException]) -> list[float]:
    batches = []
    for _ in range(calls // BATCH):
        started = time.perf_counter()
        for _ in range(BATCH):
            try:
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            except BaseException as error:  # noqa: BLE001 - counted: none may reach the caller
                errors.append(error)
        batches.append((time.perf_counter() - started) / BATCH * 1e6)
    return batches


def scenario(name: str, port: int | None, calls: int, during: Callable[[], Any] | None = None) -> dict[str, Any]:
    tracer_provider, meter_provider = providers(port)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    client = make_client()
    errors: list[BaseException] = []
    run_calls(client, BATCH, errors)  # warm-up
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    batches = run_calls(client, calls, errors)
    if during is not None:
        batches += during() or []
    rss_after = psutil.Process().memory_info().rss
    instrumentor.uninstrument()
    shutdown_started = time.perf_counter()
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return {
        "name": name,
        "us_per_call": statistics.median(batches),
        "rss_kib": (rss_after - rss_before) // 1024,
        "errors": len(errors),
        "shutdown_s": time.perf_counter() - shutdown_started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per scenario (default 3000)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the exporters log every failed export; the figures are the point
    results = [scenario("no collector", None, options.calls)]
    handler = AccumulatingHandler()
    port = free_port()
    with receiver(port, handler):
        results.append(scenario("healthy", port, options.calls))
    healthy_spans = len(get_spans(handler.telemetry))
    results.append(scenario("refusing", free_port(), options.calls))
    port = free_port()
    with black_hole(port):
        results.append(scenario("black hole", port, options.calls))
    port = free_port()
    with slow_server(port, 1.5):
        results.append(scenario("slow", port, options.calls))

    back = AccumulatingHandler()
    port = free_port()
    recovery: dict[str, Any] = {}

    def collector_returns() -> list[float]:
        with receiver(port, back):
            client, errors = make_client(), []
            batches = run_calls(client, options.calls // 3, errors)
            recovery["errors_after_return"] = len(errors)
        return batches

    with_receiver_kept = scenario("comes back", port, options.calls, collector_returns)
    results.append(with_receiver_kept)
    arrived_after_return = len(get_spans(back.telemetry))

    baseline = results[0]["us_per_call"]
    print(f"{'scenario':<14} {'µs/call':>9} {'vs none':>8} {'RSS KiB':>8} {'caller errors':>14} {'shutdown s':>11}")
    for row in results:
        ratio = row["us_per_call"] / baseline
        print(
            f"{row['name']:<14} {row['us_per_call']:9.1f} {ratio:7.2f}x {row['rss_kib']:8d} {row['errors']:14d}"
            f" {row['shutdown_s']:11.2f}"
        )
    print(f"spans received by the healthy collector: {healthy_spans}")
    print(f"spans received by the returning collector after it came back: {arrived_after_return}")
    failed = any(row["errors"] for row in results) or arrived_after_return == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
