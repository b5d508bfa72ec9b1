"""``agentperf doctor``: instrumentors, exporter, content capture and sampling, against real endpoints and packages."""

from __future__ import annotations

import json

import pytest

from otel_agentperf.cli._doctor import Finding, dependency_finding, diagnose
from tests.cli_tests.helpers import agentperf, clean_env
from tests.helpers import free_port


def by_area(findings: list[Finding], area: str) -> list[Finding]:
    return [finding for finding in findings if finding.area == area]


def test_disabled_instrumentors_are_named_with_the_variable_to_change() -> None:
    findings = diagnose(clean_env(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="agentperf_redis, agentperf_mcp"))
    instrumentors = {f.subject: f for f in by_area(findings, "instrumentor")}
    assert instrumentors["agentperf_redis"].detail == "disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"
    assert instrumentors["agentperf_mcp"].status == "info"
    assert instrumentors["agentperf_openai"].status == "ok"
    assert instrumentors["agentperf_openai"].detail.startswith("active (openai >= ")


def test_a_missing_library_and_a_version_outside_the_range() -> None:
    missing = dependency_finding("agentperf_x", ["no-such-library-agentperf >= 1.0"])
    assert (missing.status, missing.detail) == ("info", "inactive: no-such-library-agentperf >= 1.0 is not installed")
    too_old = dependency_finding("agentperf_openai", ["openai >= 999"])
    assert too_old.status == "problem"
    assert too_old.detail.startswith("inactive: needs openai >= 999, found openai ")
    assert too_old.fix.startswith("pip install 'openai >= 999'")


def test_an_endpoint_that_answers_in_the_configured_protocol(http_collector: str) -> None:
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=http_collector, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    (exporter,) = by_area(diagnose(env), "exporter")
    assert exporter.status == "ok", exporter
    assert exporter.subject == f"{http_collector}/v1/traces (http/protobuf, OTEL_EXPORTER_OTLP_ENDPOINT)"


def test_grpc_configured_against_an_http_endpoint_is_a_mismatch_with_its_fix(http_collector: str) -> None:
    (exporter,) = by_area(diagnose(clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=http_collector)), "exporter")
    assert exporter.status == "problem"
    assert exporter.detail == "the endpoint speaks OTLP/HTTP, the exporter is set to gRPC"
    assert exporter.fix.startswith("set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")


def test_nothing_listening_is_a_problem() -> None:
    port = free_port()
    env = clean_env(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{port}")
    (exporter,) = by_area(diagnose(env), "exporter")
    assert exporter.status == "problem" and exporter.detail == f"nothing listens on 127.0.0.1:{port}"
    assert "(grpc, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)" in exporter.subject


@pytest.mark.parametrize(
    ("settings", "status", "detail"),
    [
        ({}, "ok", "every trace is kept"),
        ({"OTEL_TRACES_SAMPLER": "always_off"}, "problem", "no trace is sampled: nothing is recorded"),
        ({"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}, "info", "10% of traces are kept"),
    ],
)
def test_sampling(settings: dict[str, str], status: str, detail: str) -> None:
    (sampling,) = by_area(diagnose(clean_env(**settings)), "sampling")
    assert sampling.status == status and sampling.detail.startswith(detail)


@pytest.mark.parametrize(
    ("value", "status"), [("", "ok"), ("SPAN_ONLY", "info"), ("no_content", "ok"), ("everything", "problem")]
)
def test_content_capture(value: str, status: str) -> None:
    env = clean_env(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=value) if value else clean_env()
    (content,) = by_area(diagnose(env), "content")
    assert content.status == status


def test_the_command_exits_1_on_a_problem_and_prints_its_fix() -> None:
    done = agentperf("doctor", env=clean_env(OTEL_TRACES_SAMPLER="always_off", OTEL_SDK_DISABLED="true"))
    assert done.returncode == 1
    assert "PROBLEM sdk          OTEL_SDK_DISABLED: the SDK is disabled: nothing is recorded" in done.stdout
    assert "fix: unset OTEL_SDK_DISABLED" in done.stdout
    findings = json.loads(agentperf("doctor", "--format", "json", env=clean_env()).stdout)
    assert {"instrumentor", "sdk", "exporter", "content", "sampling"} <= {f["area"] for f in findings}


def test_grpc_endpoint_answers_grpc_and_refuses_http(grpc_collector: str) -> None:
    (ok,) = by_area(diagnose(clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=grpc_collector)), "exporter")
    assert ok.status == "ok" and ok.detail == "answers OTLP over grpc"
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=grpc_collector, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    (mismatch,) = by_area(diagnose(env), "exporter")
    assert mismatch.detail == "the endpoint speaks OTLP/gRPC, the exporter is set to HTTP"
    assert mismatch.fix.startswith("set OTEL_EXPORTER_OTLP_PROTOCOL=grpc")


def test_the_price_table_the_variable_names(tmp_path) -> None:
    (bundled,) = by_area(diagnose(clean_env()), "cost")
    assert bundled.status == "ok" and bundled.detail.startswith("the bundled price table")
    good = tmp_path / "good.json"
    good.write_text('{"prices": [{"provider": "openai", "model": "gpt-x", "input": 1, "output": 2}]}')
    (extended,) = by_area(diagnose(clean_env(OTEL_AGENTPERF_PRICES=str(good))), "cost")
    assert extended.status == "ok" and extended.detail.endswith("(1 row)")
    bad = tmp_path / "bad.json"
    bad.write_text('{"prices": [{"provider": "openai", "model": "gpt-x", "input": "cheap", "output": 2}]}')
    (problem,) = by_area(diagnose(clean_env(OTEL_AGENTPERF_PRICES=str(bad))), "cost")
    assert problem.status == "problem" and "'input'" in problem.detail and "bundled table is used" in problem.detail
    assert "OTEL_AGENTPERF_PRICES" in problem.fix
