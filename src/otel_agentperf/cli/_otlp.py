"""OTLP JSON lines: the format of the OpenTelemetry Collector's file exporter, written and read back.

Each line is one ``ExportTraceServiceRequest`` or ``ExportMetricsServiceRequest`` in the OTLP JSON encoding (the
protobuf JSON mapping, with trace and span ids as hex strings). The reader streams a file line by line, so its memory
does not grow with the file, and tolerates a last line cut short by a writer that was killed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

SPAN_KIND_CLIENT = 3
STATUS_CODE_ERROR = 2
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class InputError(Exception):
    """A file that cannot be read as OTLP JSON lines; the message says why."""


def to_json_line(request: Message) -> str:
    """One export request as an OTLP JSON line (hex ids, integer enums), without the trailing newline."""
    document = MessageToDict(request, use_integers_for_enums=True)
    _hex_ids(document)
    return json.dumps(document, separators=(",", ":"))


def _hex_ids(node: Any) -> None:
    """The protobuf JSON mapping writes bytes as base64; OTLP JSON wants ids as hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = _base64_to_hex(value)
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def _base64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


@dataclass(slots=True)
class Event:
    """A span event: name, time (ns since the epoch) and attributes."""

    name: str
    time: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class Span:
    """The parts of a span the report reads."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    start: int
    end: int
    error: bool
    attributes: dict[str, Any]
    events: list[Event]
    resource: dict[str, Any]

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return max(0, self.end - self.start) / 1e9


@dataclass(slots=True)
class Point:
    """One metric data point: ``value`` for sums and gauges, ``sum``/``count`` for histograms."""

    name: str
    kind: str
    cumulative: bool
    attributes: dict[str, Any]
    resource: dict[str, Any]
    time: int
    value: float | None = None
    sum: float | None = None
    count: int | None = None


@dataclass
class ReadStats:
    """What reading found besides the data: lines read, and problems worth telling the user about."""

    lines: int = 0
    spans: int = 0
    points: int = 0
    warnings: list[str] = field(default_factory=list)


def read(
    path: Path,
    stats: ReadStats,
    metric_names: frozenset[str] | None = None,
    span_keys: frozenset[str] | None = None,
) -> Iterator[Span | Point]:
    """Every span and metric point of an OTLP JSON lines file, in file order.

    ``metric_names`` keeps only those metrics; ``span_keys`` keeps only those span attributes (decoding the others
    is most of the cost of reading a span).

    Raises:
        InputError: the file is missing or its first record is not OTLP JSON.
    """
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InputError(f"{path}: cannot open: {error.strerror or error}") from None
    with handle:
        pending: bytes | None = None
        number = 0
        for number, raw in enumerate(handle, 1):
            if pending is not None:
                yield from _records(pending, number - 1, path, stats, metric_names, span_keys, last=False)
            pending = raw
        if pending is not None:
            yield from _records(pending, number, path, stats, metric_names, span_keys, last=True)
    if stats.lines == 0:
        raise InputError(f"{path}: no OTLP data (the file is empty)")


def _records(
    raw: bytes,
    number: int,
    path: Path,
    stats: ReadStats,
    metric_names: frozenset[str] | None,
    span_keys: frozenset[str] | None,
    *,
    last: bool,
) -> Iterator[Span | Point]:
    if not raw.strip():
        return
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not ({"resourceSpans", "resourceMetrics", "resourceLogs"} & document.keys()):
        if stats.lines == 0 and not last:
            raise InputError(f"{path}: line {number} is not OTLP JSON (expected one export request per line)")
        if stats.lines == 0:
            raise InputError(f"{path}: not OTLP JSON (expected one export request per line)")
        if last and not raw.endswith(b"\n"):
            stats.warnings.append(f"{path}: the last line (line {number}) is cut short; the rest was read")
        else:
            stats.warnings.append(f"{path}: line {number} is not OTLP JSON and was skipped")
        return
    stats.lines += 1
    for resource_spans in document.get("resourceSpans") or ():
        resource = attributes_of((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in resource_spans.get("scopeSpans") or ():
            for span in scope_spans.get("spans") or ():
                stats.spans += 1
                yield _span(span, resource, span_keys)
    for resource_metrics in document.get("resourceMetrics") or ():
        resource = attributes_of((resource_metrics.get("resource") or {}).get("attributes"))
        for scope_metrics in resource_metrics.get("scopeMetrics") or ():
            for metric in scope_metrics.get("metrics") or ():
                if metric_names is None or metric.get("name") in metric_names:
                    for point in _points(metric, resource):
                        stats.points += 1
                        yield point


def _span(span: dict[str, Any], resource: dict[str, Any], keys: frozenset[str] | None) -> Span:
    return Span(
        trace_id=span.get("traceId", ""),
        span_id=span.get("spanId", ""),
        parent_id=span.get("parentSpanId", ""),
        name=span.get("name", ""),
        kind=_int(span.get("kind", 0)),
        start=int(span.get("startTimeUnixNano", 0)),
        end=int(span.get("endTimeUnixNano", 0)),
        error=_int((span.get("status") or {}).get("code", 0)) == STATUS_CODE_ERROR,
        attributes=attributes_of(span.get("attributes"), keys),
        events=[
            Event(event.get("name", ""), int(event.get("timeUnixNano", 0)), attributes_of(event.get("attributes")))
            for event in span.get("events") or ()
        ],
        resource=resource,
    )


_KIND_NAMES = {"SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3, "STATUS_CODE_ERROR": 2}


def _int(value: Any) -> int:
    """An enum written as a number (the Collector) or as its name (some writers)."""
    if isinstance(value, str) and not value.isdigit():
        return _KIND_NAMES.get(value, 0)
    return int(value)


def attributes_of(items: Any, keys: frozenset[str] | None = None) -> dict[str, Any]:
    """OTLP JSON ``[{"key": ..., "value": {...}}]`` as a plain dict (only ``keys``, when given)."""
    if keys is None:
        return {item["key"]: _value(item.get("value") or {}) for item in items or ()}
    return {item["key"]: _value(item.get("value") or {}) for item in items or () if item["key"] in keys}


def _value(value: dict[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_value(item) for item in (value["arrayValue"].get("values") or ())]
    return None


def _points(metric: dict[str, Any], resource: dict[str, Any]) -> Iterator[Point]:
    name = metric.get("name", "")
    for kind in ("sum", "gauge", "histogram", "exponentialHistogram"):
        data = metric.get(kind)
        if data is None:
            continue
        cumulative = _int(data.get("aggregationTemporality", 2)) == 2 or kind == "gauge"
        for point in data.get("dataPoints") or ():
            common = Point(
                name,
                kind,
                cumulative,
                attributes_of(point.get("attributes")),
                resource,
                int(point.get("timeUnixNano", 0)),
            )
            if kind in ("sum", "gauge"):
                number = point.get("asInt", point.get("asDouble"))
                common.value = float(number) if number is not None else None
            else:
                common.sum = float(point.get("sum", 0.0))
                common.count = int(point.get("count", 0))
            yield common
