"""The real OpenTelemetry Collector and Jaeger as child processes on loopback ports, for the end-to-end tests.

Both binaries are built from source by ``collector-build/build.sh`` (``make engines``, which ``make test`` runs) into a
cache outside the work tree. A shipped configuration runs unchanged; a test only moves its listening addresses to free
loopback ports with the Collector's ``--set`` flag (and, for the fleet, names the gateway replicas, see ``fleet``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.helpers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "collector-config"
BUILD_SCRIPT = ROOT / "collector-build" / "build.sh"
JAEGER_CONFIG = Path(__file__).with_name("jaeger.yaml")
COLLECTOR_CONFIGS = sorted(CONFIG.glob("otelcol-*.yaml"))
ENV_PLACEHOLDERS = {
    "GATEWAY_ENDPOINT": "gateway:4317",
    "SAMPLING_TIER_DNS": "gateway-replicas",
    "JAEGER_ENDPOINT": "jaeger:4317",
    "TEMPO_ENDPOINT": "tempo:4317",
}


def engines_dir() -> Path | None:
    """The folder holding both binaries: ``$AGENTPERF_ENGINES`` (set by make), else where build.sh puts them."""
    named = os.environ.get("AGENTPERF_ENGINES")
    if named:
        return Path(named)
    found = subprocess.run(["bash", str(BUILD_SCRIPT), "--dir"], capture_output=True, text=True, check=True)
    folder = Path(found.stdout.strip())
    return folder if (folder / "otelcol-agentperf").exists() else None


def _skip_reason() -> str | None:
    folder = engines_dir()
    if folder is None:
        return "the Collector and Jaeger are not built: run `make engines`"
    missing = [name for name in ("otelcol-agentperf", "jaeger") if not (folder / name).exists()]
    if missing and os.environ.get("AGENTPERF_ENGINES"):
        raise RuntimeError(f"AGENTPERF_ENGINES={folder} lacks {missing}")
    return f"{missing} not built: run `make engines`" if missing else None


_REASON = _skip_reason()
needs_engines = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def otelcol() -> Path:
    folder = engines_dir()
    assert folder is not None
    return folder / "otelcol-agentperf"


def jaeger_binary() -> Path:
    folder = engines_dir()
    assert folder is not None
    return folder / "jaeger"


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def _process(command: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@dataclass(frozen=True)
class Ports:
    """The loopback ports a Collector listens on."""

    grpc: int
    http: int
    health: int
    prometheus: int

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port())


@dataclass
class Collector:
    """A running Collector: its OTLP gRPC endpoint (host:port), its ports and log."""

    process: subprocess.Popen[bytes]
    ports: Ports
    log: Path

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.grpc}"


def collector_command(config: Path, settings: Mapping[str, str]) -> list[str]:
    """The command line that runs ``config`` with ``--set`` overrides (paths joined by ``::``)."""
    command = [str(otelcol()), f"--config={config}"]
    return command + [f"--set={path}={value}" for path, value in settings.items()]


@contextmanager
def collector(
    config: Path,
    env: Mapping[str, str],
    log: Path,
    extra: Mapping[str, str] | None = None,
    ports: Ports | None = None,
) -> Iterator[Collector]:
    """Run a Collector config with its listeners moved to loopback ports (free ones by default); stop it by pid."""
    ports = ports or Ports.free()
    settings = {
        "receivers::otlp::protocols::grpc::endpoint": f"127.0.0.1:{ports.grpc}",
        "receivers::otlp::protocols::http::endpoint": f"127.0.0.1:{ports.http}",
        "extensions::health_check::endpoint": f"127.0.0.1:{ports.health}",
        "service::telemetry::metrics::level": "none",
        **(extra or {}),
    }
    if "\n  prometheus:" in config.read_text():
        settings["exporters::prometheus::endpoint"] = f"127.0.0.1:{ports.prometheus}"
    with _process(collector_command(config, settings), env, log) as process:
        _wait_http(f"http://127.0.0.1:{ports.health}/", process, log)
        yield Collector(process, ports, log)


def validate(config: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``otelcol validate`` of ``config`` with placeholder values for its environment variables."""
    return subprocess.run(
        [str(otelcol()), "validate", f"--config={config}"],
        env={**os.environ, **ENV_PLACEHOLDERS, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Jaeger:
    """A running Jaeger v2: its OTLP gRPC endpoint (host:port) and the base URL of its query API and UI."""

    process: subprocess.Popen[bytes]
    otlp_endpoint: str
    url: str

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return json.load(response)

    def traces(self, service: str, limit: int = 2000) -> list[dict[str, Any]]:
        """Every trace of ``service`` in the last hour, as Jaeger's HTTP API returns them."""
        return list(self.get("/api/traces", service=service, limit=str(limit), lookback="1h")["data"] or [])

    def trace(self, trace_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/traces/{trace_id}")["data"][0])


@contextmanager
def jaeger(log: Path, ui_assets: Path | None = None) -> Iterator[Jaeger]:
    """Jaeger v2 with in-memory storage (tests/backend_tests/jaeger.yaml) on free loopback ports."""
    otlp_port, query_port, query_grpc_port = free_port(), free_port(), free_port()
    env = {
        "JAEGER_OTLP_PORT": str(otlp_port),
        "JAEGER_QUERY_PORT": str(query_port),
        "JAEGER_QUERY_GRPC_PORT": str(query_grpc_port),
        "JAEGER_UI_ASSETS": str(ui_assets or ""),
    }
    with _process([str(jaeger_binary()), f"--config={JAEGER_CONFIG}"], env, log) as process:
        _wait_http(f"http://127.0.0.1:{query_port}/api/services", process, log)
        wait_for_port(otlp_port, "jaeger otlp", process)  # type: ignore[arg-type]
        yield Jaeger(process, f"127.0.0.1:{otlp_port}", f"http://127.0.0.1:{query_port}")


class _Recorder(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(  # noqa: N802 - the gRPC method name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@dataclass
class RecordingStore:
    """An OTLP gRPC trace receiver that keeps every span it gets: a stand-in for a second trace store (Tempo)."""

    endpoint: str
    recorder: _Recorder

    def span_ids(self) -> list[tuple[str, str]]:
        """(trace ID, span ID) of every span received, in hex, duplicates included."""
        return [
            (span.trace_id.hex(), span.span_id.hex())
            for request in list(self.recorder.requests)
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]


@contextmanager
def recording_store() -> Iterator[RecordingStore]:
    recorder = _Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield RecordingStore(f"127.0.0.1:{port}", recorder)
    finally:
        server.stop(grace=None)


def jaeger_span_ids(traces: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(trace ID, span ID) of every span in Jaeger's answer, duplicates included."""
    return [(span["traceID"].rjust(32, "0"), span["spanID"].rjust(16, "0")) for t in traces for span in t["spans"]]


def tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span.get("tags", [])}
