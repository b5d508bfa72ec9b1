"""Start the real backends of the end-to-end tests as child processes: Arize Phoenix (a trace store) and rotel (a
collector), from the ``.venv-backends`` environment that ``make test`` creates, on free loopback ports."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BACKENDS_PYTHON = ROOT / ".venv-backends" / "bin" / "python"
DEMO = ROOT / "examples" / "demo"


def available() -> bool:
    """Whether ``.venv-backends`` holds Phoenix and rotel."""
    if not BACKENDS_PYTHON.exists():
        return False
    check = subprocess.run([str(BACKENDS_PYTHON), "-c", "import phoenix, rotel"], capture_output=True)
    return check.returncode == 0


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Phoenix:
    url: str


@contextmanager
def phoenix(working_dir: Path) -> Iterator[Phoenix]:
    """A Phoenix server on loopback ports, its data in ``working_dir``; stopped by pid."""
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(working_dir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    }
    log = open(working_dir / "phoenix.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(BACKENDS_PYTHON), "-m", "phoenix.server.main", "serve"], env=env, stdout=log, stderr=log
    )
    try:
        _wait(f"http://127.0.0.1:{port}/healthz", process, timeout=90)
        yield Phoenix(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextmanager
def rotel(export_to: str, log_path: Path) -> Iterator[str]:
    """A rotel collector receiving OTLP gRPC on loopback and exporting OTLP/HTTP to ``export_to``; its gRPC endpoint."""
    locate = "import rotel, os; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))"
    binary = subprocess.run([str(BACKENDS_PYTHON), "-c", locate], capture_output=True, text=True, check=True).stdout
    grpc_port, http_port = free_port(), free_port()
    command = [
        binary.strip(), "start",
        "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}",
        "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
        "--exporter", "otlp",
        "--otlp-exporter-protocol", "http",
        "--otlp-exporter-endpoint", export_to,
        "--batch-timeout", "200ms",
    ]  # fmt: skip
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_for_port(grpc_port, "rotel", process)
        yield f"http://127.0.0.1:{grpc_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def run_demo_agent(otlp_grpc_endpoint: str, metrics: bool = False) -> subprocess.CompletedProcess[str]:
    """Run examples/demo/agent.py under opentelemetry-instrument against the fake LLM service, exporting traces
    (and metrics, every second, with ``metrics``)."""
    sys.path.insert(0, str(DEMO))
    import llm_server  # noqa: PLC0415

    server = llm_server.serve(port=0, chunk_delay=0.002)
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(
        OPENAI_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}/v1",
        OPENAI_API_KEY="test-key-not-secret",
        OTEL_SERVICE_NAME="agentperf-e2e",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp" if metrics else "none",
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_grpc_endpoint,
    )
    launcher = str(Path(sys.executable).with_name("opentelemetry-instrument"))
    try:
        return subprocess.run(
            [launcher, sys.executable, str(DEMO / "agent.py")], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        server.shutdown()
        server.server_close()
