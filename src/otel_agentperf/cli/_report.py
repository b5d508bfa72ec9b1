"""The report: figures of an analysis as a JSON-ready dict, and that dict as text, markdown or html."""

from __future__ import annotations

from typing import Any

from otel_agentperf.cli import _units as units
from otel_agentperf.cli._analysis import SPLIT_PARTS, Analysis, Run, percentiles
from otel_agentperf.cli._rules import recommend

SPLIT_LABELS = {
    "llm": "LLM",
    "tools": "tools",
    "retry_backoff": "retry backoff",
    "rate_limit_wait": "rate-limit waits",
    "other": "the rest",
}


def build(analysis: Analysis) -> dict[str, Any]:
    """Every figure of the report, JSON-ready (seconds, bytes, USD: base units)."""
    by_agent = analysis.runs_by_agent()
    agents = [_runs_summary(name, runs) for name, runs in sorted(by_agent.items())]
    if len(by_agent) > 1:
        agents.append(_runs_summary("(all runs)", analysis.runs))
    slowest_runs = sorted(analysis.runs, key=lambda r: r.duration, reverse=True)[:5]
    return {
        "sources": analysis.sources,
        "warnings": list(analysis.stats.warnings),
        "overview": {
            "spans": analysis.stats.spans,
            "traces": analysis.traces,
            "services": sorted(analysis.services),
            "runs": len(analysis.runs),
            "llm_calls": sum(m.calls for m in analysis.models.values()),
            "tool_calls": sum(t.calls for t in analysis.tools.values()),
            "errors": sum(analysis.errors.values()),
        },
        "agents": agents,
        "models": [_model_summary(name, stats) for name, stats in sorted(analysis.models.items())],
        "tools": [
            {"tool": name, "calls": t.calls, "errors": t.errors, "duration": percentiles(t.durations)}
            for name, t in sorted(analysis.tools.items())
        ],
        "caches": _caches(analysis),
        "retries": _retries(analysis),
        "errors": [
            {"span": span, "error_type": error, "count": n} for (span, error), n in analysis.errors.most_common(10)
        ],
        "resources": {"peak_memory_bytes": analysis.memory_peak, "cpu_time_s": analysis.cpu_time()},
        "slowest_runs": [
            {"agent": r.agent, "duration": r.duration, "trace_id": r.trace_id, "span_id": r.span_id}
            for r in slowest_runs
        ],
        "slowest_steps": [
            {"name": name, "duration": duration, "trace_id": trace, "span_id": span}
            for duration, name, trace, span in sorted(analysis.slowest_steps, reverse=True)
        ],
        "recommendations": [found.to_dict() for found in recommend(analysis)],
    }


def _runs_summary(name: str, runs: list[Run]) -> dict[str, Any]:
    split = {part: sum(run.split[part] for run in runs) for part in SPLIT_PARTS}
    total = sum(split.values())
    costs = [run.cost for run in runs if run.cost is not None]
    return {
        "agent": name,
        "runs": len(runs),
        "errors": sum(1 for run in runs if run.error),
        "duration": percentiles([run.duration for run in runs]),
        "time_split": split,
        "time_split_share": {part: (value / total if total else 0.0) for part, value in split.items()},
        "llm_calls_per_run": sum(run.llm_calls for run in runs) / len(runs),
        "tokens_per_run": sum(run.tokens for run in runs) / len(runs),
        "cost_per_run": sum(costs) / len(runs) if costs else None,
    }


def _model_summary(model: str, stats: Any) -> dict[str, Any]:
    tokens_per_second = percentiles(stats.tokens_per_second)
    return {
        "model": model,
        "calls": stats.calls,
        "errors": stats.errors,
        "input_tokens": stats.input_tokens,
        "output_tokens": stats.output_tokens,
        "cache_read_tokens": stats.cache_read_tokens,
        "cache_write_tokens": stats.cache_write_tokens,
        "prompt_cache_hit_ratio": stats.cache_read_tokens / stats.input_tokens if stats.input_tokens else None,
        "cost_usd": stats.cost,
        "retries": stats.retries,
        "duration": percentiles(stats.durations),
        "time_to_first_chunk": percentiles(stats.first_chunk),
        "output_tokens_per_second_p50": tokens_per_second.get("p50"),
        "lowest_rate_limit_headroom": dict(sorted(stats.lowest_headroom.items())),
    }


def _caches(analysis: Analysis) -> list[dict[str, Any]]:
    totals = analysis.metric_totals(
        "agentperf.cache.requests", "agentperf.cache.name", "agentperf.cache.system", "agentperf.cache.result"
    )
    caches: dict[tuple[str, str], dict[str, float]] = {}
    for (name, system, result), value in totals.items():
        caches.setdefault((str(name), str(system)), {})[str(result)] = value
    rows = []
    for (name, system), results in sorted(caches.items()):
        hits, misses = results.get("hit", 0.0), results.get("miss", 0.0)
        lookups = hits + misses
        rows.append(
            {
                "cache": name,
                "system": system,
                "hits": int(hits),
                "misses": int(misses),
                "hit_ratio": hits / lookups if lookups else None,
            }
        )
    return rows


def _retries(analysis: Analysis) -> list[dict[str, Any]]:
    totals = analysis.metric_totals("agentperf.retries", "agentperf.retry.source", "error.type")
    if totals:
        found = {(str(source), str(cause)): value for (source, cause), value in totals.items()}
    else:  # no metrics in the file: the retry events on spans
        found = {key: float(n) for key, n in analysis.span_retries.items()}
    return [
        {"source": source, "cause": cause, "count": int(n)}
        for (source, cause), n in sorted(found.items(), key=lambda item: -item[1])
    ]


# --- text and markdown ---------------------------------------------------------------------------------------------
def _lowest(headroom: dict[str, float]) -> str:
    """The kind of rate limit with the least left, and how much (``8% tokens``); ``-`` if none was reported."""
    if not headroom:
        return "-"
    kind = min(headroom, key=headroom.__getitem__)
    return f"{units.ratio(headroom[kind])} {kind.replace('_', ' ')}"


def sections(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report as (title, header, rows) tables, shared by the text and markdown renderers."""
    found: list[tuple[str, list[str], list[list[str]]]] = []
    overview = report["overview"]
    found.append(
        (
            "Overview",
            ["spans", "traces", "agent runs", "LLM calls", "tool calls", "errors", "services"],
            [
                [
                    units.count(overview["spans"]),
                    units.count(overview["traces"]),
                    units.count(overview["runs"]),
                    units.count(overview["llm_calls"]),
                    units.count(overview["tool_calls"]),
                    units.count(overview["errors"]),
                    ", ".join(overview["services"]),
                ]
            ],
        )
    )
    if report["agents"]:
        found.append(
            (
                "Agent runs (duration; LLM calls, tokens and cost per run)",
                ["agent", "runs", "errors", "p50", "p95", "p99", "LLM calls", "tokens", "cost"],
                [
                    [
                        a["agent"],
                        units.count(a["runs"]),
                        units.count(a["errors"]),
                        units.seconds(a["duration"].get("p50")),
                        units.seconds(a["duration"].get("p95")),
                        units.seconds(a["duration"].get("p99")),
                        f"{a['llm_calls_per_run']:.1f}",
                        units.count(a["tokens_per_run"]),
                        units.money(a["cost_per_run"]),
                    ]
                    for a in report["agents"]
                ],
            )
        )
        agents = report["agents"]
        found.append(
            (
                "Where the time went (share of all runs' time; seconds per run)",
                ["", *(a["agent"] for a in agents)],
                [
                    [
                        label,
                        *(
                            f"{a['time_split_share'][part]:.0%}  {units.seconds(a['time_split'][part] / a['runs'])}"
                            for a in agents
                        ),
                    ]
                    for part, label in SPLIT_LABELS.items()
                ],
            )
        )
    if report["models"]:
        found.append(
            (
                "LLM calls by model (tokens; prompt-cache hits: share of input tokens read from the cache; headroom:"
                " the least of a rate limit a response left)",
                ["model", "calls", "errors", "input", "output", "cache hits", "cost", "retries", "headroom"],
                [
                    [
                        m["model"],
                        units.count(m["calls"]),
                        units.count(m["errors"]),
                        units.count(m["input_tokens"]),
                        units.count(m["output_tokens"]),
                        units.ratio(m["prompt_cache_hit_ratio"]),
                        units.money(m["cost_usd"]),
                        units.count(m["retries"]),
                        _lowest(m["lowest_rate_limit_headroom"]),
                    ]
                    for m in report["models"]
                ],
            )
        )
        found.append(
            (
                "LLM latency by model (TTFC: time to first chunk; tokens/s: output tokens per second after it)",
                ["model", "p50", "p95", "p99", "TTFC p50", "TTFC p95", "tokens/s"],
                [
                    [
                        m["model"],
                        *(units.seconds(m["duration"].get(q)) for q in ("p50", "p95", "p99")),
                        units.seconds(m["time_to_first_chunk"].get("p50")),
                        units.seconds(m["time_to_first_chunk"].get("p95")),
                        units.rate(m["output_tokens_per_second_p50"], "/s"),
                    ]
                    for m in report["models"]
                ],
            )
        )
    if report["tools"]:
        found.append(
            (
                "Tools",
                ["tool", "calls", "errors", "p50", "p95", "p99"],
                [
                    [
                        t["tool"],
                        units.count(t["calls"]),
                        units.count(t["errors"]),
                        *(units.seconds(t["duration"].get(q)) for q in ("p50", "p95", "p99")),
                    ]
                    for t in report["tools"]
                ],
            )
        )
    if report["caches"]:
        found.append(
            (
                "Application caches",
                ["cache", "system", "hits", "misses", "hit ratio"],
                [
                    [
                        c["cache"],
                        c["system"],
                        units.count(c["hits"]),
                        units.count(c["misses"]),
                        units.ratio(c["hit_ratio"]),
                    ]
                    for c in report["caches"]
                ],
            )
        )
    if report["retries"]:
        found.append(
            (
                "Retries",
                ["source", "cause", "retries"],
                [[r["source"], r["cause"], units.count(r["count"])] for r in report["retries"]],
            )
        )
    if report["errors"]:
        found.append(
            (
                "Errors",
                ["span", "error.type", "count"],
                [[e["span"], e["error_type"], units.count(e["count"])] for e in report["errors"]],
            )
        )
    resources = report["resources"]
    if resources["peak_memory_bytes"] is not None or resources["cpu_time_s"] is not None:
        found.append(
            (
                "Resources",
                ["peak memory (RSS)", "CPU time"],
                [[units.data_size(resources["peak_memory_bytes"]), units.seconds(resources["cpu_time_s"])]],
            )
        )
    if report["slowest_runs"]:
        found.append(
            (
                "Slowest runs",
                ["agent", "duration", "trace id"],
                [[r["agent"], units.seconds(r["duration"]), r["trace_id"]] for r in report["slowest_runs"]],
            )
        )
    if report["slowest_steps"]:
        found.append(
            (
                "Slowest steps",
                ["span", "duration", "trace id"],
                [[s["name"], units.seconds(s["duration"]), s["trace_id"]] for s in report["slowest_steps"]],
            )
        )
    return found


def recommendation_lines(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(title, evidence, impact, fix) of each recommendation."""
    return [(r["title"], r["evidence"], r["impact"], r["fix"]) for r in report["recommendations"]]


def to_markdown(report: dict[str, Any]) -> str:
    """The report as GitHub-flavoured markdown."""
    lines = ["# Agent performance report", ""]
    lines += [f"> {warning}" for warning in report["warnings"]]
    if not report["agents"]:
        lines += ["_No agent runs in this file (no `invoke_agent` span): LLM calls are shown on their own._", ""]
    for title, header, rows in sections(report):
        lines += [f"## {title}", "", *markdown_table(header, rows), ""]
    lines += ["## Recommendations", ""]
    for title, evidence, impact, fix in recommendation_lines(report):
        lines += [f"- **{title}**: {evidence}. Would change: {impact}. {fix}"]
    if not report["recommendations"]:
        lines.append("None: no rule found anything to change.")
    return "\n".join(lines) + "\n"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table (pipes in cells escaped)."""

    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [row(header), "|" + "---|" * len(header), *(row(cells) for cells in rows)]


def print_text(report: dict[str, Any], console: Any) -> None:
    """The report as rich tables that fit the console's width."""
    from rich import box
    from rich.table import Table

    console.print(f"[bold]Agent performance report[/bold]: {', '.join(report['sources'])}")
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if not report["agents"]:
        console.print("No agent runs in this file (no invoke_agent span): LLM calls are shown on their own.")
    for title, header, rows in sections(report):
        table = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
        for index, name in enumerate(header):
            widest = max(len(cells[index]) for cells in rows)
            table.add_column(name, justify="left" if index == 0 else "right", overflow="fold", min_width=widest)
        for cells in rows:
            table.add_row(*cells)
        console.print(table)
    console.print("[bold]Recommendations[/bold]")
    for title, evidence, impact, fix in recommendation_lines(report):
        console.print(f"- [bold]{title}[/bold]\n  evidence: {evidence}\n  would change: {impact}\n  fix: {fix}")
    if not report["recommendations"]:
        console.print("  none: no rule found anything to change")
