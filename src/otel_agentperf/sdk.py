"""``configure()``: OpenTelemetry SDK providers exporting over OTLP, and every otel_agentperf instrumentor, in one call.

For programs not started with ``opentelemetry-instrument``::

    import otel_agentperf.sdk

    telemetry = otel_agentperf.sdk.configure(service_name="research-agent")
    ...
    telemetry.shutdown()   # flushes what is left (also registered at exit by the SDK)

Settings come from the keyword arguments, else the standard variables: ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` (resource), ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_PROTOCOL`` (``grpc`` or
``http/protobuf``, the default) and the exporters' other ``OTEL_EXPORTER_OTLP_*`` variables. Spans go through a
``BatchSpanProcessor``, metrics through a ``PeriodicExportingMetricReader``. Instrumentors are the ``agentperf_*``
entry points not listed in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``.

When SDK providers are already set globally (by ``opentelemetry-instrument`` or by the program), ``configure()``
reuses them and only instruments: it never installs a second pipeline. Bad settings raise ``ConfigurationError`` here.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from otel_agentperf.exceptions import ConfigurationError

__all__ = ["Telemetry", "configure"]

_logger = logging.getLogger(__name__)
_PROTOCOLS = ("grpc", "http/protobuf")


@dataclass
class Telemetry:
    """What ``configure()`` set up or found."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    reused: bool
    """True when the providers were already there (``opentelemetry-instrument``): nothing was installed."""
    instrumentors: list[Any] = field(default_factory=list)

    def force_flush(self) -> None:
        """Export what is buffered now."""
        self.tracer_provider.force_flush()
        self.meter_provider.force_flush()

    def shutdown(self) -> None:
        """Uninstrument, then flush and stop the providers this call created."""
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        if not self.reused:
            self.tracer_provider.shutdown()
            self.meter_provider.shutdown()


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

    ``span_exporter`` and ``metric_reader`` replace the OTLP ones (for tests, or another backend).

    Raises:
        ConfigurationError: an endpoint that is not an ``http(s)://host[:port]`` URL, or an unknown protocol.
    """
    protocol = _protocol(protocol)
    endpoint = _endpoint(endpoint)
    existing_tracer, existing_meter = trace.get_tracer_provider(), metrics.get_meter_provider()
    if isinstance(existing_tracer, TracerProvider) and isinstance(existing_meter, MeterProvider):
        _logger.info("OpenTelemetry SDK providers are already set; otel_agentperf only instruments")
        telemetry = Telemetry(existing_tracer, existing_meter, reused=True)
    else:
        resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter or _span_exporter(protocol, endpoint)))
        reader = metric_reader or PeriodicExportingMetricReader(_metric_exporter(protocol, endpoint))
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        telemetry = Telemetry(tracer_provider, meter_provider, reused=False)
    if instrument:
        telemetry.instrumentors = _instrument_all(telemetry.tracer_provider, telemetry.meter_provider)
    return telemetry


def _protocol(value: str | None) -> str:
    protocol = value or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol not in _PROTOCOLS:
        raise ConfigurationError(f"Expected the OTLP protocol to be one of {list(_PROTOCOLS)}, got {protocol!r}")
    return protocol


def _endpoint(value: str | None) -> str | None:
    endpoint = value or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    if endpoint is None:
        return None
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise ConfigurationError(f"Cannot parse the OTLP endpoint {endpoint!r}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"Expected the OTLP endpoint to look like http://host:port, got {endpoint!r}")
    return endpoint.rstrip("/")


def _span_exporter(protocol: str, endpoint: str | None) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        return OTLPSpanExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter  # noqa: PLC0415

    return HttpSpanExporter(endpoint=f"{endpoint}/v1/traces" if endpoint else None)


def _metric_exporter(protocol: str, endpoint: str | None) -> Any:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter  # noqa: PLC0415

        return OTLPMetricExporter(endpoint=endpoint)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter  # noqa: PLC0415

    return HttpMetricExporter(endpoint=f"{endpoint}/v1/metrics" if endpoint else None)


def _instrument_all(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> list[Any]:
    disabled = {name.strip() for name in os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    instrumentors = []
    for entry_point in entry_points(group="opentelemetry_instrumentor"):
        if not entry_point.name.startswith("agentperf_") or entry_point.name in disabled:
            continue
        try:
            instrumentor = entry_point.load()()
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
                instrumentors.append(instrumentor)
        except Exception as error:  # noqa: BLE001 - one library's failure must not stop the others
            _logger.warning("otel_agentperf could not enable %s: %s", entry_point.name, error)
    return instrumentors
