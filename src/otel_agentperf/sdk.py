"""``configure()``: OpenTelemetry SDK providers exporting over OTLP, and every otel_agentperf instrumentor, in one call.

For programs not started with ``opentelemetry-instrument``::

    import otel_agentperf.sdk

    telemetry = otel_agentperf.sdk.configure(service_name="research-agent")
    ...
    telemetry.shutdown()   # flushes what is left (also registered at exit by the SDK)

The same environment gives the same result as ``opentelemetry-instrument``: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` (resource), ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` (``otlp`` by default,
``console``, ``none`` or any installed exporter entry point) and the OTLP variables as the OTLP exporters read them:
``OTEL_EXPORTER_OTLP_{TRACES,METRICS}_PROTOCOL`` over ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``grpc`` by default, as
``opentelemetry-distro`` sets it, or ``http/protobuf``), ``OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`` (used as
is) over ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` or ``/v1/metrics`` appended for ``http/protobuf``). The
``endpoint`` and ``protocol`` keyword arguments stand for the generic variables and win over every variable. A
protocol that does not match the endpoint's well-known port (4317 for gRPC, 4318 for HTTP) logs one WARNING. Spans
go through a ``BatchSpanProcessor``, metrics through a ``PeriodicExportingMetricReader``. Instrumentors are the
``agentperf_*`` entry points not listed in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` whose library is installed.

A global provider already set (by ``opentelemetry-instrument`` or by the program) is reused: ``configure()`` only
creates the one that is missing, and instrumentors always get the global providers. Bad settings raise
``ConfigurationError`` here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Literal
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.metrics._internal import _ProxyMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from otel_agentperf.exceptions import ConfigurationError

__all__ = ["Telemetry", "configure"]

_logger = logging.getLogger(__name__)
Signal = Literal["traces", "metrics"]
_PROTOCOLS = ("grpc", "http/protobuf")
_DEFAULT_PROTOCOL = "grpc"
"""What ``opentelemetry-instrument`` uses: ``opentelemetry-distro`` sets ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``."""
_DEFAULT_ENDPOINTS = {"grpc": "http://localhost:4317", "http/protobuf": "http://localhost:4318"}
_PORTS = {"grpc": 4317, "http/protobuf": 4318}
_WELL_KNOWN_PORTS = {port: protocol for protocol, port in _PORTS.items()}
_OTLP_EXPORTERS = {"otlp": None, "otlp_proto_grpc": "grpc", "otlp_proto_http": "http/protobuf"}


@dataclass
class Telemetry:
    """What ``configure()`` set up or found."""

    tracer_provider: trace.TracerProvider
    meter_provider: metrics.MeterProvider
    reused: bool
    """True when both providers were already there (``opentelemetry-instrument``): nothing was installed."""
    instrumentors: list[Any] = field(default_factory=list)
    created: list[TracerProvider | MeterProvider] = field(default_factory=list)
    """The providers this call created and made global (shut down by ``shutdown()``)."""

    def force_flush(self) -> None:
        """Export what is buffered now."""
        for provider in (self.tracer_provider, self.meter_provider):
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                flush()

    def shutdown(self) -> None:
        """Uninstrument, then flush and stop the providers this call created."""
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        for provider in self.created:
            provider.shutdown()


@dataclass(frozen=True)
class _OtlpTarget:
    """Where one signal's OTLP exporter sends, and the endpoint to hand it (None: the exporter reads the variables)."""

    signal: Signal
    protocol: str
    endpoint: str | None
    url: str


def configure(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    instrument: bool = True,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
) -> Telemetry:
    """Set up tracing and metrics over OTLP and instrument everything (see the module docstring).

    ``span_exporter`` and ``metric_reader`` replace the exporters the environment names (for tests, or another
    backend).

    Raises:
        ConfigurationError: an unknown protocol or exporter, or an endpoint the chosen protocol cannot use.
    """
    tracer_provider, meter_provider = trace.get_tracer_provider(), metrics.get_meter_provider()
    needs_tracer = isinstance(tracer_provider, trace.ProxyTracerProvider)
    needs_meter = isinstance(meter_provider, _ProxyMeterProvider)
    trace_targets = _otlp_targets("traces", endpoint, protocol) if needs_tracer and not span_exporter else {}
    metric_targets = _otlp_targets("metrics", endpoint, protocol) if needs_meter and not metric_reader else {}
    _warn_on_port_mismatch([*trace_targets.values(), *metric_targets.values()])
    exporters = [span_exporter] if span_exporter else _span_exporters(trace_targets) if needs_tracer else []
    readers = [metric_reader] if metric_reader else _metric_readers(metric_targets) if needs_meter else []
    telemetry = Telemetry(tracer_provider, meter_provider, reused=not (needs_tracer or needs_meter))
    resource = _resource(service_name, tracer_provider)
    if needs_tracer:  # everything is built above, so that a bad setting raises before anything is installed
        telemetry.tracer_provider = _install_tracer_provider(resource, exporters, telemetry.created)
    if needs_meter:
        telemetry.meter_provider = _install_meter_provider(resource, readers, telemetry.created)
    if telemetry.reused:
        _logger.info("OpenTelemetry providers are already set; otel_agentperf only instruments")
    if instrument:
        telemetry.instrumentors = _instrument_all(telemetry.tracer_provider, telemetry.meter_provider)
    return telemetry


def _resource(service_name: str | None, tracer_provider: object) -> Resource:
    """A reused SDK tracer provider's resource, so that both signals describe the same service; else a new one."""
    if service_name is None and isinstance(tracer_provider, TracerProvider):
        return tracer_provider.resource
    return Resource.create({SERVICE_NAME: service_name} if service_name else {})


def _install_tracer_provider(
    resource: Resource, exporters: Sequence[SpanExporter], created: list[TracerProvider | MeterProvider]
) -> trace.TracerProvider:
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:  # set concurrently: ours could never be global
        provider.shutdown()
        return trace.get_tracer_provider()
    created.append(provider)
    return provider


def _install_meter_provider(
    resource: Resource, readers: Sequence[MetricReader], created: list[TracerProvider | MeterProvider]
) -> metrics.MeterProvider:
    provider = MeterProvider(resource=resource, metric_readers=list(readers))
    metrics.set_meter_provider(provider)
    if metrics.get_meter_provider() is not provider:
        provider.shutdown()
        return metrics.get_meter_provider()
    created.append(provider)
    return provider


def _exporter_names(signal: Signal) -> list[str]:
    value = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip() or "otlp"
    names = [name.strip() for name in value.split(",") if name.strip()]
    return [] if names == ["none"] else names


def _otlp_targets(signal: Signal, endpoint: str | None, protocol: str | None) -> dict[str, _OtlpTarget]:
    """The OTLP exporters ``OTEL_{SIGNAL}_EXPORTER`` names, by name, checked before anything is installed."""
    return {
        name: _otlp_target(signal, endpoint, protocol or _OTLP_EXPORTERS[name])
        for name in _exporter_names(signal)
        if name in _OTLP_EXPORTERS
    }


def _span_exporters(targets: dict[str, _OtlpTarget]) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in _exporter_names("traces"):
        if name in targets:
            exporters.append(_otlp_span_exporter(targets[name]))
        elif name == "console":
            exporters.append(ConsoleSpanExporter())
        else:
            exporters.append(_load_exporter("traces", name)())
    return exporters


def _metric_readers(targets: dict[str, _OtlpTarget]) -> list[MetricReader]:
    readers: list[MetricReader] = []
    for name in _exporter_names("metrics"):
        if name in targets:
            exporter: MetricExporter | MetricReader = _otlp_metric_exporter(targets[name])
        elif name == "console":
            exporter = ConsoleMetricExporter()
        else:
            exporter = _load_exporter("metrics", name)()
        readers.append(exporter if isinstance(exporter, MetricReader) else PeriodicExportingMetricReader(exporter))
    return readers


def _load_exporter(signal: Signal, name: str) -> Any:
    """An exporter class named in ``OTEL_{SIGNAL}_EXPORTER``, found by entry point as the SDK finds it."""
    for entry_point in entry_points(group=f"opentelemetry_{signal}_exporter", name=name):
        return entry_point.load()
    raise ConfigurationError(f"OTEL_{signal.upper()}_EXPORTER names {name!r}, which no installed package provides")


def _otlp_target(signal: Signal, endpoint: str | None, protocol: str | None) -> _OtlpTarget:
    """Apply the OTLP exporter rules: the signal's variable over the generic one, a path only for the generic URL."""
    protocol = _protocol(signal, protocol)
    signal_variable = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    if endpoint:
        url = endpoint if protocol == "grpc" else _with_signal_path(endpoint, signal)
        handed: str | None = url
    elif os.environ.get(signal_variable):
        handed, url = None, os.environ[signal_variable]
    else:
        generic = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _DEFAULT_ENDPOINTS[protocol]
        handed, url = None, generic if protocol == "grpc" else _with_signal_path(generic, signal)
    _check_endpoint(url, protocol)
    return _OtlpTarget(signal, protocol, handed, url)


def _protocol(signal: Signal, value: str | None) -> str:
    protocol = (
        value
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "").strip()
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
        or _DEFAULT_PROTOCOL
    )
    if protocol not in _PROTOCOLS:
        raise ConfigurationError(f"Expected the OTLP protocol to be one of {list(_PROTOCOLS)}, got {protocol!r}")
    return protocol


def _with_signal_path(endpoint: str, signal: Signal) -> str:
    return f"{endpoint.removesuffix('/')}/v1/{signal}"


def _check_endpoint(url: str, protocol: str) -> None:
    """Check the URL for the protocol: gRPC takes ``host:port`` with or without a scheme, HTTP an http(s) URL."""
    schemeless = protocol == "grpc" and "://" not in url
    try:
        parts = urlsplit(f"//{url}" if schemeless else url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise ConfigurationError(f"Cannot parse the OTLP endpoint {url!r}: {error}") from None
    if (not schemeless and parts.scheme not in ("http", "https")) or not parts.hostname:
        shape = "host:port or http://host:port" if protocol == "grpc" else "http://host:port"
        raise ConfigurationError(f"Expected the OTLP endpoint for {protocol} to look like {shape}, got {url!r}")


def _port(url: str) -> int | None:
    return urlsplit(url if "://" in url else f"//{url}").port


def _warn_on_port_mismatch(targets: list[_OtlpTarget]) -> None:
    """One WARNING naming every signal whose protocol does not match its endpoint's well-known OTLP port."""
    wrong = [
        target
        for target in targets
        if _WELL_KNOWN_PORTS.get(_port(target.url) or 0, target.protocol) != target.protocol
    ]
    if wrong:
        described = "; ".join(f"{target.signal} over {target.protocol} to {target.url}" for target in wrong)
        right = _WELL_KNOWN_PORTS[_port(wrong[0].url) or 0]
        _logger.warning(
            "OTLP protocol and port do not match (%s): port 4317 takes grpc, 4318 takes http/protobuf, so nothing "
            "will arrive. Set OTEL_EXPORTER_OTLP_PROTOCOL=%s or use port %s.",
            described,
            right,
            _PORTS[wrong[0].protocol],
        )


def _otlp_span_exporter(target: _OtlpTarget) -> SpanExporter:
    if target.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        return OTLPSpanExporter(endpoint=target.endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter  # noqa: PLC0415

    return HttpSpanExporter(endpoint=target.endpoint)


def _otlp_metric_exporter(target: _OtlpTarget) -> MetricExporter:
    if target.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter  # noqa: PLC0415

        return OTLPMetricExporter(endpoint=target.endpoint)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter  # noqa: PLC0415

    return HttpMetricExporter(endpoint=target.endpoint)


def _instrument_all(tracer_provider: trace.TracerProvider, meter_provider: metrics.MeterProvider) -> list[Any]:
    disabled = {name.strip() for name in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    instrumentors = []
    for entry_point in entry_points(group="opentelemetry_instrumentor"):
        if not entry_point.name.startswith("agentperf_") or entry_point.name in disabled:
            continue
        try:
            instrumentor = entry_point.load()()
            if instrumentor.is_instrumented_by_opentelemetry or not _library_present(entry_point.name, instrumentor):
                continue
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentors.append(instrumentor)
        except Exception as error:  # noqa: BLE001 - one library's failure must not stop the others
            _logger.warning("otel_agentperf could not enable %s: %s", entry_point.name, error)
    names = ", ".join(type(instrumentor).__name__ for instrumentor in instrumentors) or "none"
    _logger.info("otel_agentperf instrumentors enabled: %s", names)
    return instrumentors


def _library_present(name: str, instrumentor: Any) -> bool:
    """False, quietly, when the instrumented library is not installed; False with a WARNING for a wrong version."""
    conflict = get_dependency_conflicts(instrumentor.instrumentation_dependencies())
    if conflict is None:
        return True
    if conflict.found or conflict.found_any:
        _logger.warning("otel_agentperf skips %s: it needs %s, found %s", name, conflict.required, conflict.found)
    else:
        _logger.debug("otel_agentperf skips %s: %s is not installed", name, conflict.required)
    return False
