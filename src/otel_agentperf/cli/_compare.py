"""Two recordings, agent by agent: what changed, with a Mann-Whitney U test over the runs, and whether it regressed.

A figure regressed when its median grew by more than its threshold and the one-sided test says the new runs are
larger with p below ``ALPHA``: a difference of means between two noisy samples is not evidence.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from otel_agentperf.cli import _units as units
from otel_agentperf.cli._analysis import Analysis, Run

ALPHA = 0.05
MIN_RUNS = 3
DEFAULT_THRESHOLDS = {"duration": 0.10, "tokens": 0.05, "cost": 0.05}
FIGURES: dict[str, tuple[Callable[[Run], float | None], Callable[[float | None], str]]] = {
    "duration": (lambda run: run.duration, units.seconds),
    "tokens": (lambda run: float(run.tokens), units.count),
    "cost": (lambda run: run.cost, units.money),
    "llm_calls": (lambda run: float(run.llm_calls), lambda v: "-" if v is None else f"{v:g}"),
}
OVERALL = "(all agents)"


class CompareError(Exception):
    """Two recordings that cannot be compared; the message says why."""


@dataclass(frozen=True)
class Change:
    """One figure of one agent, base against new."""

    agent: str
    figure: str
    base_median: float
    new_median: float
    change: float | None
    p_value: float | None
    base_runs: int
    new_runs: int
    threshold: float | None
    regressed: bool
    statement: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def parse_thresholds(text: str | None) -> dict[str, float]:
    """``duration=10%,tokens=5%`` (or fractions: ``duration=0.1``) over the defaults.

    Raises:
        CompareError: a malformed entry or an unknown figure.
    """
    thresholds = dict(DEFAULT_THRESHOLDS)
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in FIGURES or not value:
            raise CompareError(f"bad threshold {item!r}: expected NAME=PERCENT with NAME one of {', '.join(FIGURES)}")
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            raise CompareError(f"bad threshold {item!r}: {value!r} is not a number") from None
        thresholds[name] = number / 100 if value.strip().endswith("%") else number
    return thresholds


def compare(base: Analysis, new: Analysis, thresholds: dict[str, float]) -> list[Change]:
    """Every figure of every agent the two recordings share, and of all their runs together.

    Raises:
        CompareError: a recording has no agent runs, or they share no agent.
    """
    base_runs, new_runs = base.runs_by_agent(), new.runs_by_agent()
    for analysis, runs in ((base, base_runs), (new, new_runs)):
        if not runs:
            raise CompareError(f"{', '.join(analysis.sources)}: no agent runs (no invoke_agent span) to compare")
    shared = sorted(base_runs.keys() & new_runs.keys())
    if not shared:
        raise CompareError(
            f"no agent in common: base has {', '.join(sorted(base_runs))}; new has {', '.join(sorted(new_runs))}"
        )
    groups = [(name, base_runs[name], new_runs[name]) for name in shared]
    if len(shared) > 1:
        groups.append((OVERALL, [r for n in shared for r in base_runs[n]], [r for n in shared for r in new_runs[n]]))
    changes = []
    for agent, before, after in groups:
        for figure, (value_of, _) in FIGURES.items():
            change = _change(agent, figure, before, after, value_of, thresholds.get(figure))
            if change is not None:
                changes.append(change)
    return changes


def _change(
    agent: str,
    figure: str,
    before: list[Run],
    after: list[Run],
    value_of: Callable[[Run], float | None],
    threshold: float | None,
) -> Change | None:
    base_values = [v for v in map(value_of, before) if v is not None]
    new_values = [v for v in map(value_of, after) if v is not None]
    if not base_values or not new_values:
        return None
    base_median, new_median = statistics.median(base_values), statistics.median(new_values)
    change = new_median / base_median - 1 if base_median else None
    p_value = _p_greater(base_values, new_values)
    significant = p_value is not None and p_value < ALPHA
    regressed = bool(threshold is not None and change is not None and change > threshold and significant)
    return Change(
        agent,
        figure,
        base_median,
        new_median,
        change,
        p_value,
        len(base_values),
        len(new_values),
        threshold,
        regressed,
        _statement(figure, change, p_value, threshold, regressed, len(base_values), len(new_values)),
    )


def _p_greater(base: list[float], new: list[float]) -> float | None:
    """One-sided Mann-Whitney U p-value that new values tend to be larger; None with too few runs to test."""
    if len(base) < MIN_RUNS or len(new) < MIN_RUNS:
        return None
    from scipy.stats import mannwhitneyu

    result = mannwhitneyu(new, base, alternative="greater")
    p_value = float(result.pvalue)
    return 1.0 if math.isnan(p_value) else p_value


def _statement(
    figure: str,
    change: float | None,
    p_value: float | None,
    threshold: float | None,
    regressed: bool,
    base_runs: int,
    new_runs: int,
) -> str:
    if p_value is None:
        return f"too few runs to test ({base_runs} vs {new_runs}; {MIN_RUNS} or more each)"
    test = f"Mann-Whitney U, one-sided p={p_value:.2g}, {base_runs} vs {new_runs} runs"
    if regressed:
        return f"REGRESSION: larger with {1 - p_value:.1%} confidence, beyond the {threshold:.0%} threshold ({test})"
    if p_value < ALPHA and change is not None and threshold is not None:
        return f"larger, within the {threshold:.0%} threshold ({test})"
    if p_value < ALPHA:
        return f"larger ({test})"
    return f"no significant increase ({test})"


def render_rows(changes: list[Change]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison table."""
    header = ["agent", "figure", "base median", "new median", "change", "verdict"]
    rows = []
    for change in changes:
        formatter = FIGURES[change.figure][1]
        rows.append(
            [
                change.agent,
                change.figure,
                formatter(change.base_median),
                formatter(change.new_median),
                "-" if change.change is None else f"{change.change:+.1%}",
                change.statement,
            ]
        )
    return header, rows
