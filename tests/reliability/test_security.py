"""No prompt, completion, API key or auth header in any byte a real OTLP receiver gets, unless content is opted in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from oteltest.sink import HttpSink
from oteltest.sink.handler import RequestHandler

from tests.helpers import free_port, wait_for_port
from tests.llm_drivers import API_KEY, DRIVERS, PROMPT, LLMDriver
from tests.reliability.test_fuzz import _outcome


class RawHandler(RequestHandler):  # type: ignore[misc]
    """Keeps every export request as the protobuf bytes that arrived."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def handle_trace(self, request: Any, headers: Any) -> None:
        self.received.append(request.SerializeToString())

    def handle_metrics(self, request: Any, headers: Any) -> None:
        self.received.append(request.SerializeToString())

    def handle_logs(self, request: Any, headers: Any) -> None:
        self.received.append(request.SerializeToString())


@pytest.fixture
def receiver() -> Iterator[tuple[int, RawHandler]]:
    port = free_port()
    handler = RawHandler()
    sink = HttpSink(handler, logging.getLogger("sink"), port=port)
    sink.start()
    wait_for_port(port, "the OTLP receiver")
    yield port, handler
    sink.stop()


def _exported(driver: LLMDriver, port: int, handler: RawHandler, **options: Any) -> bytes:
    """Run plain, streamed, retried and failing calls instrumented, export everything; the bytes received."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"http://127.0.0.1:{port}/v1/traces")))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(f"http://127.0.0.1:{port}/v1/metrics"), 3_600_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = driver.instrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
    try:
        client = driver.client()
        _outcome(lambda: driver.call(client))
        _outcome(lambda: driver.call(client, stream=True))
        retried = driver.client(default_headers={"x-fake-fault": "retry-once:500"}, max_retries=1)
        _outcome(lambda: driver.call(retried))
        failing = driver.client(default_headers={"x-fake-fault": "always:401"}, max_retries=0)
        _outcome(lambda: driver.call(failing))
    finally:
        instrumentor.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
    return b"".join(handler.received)


def _answer_text(driver: LLMDriver) -> str:
    response = driver.call(driver.client())
    if hasattr(response, "choices"):
        return str(response.choices[0].message.content)
    if hasattr(response, "output_text"):
        return str(response.output_text)
    return str(response.content[0].text)


@pytest.mark.parametrize("driver", DRIVERS, ids=[driver.id for driver in DRIVERS])
def test_nothing_private_leaves_by_default(driver, receiver):
    """Default settings: the exported bytes hold neither the prompt, the answer, the key nor any auth header."""
    port, handler = receiver
    answer = _answer_text(driver)
    exported = _exported(driver, port, handler)
    assert len(exported) > 1000, "nothing was exported: the scan would prove nothing"
    for secret in (API_KEY, PROMPT[:30], answer[:30], "authorization", "x-api-key", "Bearer"):
        assert secret.encode() not in exported, secret


@pytest.mark.parametrize("driver", DRIVERS, ids=[driver.id for driver in DRIVERS])
def test_captured_content_is_cut_and_keys_still_absent(driver, receiver):
    """Content opted in: the prompt is there but cut to the limit, and the key and auth headers are still absent."""
    port, handler = receiver
    exported = _exported(driver, port, handler, capture_content="SPAN_ONLY", content_max_length=64)
    assert PROMPT[:64].encode() in exported
    assert PROMPT[:65].encode() not in exported
    for secret in (API_KEY, "authorization", "x-api-key", "Bearer"):
        assert secret.encode() not in exported, secret
