"""End to end: ``opentelemetry-instrument`` runs the demo agent (real openai SDK, fake LLM service) and exports real
OTLP, over gRPC and over HTTP, to oteltest sinks; the test reads spans and metrics back from what arrived.

The agent runs in a subprocess, exactly as a user runs it; telemetry is read after it exited (it flushes on exit).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from oteltest.sink import GrpcSink, HttpSink
from oteltest.sink.handler import AccumulatingHandler

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
SCOPE = "otel_agentperf.instrumentation.openai"
AGENT_SPAN = "invoke_agent research-agent"
CHAT_SPAN = "chat gpt-4o-mini"
EXPECTED_UNITS = {
    "gen_ai.client.operation.duration": "s",
    "gen_ai.client.token.usage": "{token}",
    "gen_ai.client.operation.time_to_first_chunk": "s",
    "gen_ai.client.inference.usage.cache_read.input_tokens": "{token}",
    "agentperf.retries": "{retry}",
}
SUBPROCESS_TIMEOUT_S = 60  # an instrumented start alone takes over 20 s on a busy 2-core machine
DEMO_TIMEOUT_S = 120


def _load_demo_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_e2e_{name}", DEMO / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _instrument_command() -> list[str]:
    script = Path(sys.executable).with_name("opentelemetry-instrument")
    assert script.is_file(), f"{script} is missing: opentelemetry-instrumentation is not installed"
    # Without a configurator (opentelemetry-distro provides one) opentelemetry-instrument sets up no SDK: no telemetry.
    assert entry_points(group="opentelemetry_configurator"), "opentelemetry-distro is not installed"
    return [str(script)]


def _env(**settings: str) -> dict[str, str]:
    """The inherited environment without any OTEL_* setting of the shell, plus ``settings``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(settings)
    return env


@pytest.fixture(scope="module")
def llm_base_url() -> Iterator[str]:
    server: ThreadingHTTPServer = _load_demo_module("llm_server").serve(port=0, chunk_delay=0.002)
    show_error = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up at exit
            show_error(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@dataclass
class Sink:
    handler: AccumulatingHandler
    endpoint: str
    protocol: str


@pytest.fixture(params=["grpc", "http/protobuf"])
def sink(request: pytest.FixtureRequest) -> Iterator[Sink]:
    """An oteltest sink on a free port. It binds all interfaces whatever we ask: only 127.0.0.1 is sent to."""
    port = free_port()
    handler = AccumulatingHandler()
    logger = logging.getLogger("oteltest.sink.e2e")
    logger.setLevel(logging.WARNING)  # the sinks log each start at INFO
    if request.param == "grpc":
        grpc_sink = GrpcSink(handler, logger, port=port)
        grpc_sink.start()
        yield Sink(handler, f"http://127.0.0.1:{port}", request.param)
        grpc_sink.stop()
        return
    http_sink = HttpSink(handler, logger, port=port)
    http_sink.start()
    deadline = time.monotonic() + 5
    while http_sink.httpd is None:  # stop() hangs if called before the server thread created its server
        assert time.monotonic() < deadline, "HttpSink did not start"
        time.sleep(0.01)
    yield Sink(handler, f"http://127.0.0.1:{port}", request.param)
    http_sink.stop()


# --- reading what arrived ------------------------------------------------------------------------------------------
def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


@dataclass
class Received:
    span: Any
    scope: str
    attributes: dict[str, Any]


def _spans(handler: AccumulatingHandler) -> list[Received]:
    return [
        Received(span, scope_spans.scope.name, {kv.key: _value(kv.value) for kv in span.attributes})
        for request in list(handler.telemetry.trace_requests)
        for resource_spans in request.pbreq.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


def _metrics(handler: AccumulatingHandler) -> dict[str, Any]:
    return {
        metric.name: metric
        for request in list(handler.telemetry.metric_requests)
        for resource_metrics in request.pbreq.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    }


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


# --- tests ---------------------------------------------------------------------------------------------------------
def test_agent_exports_spans_and_metrics(sink: Sink, llm_base_url: str) -> None:
    env = _env(
        OPENAI_BASE_URL=llm_base_url,
        OPENAI_API_KEY="test-key-not-secret",
        OTEL_SERVICE_NAME="agentperf-e2e",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL=sink.protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="600000",
        OTEL_AGENTPERF_STRICT="true",
    )
    command = [*_instrument_command(), sys.executable, str(DEMO / "agent.py")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "research-agent: done" in done.stdout

    handler = sink.handler
    _wait_for(lambda: {AGENT_SPAN, CHAT_SPAN} <= {r.span.name for r in _spans(handler)})
    _wait_for(lambda: set(EXPECTED_UNITS) <= set(_metrics(handler)))
    spans = _spans(handler)
    names = [r.span.name for r in spans]

    agents = [r for r in spans if r.span.name == AGENT_SPAN]
    assert len(agents) == 1, names
    agent = agents[0]
    assert agent.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert agent.attributes["gen_ai.agent.name"] == "research-agent"

    llm = [r for r in spans if r.scope == SCOPE]
    assert len(llm) == 6, names  # plan, reason, answer, embeddings, responses, async critique
    chat = [r for r in llm if r.span.name == CHAT_SPAN]
    assert len(chat) == 5, names  # responses.create is a "chat" operation too
    assert any(r.span.name == "embeddings text-embedding-3-small" for r in llm), names
    for item in llm:
        assert item.span.kind == item.span.SpanKind.SPAN_KIND_CLIENT, item.span.name
        assert item.attributes["gen_ai.provider.name"] == "openai", item.span.name
        assert item.span.trace_id == agent.span.trace_id
        assert item.span.parent_span_id == agent.span.span_id, item.span.name
        tokens_in = item.attributes["gen_ai.usage.input_tokens"]
        assert isinstance(tokens_in, int) and tokens_in > 0, item.attributes
    for item in chat:
        tokens_out = item.attributes["gen_ai.usage.output_tokens"]
        assert isinstance(tokens_out, int) and tokens_out > 0, item.attributes
        assert item.attributes["gen_ai.request.model"] == "gpt-4o-mini"

    retried = [r for r in llm if "agentperf.retry.count" in r.attributes]
    assert len(retried) == 1, [r.attributes for r in llm]
    assert retried[0].attributes["agentperf.retry.count"] == 1
    assert retried[0].attributes["agentperf.retry.backoff_time"] > 0
    events = [event for event in retried[0].span.events if event.name == "agentperf.retry"]
    assert len(events) == 1
    event_attributes = {kv.key: _value(kv.value) for kv in events[0].attributes}
    assert event_attributes["agentperf.retry.attempt"] == 1
    assert event_attributes["http.response.status_code"] == 429

    streamed = [r for r in chat if "gen_ai.response.time_to_first_chunk" in r.attributes]
    assert len(streamed) == 1, [r.attributes for r in chat]
    assert streamed[0].attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert streamed[0].attributes["gen_ai.usage.output_tokens"] > 0  # stream_options include_usage
    assert any(r.attributes.get("gen_ai.usage.cache_read.input_tokens", 0) > 0 for r in chat)

    metrics = _metrics(handler)
    for name, unit in EXPECTED_UNITS.items():
        assert name in metrics, sorted(metrics)
        assert metrics[name].unit == unit, name
    retries = metrics["agentperf.retries"].sum.data_points
    assert sum(point.as_int for point in retries) == 1
    assert sum(point.count for point in metrics["gen_ai.client.operation.duration"].histogram.data_points) == 6


def test_run_demo_prints_a_report(tmp_path: Path) -> None:
    """``make demo``: fake service, ``agentperf record`` of five agent runs, then ``agentperf report``."""
    env = _env(OTEL_AGENTPERF_STRICT="true")
    output = tmp_path / "demo-run.jsonl"
    done = subprocess.run(
        [sys.executable, str(DEMO / "run_demo.py"), "--output", str(output)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "$ agentperf record -o" in out and "$ agentperf report" in out
    assert out.count("research-agent: done") == 5
    assert output.stat().st_size > 0
    agents = next(line for line in out.splitlines() if line.strip().startswith("research-agent "))
    assert agents.split()[1] == "5", agents  # runs
    assert "docs-search" in out and "80.0%" in out  # the search cache: 4 hits in 5 lookups
    assert "tenacity" in out and "ConnectionError" in out
    assert " MiB" in out and "By" not in out  # sizes for people


@pytest.mark.parametrize("sink", ["http/protobuf"], indirect=True)
def test_graph_agent_is_traced_with_zero_code(sink: Sink, llm_base_url: str) -> None:
    """The create_agent demo under opentelemetry-instrument: run, nodes, LLM and tool spans in one trace."""
    env = _env(
        OPENAI_BASE_URL=llm_base_url,
        OPENAI_API_KEY="test-key-not-secret",
        OTEL_SERVICE_NAME="agentperf-e2e-graph",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL=sink.protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT=sink.endpoint,
        OTEL_AGENTPERF_STRICT="true",
    )
    command = [*_instrument_command(), sys.executable, str(DEMO / "graph_agent.py")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "research-graph: done" in done.stdout
    expected = {"invoke_agent research-graph", "node model", "node tools", "chat gpt-4o-mini"}
    expected.add("execute_tool search_docs")
    _wait_for(lambda: expected <= {r.span.name for r in _spans(sink.handler)})
    spans = _spans(sink.handler)
    by_id = {r.span.span_id: r for r in spans}
    (run,) = [r for r in spans if r.span.name == "invoke_agent research-graph"]
    assert run.attributes["agentperf.run.llm_calls"] == 2 and run.attributes["agentperf.run.tool_calls"] == 1
    assert {r.span.trace_id for r in spans} == {run.span.trace_id}
    parents = {r.span.name: by_id[r.span.parent_span_id].span.name for r in spans if r.span.parent_span_id}
    assert parents == {
        "node model": "invoke_agent research-graph",
        "node tools": "invoke_agent research-graph",
        "chat gpt-4o-mini": "node model",
        "execute_tool search_docs": "node tools",
    }
