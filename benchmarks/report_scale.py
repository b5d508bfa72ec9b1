"""Time and peak memory of ``agentperf report`` on OTLP JSON lines files of 10k, 100k and 1M spans.

Each file is generated here: agent runs of 10 spans (the agent span, 6 LLM calls with the attributes the openai
instrumentor writes, a retry event on one of them, 2 tool calls, 1 other span), sent in batches of 512 spans per line
as the SDK's batch processor does, children before their root. The baseline, measured on the same file in the same
run, is the least any reader does: ``json.loads`` of every line. Peak memory is the report process's maximum RSS;
the line to read is how it grows from 10k to 1M spans (bounded: it follows runs and calls, not bytes).

    python benchmarks/report_scale.py [--sizes 10000,100000,1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPANS_PER_RUN = 10
BATCH = 512


def attribute(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


def span(trace: str, span_id: str, parent: str, name: str, kind: int, start: int, end: int, attrs: dict[str, Any],
         events: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    document = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        "attributes": [attribute(k, v) for k, v in attrs.items()],
        "status": {},
    }
    if parent:
        document["parentSpanId"] = parent
    if events:
        document["events"] = events
    return document


def run_spans(rng: random.Random, number: int) -> list[dict[str, Any]]:
    """One agent run: 6 LLM calls, 2 tools, 1 other span, then the agent span (it ends last)."""
    trace = f"{rng.getrandbits(128):032x}"
    root = f"{rng.getrandbits(64):016x}"
    start = 1_700_000_000_000_000_000 + number * 10_000_000_000
    spans, clock = [], start
    for call in range(6):
        duration = int(rng.lognormvariate(-1.5, 0.5) * 1e9)
        input_tokens = rng.randint(500, 4000)
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(64):x}",
            "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": rng.randint(20, 400),
            "gen_ai.usage.cache_read.input_tokens": input_tokens // 2,
            "server.address": "api.openai.com",
            "server.port": 443,
            "openai.response.service_tier": "default",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.response.time_to_first_chunk": duration / 4e9,
            "agentperf.stream.chunk_count": rng.randint(10, 200),
        }
        events = None
        if call == 2:
            attrs["agentperf.retry.count"] = 1
            retry = [attribute("agentperf.retry.attempt", 1), attribute("agentperf.retry.delay", 0.5),
                     attribute("error.type", "429"), attribute("http.response.status_code", 429)]  # fmt: skip
            events = [{"name": "agentperf.retry", "timeUnixNano": str(clock + 1000), "attributes": retry}]
        name = "chat gpt-4o-mini"
        spans.append(span(trace, f"{rng.getrandbits(64):016x}", root, name, 3, clock, clock + duration, attrs, events))
        clock += duration
        if call in (1, 3):
            tool_duration = int(rng.lognormvariate(-3, 1) * 1e9)
            tool_attrs = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "search",
                "gen_ai.tool.type": "function",
            }
            spans.append(span(trace, f"{rng.getrandbits(64):016x}", root, "execute_tool search", 1, clock,
                              clock + tool_duration, tool_attrs))  # fmt: skip
            clock += tool_duration
    spans.append(span(trace, f"{rng.getrandbits(64):016x}", root, "parse", 1, clock, clock + 1_000_000, {}))
    clock += 2_000_000
    agent_attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"agent-{number % 3}",
                   "agentperf.run.llm_calls": 6, "agentperf.run.duration": (clock - start) / 1e9}  # fmt: skip
    spans.append(span(trace, root, "", "invoke_agent research", 1, start, clock, agent_attrs))
    return spans


def generate(path: Path, spans: int) -> None:
    rng = random.Random(42)
    resource = {"attributes": [attribute("service.name", "bench-agent"), attribute("telemetry.sdk.language", "python")]}
    batch: list[dict[str, Any]] = []
    with path.open("w") as handle:
        for number in range(spans // SPANS_PER_RUN):
            batch.extend(run_spans(rng, number))
            if len(batch) >= BATCH:
                request = {
                    "resourceSpans": [
                        {"resource": resource, "scopeSpans": [{"scope": {"name": "bench"}, "spans": batch}]}
                    ]
                }
                handle.write(json.dumps(request, separators=(",", ":")) + "\n")
                batch = []
        if batch:
            request = {
                "resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "bench"}, "spans": batch}]}]
            }
            handle.write(json.dumps(request, separators=(",", ":")) + "\n")


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0, command
    return elapsed, usage.ru_maxrss / 1024


BASELINE = "import json, sys\nfor line in open(sys.argv[1], 'rb'): json.loads(line)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    options = parser.parse_args()
    directory = options.keep or Path(tempfile.mkdtemp(prefix="agentperf-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    print(
        f"{'spans':>10} {'file':>9} {'report':>9} {'json only':>10} {'ratio':>6} {'peak RSS':>9} {'baseline RSS':>13}"
    )
    for size in (int(s) for s in options.sizes.split(",")):
        path = directory / f"spans-{size}.jsonl"
        if not path.exists():
            generate(path, size)
        report_s, report_mib = measure(
            [sys.executable, "-m", "otel_agentperf.cli", "report", str(path), "--format", "json"]
        )
        base_s, base_mib = measure([sys.executable, "-c", BASELINE, str(path)])
        print(
            f"{size:>10,} {path.stat().st_size / 2**20:>6.0f} MiB {report_s:>7.1f} s {base_s:>8.1f} s "
            f"{report_s / base_s:>5.1f}x {report_mib:>5.0f} MiB {base_mib:>9.0f} MiB",
            flush=True,
        )
        if options.keep is None:
            path.unlink()


if __name__ == "__main__":
    main()
