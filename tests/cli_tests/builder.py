"""Write OTLP JSON lines files by hand, in the Collector file exporter's format, for tests of the command line."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLIENT, INTERNAL = 3, 1
_ids = itertools.count(1)


def new_id(length: int = 16) -> str:
    return f"{next(_ids):0{length}x}"


def attribute(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        encoded: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        encoded = {"intValue": str(value)}
    elif isinstance(value, float):
        encoded = {"doubleValue": value}
    elif isinstance(value, list):
        encoded = {"arrayValue": {"values": [attribute("", item)["value"] for item in value]}}
    else:
        encoded = {"stringValue": str(value)}
    return {"key": key, "value": encoded}


@dataclass
class SpanSpec:
    name: str
    start: float
    end: float
    attributes: dict[str, Any] = field(default_factory=dict)
    kind: int = INTERNAL
    error: bool = False
    events: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)
    trace_id: str = ""
    span_id: str = field(default_factory=new_id)
    parent_id: str = ""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "traceId": self.trace_id,
            "spanId": self.span_id,
            "name": self.name,
            "kind": self.kind,
            "startTimeUnixNano": str(int(self.start * 1e9)),
            "endTimeUnixNano": str(int(self.end * 1e9)),
            "attributes": [attribute(k, v) for k, v in self.attributes.items()],
            "events": [
                {"name": n, "timeUnixNano": str(int(t * 1e9)), "attributes": [attribute(k, v) for k, v in a.items()]}
                for n, t, a in self.events
            ],
            "status": {"code": 2} if self.error else {},
        }
        if self.parent_id:
            document["parentSpanId"] = self.parent_id
        return document


class Trace:
    """Spans of one trace; the first one added without a parent is its root."""

    def __init__(self) -> None:
        self.trace_id = new_id(32)
        self.spans: list[SpanSpec] = []

    def add(self, spec: SpanSpec, parent: SpanSpec | None = None) -> SpanSpec:
        spec.trace_id = self.trace_id
        spec.parent_id = parent.span_id if parent else ""
        self.spans.append(spec)
        return spec


def agent(trace: Trace, name: str, start: float, end: float, **attributes: Any) -> SpanSpec:
    attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name, **attributes}
    return trace.add(SpanSpec(f"invoke_agent {name}", start, end, attrs))


def llm(
    trace: Trace, parent: SpanSpec | None, start: float, end: float, model: str = "gpt-4o-mini", **attributes: Any
) -> SpanSpec:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": model,
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20,
    }
    attrs.update(attributes)
    for key in [k for k, v in attrs.items() if v is None]:
        del attrs[key]
    return trace.add(SpanSpec(f"chat {model}", start, end, attrs, kind=CLIENT), parent)


def tool(trace: Trace, parent: SpanSpec | None, name: str, start: float, end: float) -> SpanSpec:
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    return trace.add(SpanSpec(f"execute_tool {name}", start, end, attrs), parent)


def trace_request(spans: Iterable[SpanSpec], service: str = "test-agent") -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attribute("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": [s.to_json() for s in spans]}],
            }
        ]
    }


def sum_request(name: str, points: list[tuple[dict[str, Any], float]], unit: str = "") -> dict[str, Any]:
    data_points = [
        {"attributes": [attribute(k, v) for k, v in attrs.items()], "timeUnixNano": "1", "asInt": str(int(value))}
        for attrs, value in points
    ]
    metric = {"name": name, "unit": unit, "sum": {"dataPoints": data_points, "aggregationTemporality": 2}}
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": [attribute("service.name", "test-agent")]},
                "scopeMetrics": [{"scope": {"name": "tests"}, "metrics": [metric]}],
            }
        ]
    }


def write(path: Path, traces: Iterable[Trace], metrics: Iterable[dict[str, Any]] = ()) -> Path:
    """One line per trace, children before their root (the order exporters send them in), then the metrics."""
    with path.open("w") as handle:
        for trace in traces:
            ordered = sorted(trace.spans, key=lambda s: not s.parent_id)  # roots last
            handle.write(json.dumps(trace_request(ordered)) + "\n")
        for request in metrics:
            handle.write(json.dumps(request) + "\n")
    return path


def simple_runs(durations: list[float], calls: int = 2, name: str = "agent", **llm_attributes: Any) -> list[Trace]:
    """One trace per run: an agent span of the given duration with ``calls`` LLM calls sharing it evenly."""
    traces = []
    start = 1_000.0
    for duration in durations:
        trace = Trace()
        root = agent(trace, name, start, start + duration)
        step = duration / (calls + 1)
        for index in range(calls):
            llm(trace, root, start + index * step, start + (index + 1) * step, **llm_attributes)
        traces.append(trace)
        start += duration + 1
    return traces
