"""The report as one self-contained html file: tables and two charts drawn with matplotlib as inline SVG.

Nothing is loaded from the network: the file opens offline and can be attached to a ticket.
"""

from __future__ import annotations

import html
import io
from typing import Any

from otel_agentperf.cli._analysis import SPLIT_PARTS, Analysis
from otel_agentperf.cli._report import SPLIT_LABELS, recommendation_lines, sections

MAX_RUNS_IN_CHART = 200
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.warning { color: #a60; }
figure { margin: 0 0 2em 0; }
"""


def to_html(report: dict[str, Any], analysis: Analysis) -> str:
    """The whole report as one html document."""
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Agent performance report</title>"]
    parts.append(f"<style>{_STYLE}</style></head><body><h1>Agent performance report</h1>")
    parts.append(f"<p>{html.escape(', '.join(report['sources']))}</p>")
    parts += [f"<p class='warning'>{html.escape(warning)}</p>" for warning in report["warnings"]]
    parts.append("<h2>Charts</h2>")
    parts.append(_figure("Latency distribution", _latency_chart(analysis)))
    if analysis.runs:
        parts.append(_figure("Time split per run", _split_chart(analysis)))
    for title, header, rows in sections(report):
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr>")
        parts += [f"<th>{html.escape(cell)}</th>" for cell in header]
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
    parts.append("<h2>Recommendations</h2><ul>")
    for title, evidence, impact, fix in recommendation_lines(report):
        parts.append(
            f"<li><b>{html.escape(title)}</b><br>evidence: {html.escape(evidence)}<br>"
            f"would change: {html.escape(impact)}<br>fix: {html.escape(fix)}</li>"
        )
    if not report["recommendations"]:
        parts.append("<li>None: no rule found anything to change.</li>")
    parts.append("</ul></body></html>")
    return "".join(parts)


def _figure(title: str, svg: str) -> str:
    return f"<figure><figcaption><b>{html.escape(title)}</b></figcaption>{svg}</figure>"


def _latency_chart(analysis: Analysis) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3))
    axes = figure.subplots()
    if analysis.runs:
        axes.hist([run.duration for run in analysis.runs], bins=40, color="#4c72b0")
        axes.set_xlabel("agent run duration (s)")
    else:
        durations = [d for stats in analysis.models.values() for d in stats.durations]
        axes.hist(durations, bins=40, color="#4c72b0")
        axes.set_xlabel("LLM call duration (s)")
    axes.set_ylabel("count")
    return _svg(figure)


def _split_chart(analysis: Analysis) -> str:
    from matplotlib.figure import Figure

    runs = sorted(analysis.runs, key=lambda r: r.start)[-MAX_RUNS_IN_CHART:]
    figure = Figure(figsize=(8, 3.5))
    axes = figure.subplots()
    bottom = [0.0] * len(runs)
    positions = list(range(1, len(runs) + 1))
    for part in SPLIT_PARTS:
        values = [run.split[part] for run in runs]
        axes.bar(positions, values, bottom=bottom, label=SPLIT_LABELS[part], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xlabel(f"run (the last {len(runs)}, in start order)")
    axes.set_ylabel("seconds")
    axes.legend(loc="upper left", fontsize="small", ncols=5)
    return _svg(figure)


def _svg(figure: Any) -> str:
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.find("<svg") :]
