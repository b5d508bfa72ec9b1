"""From spans and metric points to the figures of a report, in one streaming pass.

Spans are grouped by trace only until the trace's root span arrives (an exporter sends a span when it ends, so a
root comes after its descendants); then each LLM call and agent run in the trace is measured and the trace is dropped.
What is kept for the whole file grows with the number of runs and calls, not with spans' attributes. An LLM span
whose parent is an LLM span too (the openai SDK's call inside a LiteLLM call) is the same call: only its parent
counts, as the instrumentors count it in the metrics and the run summary.
"""

from __future__ import annotations

import heapq
import statistics
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otel_agentperf.cli._otlp import SPAN_KIND_CLIENT, Point, ReadStats, Span, read
from otel_agentperf.core.rate_limits import HEADROOM_KEYS, headroom

AGENT_OPERATIONS = frozenset({"invoke_agent", "invoke_workflow"})
TOOL_OPERATION = "execute_tool"
LLM_OPERATIONS = frozenset(
    {"chat", "text_completion", "embeddings", "generate_content", "responses", "completion", "create_response"}
)
COST_KEYS = ("gen_ai.usage.cost.amount", "gen_ai.usage.cost")
RETRY_EVENT = "agentperf.retry"
RATE_LIMIT_STATUS = 429
TOP = 5
METRIC_NAMES = frozenset(
    {
        "agentperf.cache.requests",
        "agentperf.retries",
        "process.memory.usage",
        "agentperf.process.memory.peak",
        "process.cpu.time",
    }
)
SPAN_KEYS = frozenset(
    {
        "gen_ai.operation.name",
        "gen_ai.agent.name",
        "gen_ai.workflow.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_write.input_tokens",
        "gen_ai.response.time_to_first_chunk",
        "gen_ai.tool.name",
        "agentperf.stream.chunk_count",
        "agentperf.retry.count",
        "agentperf.run.peak_memory_growth",
        "agentperf.run.cpu_time",
        "error.type",
        *COST_KEYS,
        *HEADROOM_KEYS,
    }
)
"""The span attributes the analysis reads; the reader skips the others."""
SPLIT_PARTS = ("llm", "tools", "retry_backoff", "rate_limit_wait", "other")


def category(span: Span) -> str:
    """``agent``, ``llm``, ``tool`` or ``other``, from the GenAI operation name."""
    operation = span.attributes.get("gen_ai.operation.name")
    if operation in AGENT_OPERATIONS:
        return "agent"
    if operation == TOOL_OPERATION:
        return "tool"
    if operation in LLM_OPERATIONS or (operation is not None and span.kind == SPAN_KIND_CLIENT):
        return "llm"
    return "other"


@dataclass(slots=True)
class Run:
    """One agent run (an ``invoke_agent`` or ``invoke_workflow`` span) and what happened inside it."""

    agent: str
    trace_id: str
    span_id: str
    start: int
    duration: float
    error: str | None
    split: dict[str, float]
    llm_calls: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    memory_growth: float | None = None
    cpu_time: float | None = None

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
class _Node:
    """What a trace keeps of a span until the trace is complete."""

    span_id: str
    parent_id: str
    category: str
    start: int
    end: int
    waits: list[tuple[int, int, bool]]
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    run: Span | None = None
    llm: Span | None = None


@dataclass
class ModelStats:
    """LLM calls of one model."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float | None = None
    streams: int = 0
    streams_without_usage: int = 0
    retries: int = 0
    durations: array[float] = field(default_factory=lambda: array("d"))
    first_chunk: array[float] = field(default_factory=lambda: array("d"))
    tokens_per_second: array[float] = field(default_factory=lambda: array("d"))
    input_sizes: array[float] = field(default_factory=lambda: array("d"))
    lowest_headroom: dict[str, float] = field(default_factory=dict)
    """The lowest ``remaining / limit`` a response of this model reported, by kind of rate limit."""


@dataclass
class ToolStats:
    """Executions of one tool."""

    calls: int = 0
    errors: int = 0
    durations: array[float] = field(default_factory=lambda: array("d"))


@dataclass
class Analysis:
    """Everything a report, a recommendation or a comparison reads."""

    sources: list[str] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)
    runs: list[Run] = field(default_factory=list)
    models: dict[str, ModelStats] = field(default_factory=lambda: defaultdict(ModelStats))
    tools: dict[str, ToolStats] = field(default_factory=lambda: defaultdict(ToolStats))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    span_retries: Counter[tuple[str, str]] = field(default_factory=Counter)
    slowest_steps: list[tuple[float, str, str, str]] = field(default_factory=list)
    services: Counter[str] = field(default_factory=Counter)
    traces: int = 0
    metrics: dict[tuple[str, str, tuple[tuple[str, Any], ...]], tuple[int, float]] = field(default_factory=dict)
    memory_peak: float | None = None

    def runs_by_agent(self) -> dict[str, list[Run]]:
        """Runs grouped by agent name, in the order they started."""
        grouped: dict[str, list[Run]] = defaultdict(list)
        for run in sorted(self.runs, key=lambda r: r.start):
            grouped[run.agent].append(run)
        return dict(grouped)

    def metric_totals(self, name: str, *keys: str) -> dict[tuple[Any, ...], float]:
        """A counter's totals over all processes, by the given attributes."""
        totals: dict[tuple[Any, ...], float] = defaultdict(float)
        for (_, metric, attributes), (_, value) in self.metrics.items():
            if metric == name:
                found = dict(attributes)
                totals[tuple(found.get(key) for key in keys)] += value
        return dict(totals)

    def cpu_time(self) -> float | None:
        """CPU seconds of all recorded processes (``process.cpu.time``), when the gauges were on."""
        totals = self.metric_totals("process.cpu.time")
        return sum(totals.values()) if totals else None


def analyse(paths: Sequence[Path]) -> Analysis:
    """Read the files and measure every run, call and tool in them.

    Raises:
        InputError: a file is missing or not OTLP JSON.
    """
    analysis = Analysis(sources=[str(path) for path in paths])
    builder = _Builder(analysis)
    for path in paths:
        for record in read(path, analysis.stats, METRIC_NAMES, SPAN_KEYS):
            if isinstance(record, Span):
                builder.add_span(record)
            else:
                builder.add_point(record)
    builder.finish()
    return analysis


class _Builder:
    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.pending: dict[str, list[_Node]] = defaultdict(list)

    # --- spans ---------------------------------------------------------------------------------------------------
    def add_span(self, span: Span) -> None:
        kind = category(span)
        self.analysis.services[str(span.resource.get("service.name", "unknown_service"))] += 1
        waits = self._waits(span)
        node = _Node(span.span_id, span.parent_id, kind, span.start, span.end, waits)
        if kind == "llm":
            node.llm = span  # counted once the trace is complete, unless nested in another LLM call
        elif kind == "tool":
            self._add_tool(span)
        elif kind == "agent":
            node.run = span
        if span.error and kind != "llm":
            self._add_error(span)
        self.pending[span.trace_id].append(node)
        if not span.parent_id:
            self._finish_trace(span.trace_id)

    def _waits(self, span: Span) -> list[tuple[int, int, bool]]:
        waits: list[tuple[int, int, bool]] = []
        for event in span.events:
            if event.name != RETRY_EVENT:
                continue
            delay = float(event.attributes.get("agentperf.retry.delay", 0.0) or 0.0)
            cause = str(event.attributes.get("error.type", "unknown"))
            rate_limited = event.attributes.get("http.response.status_code") == RATE_LIMIT_STATUS or (
                "ratelimit" in cause.lower().replace("_", "")
            )
            waits.append((event.time, event.time + int(delay * 1e9), rate_limited))
            source = span.attributes.get("gen_ai.provider.name") if category(span) == "llm" else None
            self.analysis.span_retries[(str(source or "application"), cause)] += 1
        return waits

    def _add_error(self, span: Span) -> None:
        self.analysis.errors[(span.name, str(span.attributes.get("error.type", "error")))] += 1

    def _add_llm(self, span: Span, node: _Node) -> None:
        attributes = span.attributes
        if span.error:
            self._add_error(span)
        model = str(attributes.get("gen_ai.request.model") or attributes.get("gen_ai.response.model") or "unknown")
        stats = self.analysis.models[model]
        stats.calls += 1
        stats.errors += span.error
        input_tokens = int(attributes.get("gen_ai.usage.input_tokens") or 0)
        output_tokens = attributes.get("gen_ai.usage.output_tokens")
        stats.input_tokens += input_tokens
        stats.output_tokens += int(output_tokens or 0)
        stats.cache_read_tokens += int(attributes.get("gen_ai.usage.cache_read.input_tokens") or 0)
        written = attributes.get("gen_ai.usage.cache_creation.input_tokens")
        if written is None:  # the name recordings made before the conventions' name was adopted carry
            written = attributes.get("gen_ai.usage.cache_write.input_tokens")
        stats.cache_write_tokens += int(written or 0)
        stats.retries += int(attributes.get("agentperf.retry.count") or 0)
        cost = _cost(attributes)
        if cost is not None:
            stats.cost = (stats.cost or 0.0) + cost
        for kind, ratio in headroom(attributes):
            stats.lowest_headroom[kind] = min(ratio, stats.lowest_headroom.get(kind, ratio))
        duration = span.duration
        stats.durations.append(duration)
        if input_tokens:
            stats.input_sizes.append(input_tokens)
        first_chunk = attributes.get("gen_ai.response.time_to_first_chunk")
        streamed = "agentperf.stream.chunk_count" in attributes or first_chunk is not None
        if streamed:
            stats.streams += 1
            if output_tokens is None and not span.error:
                stats.streams_without_usage += 1
        if first_chunk is not None:
            stats.first_chunk.append(float(first_chunk))
        generating = duration - float(first_chunk or 0.0)
        if output_tokens and generating > 0 and not span.error:
            stats.tokens_per_second.append(int(output_tokens) / generating)
        node.input_tokens, node.output_tokens, node.cost = input_tokens, int(output_tokens or 0), cost
        self._keep_slowest(duration, span)

    def _add_tool(self, span: Span) -> None:
        name = str(span.attributes.get("gen_ai.tool.name") or span.name)
        stats = self.analysis.tools[name]
        stats.calls += 1
        stats.errors += span.error
        stats.durations.append(span.duration)
        self._keep_slowest(span.duration, span)

    def _keep_slowest(self, duration: float, span: Span) -> None:
        entry = (duration, span.name, span.trace_id, span.span_id)
        if len(self.analysis.slowest_steps) < TOP:
            heapq.heappush(self.analysis.slowest_steps, entry)
        elif entry > self.analysis.slowest_steps[0]:
            heapq.heapreplace(self.analysis.slowest_steps, entry)

    # --- traces and runs -----------------------------------------------------------------------------------------
    def _finish_trace(self, trace_id: str) -> None:
        nodes = self.pending.pop(trace_id, [])
        self.analysis.traces += 1
        llm_ids = {node.span_id for node in nodes if node.category == "llm"}
        for node in nodes:
            if node.llm is not None:
                if node.parent_id in llm_ids:
                    node.category = "nested_llm"
                else:
                    self._add_llm(node.llm, node)
                node.llm = None
        children: dict[str, list[_Node]] = defaultdict(list)
        for node in nodes:
            children[node.parent_id].append(node)
        for node in nodes:
            if node.run is not None:
                self.analysis.runs.append(_measure_run(node, _descendants(node, children)))

    def finish(self) -> None:
        """Measure the traces whose root never arrived (a cut-short file, or a root in another service's file)."""
        for trace_id in list(self.pending):
            self._finish_trace(trace_id)

    # --- metrics -------------------------------------------------------------------------------------------------
    def add_point(self, point: Point) -> None:
        value = point.value if point.value is not None else point.sum
        if value is None:
            return
        if point.name in ("process.memory.usage", "agentperf.process.memory.peak"):
            self.analysis.memory_peak = max(self.analysis.memory_peak or 0.0, value)
            return
        process = str(point.resource.get("service.instance.id") or point.resource.get("process.pid") or "")
        key = (process, point.name, tuple(sorted(point.attributes.items())))
        previous = self.analysis.metrics.get(key)
        if point.cumulative:
            if previous is None or point.time >= previous[0]:
                self.analysis.metrics[key] = (point.time, value)
        else:
            self.analysis.metrics[key] = (point.time, value + (previous[1] if previous else 0.0))


def _cost(attributes: dict[str, Any]) -> float | None:
    for key in COST_KEYS:
        value = attributes.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None


def _descendants(root: _Node, children: dict[str, list[_Node]]) -> list[_Node]:
    found: list[_Node] = []
    stack = list(children.get(root.span_id, ()))
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children.get(node.span_id, ()))
    return found


def _measure_run(root: _Node, inside: list[_Node]) -> Run:
    span = root.run
    assert span is not None
    window = (root.start, root.end)
    rate_limit = [(s, e) for node in [root, *inside] for s, e, limited in node.waits if limited]
    backoff = [(s, e) for node in [root, *inside] for s, e, limited in node.waits if not limited]
    llm = [(n.start, n.end) for n in inside if n.category == "llm"]
    tools = [(n.start, n.end) for n in inside if n.category == "tool"]
    covered_rate_limit = covered(rate_limit, window)
    covered_waits = covered(rate_limit + backoff, window)
    covered_llm = covered(rate_limit + backoff + llm, window)
    covered_all = covered(rate_limit + backoff + llm + tools, window)
    duration = span.duration
    split = {
        "llm": covered_llm - covered_waits,
        "tools": covered_all - covered_llm,
        "retry_backoff": covered_waits - covered_rate_limit,
        "rate_limit_wait": covered_rate_limit,
        "other": max(0.0, duration - covered_all),
    }
    llm_nodes = [n for n in inside if n.category == "llm"]
    costs = [n.cost for n in llm_nodes if n.cost is not None]
    attributes = span.attributes
    growth = attributes.get("agentperf.run.peak_memory_growth")
    cpu = attributes.get("agentperf.run.cpu_time")
    return Run(
        agent=str(attributes.get("gen_ai.agent.name") or attributes.get("gen_ai.workflow.name") or span.name),
        trace_id=span.trace_id,
        span_id=span.span_id,
        start=span.start,
        duration=duration,
        error=str(attributes.get("error.type", "error")) if span.error else None,
        split=split,
        llm_calls=len(llm_nodes),
        tool_calls=sum(1 for n in inside if n.category == "tool"),
        input_tokens=sum(n.input_tokens for n in llm_nodes),
        output_tokens=sum(n.output_tokens for n in llm_nodes),
        cost=sum(costs) if costs else None,
        memory_growth=float(growth) if isinstance(growth, int | float) else None,
        cpu_time=float(cpu) if isinstance(cpu, int | float) else None,
    )


def covered(intervals: Iterable[tuple[int, int]], window: tuple[int, int]) -> float:
    """Seconds of ``window`` covered by at least one of the intervals (ns), overlaps counted once."""
    low, high = window
    clipped = sorted((max(s, low), min(e, high)) for s, e in intervals if min(e, high) > max(s, low))
    total = 0
    current_start, current_end = None, None
    for start, end in clipped:
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total / 1e9


def percentiles(values: Sequence[float] | array[float]) -> dict[str, float]:
    """p50, p95 and p99 (linear interpolation between the closest ranks), or nothing for no values."""
    data = sorted(values)
    if not data:
        return {}
    if len(data) == 1:
        return {"p50": data[0], "p95": data[0], "p99": data[0]}
    cuts = statistics.quantiles(data, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}
