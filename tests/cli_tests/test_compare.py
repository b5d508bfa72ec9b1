"""``agentperf compare``: a real program recorded three times (twice as it is, once 30% slower per LLM call), and the
statistics and bad input on hand-written recordings."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from otel_agentperf.cli._compare import CompareError, parse_thresholds
from tests.cli_tests.builder import simple_runs, write
from tests.cli_tests.helpers import agentperf, clean_env, llm_service

STEADY = """
    import openai
    from otel_agentperf import agent_run

    client = openai.OpenAI()
    for _ in range(8):
        with agent_run("steady-agent"):
            for _ in range(3):
                stream = client.chat.completions.create(
                    model="gpt-4o-mini",
                    messages=[{"role": "user", "content": "Count to ten."}],
                    max_completion_tokens=10,
                    stream=True,
                    stream_options={"include_usage": True},
                )
                for _ in stream:
                    pass
"""
CHUNK_DELAY_S = 0.02  # 13 chunks a call: about 260 ms of waiting, so that CPU noise is a small part of a call


def _record(program: Path, output: Path, chunk_delay: float) -> Path:
    with llm_service(chunk_delay=chunk_delay) as base_url:
        env = clean_env(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="test-key")
        done = agentperf("record", "-o", str(output), "--", "python", str(program), env=env)
    assert done.returncode == 0, done.stderr
    return output


def test_compare_flags_a_slower_program_and_passes_the_same_program(tmp_path: Path) -> None:
    program = tmp_path / "steady.py"
    program.write_text(textwrap.dedent(STEADY))
    base = _record(program, tmp_path / "base.jsonl", CHUNK_DELAY_S)
    same = _record(program, tmp_path / "same.jsonl", CHUNK_DELAY_S)
    slower = _record(program, tmp_path / "slower.jsonl", CHUNK_DELAY_S * 1.3)

    unchanged = agentperf("compare", str(base), str(same), "--format", "json")
    assert unchanged.returncode == 0, unchanged.stdout
    assert json.loads(unchanged.stdout)["regressed"] is False

    regressed = agentperf("compare", str(base), str(slower), "--format", "json")
    assert regressed.returncode == 1, regressed.stdout
    changes = {c["figure"]: c for c in json.loads(regressed.stdout)["changes"]}
    assert changes["duration"]["regressed"] is True, changes["duration"]
    assert 0.15 < changes["duration"]["change"] < 0.45
    assert changes["duration"]["p_value"] < 0.01, changes["duration"]  # 8 runs against 8, hardly overlapping
    assert changes["tokens"]["regressed"] is False and changes["tokens"]["change"] == 0

    markdown = agentperf("compare", str(base), str(slower), "--format", "markdown")
    assert markdown.returncode == 1
    assert markdown.stdout.startswith("### Agent performance: :x: 1 regression(s): steady-agent duration")
    assert "REGRESSION: larger with" in markdown.stdout


def test_tokens_beyond_their_threshold_regress_and_duration_within_it_does_not(tmp_path: Path) -> None:
    base = write(tmp_path / "base.jsonl", simple_runs([1.0, 1.1, 1.2, 1.0, 1.1]))
    more_tokens = {"gen_ai.usage.input_tokens": 110}  # 130 tokens a call instead of 120: +8.3%
    new = write(tmp_path / "new.jsonl", simple_runs([1.05, 1.15, 1.25, 1.05, 1.15], **more_tokens))
    done = agentperf("compare", str(base), str(new), "--format", "json")
    assert done.returncode == 1
    changes = {c["figure"]: c for c in json.loads(done.stdout)["changes"]}
    assert changes["tokens"]["regressed"] and changes["tokens"]["change"] == pytest.approx(20 / 240)
    assert not changes["duration"]["regressed"]  # +4.5%, under 10%
    relaxed = agentperf("compare", str(base), str(new), "--threshold", "tokens=10%")
    assert relaxed.returncode == 0, relaxed.stdout
    assert "no regression beyond the thresholds" in relaxed.stdout


def test_too_few_runs_are_not_tested(tmp_path: Path) -> None:
    base = write(tmp_path / "base.jsonl", simple_runs([1.0, 1.0]))
    new = write(tmp_path / "new.jsonl", simple_runs([3.0, 3.0]))
    done = agentperf("compare", str(base), str(new), "--format", "json")
    assert done.returncode == 0
    (duration,) = [c for c in json.loads(done.stdout)["changes"] if c["figure"] == "duration"]
    assert duration["p_value"] is None and "too few runs to test (2 vs 2" in duration["statement"]


def test_recordings_with_no_agent_in_common_are_bad_input(tmp_path: Path) -> None:
    base = write(tmp_path / "base.jsonl", simple_runs([1.0], name="planner"))
    new = write(tmp_path / "new.jsonl", simple_runs([1.0], name="writer"))
    done = agentperf("compare", str(base), str(new))
    assert done.returncode == 2
    assert "no agent in common: base has planner; new has writer" in done.stderr


def test_a_recording_without_runs_or_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    base = write(tmp_path / "base.jsonl", simple_runs([1.0]))
    empty = write(tmp_path / "none.jsonl", [])
    empty.write_text('{"resourceSpans": []}\n')
    assert "no agent runs" in agentperf("compare", str(base), str(empty)).stderr
    done = agentperf("compare", str(base), str(tmp_path / "missing.jsonl"))
    assert done.returncode == 2 and "cannot open" in done.stderr


@pytest.mark.parametrize("text", ["latency=5%", "duration", "duration=fast"])
def test_malformed_thresholds_are_refused(text: str) -> None:
    with pytest.raises(CompareError, match="bad threshold"):
        parse_thresholds(text)


def test_thresholds_take_percentages_or_fractions() -> None:
    assert parse_thresholds("duration=20%, cost=0.5") == {"duration": 0.2, "tokens": 0.05, "cost": 0.5}
