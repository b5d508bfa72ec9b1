"""configure(): a real OTLP pipeline to a real receiver, clear errors, no second pipeline when one exists.

configure() sets global providers, which a process can do once: each case runs in its own subprocess.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry import trace
from oteltest.sink import GrpcSink, HttpSink
from oteltest.sink.handler import AccumulatingHandler
from oteltest.telemetry import get_metric_names, get_span_names

from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.sdk import configure
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'examples' / 'demo'}", **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, env=environment
    )


@pytest.mark.parametrize(("sink_class", "protocol"), [(GrpcSink, None), (HttpSink, "http/protobuf")])
def test_configure_exports_agent_spans_and_metrics(sink_class, protocol):
    """configure(endpoint=...) then an agent run with a real openai call: both signals reach the receiver.

    gRPC is the default protocol, as under opentelemetry-instrument; http/protobuf when asked for.
    """
    port = free_port()
    handler = AccumulatingHandler()
    sink = sink_class(handler, logging.getLogger("sink"), port=port)
    sink.start()
    time.sleep(0.3)
    try:
        result = _run(
            f"""
            import otel_agentperf.sdk
            from otel_agentperf import agent_run
            from tests.openai_tests.conftest import make_client, USER_MESSAGES

            telemetry = otel_agentperf.sdk.configure(
                service_name="configured", endpoint="http://127.0.0.1:{port}", protocol={protocol!r}
            )
            assert not telemetry.reused and telemetry.instrumentors
            with agent_run("configured-agent"):
                make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
            telemetry.shutdown()
            """
        )
        assert result.returncode == 0, result.stderr
        _wait_for(lambda: "invoke_agent configured-agent" in get_span_names(handler.telemetry))
    finally:
        sink.stop()
    names = get_span_names(handler.telemetry)
    assert {"invoke_agent configured-agent", "chat gpt-4o-mini"} <= set(names)
    assert "gen_ai.client.operation.duration" in get_metric_names(handler.telemetry)
    resource = handler.telemetry.trace_requests[0].pbreq.resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "configured"


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_existing_sdk_providers_are_reused():
    """With SDK providers already set (as opentelemetry-instrument does), configure() installs nothing new."""
    result = _run(
        """
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        import otel_agentperf.sdk

        tracer_provider, meter_provider = TracerProvider(), MeterProvider()
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        telemetry = otel_agentperf.sdk.configure(endpoint="http://127.0.0.1:9")
        assert telemetry.reused
        assert telemetry.tracer_provider is tracer_provider and telemetry.meter_provider is meter_provider
        assert trace.get_tracer_provider() is tracer_provider
        print("reused")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "reused" in result.stdout


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoint": "localhost:4318", "protocol": "http/protobuf"}, "http://host:port"),
        ({"endpoint": "ftp://collector:4317"}, "host:port or http://host:port"),
        ({"endpoint": "http://collector:notaport"}, "Cannot parse"),
        ({"protocol": "http/json"}, "protocol"),
    ],
)
def test_bad_settings_fail_at_configure(kwargs, message):
    """An HTTP endpoint without a scheme, a bad port or an unknown protocol is a ConfigurationError at the call."""
    with pytest.raises(ConfigurationError, match=message):
        configure(**kwargs)


def test_unknown_exporter_name_fails_before_anything_is_installed(monkeypatch):
    """OTEL_METRICS_EXPORTER naming an exporter no package provides: ConfigurationError, and no provider was set."""
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "no_such_exporter")
    with pytest.raises(ConfigurationError, match="no_such_exporter"):
        configure()
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


PROGRAM_TRACER = """
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

program_exporter = InMemorySpanExporter()
program_provider = TracerProvider(resource=Resource.create({"service.name": "program"}))
program_provider.add_span_processor(SimpleSpanProcessor(program_exporter))
trace.set_tracer_provider(program_provider)

def program_received():
    return sorted(span.name for span in program_exporter.get_finished_spans())
"""
PROGRAM_METER = """
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

program_reader = InMemoryMetricReader()
program_provider = MeterProvider(metric_readers=[program_reader])
metrics.set_meter_provider(program_provider)

def program_received():
    data = program_reader.get_metrics_data()
    return sorted({m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics})
"""


@pytest.mark.parametrize(
    ("program", "program_gets", "sink_gets"),
    [(PROGRAM_TRACER, "chat gpt-4o-mini", "metrics"), (PROGRAM_METER, "gen_ai.client.operation.duration", "traces")],
    ids=["program set a tracer provider", "program set a meter provider"],
)
def test_the_program_provider_is_reused_and_only_the_missing_one_is_created(program, program_gets, sink_gets):
    """One global provider set by the program: its signal goes to the program's pipeline, the other one to OTLP."""
    port = free_port()
    handler = AccumulatingHandler()
    sink = GrpcSink(handler, logging.getLogger("sink"), port=port)
    sink.start()
    time.sleep(0.3)
    try:
        result = _run(
            program
            + f"""
import otel_agentperf.sdk
from opentelemetry import metrics, trace
from tests.openai_tests.conftest import make_client, USER_MESSAGES

telemetry = otel_agentperf.sdk.configure(endpoint="http://127.0.0.1:{port}")
assert program_provider in (telemetry.tracer_provider, telemetry.meter_provider) and not telemetry.reused
assert telemetry.tracer_provider is trace.get_tracer_provider()
assert telemetry.meter_provider is metrics.get_meter_provider()
assert len(telemetry.created) == 1 and program_provider not in telemetry.created
make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
program_provider.force_flush()
print(program_received())
telemetry.shutdown()
"""
        )
        assert result.returncode == 0, result.stderr
        if sink_gets == "traces":
            _wait_for(lambda: "chat gpt-4o-mini" in get_span_names(handler.telemetry))
        else:
            _wait_for(lambda: "gen_ai.client.operation.duration" in get_metric_names(handler.telemetry))
    finally:
        sink.stop()
    assert program_gets in result.stdout
    received = {
        "traces": set(get_span_names(handler.telemetry)),
        "metrics": set(get_metric_names(handler.telemetry)),
    }
    expected_there = "chat gpt-4o-mini" if sink_gets == "traces" else "gen_ai.client.operation.duration"
    assert expected_there in received[sink_gets]
    assert received["metrics" if sink_gets == "traces" else "traces"] == set()


PROBE_INSTRUMENTORS = """
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor


class AbsentLibraryInstrumentor(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return ["library-that-is-not-installed >= 1"]

    def _instrument(self, **kwargs):
        raise AssertionError("instrumented without its library")

    def _uninstrument(self, **kwargs):
        pass


class OutdatedLibraryInstrumentor(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return ["pytest < 1"]

    def _instrument(self, **kwargs):
        raise AssertionError("instrumented with a version it does not support")

    def _uninstrument(self, **kwargs):
        pass
"""


def test_instrumentors_without_their_library_are_skipped_quietly(tmp_path):
    """A library that is not installed: one DEBUG line; a wrong version: one WARNING; only the active are listed."""
    (tmp_path / "probe_instrumentors.py").write_text(PROBE_INSTRUMENTORS)
    dist_info = tmp_path / "agentperf_probe-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: agentperf-probe\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[opentelemetry_instrumentor]\n"
        "agentperf_absent = probe_instrumentors:AbsentLibraryInstrumentor\n"
        "agentperf_outdated = probe_instrumentors:OutdatedLibraryInstrumentor\n"
    )
    result = _run(
        """
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s")
        import otel_agentperf.sdk

        telemetry = otel_agentperf.sdk.configure()
        print(sorted(type(instrumentor).__name__ for instrumentor in telemetry.instrumentors))
        """,
        PYTHONPATH=f"{ROOT}:{tmp_path}",
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="agentperf_mcp,agentperf_langchain",
    )
    assert result.returncode == 0, result.stderr
    ours = [line for line in result.stderr.splitlines() if "otel_agentperf" in line or "instrumentor" in line]
    assert not [line for line in result.stderr.splitlines() if line.startswith("ERROR")], result.stderr
    warnings = [line for line in ours if line.startswith("WARNING")]
    assert len(warnings) == 1 and "agentperf_outdated" in warnings[0] and "pytest < 1" in warnings[0], warnings
    assert any(line.startswith("DEBUG") and "agentperf_absent" in line for line in ours), result.stderr
    enabled = next(line for line in ours if "instrumentors enabled" in line)
    assert "OpenAIInstrumentor" in enabled and "LibraryInstrumentor" not in enabled
    assert "OpenAIInstrumentor" in result.stdout and "LibraryInstrumentor" not in result.stdout
