"""configure() reads the OTLP variables exactly as opentelemetry-instrument and the plain OTLP exporters do.

Each environment runs twice in subprocesses, once through ``configure()`` and once under ``opentelemetry-instrument``
(which builds the plain OTLP exporters from the same variables), against real OTLP receivers: two gRPC and two HTTP
oteltest sinks on free loopback ports. Both runs must deliver the probe span and the probe metric to the same sinks,
and those sinks must be the ones the specification names.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from oteltest.sink import GrpcSink, HttpSink
from oteltest.sink.handler import AccumulatingHandler
from oteltest.telemetry import get_metric_names, get_span_names

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")
PROBE = """
from opentelemetry import metrics, trace
{setup}
trace.get_tracer("probe").start_span("probe-span").end()
metrics.get_meter("probe").create_counter("probe.count").add(1)
trace.get_tracer_provider().force_flush()
metrics.get_meter_provider().force_flush()
"""
CONFIGURE = "import otel_agentperf.sdk; otel_agentperf.sdk.configure(instrument=False)"
INSTRUMENTORS = [entry_point.name for entry_point in entry_points(group="opentelemetry_instrumentor")]
QUIET = {  # only the export path is under test: no instrumentor, no periodic export, no logs
    "OTEL_METRIC_EXPORT_INTERVAL": "600000",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ",".join(INSTRUMENTORS),
}


@dataclass
class Sink:
    name: str
    port: int
    handler: AccumulatingHandler

    def received(self) -> set[str]:
        """Which of the probe's signals reached this sink."""
        telemetry = self.handler.telemetry
        traces = {"traces"} if "probe-span" in get_span_names(telemetry) else set()
        return traces | ({"metrics"} if "probe.count" in get_metric_names(telemetry) else set())


@pytest.fixture
def sinks() -> Iterator[Callable[[], dict[str, Sink]]]:
    """grpc, grpc2 (gRPC) and http, http2 (OTLP/HTTP) receivers, fresh for each run."""
    started: dict[str, tuple[Sink, GrpcSink | HttpSink]] = {}

    def start() -> dict[str, Sink]:
        for _, server in started.values():
            server.stop()
        started.clear()
        for name, kind in (("grpc", GrpcSink), ("grpc2", GrpcSink), ("http", HttpSink), ("http2", HttpSink)):
            handler, port = AccumulatingHandler(), free_port()
            server = kind(handler, logging.getLogger("sink"), port=port)
            server.start()
            started[name] = (Sink(name, port, handler), server)
        time.sleep(0.3)
        return {name: sink for name, (sink, _) in started.items()}

    yield start
    for _, server in started.values():
        server.stop()


def _deliveries(sinks: dict[str, Sink], env: dict[str, str], *, launcher: bool) -> dict[str, set[str]]:
    code = textwrap.dedent(PROBE.format(setup="" if launcher else CONFIGURE))
    command = [str(INSTRUMENT), sys.executable, "-c", code] if launcher else [sys.executable, "-c", code]
    environment = {"PATH": f"{INSTRUMENT.parent}:/usr/bin:/bin", "PYTHONPATH": str(ROOT), **QUIET, **env}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 0, result.stderr
    time.sleep(0.3)  # the sinks' server threads hand over what they received
    return {name: sink.received() for name, sink in sinks.items() if sink.received()}


def _url(sinks: dict[str, Sink], name: str, path: str = "", scheme: str = "http://") -> str:
    return f"{scheme}127.0.0.1:{sinks[name].port}{path}"


# (id, environment as a function of the sinks, where traces and metrics must arrive)
CASES = [
    (
        "generic endpoint, no protocol: grpc as under opentelemetry-instrument",
        lambda s: {"OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "grpc")},
        {"grpc": {"traces", "metrics"}},
    ),
    (
        "http/protobuf: the generic endpoint gets /v1/traces and /v1/metrics",
        lambda s: {"OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "http"), "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {"http": {"traces", "metrics"}},
    ),
    (
        "http/protobuf: the traces endpoint wins over the generic one",
        lambda s: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "http"),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": _url(s, "http2", "/v1/traces"),
        },
        {"http2": {"traces"}, "http": {"metrics"}},
    ),
    (
        "http/protobuf: a signal endpoint is used as is, with no path appended",
        lambda s: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "http"),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": _url(s, "http2", "/"),
        },
        {"http": {"traces"}},
    ),
    (
        "grpc: the metrics endpoint wins over the generic one",
        lambda s: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "grpc"),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": _url(s, "grpc2"),
        },
        {"grpc": {"traces"}, "grpc2": {"metrics"}},
    ),
    (
        "the traces protocol wins over the generic protocol",
        lambda s: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "grpc"),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": _url(s, "http", "/v1/traces"),
        },
        {"http": {"traces"}, "grpc": {"metrics"}},
    ),
    (
        "the metrics protocol wins over the generic protocol, and the generic endpoint gets its path",
        lambda s: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "http"),
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": _url(s, "grpc"),
        },
        {"grpc": {"traces"}, "http": {"metrics"}},
    ),
    (
        "grpc: an endpoint without a scheme, as the gRPC exporter accepts it",
        lambda s: {
            "OTEL_EXPORTER_OTLP_ENDPOINT": _url(s, "grpc", scheme=""),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        },
        {"grpc": {"traces", "metrics"}},
    ),
]


@pytest.mark.parametrize(("make_env", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_configure_sends_where_opentelemetry_instrument_sends(sinks, make_env, expected):
    """Same variables, same receivers: configure() and the launcher's plain OTLP exporters agree, and are right."""
    current = sinks()
    env = make_env(current)
    assert _deliveries(current, env, launcher=True) == expected, "the OTLP exporters' own reading changed"
    current = sinks()
    assert _deliveries(current, make_env(current), launcher=False) == expected


def _setup_log(env: dict[str, str], code: str = CONFIGURE) -> str:
    """configure() in a fresh process that exits before any export; what it logged."""
    script = f"import logging, os; logging.basicConfig(); {code}; os._exit(0)"
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **QUIET, **env}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 0, result.stderr
    return result.stderr


ENDPOINT, PROTOCOL = "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"


@pytest.mark.parametrize(
    ("env", "warned"),
    [
        ({ENDPOINT: "http://127.0.0.1:4317", PROTOCOL: "http/protobuf"}, True),
        ({ENDPOINT: "http://127.0.0.1:4318", PROTOCOL: "grpc"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "127.0.0.1:4318"}, True),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317/v1/traces",
            },
            True,
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}, False),
        ({ENDPOINT: "http://127.0.0.1:4318", PROTOCOL: "http/protobuf"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:443"}, False),
    ],
)
def test_protocol_that_does_not_match_the_port_warns_once(env, warned):
    """4317 with http/protobuf or 4318 with grpc: one WARNING at setup naming both fixes; a match says nothing."""
    log = _setup_log(env)
    warnings = [line for line in log.splitlines() if line.startswith("WARNING:otel_agentperf.sdk")]
    if warned:
        assert len(warnings) == 1, log
        assert "OTEL_EXPORTER_OTLP_PROTOCOL=" in warnings[0] and "do not match" in warnings[0]
    else:
        assert warnings == [], log


def test_console_exporter_prints_spans_as_under_the_launcher():
    """OTEL_TRACES_EXPORTER=console, the one-line local look, works through configure() too."""
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"}
    code = textwrap.dedent(PROBE.format(setup=CONFIGURE))
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **QUIET, **env}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 0, result.stderr
    assert '"name": "probe-span"' in result.stdout and '"name": "probe.count"' in result.stdout
