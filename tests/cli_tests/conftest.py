"""Real OTLP endpoints on loopback: our own HTTP receiver and oteltest's gRPC sink."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from otel_agentperf.cli._receiver import Receiver
from tests.helpers import free_port


@pytest.fixture
def http_collector() -> Iterator[str]:
    """A real OTLP/HTTP endpoint on loopback."""
    receiver = Receiver(io.StringIO()).start()
    try:
        yield receiver.endpoint
    finally:
        receiver.stop(settle=0)


@pytest.fixture
def grpc_collector() -> Iterator[str]:
    """A real OTLP/gRPC endpoint on loopback (oteltest's sink)."""
    from oteltest.sink import GrpcSink
    from oteltest.sink.handler import AccumulatingHandler

    logger = logging.getLogger("tests.doctor.sink")
    logger.setLevel(logging.WARNING)
    port = free_port()
    sink = GrpcSink(AccumulatingHandler(), logger, port=port)
    sink.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        sink.stop()
