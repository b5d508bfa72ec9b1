"""A loopback OTLP/HTTP receiver that appends what it receives to an OTLP JSON lines file.

It accepts ``POST /v1/traces`` and ``/v1/metrics`` (protobuf or JSON, gzip or deflate), writes each request as one
line in the Collector file exporter's format, keeps running counts for a status line, and can pass every request on
unchanged to the user's own OTLP endpoint. ``/v1/logs`` is answered and dropped.
"""

from __future__ import annotations

import gzip
import queue
import sys
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

from google.protobuf.json_format import Parse
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from otel_agentperf.cli._otlp import SPAN_KIND_CLIENT, STATUS_CODE_ERROR, to_json_line

_ROUTES: dict[str, tuple[str, type[Message], type[Message]]] = {
    "/v1/traces": ("traces", ExportTraceServiceRequest, ExportTraceServiceResponse),
    "/v1/metrics": ("metrics", ExportMetricsServiceRequest, ExportMetricsServiceResponse),
}
_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
_MAX_PENDING_PARENTS = 4096
_GRPC_METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
}


@dataclass
class Counts:
    """What arrived so far, for the live status line."""

    requests: int = 0
    spans: int = 0
    points: int = 0
    runs: int = 0
    llm_calls: int = 0
    tokens: int = 0
    errors: int = 0
    last_request: float = 0.0
    llm_children: dict[bytes, tuple[int, int, int]] = field(default_factory=dict, repr=False)
    """LLM calls, tokens and errors counted so far, by the id of their parent span, until the parent arrives: a
    parent that is an LLM call too (LiteLLM over the openai SDK) is the same call, counted once."""
    llm_span_ids: dict[bytes, None] = field(default_factory=dict, repr=False)
    """The latest LLM spans that arrived: one that arrives after its parent is not counted again."""


@dataclass(frozen=True)
class Destination:
    """The user's OTLP endpoint for one signal: a full URL (http) or ``host:port`` (grpc), and headers."""

    signal: str
    protocol: str
    endpoint: str
    headers: dict[str, str]


class Receiver:
    """Receive OTLP/HTTP on 127.0.0.1 (a free port) and append every request to ``output`` as a JSON line."""

    def __init__(self, output: IO[str], destinations: list[Destination] | None = None) -> None:
        self.output = output
        self.counts = Counts()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="agentperf-receiver", daemon=True)
        self._forwarder = _Forwarder(destinations) if destinations else None

    @property
    def endpoint(self) -> str:
        """The base URL to put in ``OTEL_EXPORTER_OTLP_ENDPOINT`` (with ``http/protobuf``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Receiver:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self, settle: float = 0.3, limit: float = 3.0) -> None:
        """Wait until nothing arrived for ``settle`` seconds (at most ``limit``), then stop and flush."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and time.monotonic() - self.counts.last_request < settle:
            time.sleep(0.05)
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            self.output.flush()
        if self._forwarder is not None:
            self._forwarder.close()

    def accept(self, signal: str, request: Message, body: bytes, content_type: str, encoding: str) -> None:
        """Write one decoded request, count it, and pass the original body on."""
        line = to_json_line(request)
        with self._lock:
            self.output.write(line + "\n")
            self.output.flush()
            if isinstance(request, ExportTraceServiceRequest):
                _count_spans(request, self.counts)
            elif isinstance(request, ExportMetricsServiceRequest):
                self.counts.points += sum(
                    1 for rm in request.resource_metrics for sm in rm.scope_metrics for _ in sm.metrics
                )
            self.counts.requests += 1
            self.counts.last_request = time.monotonic()
        if self._forwarder is not None:
            self._forwarder.send(signal, request, body, content_type, encoding)


def _count_spans(request: ExportTraceServiceRequest, counts: Counts) -> None:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                counts.spans += 1
                attributes = {item.key: item.value for item in span.attributes}
                operation = attributes.get("gen_ai.operation.name")
                name = operation.string_value if operation is not None else ""
                nested = counts.llm_children.pop(span.span_id, (0, 0, 0))
                if name in ("invoke_agent", "invoke_workflow"):
                    counts.runs += 1
                elif name and name != "execute_tool" and span.kind == SPAN_KIND_CLIENT:
                    _count_llm_call(span, attributes, nested, counts)
                    continue
                counts.errors += span.status.code == STATUS_CODE_ERROR


def _count_llm_call(span: Span, attributes: dict[str, AnyValue], nested: tuple[int, int, int], counts: Counts) -> None:
    """Count one LLM call, less the calls nested in it, which were counted when they arrived: they are the same call.

    A span usually arrives before its parent (it ends first), but not always: one that arrives after its parent LLM
    span is not counted at all.
    """
    own = (
        1,
        sum(attributes[key].int_value for key in _TOKEN_KEYS if key in attributes),
        int(span.status.code == STATUS_CODE_ERROR),
    )
    inside_counted_call = span.parent_span_id in counts.llm_span_ids
    added = (0, 0, 0) if inside_counted_call else own
    counts.llm_calls += added[0] - nested[0]
    counts.tokens += added[1] - nested[1]
    counts.errors += added[2] - nested[2]
    _remember(counts.llm_span_ids, span.span_id, None)
    if span.parent_span_id and not inside_counted_call:
        calls, tokens, errors = counts.llm_children.get(span.parent_span_id, (0, 0, 0))
        _remember(counts.llm_children, span.parent_span_id, (calls + own[0], tokens + own[1], errors + own[2]))


def _remember(found: dict[bytes, Any], key: bytes, value: Any) -> None:
    if key not in found and len(found) >= _MAX_PENDING_PARENTS:
        del found[next(iter(found))]
    found[key] = value


class _Forwarder:
    """Pass requests on to the user's endpoints from a background thread; a failure is told once per endpoint."""

    def __init__(self, destinations: list[Destination]) -> None:
        self._destinations = {d.signal: d for d in destinations}
        self._queue: queue.Queue[tuple[Destination, Message, bytes, str, str] | None] = queue.Queue(maxsize=1000)
        self._failed: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="agentperf-forwarder", daemon=True)
        self._thread.start()

    def send(self, signal: str, request: Message, body: bytes, content_type: str, encoding: str) -> None:
        destination = self._destinations.get(signal)
        if destination is not None:
            try:
                self._queue.put_nowait((destination, request, body, content_type, encoding))
            except queue.Full:
                self._tell(destination, "too far behind, data dropped")

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            destination, request, body, content_type, encoding = item
            try:
                if destination.protocol == "grpc":
                    _send_grpc(destination, request)
                else:
                    _send_http(destination, body, content_type, encoding)
            except Exception as error:  # noqa: BLE001 - the user's endpoint failing must not stop the recording
                self._tell(destination, str(error))

    def _tell(self, destination: Destination, problem: str) -> None:
        if destination.endpoint not in self._failed:
            self._failed.add(destination.endpoint)
            print(
                f"agentperf: could not pass {destination.signal} on to {destination.endpoint}: {problem}",
                file=sys.stderr,
            )


def _send_http(destination: Destination, body: bytes, content_type: str, encoding: str) -> None:
    headers = {"content-type": content_type or "application/x-protobuf", **destination.headers}
    if encoding:
        headers["content-encoding"] = encoding
    request = urllib.request.Request(destination.endpoint, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the user's own endpoint
        response.read()


def _send_grpc(destination: Destination, request: Message) -> None:
    import grpc

    target = destination.endpoint.split("://", 1)[-1].rstrip("/")
    secure = destination.endpoint.startswith("https://")
    with (
        grpc.secure_channel(target, grpc.ssl_channel_credentials())
        if secure
        else grpc.insecure_channel(target) as channel
    ):
        call = channel.unary_unary(_GRPC_METHODS[destination.signal])
        call(request.SerializeToString(), timeout=10, metadata=list(destination.headers.items()) or None)


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            path = self.path.split("?", 1)[0]
            route = _ROUTES.get(path)
            if route is None:
                self._reply(200 if path == "/v1/logs" else 404, b"", "application/x-protobuf")
                return
            signal, request_class, response_class = route
            content_type = self.headers.get("content-type", "")
            encoding = self.headers.get("content-encoding", "").strip().lower()
            json_body = "json" in content_type
            try:
                request = request_class()
                data = _decompress(body, encoding)
                if json_body:
                    Parse(data, request)
                else:
                    request.ParseFromString(data)
            except (DecodeError, ValueError, OSError, zlib.error) as error:
                self._reply(400, f"cannot decode request: {error}".encode(), "text/plain")
                return
            receiver.accept(signal, request, body, content_type, encoding)
            if json_body:
                self._reply(200, b"{}", "application/json")
            else:
                self._reply(200, response_class().SerializeToString(), "application/x-protobuf")

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
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body
