"""Each recommendation rule: one recording that triggers it and one that does not, read through the real reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from otel_agentperf.cli._analysis import analyse
from otel_agentperf.cli._rules import RULES, Recommendation, recommend
from tests.cli_tests.builder import Trace, agent, llm, simple_runs, sum_request, tool, write

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def fired(path: Path, rule: str) -> list[Recommendation]:
    return [found for found in recommend(analyse([path])) if found.rule == rule]


def test_prompt_cache_unused_fires_on_long_uncached_prompts(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", simple_runs([1.0, 1.0], calls=2, **{"gen_ai.usage.input_tokens": 3000}))
    (found,) = fired(path, "prompt-cache-unused")
    assert "4 calls with a median of 3,000 input tokens" in found.evidence
    assert "hit ratio 0.0%" in found.impact


@pytest.mark.parametrize(
    "attributes",
    [
        {"gen_ai.usage.input_tokens": 3000, "gen_ai.usage.cache_read.input_tokens": 2048},  # the cache works
        {"gen_ai.usage.input_tokens": 300},  # prompts too short to be cached
    ],
)
def test_prompt_cache_unused_stays_quiet(tmp_path: Path, attributes: dict[str, int]) -> None:
    path = write(tmp_path / "a.jsonl", simple_runs([1.0, 1.0], calls=2, **attributes))
    assert fired(path, "prompt-cache-unused") == []


def _runs_with_retry_waits(delay: float, status: int) -> list[Trace]:
    traces = []
    for start in (0.0, 10.0, 20.0):
        trace = Trace()
        root = agent(trace, "agent", start, start + 2.0)
        call = llm(trace, root, start, start + 1.0)
        call.events.append(
            (
                "agentperf.retry",
                start + 0.1,
                {"agentperf.retry.delay": delay, "error.type": str(status), "http.response.status_code": status},
            )  # fmt: skip
        )
        traces.append(trace)
    return traces


def test_retry_share_fires_when_waits_take_a_large_share_of_llm_time(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", _runs_with_retry_waits(0.4, 429))
    (found,) = fired(path, "retry-share")
    assert (
        "1.20 s waiting before retries (rate limits 1.20 s) against 1.80 s in LLM calls: 40% of the two"
        in found.evidence
    )
    assert "rate limiting" in found.fix


def test_retry_share_stays_quiet_for_short_waits(tmp_path: Path) -> None:
    assert fired(write(tmp_path / "a.jsonl", _runs_with_retry_waits(0.02, 503)), "retry-share") == []


def _runs_with_tool(tool_seconds: float) -> list[Trace]:
    traces = []
    for start in (0.0, 10.0, 20.0):
        trace = Trace()
        root = agent(trace, "agent", start, start + 1.0)
        llm(trace, root, start, start + 0.1)
        tool(trace, root, "web_search", start + 0.1, start + 0.1 + tool_seconds)
        traces.append(trace)
    return traces


def test_tool_dominates_fires_for_a_tool_slower_than_half_a_run(tmp_path: Path) -> None:
    (found,) = fired(write(tmp_path / "a.jsonl", _runs_with_tool(0.8)), "tool-dominates")
    assert found.title == "Tool web_search dominates runs"
    assert "p95 800 ms" in found.evidence and "the median run takes 1.00 s" in found.evidence


def test_tool_dominates_stays_quiet_for_a_quick_tool(tmp_path: Path) -> None:
    assert fired(write(tmp_path / "a.jsonl", _runs_with_tool(0.05)), "tool-dominates") == []


def _cache_lookups(hits: int, misses: int) -> dict[str, object]:
    attributes = {"agentperf.cache.name": "embeddings", "agentperf.cache.system": "cachetools"}
    return sum_request(
        "agentperf.cache.requests",
        [
            ({**attributes, "agentperf.cache.result": "hit"}, hits),
            ({**attributes, "agentperf.cache.result": "miss"}, misses),
        ],
    )


def test_app_cache_low_hit_ratio_fires_for_a_cache_that_misses(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", simple_runs([1.0]), [_cache_lookups(2, 38)])
    (found,) = fired(path, "app-cache-low-hit-ratio")
    assert found.evidence == "embeddings: 2 hits in 40 lookups (5.0%)"


def test_app_cache_low_hit_ratio_stays_quiet_for_a_useful_cache(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", simple_runs([1.0]), [_cache_lookups(30, 10)])
    assert fired(path, "app-cache-low-hit-ratio") == []


def test_stream_without_usage_fires_for_streams_with_no_token_counts(tmp_path: Path) -> None:
    attributes = {"agentperf.stream.chunk_count": 12, "gen_ai.usage.output_tokens": None}
    (found,) = fired(write(tmp_path / "a.jsonl", simple_runs([1.0], **attributes)), "stream-without-usage")
    assert found.evidence == "2 of 2 streamed calls reported no token usage"


def test_stream_without_usage_stays_quiet_when_streams_report_usage(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", simple_runs([1.0], **{"agentperf.stream.chunk_count": 12}))
    assert fired(path, "stream-without-usage") == []


def _runs_with_growth(growth: list[int]) -> list[Trace]:
    traces = []
    for index, grown in enumerate(growth):
        trace = Trace()
        agent(trace, "agent", index * 10.0, index * 10.0 + 1, **{"agentperf.run.peak_memory_growth": grown})
        traces.append(trace)
    return traces


def test_memory_growth_fires_when_memory_grows_run_after_run(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", _runs_with_growth([40 * MiB, 5 * MiB, 5 * MiB, 6 * MiB, 5 * MiB]))
    (found,) = fired(path, "memory-growth")
    assert "grew in 3 of 3 runs after the first 2, 16.0 MiB in all (5.3 MiB per run)" in found.evidence


def test_memory_growth_stays_quiet_when_memory_settles(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", _runs_with_growth([40 * MiB, 9 * MiB, 0, 2 * MiB, 9 * MiB]))
    assert fired(path, "memory-growth") == []


def test_every_rule_is_documented_in_the_rule_table() -> None:
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", (ROOT / "docs" / "cli.md").read_text(), re.MULTILINE))
    assert documented == {name for name, _ in RULES}
