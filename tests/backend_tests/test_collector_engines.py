"""The shipped Collector configs on the real OpenTelemetry Collector, and the demo agent's trace read back from Jaeger.

``validate`` runs every ``collector-config/otelcol-*.yaml`` through the Collector distribution built from
``collector-build/manifest.yaml``. End to end: the demo agent (under ``opentelemetry-instrument``) → the agent-side
collector (``otelcol-agent.yaml``) → the single-machine collector (``otelcol-local.yaml``) → Jaeger, read back through
Jaeger's HTTP API, and the metrics through the collector's prometheus exporter, scraped by a real Prometheus that
evaluates the alert rules. Prometheus comes from Debian's ``prometheus`` package (``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.backend_tests import backends, engines
from tests.backend_tests.test_prometheus import _get
from tests.helpers import free_port

pytestmark = engines.needs_engines
SERVICE = "agentperf-e2e"


@pytest.mark.parametrize("config", engines.COLLECTOR_CONFIGS, ids=lambda path: path.name)
def test_shipped_config_passes_validate(config: Path):
    """The real Collector loads the config: every component exists in the distribution and its settings are valid."""
    result = engines.validate(config)
    assert result.returncode == 0, result.stderr


def test_every_collector_config_is_validated():
    """The three collector configs are the ones the parametrized validate test runs."""
    names = {path.name for path in engines.COLLECTOR_CONFIGS}
    assert names == {"otelcol-agent.yaml", "otelcol-gateway.yaml", "otelcol-local.yaml"}


def test_validate_rejects_a_config_the_collector_cannot_run(tmp_path: Path):
    """validate fails on the resolver port written as a number, as the gateway config had it (a string is needed)."""
    config = yaml.safe_load((engines.CONFIG / "otelcol-gateway.yaml").read_text())
    config["exporters"]["loadbalancing"]["resolver"]["dns"]["port"] = 4417
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = engines.validate(broken)
    assert result.returncode != 0
    assert "'port' expected type 'string'" in result.stderr


def test_jaeger_test_config_passes_validate():
    """The Jaeger v2 config the tests run is valid for the Jaeger binary."""
    env = {"JAEGER_OTLP_PORT": "1", "JAEGER_QUERY_PORT": "2", "JAEGER_QUERY_GRPC_PORT": "3"}
    result = subprocess.run(
        [str(engines.jaeger_binary()), "validate", f"--config={engines.JAEGER_CONFIG}"],
        env={**engines.os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@dataclass
class Stack:
    jaeger: engines.Jaeger
    tempo: engines.RecordingStore
    prometheus: str
    trace: dict[str, Any]
    seconds_to_jaeger: float


def _prometheus_config(directory: Path, target_port: int) -> Path:
    config = directory / "prometheus.yml"
    rules = engines.CONFIG / "prometheus" / "alerts.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{rules}']\n"
        f"scrape_configs: [{{job_name: collector, static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]}}]\n"
    )
    return config


def _wait_for_trace(jaeger: engines.Jaeger, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        traces = jaeger.traces(SERVICE)
        if traces and any(span["operationName"].startswith("invoke_agent") for span in traces[0]["spans"]):
            return traces[0]
        time.sleep(0.2)
    raise AssertionError(f"no trace of {SERVICE} in Jaeger within {timeout} s")


def _wait_for_series(prometheus: str, expression: str, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = _get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression}))["data"]["result"]
        if result:
            return list(result)
        time.sleep(0.5)
    raise AssertionError(f"Prometheus has no {expression} after {timeout} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Jaeger, a Tempo stand-in, the local and agent collectors, Prometheus; the demo agent run once through them."""
    if shutil.which("prometheus") is None:
        pytest.skip("Debian's prometheus package is not installed (.ci/run installs it)")
    directory = tmp_path_factory.mktemp("stack")
    with (
        engines.jaeger(directory / "jaeger.log") as jaeger,
        engines.recording_store() as tempo,
        engines.collector(
            engines.CONFIG / "otelcol-local.yaml",
            {"JAEGER_ENDPOINT": jaeger.otlp_endpoint, "TEMPO_ENDPOINT": tempo.endpoint},
            directory / "local.log",
        ) as local,
        engines.collector(
            engines.CONFIG / "otelcol-agent.yaml", {"GATEWAY_ENDPOINT": local.grpc_endpoint}, directory / "agent.log"
        ) as agent,
    ):
        prometheus_port = free_port()
        config = _prometheus_config(directory, local.ports.prometheus)
        command = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={directory / 'tsdb'}"]
        command.append(f"--web.listen-address=127.0.0.1:{prometheus_port}")
        with open(directory / "prometheus.log", "wb") as log:
            server = subprocess.Popen(command, stdout=log, stderr=log)
        try:
            done = backends.run_demo_agent(f"http://{agent.grpc_endpoint}", metrics=True)
            assert done.returncode == 0, done.stderr
            exited = time.monotonic()
            trace = _wait_for_trace(jaeger, timeout=30)
            seconds = time.monotonic() - exited
            print(f"the demo trace was in Jaeger {seconds:.1f} s after the agent exited")
            yield Stack(jaeger, tempo, f"http://127.0.0.1:{prometheus_port}", jaeger.trace(trace["traceID"]), seconds)
        finally:
            server.terminate()
            server.wait(timeout=10)


def _spans(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {span["spanID"]: span for span in trace["spans"]}


def _parent(span: dict[str, Any]) -> str | None:
    return next((ref["spanID"] for ref in span.get("references", []) if ref["refType"] == "CHILD_OF"), None)


def test_the_run_span_is_the_root_of_llm_and_tool_children(stack: Stack):
    """Jaeger holds one trace: invoke_agent at the root, the LLM calls and the tool call under it."""
    spans = _spans(stack.trace)
    roots = [span for span in spans.values() if _parent(span) is None]
    assert [root["operationName"] for root in roots] == ["invoke_agent research-agent"]
    children = [span for span in spans.values() if _parent(span) == roots[0]["spanID"]]
    operations = sorted(engines.tags(span).get("gen_ai.operation.name") for span in children)
    assert operations.count("chat") >= 4
    assert {"embeddings", "execute_tool"} <= set(operations)
    assert len(children) == len(spans) - 1


def test_llm_and_tool_attributes_arrive_unchanged(stack: Stack):
    """Model, token usage, the SDK retry on the rate-limited call, the tool name and the run summary are in Jaeger."""
    spans = list(_spans(stack.trace).values())
    chats = [engines.tags(span) for span in spans if engines.tags(span).get("gen_ai.operation.name") == "chat"]
    assert all(tags["gen_ai.request.model"] == "gpt-4o-mini" for tags in chats)
    assert all(tags["gen_ai.usage.input_tokens"] > 0 for tags in chats)
    assert [tags.get("agentperf.retry.count") for tags in chats].count(1) == 1
    tools = [engines.tags(span) for span in spans if engines.tags(span).get("gen_ai.operation.name") == "execute_tool"]
    assert [tags["gen_ai.tool.name"] for tags in tools] == ["search_docs"]
    run = next(engines.tags(span) for span in spans if span["operationName"].startswith("invoke_agent"))
    assert run["gen_ai.agent.name"] == "research-agent"
    assert any(key.startswith("agentperf.run.") for key in run)


def test_the_agent_collector_adds_host_attributes(stack: Stack):
    """resourcedetection (env, system) in the agent-side collector put host.name on the trace's process."""
    process = next(iter(stack.trace["processes"].values()))
    assert process["serviceName"] == SERVICE
    assert {"host.name", "os.type"} <= {tag["key"] for tag in process["tags"]}


def test_every_span_also_reaches_the_second_trace_store(stack: Stack):
    """The local collector exports the same spans, once each, to Tempo's endpoint (a recording stand-in here)."""
    in_jaeger = engines.jaeger_span_ids([stack.trace])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(stack.tempo.span_ids()) < len(in_jaeger):
        time.sleep(0.2)
    assert sorted(stack.tempo.span_ids()) == sorted(in_jaeger)


def test_the_trace_shows_within_seconds(stack: Stack):
    """No tail sampling on one machine: the trace is in Jaeger a few seconds after the agent exits."""
    assert stack.seconds_to_jaeger < 10


def test_metrics_reach_prometheus_through_the_collector(stack: Stack):
    """The names the alert rules use exist in Prometheus, scraped from the collector's prometheus exporter."""
    for expression in (
        'gen_ai_client_operation_duration_seconds_bucket{gen_ai_request_model="gpt-4o-mini"}',
        'gen_ai_client_token_usage_sum{gen_ai_token_type="input"}',
        "gen_ai_client_inference_usage_cache_read_input_tokens_total",
        "agentperf_retries_total",
    ):
        _wait_for_series(stack.prometheus, expression, timeout=30)


def test_the_alert_rules_evaluate_on_the_collector_metrics(stack: Stack):
    """Prometheus loaded alerts.yml and evaluates every rule without error on the scraped metrics."""
    _wait_for_series(stack.prometheus, "agentperf_retries_total", timeout=30)
    time.sleep(2)  # one more evaluation round with the series in
    groups = _get(f"{stack.prometheus}/api/v1/rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 7
    assert {rule["name"]: rule["health"] for rule in rules if rule["health"] != "ok"} == {}
    assert all(not rule["lastEvaluation"].startswith("0001") for rule in rules)
