"""``agentperf record`` runs real programs (the demo agent, a failing one, one stopped by Ctrl-C) and ``report`` reads
what they left; the report's numbers are checked against the spans in the file."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import statistics
import subprocess
import textwrap
from pathlib import Path

import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_agentperf.cli._receiver import Receiver
from otel_agentperf.cli._record import child_environment, user_destinations
from tests.cli_tests.builder import Trace, agent, llm, trace_request
from tests.cli_tests.helpers import DEMO, TIMEOUT_S, agentperf, agentperf_command, clean_env, llm_service, spans_in
from tests.helpers import free_port

RUNS = 3


def test_record_the_demo_agent_and_report_what_the_spans_say(tmp_path: Path) -> None:
    output = tmp_path / "demo.jsonl"
    with llm_service() as base_url:
        env = clean_env(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key")
        done = agentperf(
            "record", "-o", str(output), "--", "python", str(DEMO / "agent.py"), "--runs", str(RUNS), env=env
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("research-agent: done") == RUNS  # the program's own output passes through
    assert f"runs {RUNS} · LLM calls {6 * RUNS}" in done.stderr

    spans = spans_in(output)
    runs = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "invoke_agent"]
    llm_calls = [s for s in spans if s["kind"] == 3 and "gen_ai.usage.input_tokens" in s["attributes"]]
    assert len(runs) == RUNS and len(llm_calls) == 6 * RUNS

    report = json.loads(agentperf("report", str(output), "--format", "json").stdout)
    (agent,) = report["agents"]
    assert agent["agent"] == "research-agent" and agent["runs"] == RUNS and agent["errors"] == 0
    durations = sorted((int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e9 for s in runs)
    assert agent["duration"]["p50"] == statistics.median(durations)
    assert abs(sum(agent["time_split"].values()) - sum(durations)) < 1e-6  # the parts add up to the runs
    assert agent["time_split"]["llm"] > 0 and agent["time_split"]["rate_limit_wait"] > 0  # the 429 in each run
    assert agent["time_split"]["retry_backoff"] > 0  # tenacity, from the second run on

    by_model = {m["model"]: m for m in report["models"]}
    for model in ("gpt-4o-mini", "text-embedding-3-small"):
        calls = [s["attributes"] for s in llm_calls if s["attributes"]["gen_ai.request.model"] == model]
        assert by_model[model]["calls"] == len(calls)
        assert by_model[model]["input_tokens"] == sum(a["gen_ai.usage.input_tokens"] for a in calls)
        assert by_model[model]["output_tokens"] == sum(a.get("gen_ai.usage.output_tokens", 0) for a in calls)
        cache_read = sum(a.get("gen_ai.usage.cache_read.input_tokens", 0) for a in calls)
        assert by_model[model]["cache_read_tokens"] == cache_read
    assert by_model["gpt-4o-mini"]["prompt_cache_hit_ratio"] > 0

    assert {"cache": "docs-search", "system": "cachetools", "hits": RUNS - 1, "misses": 1}.items() <= {
        **report["caches"][0]
    }.items()
    retries = {(r["source"], r["cause"]): r["count"] for r in report["retries"]}
    assert retries == {("openai", "429"): RUNS, ("tenacity", "ConnectionError"): RUNS - 1}
    slowest = report["slowest_runs"][0]
    assert slowest["trace_id"] in {s["traceId"] for s in runs}
    assert slowest["duration"] == durations[-1]
    assert report["resources"]["peak_memory_bytes"] > 10 * 1024 * 1024

    text = agentperf("report", str(output)).stdout
    assert "research-agent" in text and "docs-search" in text and "75.0%" not in text  # 2 of 3 hits: 66.7%
    assert "66.7%" in text


FAILING = """
    import openai
    from otel_agentperf import agent_run

    with agent_run("failing-agent"):
        openai.OpenAI().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        raise RuntimeError("the agent gave up")
"""


def _record_with(program: Path, output: Path, **settings: str) -> None:
    with llm_service() as base_url:
        env = clean_env(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key", **settings)
        done = agentperf("record", "-o", str(output), "--", "python", str(program), env=env)
    assert done.returncode == 1, done.stderr  # the program fails on purpose
    assert "could not pass" not in done.stderr


def test_a_failing_program_keeps_its_telemetry_and_its_exit_status(tmp_path: Path) -> None:
    program, output = tmp_path / "failing.py", tmp_path / "failing.jsonl"
    program.write_text(textwrap.dedent(FAILING))
    with llm_service() as base_url:
        env = clean_env(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key")
        done = agentperf("record", "-o", str(output), "--", "python", str(program), env=env)
    assert done.returncode == 1, done.stderr
    assert "RuntimeError: the agent gave up" in done.stderr
    report = json.loads(agentperf("report", str(output), "--format", "json").stdout)
    assert report["agents"][0]["errors"] == 1
    assert {"span": "invoke_agent failing-agent", "error_type": "RuntimeError", "count": 1} in report["errors"]
    assert report["models"][0]["calls"] == 1


LITELLM_OVER_OPENAI = """
    import litellm
    from otel_agentperf import agent_run

    with agent_run("litellm-agent") as run:
        for question in ("first", "second"):
            litellm.completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": question}])
    summary = run.summary
    print(summary.llm_calls, summary.input_tokens + summary.output_tokens)
"""


def test_a_litellm_call_over_the_instrumented_openai_sdk_counts_once(tmp_path: Path) -> None:
    program, output = tmp_path / "litellm_agent.py", tmp_path / "litellm.jsonl"
    program.write_text(textwrap.dedent(LITELLM_OVER_OPENAI))
    with llm_service() as base_url:
        env = clean_env(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key", LITELLM_LOCAL_MODEL_COST_MAP="True")
        done = agentperf("record", "-o", str(output), "--", "python", str(program), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    calls, tokens = map(int, done.stdout.split())
    llm_spans = [s for s in spans_in(output) if s["kind"] == 3]
    assert calls == 2 and len(llm_spans) == 4  # each call: LiteLLM's span and the openai SDK's span under it
    assert f"runs 1 · LLM calls {calls} · tokens {tokens:,} · " in done.stderr

    report = json.loads(agentperf("report", str(output), "--format", "json").stdout)
    (agent,) = report["agents"]
    assert report["overview"]["llm_calls"] == agent["llm_calls_per_run"] == calls
    assert agent["tokens_per_run"] == tokens
    assert [(m["model"], m["calls"]) for m in report["models"]] == [("openai/gpt-4o-mini", calls)]


@pytest.mark.parametrize(
    "order",
    [[[2], [1, 0], [3]], [[0], [1], [2], [3]], [[2], [0], [1], [3]]],
    ids=["children-first", "parents-first", "mixed"],
)
def test_the_status_line_counts_llm_calls_nested_in_one_another_once(order: list[list[int]]) -> None:
    """A span usually arrives before its parent, but an SDK may end a failed call's span after its caller's."""
    trace = Trace()
    root = agent(trace, "router-agent", 0.0, 2.0)
    routed = llm(trace, root, 0.1, 1.9, model="support-group")  # the Router's call, its attempt, the SDK's call
    attempt = llm(trace, routed, 0.2, 1.8, model="openai/gpt-4o-mini", **{"gen_ai.usage.input_tokens": 0})
    sdk_call = llm(trace, attempt, 0.3, 1.7, model="gpt-4o-mini", **{"gen_ai.usage.output_tokens": 0})
    for span in (routed, attempt, sdk_call):  # the call failed: the same error seen at each level
        span.error = True
    receiver = Receiver(io.StringIO()).start()
    try:
        spans = [routed, attempt, sdk_call, root]
        for batch in order:  # separate exports
            request = Parse(json.dumps(trace_request([spans[i] for i in batch])), ExportTraceServiceRequest())
            receiver.accept("traces", request, b"", "application/json", "")
    finally:
        receiver.stop(settle=0)
    counts = receiver.counts
    assert (counts.runs, counts.llm_calls, counts.tokens, counts.errors) == (1, 1, 120, 1)
    assert receiver.counts.llm_children == {}


INTERRUPTED = """
    import time
    import openai
    from otel_agentperf import agent_run

    client = openai.OpenAI()
    with agent_run("patient-agent"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "first"}])
    with agent_run("patient-agent"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "second"}])
        print("ready", flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize("group", [False, True], ids=["kill-INT", "terminal-Ctrl-C"])
def test_ctrl_c_stops_the_program_and_the_file_keeps_what_arrived(tmp_path: Path, group: bool) -> None:
    program, output = tmp_path / "patient.py", tmp_path / "patient.jsonl"
    program.write_text(textwrap.dedent(INTERRUPTED))
    with llm_service() as base_url:
        env = clean_env(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key")
        record = subprocess.Popen(
            agentperf_command("record", "-o", str(output), "--", "python", str(program)),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=group,
        )
        assert record.stdout is not None
        assert record.stdout.readline().strip() == "ready"
        if group:  # a terminal's Ctrl-C: the whole foreground process group, agentperf and the program
            os.killpg(record.pid, signal.SIGINT)
        else:  # `kill -INT`: agentperf alone, which passes it on
            record.send_signal(signal.SIGINT)
        _, errors = record.communicate(timeout=TIMEOUT_S)
    assert record.returncode == 128 + signal.SIGINT, errors
    assert "(interrupted)" in errors
    report = json.loads(agentperf("report", str(output), "--format", "json").stdout)
    (agent,) = report["agents"]
    assert agent["runs"] == 2 and agent["errors"] == 1  # the second run ended with KeyboardInterrupt
    assert {"span": "invoke_agent patient-agent", "error_type": "KeyboardInterrupt", "count": 1} in report["errors"]
    assert report["overview"]["llm_calls"] == 2


def test_record_passes_the_telemetry_on_to_the_users_own_http_endpoint(tmp_path: Path) -> None:
    program, output = tmp_path / "failing.py", tmp_path / "out.jsonl"
    program.write_text(textwrap.dedent(FAILING))
    collector = Receiver(io.StringIO()).start()
    try:
        _record_with(
            program, output, OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf"
        )
    finally:
        collector.stop()
    assert collector.counts.spans == len(spans_in(output)) == 2


def test_record_passes_the_telemetry_on_to_the_users_own_grpc_endpoint(tmp_path: Path) -> None:
    from oteltest.sink import GrpcSink
    from oteltest.sink.handler import AccumulatingHandler

    program, output = tmp_path / "failing.py", tmp_path / "out.jsonl"
    program.write_text(textwrap.dedent(FAILING))
    handler, port = AccumulatingHandler(), free_port()
    logger = logging.getLogger("tests.record.sink")
    logger.setLevel(logging.WARNING)
    sink = GrpcSink(handler, logger, port=port)
    sink.start()
    try:  # the default protocol is gRPC
        _record_with(program, output, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{port}")
    finally:
        sink.stop()
    received = [s for r in handler.telemetry.trace_requests for rs in r.pbreq.resource_spans for ss in rs.scope_spans
                for s in ss.spans]  # fmt: skip
    assert sorted(s.name for s in received) == sorted(s["name"] for s in spans_in(output))
    assert len(received) == 2


def test_the_commands_environment_points_every_signal_at_the_receiver() -> None:
    user = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4317",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics.example:4318/v1/metrics",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=secret%20value",
        "OTEL_SERVICE_NAME": "mine",
    }
    env = child_environment(user, "http://127.0.0.1:5555", ["python", "agent.py"])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:5555"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert not {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS"} & env.keys()
    assert env["OTEL_SERVICE_NAME"] == "mine"
    assert child_environment({}, "http://x", ["python", "agent.py"])["OTEL_SERVICE_NAME"] == "agent"
    traces, metrics = user_destinations(user)
    assert (traces.protocol, traces.endpoint) == ("grpc", "https://collector.example:4317")
    assert (metrics.protocol, metrics.endpoint) == ("http/protobuf", "http://metrics.example:4318/v1/metrics")
    assert traces.headers == {"api-key": "secret value"}
    assert user_destinations({}) == []


def test_record_without_a_command_is_bad_input(tmp_path: Path) -> None:
    done = agentperf("record", "-o", str(tmp_path / "x.jsonl"))
    assert done.returncode == 2
    assert "no command given" in done.stderr
