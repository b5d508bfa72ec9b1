"""Size one gateway replica (collector-config/otelcol-gateway.yaml, tail sampling on) with bounded load on loopback.

``python -m tests.backend_tests.gateway_sizing`` (``make gateway-sizing``): the demo agent runs once to give a real
trace (its spans and attributes); a generator then sends copies of it, each with fresh trace and span IDs, over OTLP
gRPC to one gateway replica that routes to itself (tier 1 and tier 2 in one process, as every replica does) and
exports what it keeps to a sink collector. Measured:

- throughput: spans accepted per second of wall time, and per CPU-second of the gateway process (the figure that does
  not depend on what else shares the machine);
- memory: the gateway's resident memory per thousand traces held in ``decision_wait`` (copies without their root span,
  so that none is decided early).

Bounded: at most ``MAX_SPANS`` spans and ``MAX_SECONDS`` seconds per phase; prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import psutil
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.backend_tests import backends, engines
from tests.backend_tests.test_fleet import gateway_config
from tests.helpers import free_port

MAX_SPANS = 400_000
MAX_SECONDS = 60.0
HELD_TRACES = 20_000
TRACES_PER_REQUEST = 50
SINK = """
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:${env:SINK_PORT}"}}}}
exporters: {debug: {verbosity: basic, sampling_initial: 1, sampling_thereafter: 100000}}
service:
  telemetry: {metrics: {level: none}}
  pipelines: {traces: {receivers: [otlp], exporters: [debug]}}
"""


def demo_trace(directory: Path) -> trace_service_pb2.ExportTraceServiceRequest:
    """The demo agent's trace, as the spans of one request."""
    with engines.recording_store() as store:
        done = backends.run_demo_agent(f"http://{store.endpoint}")
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        merged = trace_service_pb2.ExportTraceServiceRequest()
        for request in store.recorder.requests:
            merged.resource_spans.extend(request.resource_spans)
    return merged


def copies(template: trace_service_pb2.ExportTraceServiceRequest, traces: int, with_root: bool) -> Iterator[bytes]:
    """Requests of ``traces`` copies of the template each, fresh IDs in every copy, forever."""
    spans = [span for rs in template.resource_spans for ss in rs.scope_spans for span in ss.spans]
    if not with_root:
        spans = [span for span in spans if span.parent_span_id]
    resource = template.resource_spans[0].resource
    while True:
        request = trace_service_pb2.ExportTraceServiceRequest()
        scope_spans = request.resource_spans.add(resource=resource).scope_spans.add()
        for _ in range(traces):
            trace_id = os.urandom(16)
            ids = {span.span_id: os.urandom(8) for span in spans}
            for span in spans:
                copy = scope_spans.spans.add()
                copy.CopyFrom(span)
                copy.trace_id = trace_id
                copy.span_id = ids[span.span_id]
                copy.parent_span_id = ids.get(span.parent_span_id, b"")
        yield request.SerializeToString()


@contextmanager
def gateway(directory: Path) -> Iterator[tuple[engines.Collector, psutil.Process]]:
    sink_config = directory / "sink.yaml"
    sink_config.write_text(SINK)
    sink_port = free_port()
    sampling = f"127.0.0.1:{free_port()}"
    config = gateway_config(directory, [sampling])
    with engines._process(  # noqa: SLF001 - the same child-process handling as the tests
        [str(engines.otelcol()), f"--config={sink_config}"], {"SINK_PORT": str(sink_port)}, directory / "sink.log"
    ):
        sink = f"127.0.0.1:{sink_port}"
        with engines.collector(
            config,
            {"JAEGER_ENDPOINT": sink, "TEMPO_ENDPOINT": sink},
            directory / "gateway.log",
            {"receivers::otlp/sampling::protocols::grpc::endpoint": sampling},
        ) as running:
            yield running, psutil.Process(running.process.pid)


def send(endpoint: str, requests: Iterator[bytes], spans_per_request: int, max_spans: int) -> tuple[int, float]:
    """Send requests until ``max_spans`` or ``MAX_SECONDS``; the spans accepted and the seconds taken."""
    channel = grpc.insecure_channel(endpoint)
    export = channel.unary_unary(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        request_serializer=lambda body: body,
        response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString,
    )
    sent, started = 0, time.monotonic()
    while sent < max_spans and time.monotonic() - started < MAX_SECONDS:
        try:
            export(next(requests), timeout=10)
            sent += spans_per_request
        except grpc.RpcError:  # refused (memory_limiter): back off as an SDK would
            time.sleep(0.1)
    channel.close()
    return sent, time.monotonic() - started


def main() -> None:
    _ = trace_service_pb2_grpc
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        template = demo_trace(directory)
        spans_per_trace = sum(len(ss.spans) for rs in template.resource_spans for ss in rs.scope_spans)
        with gateway(directory) as (running, process):
            time.sleep(2)
            cpu_before = sum(process.cpu_times()[:2])
            sent, seconds = send(
                running.grpc_endpoint, copies(template, TRACES_PER_REQUEST, True), spans_per_trace * 50, MAX_SPANS
            )
            time.sleep(5)  # the last decisions (2 s after each root) and exports
            cpu = sum(process.cpu_times()[:2]) - cpu_before
        with gateway(directory) as (running, process):
            time.sleep(2)
            rss_before = process.memory_info().rss
            held_spans = (spans_per_trace - 1) * HELD_TRACES
            held, _ = send(
                running.grpc_endpoint,
                copies(template, TRACES_PER_REQUEST, False),
                (spans_per_trace - 1) * TRACES_PER_REQUEST,
                held_spans,
            )
            time.sleep(2)
            rss_after = process.memory_info().rss
        traces_held = held // (spans_per_trace - 1)
        summary = {
            "spans_per_demo_trace": spans_per_trace,
            "spans_sent": sent,
            "wall_seconds": round(seconds, 1),
            "spans_per_second_wall": round(sent / seconds),
            "gateway_cpu_seconds": round(cpu, 1),
            "spans_per_cpu_second": round(sent / cpu),
            "traces_held": traces_held,
            "rss_mib_per_1000_traces_held": round((rss_after - rss_before) / 2**20 / (traces_held / 1000), 2),
            "cpus": psutil.cpu_count(),
        }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
