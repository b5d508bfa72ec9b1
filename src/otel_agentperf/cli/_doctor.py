"""``agentperf doctor``: is this environment set up to record agent telemetry? Each problem comes with its fix."""

from __future__ import annotations

import http.client
import os
import socket
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_agentperf.core.pricing import bundled_prices, load_prices
from otel_agentperf.environment_variables import OTEL_AGENTPERF_PRICES
from otel_agentperf.exceptions import ConfigurationError

CONTENT_MODES = ("NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT", "TRUE", "FALSE")
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Finding:
    """One check: its area, what was found, whether it is a problem, and the fix."""

    area: str
    subject: str
    status: str  # "ok", "info" or "problem"
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict."""
        return asdict(self)


def diagnose(environ: dict[str, str] | None = None) -> list[Finding]:
    """Every finding, instrumentors first."""
    env = dict(os.environ if environ is None else environ)
    return [*instrumentors(env), *sdk(env), *exporter(env), *content(env), *sampling(env), *prices(env)]


def instrumentors(env: dict[str, str]) -> list[Finding]:
    """Which auto-instrumentors ``opentelemetry-instrument`` would activate, and why the others would not."""
    disabled = {name.strip() for name in env.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",") if name}
    found = []
    for entry_point in sorted(entry_points(group="opentelemetry_instrumentor"), key=lambda e: e.name):
        found.append(_instrumentor(entry_point, disabled))
    if not found:
        found.append(
            Finding("instrumentor", "-", "problem", "no auto-instrumentor is installed", "pip install otel-agentperf")
        )
    return found


def _instrumentor(entry_point: EntryPoint, disabled: set[str]) -> Finding:
    name = entry_point.name
    if name in disabled or "*" in disabled:
        return Finding(
            "instrumentor",
            name,
            "info",
            "disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
            f"remove {name} from OTEL_PYTHON_DISABLED_INSTRUMENTATIONS to turn it on",
        )
    try:
        instrumentor = entry_point.load()()
        requirements = list(instrumentor.instrumentation_dependencies())
    except Exception as error:  # noqa: BLE001 - a broken plugin is a finding, not a crash
        return Finding("instrumentor", name, "problem", f"cannot be loaded: {error!r}", "reinstall its package")
    return dependency_finding(name, requirements)


def dependency_finding(name: str, requirements: list[str]) -> Finding:
    """Active, or inactive because a library is missing or has a version outside the supported range."""
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

    conflict = get_dependency_conflicts(requirements) if requirements else None
    if conflict is None:
        libraries = ", ".join(requirements) or "no library needed"
        return Finding("instrumentor", name, "ok", f"active ({libraries})")
    required, found = str(conflict.required), conflict.found
    if found is None:
        return Finding(
            "instrumentor", name, "info", f"inactive: {required} is not installed", "install it if the agent uses it"
        )
    return Finding(
        "instrumentor",
        name,
        "problem",
        f"inactive: needs {required}, found {found}",
        f"pip install '{required}' (or an otel-agentperf release that supports {found})",
    )


def sdk(env: dict[str, str]) -> list[Finding]:
    """The SDK is on and something configures it under ``opentelemetry-instrument``."""
    found = []
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        found.append(
            Finding(
                "sdk",
                "OTEL_SDK_DISABLED",
                "problem",
                "the SDK is disabled: nothing is recorded",
                "unset OTEL_SDK_DISABLED",
            )
        )
    if not list(entry_points(group="opentelemetry_configurator")):
        found.append(
            Finding(
                "sdk",
                "configurator",
                "problem",
                "no configurator: opentelemetry-instrument would set up no SDK",
                "pip install opentelemetry-distro",
            )
        )
    else:
        found.append(Finding("sdk", "configurator", "ok", "opentelemetry-distro configures the SDK"))
    traces_exporter = env.get("OTEL_TRACES_EXPORTER", "otlp")
    if traces_exporter.strip().lower() == "none":
        found.append(
            Finding(
                "sdk",
                "OTEL_TRACES_EXPORTER",
                "problem",
                "traces are not exported (none)",
                "set OTEL_TRACES_EXPORTER=otlp",
            )
        )
    return found


def exporter(env: dict[str, str]) -> list[Finding]:
    """Where traces go, over which protocol, and whether that endpoint answers in that protocol."""
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    own = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if protocol == "grpc":
        endpoint = own or base or "http://localhost:4317"
        http_url = f"{_origin(endpoint)}/v1/traces"
    else:
        endpoint = own or f"{(base or 'http://localhost:4318').rstrip('/')}/v1/traces"
        http_url = endpoint
    source = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" if own else "OTEL_EXPORTER_OTLP_ENDPOINT" if base else "default"
    subject = f"{endpoint} ({protocol}, {source})"
    if protocol not in ("grpc", "http/protobuf", "http/json"):
        return [
            Finding(
                "exporter",
                subject,
                "problem",
                f"unknown protocol {protocol!r}",
                "set OTEL_EXPORTER_OTLP_PROTOCOL to grpc or http/protobuf",
            )
        ]
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    host, port = parts.hostname or "localhost", parts.port or (443 if parts.scheme == "https" else 80)
    if not _reachable(host, port):
        return [
            Finding(
                "exporter",
                subject,
                "problem",
                f"nothing listens on {host}:{port}",
                "start a collector there, or point OTEL_EXPORTER_OTLP_ENDPOINT at yours "
                "(agentperf record needs none: it receives the telemetry itself)",
            )
        ]
    speaks_http = _answers_http(http_url)
    speaks_grpc = False if speaks_http else _answers_grpc(f"{host}:{port}")
    if protocol == "grpc" and speaks_grpc or protocol != "grpc" and speaks_http:
        return [Finding("exporter", subject, "ok", f"answers OTLP over {protocol}")]
    if protocol == "grpc" and speaks_http:
        return [
            Finding(
                "exporter",
                subject,
                "problem",
                "the endpoint speaks OTLP/HTTP, the exporter is set to gRPC",
                "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf (or use the collector's gRPC port, usually 4317)",
            )
        ]
    if protocol != "grpc" and speaks_grpc:
        return [
            Finding(
                "exporter",
                subject,
                "problem",
                "the endpoint speaks OTLP/gRPC, the exporter is set to HTTP",
                "set OTEL_EXPORTER_OTLP_PROTOCOL=grpc (or the collector's HTTP port, usually 4318)",
            )
        ]
    return [
        Finding(
            "exporter",
            subject,
            "problem",
            "something listens there but does not answer OTLP",
            "check the host and port of your collector",
        )
    ]


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return f"{parts.scheme}://{parts.netloc}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def _answers_http(url: str) -> bool:
    body = ExportTraceServiceRequest().SerializeToString()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/x-protobuf"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310 - the user's endpoint
            return bool(response.status == 200)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):  # not HTTP, or no OTLP there
        return False


def _answers_grpc(target: str) -> bool:
    import grpc

    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        try:
            call(ExportTraceServiceRequest().SerializeToString(), timeout=PROBE_TIMEOUT_S)
        except grpc.RpcError:
            return False
    return True


def content(env: dict[str, str]) -> list[Finding]:
    """Whether prompts and completions are recorded."""
    value = env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "")
    if not value:
        return [Finding("content", "capture", "ok", "off: prompts and completions are not recorded (the default)")]
    if value.strip().upper() not in CONTENT_MODES:
        return [
            Finding(
                "content",
                "capture",
                "problem",
                f"unknown value {value!r}: treated as off",
                "set OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT to NO_CONTENT, SPAN_ONLY, EVENT_ONLY "
                "or SPAN_AND_EVENT",
            )
        ]
    if value.strip().upper() in ("NO_CONTENT", "FALSE"):
        return [Finding("content", "capture", "ok", "off: prompts and completions are not recorded")]
    return [
        Finding(
            "content",
            "capture",
            "info",
            f"on ({value}): prompts and completions are recorded",
            "make sure the backend may store them; unset the variable to stop",
        )
    ]


def prices(env: dict[str, str]) -> list[Finding]:
    """Whether the price table ``OTEL_AGENTPERF_PRICES`` names can be read (a bad one is ignored with a warning)."""
    path = env.get(OTEL_AGENTPERF_PRICES, "").strip()
    if not path:
        return [Finding("cost", "prices", "ok", f"the bundled price table ({len(bundled_prices())} models)")]
    try:
        table = load_prices(path, OTEL_AGENTPERF_PRICES)
    except ConfigurationError as error:
        fix = f"fix the file (the format of otel_agentperf/prices.json) or unset {OTEL_AGENTPERF_PRICES}"
        return [Finding("cost", "prices", "problem", f"{error}: the bundled table is used instead", fix)]
    rows = f"{len(table)} row" + ("" if len(table) == 1 else "s")
    return [Finding("cost", "prices", "ok", f"the bundled table, extended by {path} ({rows})")]


def sampling(env: dict[str, str]) -> list[Finding]:
    """Whether every trace is kept: reports and comparisons see only sampled runs."""
    sampler = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    argument = env.get("OTEL_TRACES_SAMPLER_ARG", "")
    if sampler in ("always_off", "parentbased_always_off"):
        return [
            Finding(
                "sampling",
                sampler,
                "problem",
                "no trace is sampled: nothing is recorded",
                "set OTEL_TRACES_SAMPLER=parentbased_always_on",
            )
        ]
    if "traceidratio" in sampler:
        try:
            ratio = float(argument or 1.0)
        except ValueError:
            return [
                Finding(
                    "sampling",
                    sampler,
                    "problem",
                    f"OTEL_TRACES_SAMPLER_ARG={argument!r} is not a number",
                    "set it to a ratio between 0 and 1",
                )
            ]
        if ratio < 1:
            return [
                Finding(
                    "sampling",
                    f"{sampler} {ratio:g}",
                    "info",
                    f"{ratio:.0%} of traces are kept: run counts and totals cover only those",
                    "sample everything while measuring performance (OTEL_TRACES_SAMPLER_ARG=1)",
                )
            ]
    return [Finding("sampling", sampler, "ok", "every trace is kept")]


def render(findings: list[Finding]) -> list[str]:
    """One line per finding, a fix line under each problem."""
    marks = {"ok": "ok     ", "info": "note   ", "problem": "PROBLEM"}
    lines = []
    for finding in findings:
        lines.append(f"{marks[finding.status]} {finding.area:<12} {finding.subject}: {finding.detail}")
        if finding.fix and finding.status != "ok":
            lines.append(f"{'':20} fix: {finding.fix}")
    return lines


def as_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """JSON-ready findings."""
    return [finding.to_dict() for finding in findings]
