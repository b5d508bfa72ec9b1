"""``make demo``: run the research agent under ``opentelemetry-instrument``, offline, and show what it exported.

1. start the fake OpenAI-compatible service (``llm_server.py``) on a free loopback port;
2. unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, start the in-memory OTLP/HTTP receiver (``otlp_receiver.py``);
3. run ``opentelemetry-instrument python agent.py`` with the ``OTEL_*`` settings a user would export;
4. print the span tree and a metric summary (or, with your own endpoint, just where the telemetry went).

Exits non-zero when the agent fails or no span arrived.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from llm_server import serve
from otlp_receiver import MetricPoint, OtlpReceiver, ReceivedSpan

HERE = Path(__file__).resolve().parent
AGENT = HERE / "agent.py"
GRAPH_AGENT = HERE / "graph_agent.py"
"""``--graph``: the same agent built with LangChain's ``create_agent`` (LangGraph), traced with no code at all."""
AGENT_TIMEOUT_S = 120
TELEMETRY_SETTINGS = {
    "OTEL_SERVICE_NAME": "agentperf-demo",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_METRIC_EXPORT_INTERVAL": "600000",  # metrics are flushed once, when the agent exits
}


def instrument_command() -> list[str]:
    """``opentelemetry-instrument`` next to this Python, or the same entry point through ``-c``."""
    script = Path(sys.executable).with_name("opentelemetry-instrument")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from opentelemetry.instrumentation.auto_instrumentation import run; run()"]


def run_agent(base_url: str, receiver_endpoint: str | None, agent: Path = AGENT) -> int:
    """Run the agent under auto-instrumentation, exporting to our receiver, or (``None``) where the user said."""
    env = dict(os.environ)
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="demo-key-not-secret", PYTHONUNBUFFERED="1")
    if receiver_endpoint is None:  # the user's collector: keep whatever they configured
        for key, value in TELEMETRY_SETTINGS.items():
            env.setdefault(key, value)
    else:
        for signal in ("TRACES", "METRICS", "LOGS"):  # or a signal-specific setting would win over ours
            env.pop(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", None)
            env.pop(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", None)
        env.update(TELEMETRY_SETTINGS)
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver_endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    command = [*instrument_command(), sys.executable, str(agent)]
    print(f"$ opentelemetry-instrument python {os.path.relpath(agent)}\n", flush=True)
    try:
        return subprocess.run(command, env=env, timeout=AGENT_TIMEOUT_S, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"agent did not finish within {AGENT_TIMEOUT_S} s", file=sys.stderr)
        return 1


# --- the span tree -------------------------------------------------------------------------------------------------
def span_details(item: ReceivedSpan) -> str:
    """The attributes worth reading at a glance, as ``key=value`` words."""
    attrs = item.attributes
    words: list[str] = []
    model = attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model")
    if model:
        words.append(f"model={model}")
    if "gen_ai.agent.name" in attrs:
        words.append(f"agent={attrs['gen_ai.agent.name']}")
    for key, label in (("gen_ai.usage.input_tokens", "in"), ("gen_ai.usage.output_tokens", "out")):
        if key in attrs:
            words.append(f"{label}={attrs[key]}")
    if attrs.get("gen_ai.usage.cache_read.input_tokens"):
        words.append(f"cache_read={attrs['gen_ai.usage.cache_read.input_tokens']}")
    if "gen_ai.response.time_to_first_chunk" in attrs:
        words.append(f"ttfc={attrs['gen_ai.response.time_to_first_chunk'] * 1000:.1f}ms")
    if "agentperf.stream.chunk_count" in attrs:
        words.append(f"chunks={attrs['agentperf.stream.chunk_count']}")
    if "agentperf.retry.count" in attrs:
        backoff = attrs.get("agentperf.retry.backoff_time", 0.0) * 1000
        words.append(f"retries={attrs['agentperf.retry.count']} (backoff {backoff:.0f}ms)")
    if attrs.get("gen_ai.response.finish_reasons"):
        words.append(f"finish={','.join(attrs['gen_ai.response.finish_reasons'])}")
    if "error.type" in attrs:
        words.append(f"error={attrs['error.type']}")
    return "  ".join(words)


def span_rows(spans: list[ReceivedSpan]) -> list[tuple[str, str, str, str]]:
    """(indented name, kind, duration, details) for every span, parents before their children."""
    by_id = {item.span.span_id: item for item in spans}
    children: dict[bytes, list[ReceivedSpan]] = defaultdict(list)
    roots: list[ReceivedSpan] = []
    for item in spans:
        parent = item.span.parent_span_id
        (children[parent] if parent in by_id else roots).append(item)
    rows: list[tuple[str, str, str, str]] = []

    def visit(item: ReceivedSpan, depth: int) -> None:
        kind = item.span.SpanKind.Name(item.span.kind).removeprefix("SPAN_KIND_")
        rows.append(("  " * depth + item.span.name, kind, f"{item.duration_s * 1000:.1f} ms", span_details(item)))
        for child in sorted(children[item.span.span_id], key=lambda c: c.span.start_time_unix_nano):
            visit(child, depth + 1)

    for root in sorted(roots, key=lambda r: r.span.start_time_unix_nano):
        visit(root, 0)
    return rows


# --- the metric summary --------------------------------------------------------------------------------------------
def latest_points(points: Iterable[MetricPoint]) -> list[MetricPoint]:
    """One point per metric stream: the last cumulative total, or the sum of delta points."""
    streams: dict[tuple[str, str], list[MetricPoint]] = defaultdict(list)
    for point in points:
        streams[(point.name, repr(sorted(point.attributes.items())))].append(point)
    merged: list[MetricPoint] = []
    for stream in streams.values():
        last = max(stream, key=lambda p: p.time_unix_nano)
        if last.cumulative or last.kind == "gauge" or len(stream) == 1:
            merged.append(last)
            continue
        values = [p.value for p in stream if p.value is not None]
        counts = [p.count for p in stream if p.count is not None]
        sums = [p.sum for p in stream if p.sum is not None]
        merged.append(
            MetricPoint(
                last.name,
                last.unit,
                last.kind,
                last.attributes,
                last.time_unix_nano,
                True,
                value=sum(values) if values else None,
                count=sum(counts) if counts else None,
                sum=sum(sums) if sums else None,
                max=max((p.max for p in stream if p.max is not None), default=None),
            )
        )
    return merged


def total(points: Iterable[MetricPoint], **match: Any) -> float:
    """Sum of the values (counters) or sums (histograms) of the points whose attributes match."""
    return sum(
        (p.value if p.value is not None else p.sum or 0.0)
        for p in points
        if all(p.attributes.get(key) == value for key, value in match.items())
    )


def histogram_summary(points: list[MetricPoint], noun: str, scale: float = 1000.0, unit: str = "ms") -> str:
    """``N nouns, mean X, max Y`` for a histogram in seconds (shown in ``unit``)."""
    count = sum(p.count or 0 for p in points)
    if not count:
        return f"0 {noun}s"
    mean = sum(p.sum or 0.0 for p in points) / count * scale
    peaks = [p.max for p in points if p.max is not None]
    peak = f", max {max(peaks) * scale:.1f} {unit}" if peaks else ""
    return f"{count} {noun}{'s' if count != 1 else ''}, mean {mean:.1f} {unit}{peak}"


def metric_summary(name: str, points: list[MetricPoint]) -> str:
    """A compact reading of one metric's points."""
    if name == "gen_ai.client.token.usage":
        tokens_in = total(points, **{"gen_ai.token.type": "input"})
        tokens_out = total(points, **{"gen_ai.token.type": "output"})
        return f"input {tokens_in:.0f}, output {tokens_out:.0f} ({sum(p.count or 0 for p in points)} records)"
    if name == "gen_ai.client.operation.duration":
        return histogram_summary(points, "call")
    if name == "gen_ai.client.operation.time_to_first_chunk":
        return histogram_summary(points, "stream")
    if name == "gen_ai.client.operation.time_per_output_chunk":
        return histogram_summary(points, "chunk")
    if name == "agentperf.retry.backoff.duration":
        return histogram_summary(points, "wait")
    unit = points[0].unit
    if points[0].kind in ("histogram", "exponential_histogram"):
        return histogram_summary(points, "record", scale=1.0, unit=unit)
    value = total(points)
    if unit.startswith("{") and unit.endswith("}"):  # an annotation such as {token}: say "576 tokens"
        return f"{value:g} {unit[1:-1]}{'s' if value != 1 else ''}"
    return f"{value:g} {unit}".rstrip()


def print_table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> None:
    """Left-aligned columns (pad a cell yourself to right-align it); the last one is free text."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print((indent + "  ".join([*cells, row[-1]])).rstrip())


def report(receiver: OtlpReceiver) -> int:
    """Print the span tree and metric summary; return the exit status (1 when no span arrived)."""
    spans = receiver.spans()
    points = latest_points(receiver.metric_points())
    traces = {item.span.trace_id for item in spans}
    print()
    if not spans:
        print("Spans: none arrived. Is opentelemetry-distro installed (it configures the SDK under")
        print("opentelemetry-instrument), and OTEL_SDK_DISABLED unset?")
        return 1
    print(f"Spans: {len(spans)} in {len(traces)} trace(s), service {_service_name(spans)}")
    rows = span_rows(spans)
    print_table([("SPAN", "KIND", "DURATION".rjust(9), "DETAILS"), *((n, k, d.rjust(9), x) for n, k, d, x in rows)])

    by_name: dict[str, list[MetricPoint]] = defaultdict(list)
    for point in points:
        by_name[point.name].append(point)
    print()
    print(f"Metrics: {len(by_name)} names, {len(points)} points")
    metric_rows = [
        (name, by_name[name][0].unit or "-", str(len(by_name[name])), metric_summary(name, by_name[name]))
        for name in sorted(by_name)
    ]
    print_table([("NAME", "UNIT", "POINTS", "SUMMARY"), *metric_rows])

    print()
    print("Summary")
    llm_spans = [item for item in spans if item.span.kind == item.span.SpanKind.SPAN_KIND_CLIENT]
    tokens_in = total(by_name["gen_ai.client.token.usage"], **{"gen_ai.token.type": "input"})
    tokens_out = total(by_name["gen_ai.client.token.usage"], **{"gen_ai.token.type": "output"})
    cache_read = total(by_name["gen_ai.client.inference.usage.cache_read.input_tokens"])
    ratio = f"{cache_read / tokens_in:.1%}" if tokens_in else "n/a"
    retries = total(by_name["agentperf.retries"])
    backoff = total(by_name["agentperf.retry.backoff.duration"]) * 1000
    calls = histogram_summary(by_name["gen_ai.client.operation.duration"], "call")
    summary = [
        ("LLM calls", f"{len(llm_spans)} spans; {calls}"),
        ("tokens", f"{tokens_in:.0f} input, {tokens_out:.0f} output"),
        ("prompt cache", f"{cache_read:.0f} input tokens read from cache: hit ratio {ratio}"),
        ("first chunk", histogram_summary(by_name["gen_ai.client.operation.time_to_first_chunk"], "stream")),
        ("retries", f"{retries:.0f} ({backoff:.0f} ms waiting)"),
    ]
    print_table(summary)
    return 0


def _service_name(spans: list[ReceivedSpan]) -> str:
    names = sorted({str(item.resource.get("service.name", "?")) for item in spans})
    return ", ".join(names) or "?"


def main() -> int:
    agent = GRAPH_AGENT if "--graph" in sys.argv[1:] else AGENT
    llm = serve(port=0, chunk_delay=0.01)
    show_error = llm.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no news
            show_error(request, client_address)

    llm.handle_error = handle_error  # type: ignore[method-assign]
    base_url = f"http://127.0.0.1:{llm.server_address[1]}/v1"
    user_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    print(f"fake LLM service: {base_url}")
    try:
        if user_endpoint:
            print(f"telemetry:        {user_endpoint} (OTEL_EXPORTER_OTLP_ENDPOINT)")
            status = run_agent(base_url, None, agent)
            print()
            print(f"agent exited with {status}; its spans and metrics went to {user_endpoint}")
            return status
        with OtlpReceiver() as receiver:
            print(f"telemetry:        {receiver.endpoint} (local OTLP/HTTP receiver)")
            status = run_agent(base_url, receiver.endpoint, agent)
            receiver.wait_for(lambda r: bool(r.trace_requests() and r.metric_requests()), timeout=3.0)
            outcome = report(receiver)
            if status != 0:
                print(f"\nagent failed with exit status {status}", file=sys.stderr)
                return status
            return outcome
    finally:
        llm.shutdown()


if __name__ == "__main__":
    sys.exit(main())
