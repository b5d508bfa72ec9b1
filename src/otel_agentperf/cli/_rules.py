"""Recommendations: each rule reads an analysis and says what to change, with its evidence and the number it moves.

The rules and their thresholds are documented in docs/cli.md ("Recommendation rules"); keep the two in step.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from otel_agentperf.cli import _units as units
from otel_agentperf.cli._analysis import Analysis, percentiles

PROMPT_CACHE_MIN_CALLS = 3
PROMPT_CACHE_MIN_TOKENS = 1024
RETRY_SHARE = 0.10
TOOL_P95_SHARE = 0.5
TOOL_MIN_CALLS = 3
APP_CACHE_MIN_LOOKUPS = 20
APP_CACHE_LOW_RATIO = 0.3
MEMORY_WARM_UP_RUNS = 2
MEMORY_MIN_RUNS = 5
MEMORY_GROWTH_BYTES = 4 * 1024 * 1024
MEMORY_GROWING_SHARE = 0.75


@dataclass(frozen=True)
class Recommendation:
    """One thing to change: which rule fired, on what evidence, what it would change, and how."""

    rule: str
    title: str
    evidence: str
    impact: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def prompt_cache_unused(analysis: Analysis) -> list[Recommendation]:
    """Long prompts sent again and again to one model, none of them served from the provider's prompt cache."""
    found = []
    for model, stats in sorted(analysis.models.items()):
        if stats.calls < PROMPT_CACHE_MIN_CALLS or stats.cache_read_tokens or len(stats.input_sizes) < 1:
            continue
        median_input = statistics.median(stats.input_sizes)
        if median_input < PROMPT_CACHE_MIN_TOKENS:
            continue
        smallest = min(stats.input_sizes)
        found.append(
            Recommendation(
                "prompt-cache-unused",
                f"{model}: long prompts, no prompt-cache hits",
                f"{stats.calls} calls with a median of {units.count(median_input)} input tokens "
                f"(smallest {units.count(smallest)}); prompt-cache hit ratio 0.0%",
                f"prompt-cache hit ratio 0.0% -> up to {smallest / median_input:.0%} "
                f"(the smallest prompt's share of the median one, if every prompt starts with it)",
                "Put the part every call shares (system prompt, tool definitions, fixed context) first and keep it "
                "byte-identical; OpenAI caches prefixes of 1,024 tokens or more by itself, Anthropic needs "
                "cache_control on the last shared block.",
            )
        )
    return found


def retry_share(analysis: Analysis) -> list[Recommendation]:
    """Waiting before retries (rate limits or errors) takes a large share of the time spent in LLM calls."""
    runs = analysis.runs
    if not runs:
        return []
    waits = sum(run.split["retry_backoff"] + run.split["rate_limit_wait"] for run in runs)
    limited = sum(run.split["rate_limit_wait"] for run in runs)
    llm_time = sum(run.split["llm"] for run in runs)
    if llm_time + waits <= 0 or waits / (llm_time + waits) < RETRY_SHARE:
        return []
    causes = ", ".join(f"{cause} x{n}" for (_, cause), n in analysis.span_retries.most_common(3)) or "unknown"
    if limited >= waits / 2:
        fix = (
            "Most of the wait is rate limiting: lower the number of concurrent calls, spread them out, move "
            "some to a smaller model, or ask the provider for a higher limit."
        )
    else:
        fix = "Fix what fails (causes above): a longer client timeout, a healthier endpoint, or fewer max_retries."
    return [
        Recommendation(
            "retry-share",
            "Waiting to retry takes a large share of LLM time",
            f"{units.seconds(waits)} waiting before retries (rate limits {units.seconds(limited)}) against "
            f"{units.seconds(llm_time)} in LLM calls: {waits / (llm_time + waits):.0%} of the two; causes: {causes}",
            f"run time -{units.seconds(waits / len(runs))} per run ({units.seconds(waits)} over {len(runs)} runs)",
            fix,
        )
    ]


def tool_dominates(analysis: Analysis) -> list[Recommendation]:
    """A tool whose p95 is at least half the median run: its slow calls decide how long runs take."""
    durations = [run.duration for run in analysis.runs]
    if not durations:
        return []
    run_p50 = percentiles(durations)["p50"]
    found = []
    for name, stats in sorted(analysis.tools.items()):
        if stats.calls < TOOL_MIN_CALLS:
            continue
        tool = percentiles(stats.durations)
        if tool["p95"] < TOOL_P95_SHARE * run_p50:
            continue
        found.append(
            Recommendation(
                "tool-dominates",
                f"Tool {name} dominates runs",
                f"{name}: p95 {units.seconds(tool['p95'])} (p50 {units.seconds(tool['p50'])}) over {stats.calls} "
                f"calls; the median run takes {units.seconds(run_p50)}",
                f"run p50 -{units.seconds(tool['p95'] - tool['p50'])} per slow call if its p95 came down to its p50",
                "Cache its results, run independent calls concurrently, give it a timeout, or make it cheaper.",
            )
        )
    return found


def app_cache_low_hit_ratio(analysis: Analysis) -> list[Recommendation]:
    """An application cache that misses most of the time: it costs lookups and memory for little."""
    totals = analysis.metric_totals("agentperf.cache.requests", "agentperf.cache.name", "agentperf.cache.result")
    caches: dict[str, dict[str, float]] = {}
    for (name, result), value in totals.items():
        caches.setdefault(str(name), {})[str(result)] = value
    found = []
    for name, results in sorted(caches.items()):
        lookups = results.get("hit", 0.0) + results.get("miss", 0.0)
        if lookups < APP_CACHE_MIN_LOOKUPS:
            continue
        hit_ratio = results.get("hit", 0.0) / lookups
        if hit_ratio >= APP_CACHE_LOW_RATIO:
            continue
        found.append(
            Recommendation(
                "app-cache-low-hit-ratio",
                f"Cache {name} rarely hits",
                f"{name}: {units.count(results.get('hit', 0))} hits in {units.count(lookups)} lookups "
                f"({units.ratio(hit_ratio)})",
                f"hit ratio {units.ratio(hit_ratio)} -> {APP_CACHE_LOW_RATIO:.0%} or more",
                "Normalise the keys (strip whitespace, sort arguments), raise maxsize or the TTL, or remove the cache "
                "if the same keys never come back.",
            )
        )
    return found


def stream_without_usage(analysis: Analysis) -> list[Recommendation]:
    """Streamed calls that report no token usage: their tokens (and cost) are missing from every figure."""
    found = []
    for model, stats in sorted(analysis.models.items()):
        if not stats.streams_without_usage:
            continue
        found.append(
            Recommendation(
                "stream-without-usage",
                f"{model}: streams without token usage",
                f"{stats.streams_without_usage} of {stats.streams} streamed calls reported no token usage",
                f"{stats.streams_without_usage} calls' tokens and cost counted -> all of them",
                'Ask for usage: stream_options={"include_usage": True} on the call, or set '
                "OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE=true.",
            )
        )
    return found


def memory_growth(analysis: Analysis) -> list[Recommendation]:
    """The process's peak memory grows in run after run of the same agent: something is kept between runs."""
    found = []
    for agent, runs in sorted(analysis.runs_by_agent().items()):
        growths = [run.memory_growth for run in runs[MEMORY_WARM_UP_RUNS:] if run.memory_growth is not None]
        if len(runs) < MEMORY_MIN_RUNS or len(growths) < MEMORY_MIN_RUNS - MEMORY_WARM_UP_RUNS:
            continue
        growing = [growth for growth in growths if growth >= MEMORY_GROWTH_BYTES]
        if len(growing) < MEMORY_GROWING_SHARE * len(growths):
            continue
        total = sum(growths)
        found.append(
            Recommendation(
                "memory-growth",
                f"{agent}: memory grows run after run",
                f"peak memory grew in {len(growing)} of {len(growths)} runs after the first {MEMORY_WARM_UP_RUNS}, "
                f"{units.data_size(total)} in all ({units.data_size(total / len(growths))} per run)",
                f"memory growth {units.data_size(total / len(growths))} per run -> 0",
                "Look for what outlives a run: unbounded caches, message histories kept on a global, clients created "
                "per run and never closed.",
            )
        )
    return found


RULES: tuple[tuple[str, Callable[[Analysis], list[Recommendation]]], ...] = (
    ("prompt-cache-unused", prompt_cache_unused),
    ("retry-share", retry_share),
    ("tool-dominates", tool_dominates),
    ("app-cache-low-hit-ratio", app_cache_low_hit_ratio),
    ("stream-without-usage", stream_without_usage),
    ("memory-growth", memory_growth),
)


def recommend(analysis: Analysis) -> list[Recommendation]:
    """Every recommendation the rules make for this analysis, in the order of the rule table."""
    return [found for _, rule in RULES for found in rule(analysis)]
