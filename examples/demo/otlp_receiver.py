"""A tiny in-memory OTLP/HTTP receiver (protobuf, or JSON) on 127.0.0.1, standard library plus opentelemetry-proto.

It accepts ``POST /v1/traces`` and ``/v1/metrics``, decodes them into ``ExportTraceServiceRequest`` and
``ExportMetricsServiceRequest`` and keeps them; ``/v1/logs`` is answered and dropped. It is enough for a demo or a
test to see what an instrumented program exported, with no collector installed::

    with OtlpReceiver() as receiver:  # a free loopback port
        run_program(env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                         "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
        for item in receiver.spans():
            print(item.span.name, item.attributes)
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from google.protobuf.json_format import Parse
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

Attributes = dict[str, Any]


def attributes_of(key_values: Iterable[KeyValue]) -> Attributes:
    """OTLP ``KeyValue`` list as a plain dict (ints stay ints, arrays become lists)."""
    return {item.key: value_of(item.value) for item in key_values}


def value_of(value: AnyValue) -> Any:
    """One OTLP ``AnyValue`` as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


@dataclass(frozen=True)
class ReceivedSpan:
    """A span with what the request said about where it came from."""

    span: Span
    scope_name: str
    resource: Attributes
    attributes: Attributes = field(repr=False)

    @property
    def duration_s(self) -> float:
        """Seconds from start to end."""
        return (self.span.end_time_unix_nano - self.span.start_time_unix_nano) / 1e9


@dataclass(frozen=True)
class MetricPoint:
    """One data point of a metric, flattened: ``value`` for sums and gauges, ``count``/``sum`` for histograms."""

    name: str
    unit: str
    kind: str
    """``sum``, ``gauge``, ``histogram`` or ``exponential_histogram``."""
    attributes: Attributes
    time_unix_nano: int
    cumulative: bool
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    max: float | None = None


class OtlpReceiver:
    """An OTLP/HTTP receiver on ``127.0.0.1:port`` (0: a free port) that keeps every request in memory."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Lock()
        self._traces: list[ExportTraceServiceRequest] = []
        self._metrics: list[ExportMetricsServiceRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The value for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporters append ``/v1/traces`` etc.)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OtlpReceiver:
        """Start serving in a daemon thread; returns itself."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- what arrived ----------------------------------------------------------------------------------------------
    def trace_requests(self) -> list[ExportTraceServiceRequest]:
        """Every trace export request received, oldest first."""
        with self._lock:
            return list(self._traces)

    def metric_requests(self) -> list[ExportMetricsServiceRequest]:
        """Every metric export request received, oldest first."""
        with self._lock:
            return list(self._metrics)

    def spans(self) -> list[ReceivedSpan]:
        """Every span received, in arrival order."""
        found: list[ReceivedSpan] = []
        for request in self.trace_requests():
            for resource_spans in request.resource_spans:
                resource = attributes_of(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append(
                            ReceivedSpan(span, scope_spans.scope.name, resource, attributes_of(span.attributes))
                        )
        return found

    def metrics(self) -> list[Metric]:
        """Every ``Metric`` message received (a metric exported twice appears twice)."""
        return [
            metric
            for request in self.metric_requests()
            for resource_metrics in request.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        ]

    def metric_points(self) -> list[MetricPoint]:
        """Every data point received, flattened. Cumulative points repeat the running total at each export."""
        return [point for metric in self.metrics() for point in _points(metric)]

    def wait_for(self, condition: Callable[[OtlpReceiver], bool], timeout: float = 5.0) -> bool:
        """Poll until ``condition(self)`` holds or ``timeout`` seconds passed; returns whether it held."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _add(self, request: ExportTraceServiceRequest | ExportMetricsServiceRequest) -> None:
        with self._lock:
            if isinstance(request, ExportTraceServiceRequest):
                self._traces.append(request)
            else:
                self._metrics.append(request)


def _points(metric: Metric) -> list[MetricPoint]:
    kind = metric.WhichOneof("data")
    if kind is None:
        return []
    data = getattr(metric, kind)
    cumulative = (
        getattr(data, "aggregation_temporality", 0) == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    )
    points: list[MetricPoint] = []
    for point in data.data_points:
        common: dict[str, Any] = {
            "name": metric.name,
            "unit": metric.unit,
            "kind": kind,
            "attributes": attributes_of(point.attributes),
            "time_unix_nano": point.time_unix_nano,
            "cumulative": cumulative,
        }
        if kind in ("sum", "gauge"):
            number = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
            points.append(MetricPoint(**common, value=number))
        elif kind in ("histogram", "exponential_histogram"):
            maximum = point.max if point.HasField("max") else None
            points.append(MetricPoint(**common, count=point.count, sum=point.sum, max=maximum))
    return points


_ROUTES: dict[str, tuple[type[Message] | None, type[Message]]] = {
    "/v1/traces": (ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": (ExportMetricsServiceRequest, ExportMetricsServiceResponse),
    "/v1/logs": (None, ExportLogsServiceResponse),  # answered, not kept
}


def _handler_for(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            route = _ROUTES.get(self.path.split("?", 1)[0])
            if route is None:
                self._reply(404, b"not found", "text/plain")
                return
            request_class, response_class = route
            json_body = "json" in self.headers.get("content-type", "")
            if request_class is not None:
                try:
                    request = request_class()
                    data = _decompress(body, self.headers.get("content-encoding", ""))
                    if json_body:
                        Parse(data, request)
                    else:
                        request.ParseFromString(data)
                except (DecodeError, ValueError, OSError, zlib.error) as error:
                    self._reply(400, f"cannot decode request: {error}".encode(), "text/plain")
                    return
                receiver._add(request)
            response = response_class()
            if json_body:
                self._reply(200, b"{}", "application/json")
            else:
                self._reply(200, response.SerializeToString(), "application/x-protobuf")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
            """Stay quiet."""

    return Handler


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body
