"""configure(): a real OTLP pipeline to a real receiver, clear errors, no second pipeline when one exists.

configure() sets global providers, which a process can do once: each case runs in its own subprocess.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from oteltest.sink import HttpSink
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


def test_configure_exports_agent_spans_and_metrics(tmp_path):
    """configure(endpoint=...) then an agent run with a real openai call: both signals reach the receiver."""
    port = free_port()
    handler = AccumulatingHandler()
    sink = HttpSink(handler, logging.getLogger("sink"), port=port)
    sink.start()
    time.sleep(0.3)
    try:
        result = _run(
            f"""
            import otel_agentperf.sdk
            from otel_agentperf import agent_run
            from tests.openai_tests.conftest import make_client, USER_MESSAGES

            telemetry = otel_agentperf.sdk.configure(service_name="configured", endpoint="http://127.0.0.1:{port}")
            assert not telemetry.reused and telemetry.instrumentors
            with agent_run("configured-agent"):
                make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
            telemetry.shutdown()
            """
        )
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 5
        while "invoke_agent configured-agent" not in get_span_names(handler.telemetry) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sink.stop()
    names = get_span_names(handler.telemetry)
    assert {"invoke_agent configured-agent", "chat gpt-4o-mini"} <= set(names)
    assert "gen_ai.client.operation.duration" in get_metric_names(handler.telemetry)
    resource = handler.telemetry.trace_requests[0].pbreq.resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "configured"


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
        ({"endpoint": "localhost:4317"}, "http://host:port"),
        ({"endpoint": "http://collector:notaport"}, "Cannot parse"),
        ({"protocol": "http/json"}, "protocol"),
    ],
)
def test_bad_settings_fail_at_configure(kwargs, message):
    """An endpoint without a scheme, a bad port or an unknown protocol is a ConfigurationError at the call."""
    with pytest.raises(ConfigurationError, match=message):
        configure(**kwargs)
