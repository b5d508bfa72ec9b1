"""``agentperf report``: its formats, and bad input (exit status 2 with a clear message)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli_tests.builder import Trace, agent, llm, simple_runs, write
from tests.cli_tests.helpers import agentperf


def test_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    done = agentperf("report", str(tmp_path / "nope.jsonl"))
    assert done.returncode == 2
    assert "nope.jsonl: cannot open: No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_that_is_not_otlp_json_is_bad_input(tmp_path: Path) -> None:
    for name, text in (("text.jsonl", "hello\nworld\n"), ("other.json", '{"a": 1}\n'), ("empty.jsonl", "")):
        path = tmp_path / name
        path.write_text(text)
        done = agentperf("report", str(path))
        assert done.returncode == 2, name
        assert "not OTLP JSON" in done.stderr or "no OTLP data" in done.stderr, done.stderr


def test_a_truncated_last_line_is_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "cut.jsonl", simple_runs([1.0, 2.0, 3.0]))
    text = path.read_text()
    path.write_text(text + text.splitlines()[0][:100])  # a writer killed in the middle of a line
    done = agentperf("report", str(path), "--format", "json")
    assert done.returncode == 0
    assert "the last line (line 4) is cut short; the rest was read" in done.stderr
    report = json.loads(done.stdout)
    assert report["agents"][0]["runs"] == 3
    assert report["warnings"] == [f"{path}: the last line (line 4) is cut short; the rest was read"]


def test_a_file_without_agent_runs_still_reports_its_llm_calls(tmp_path: Path) -> None:
    trace = Trace()
    llm(trace, None, 0.0, 0.5, model="claude-sonnet-4-6", **{"gen_ai.usage.input_tokens": 40})
    path = write(tmp_path / "calls.jsonl", [trace])
    done = agentperf("report", str(path))
    assert done.returncode == 0, done.stderr
    assert "No agent runs in this file" in done.stdout
    assert "claude-sonnet-4-6" in done.stdout and "500 ms" in done.stdout


def test_markdown_json_and_html_formats(tmp_path: Path) -> None:
    path = write(tmp_path / "runs.jsonl", simple_runs([1.0, 1.2, 1.4], **{"gen_ai.usage.cost.amount": 0.0125}))
    markdown = agentperf("report", str(path), "--format", "markdown").stdout
    assert "| agent | runs | errors | p50 | p95 | p99 | LLM calls | tokens | cost |" in markdown
    assert "| agent | 3 | 0 | 1.20 s | 1.38 s | 1.40 s | 2.0 | 240 | $0.0250 |" in markdown

    report = json.loads(agentperf("report", str(path), "--format", "json").stdout)
    assert report["models"][0]["cost_usd"] == pytest.approx(0.0125 * 6)
    assert report["agents"][0]["cost_per_run"] == pytest.approx(0.025)

    page = tmp_path / "report.html"
    assert agentperf("report", str(path), "--format", "html", "-o", str(page)).returncode == 0
    html = page.read_text()
    assert html.count("<svg") == 2  # latency distribution and time split per run
    assert "<script" not in html and re.search(r'(src|href)="https?:', html) is None  # nothing to load: opens offline


def test_several_files_are_read_as_one_recording(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", simple_runs([1.0]))
    second = write(tmp_path / "b.jsonl", simple_runs([2.0, 3.0]))
    report = json.loads(agentperf("report", str(first), str(second), "--format", "json").stdout)
    assert report["agents"][0]["runs"] == 3
    assert report["agents"][0]["duration"]["p50"] == 2.0


def test_small_costs_and_the_lowest_rate_limit_headroom_per_model(tmp_path: Path) -> None:
    trace = Trace()
    limits = {"agentperf.rate_limit.tokens.limit": 30000, "agentperf.rate_limit.requests.limit": 500}
    for start, tokens_left in ((0.0, 12000), (1.0, 2400), (2.0, 15000)):
        attributes = {**limits, "agentperf.rate_limit.tokens.remaining": tokens_left}
        attributes |= {"agentperf.rate_limit.requests.remaining": 499, "gen_ai.usage.cost.amount": 0.0000127}
        llm(trace, None, start, start + 0.5, model="gpt-4o-mini", **attributes)
    path = write(tmp_path / "limited.jsonl", [trace])
    report = json.loads(agentperf("report", str(path), "--format", "json").stdout)
    assert report["models"][0]["lowest_rate_limit_headroom"] == {"requests": 0.998, "tokens": 0.08}
    markdown = agentperf("report", str(path), "--format", "markdown").stdout
    assert "| gpt-4o-mini | 3 | 0 |" in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| gpt-4o-mini | 3 |"))
    assert row.endswith("| $0.000038 | 0 | 8.0% tokens |")


def test_llm_spans_nested_in_an_llm_span_are_the_same_call(tmp_path: Path) -> None:
    trace = Trace()
    root = agent(trace, "router-agent", 0.0, 2.0)
    routed = llm(trace, root, 0.1, 1.9, model="support-group", **{"gen_ai.usage.cost.amount": 0.002})
    attempt = llm(trace, routed, 0.2, 1.8, model="openai/gpt-4o-mini")
    retry = (
        "agentperf.retry",
        0.5,
        {"agentperf.retry.delay": 0.5, "error.type": "429", "http.response.status_code": 429},
    )
    sdk_call = llm(trace, attempt, 0.3, 1.7, model="gpt-4o-mini")
    sdk_call.events.append(retry)
    for span in (routed, attempt, sdk_call):  # the call failed: the same error seen at each level
        span.error, span.attributes["error.type"] = True, "RateLimitError"
    path = write(tmp_path / "nested.jsonl", [trace])
    report = json.loads(agentperf("report", str(path), "--format", "json").stdout)
    assert [(m["model"], m["calls"], m["input_tokens"]) for m in report["models"]] == [("support-group", 1, 100)]
    (agent_row,) = report["agents"]
    assert (agent_row["llm_calls_per_run"], agent_row["tokens_per_run"]) == (1, 120)
    assert agent_row["cost_per_run"] == pytest.approx(0.002)
    assert agent_row["time_split"]["rate_limit_wait"] == pytest.approx(0.5)  # the nested call's wait still counts
    assert [(r["source"], r["cause"], r["count"]) for r in report["retries"]] == [("openai", "429", 1)]
    assert report["overview"]["errors"] == 1
    assert report["errors"] == [{"span": "chat support-group", "error_type": "RateLimitError", "count": 1}]
