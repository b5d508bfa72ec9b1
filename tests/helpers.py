"""Readers for what the in-memory exporter and reader hold, and the fake LLM service as an httpx/httpx2 transport."""

from __future__ import annotations

import importlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def metrics_by_name(reader: InMemoryMetricReader) -> dict[str, Metric]:
    data = reader.get_metrics_data()
    found: dict[str, Metric] = {}
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found[metric.name] = metric
    return found


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    metric = metrics_by_name(reader).get(name)
    return list(metric.data.data_points) if metric else []


def one_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def sdk_http(sdk: str) -> Any:
    """The HTTP library the installed major of an SDK is built on: httpx2 (openai >= 3, anthropic >= 1) or httpx."""
    base = importlib.import_module(f"{sdk}._base_client")
    return getattr(base, "httpx2", None) or base.httpx


OPENAI_HTTP = sdk_http("openai")
ANTHROPIC_HTTP = sdk_http("anthropic")


def fake_handler(
    on_request: Callable[[Any], Any] | None = None,
) -> Callable[[Any], Any]:
    """A MockTransport handler serving the fake LLM service; ``on_request`` may answer first."""
    from llm_server import respond  # examples/demo, on the path in tests (conftest) and in backends.run_demo_agent

    def handler(request: Any) -> Any:
        if on_request is not None:
            early = on_request(request)
            if early is not None:
                return early
        status, headers, body = respond(request.method, request.url.path, dict(request.headers), request.content)
        content = body if isinstance(body, bytes) else b"".join(body)
        http = sys.modules[type(request).__module__.partition(".")[0]]  # httpx or httpx2, as the client uses
        return http.Response(status, headers=headers, content=content)

    return handler


_shared_fake: list[str] = []


def shared_fake_llm_url() -> str:
    """The URL of a fake LLM service on a loopback port, started on first use and kept for the whole test session.

    For SDKs with their own HTTP stack, in places that cannot take the ``fake_llm_url`` fixture (drivers, cases).
    """
    if not _shared_fake:
        from llm_server import serve  # examples/demo, on the path in tests (conftest)

        server = serve(port=0)
        report_error = server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up: a stream closed early
                report_error(request, client_address)

        server.handle_error = handle_error  # type: ignore[method-assign]
        _shared_fake.append(f"http://127.0.0.1:{server.server_address[1]}")
    return _shared_fake[0]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, what: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 10) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``; raise if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline or (process is not None and process.poll() is not None):
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.05)


USER_PRICES = {"input": 2.0, "output": 10.0, "cache_read": 0.5, "cache_write": 2.5}
"""USD per million tokens of the one row :func:`price_table` writes."""


def price_table(directory: Path, provider: str, model: str) -> str:
    """Write a user price table with one row for ``model`` at :data:`USER_PRICES`; return its path."""
    path = directory / "prices.json"
    path.write_text(json.dumps({"prices": [{"provider": provider, "model": model, **USER_PRICES}]}))
    return str(path)


def expected_cost(attributes: Mapping[str, Any]) -> float:
    """A span's cost at :data:`USER_PRICES` from its own counts (input counts every prompt token, cached ones too)."""
    read = attributes.get("gen_ai.usage.cache_read.input_tokens", 0)
    write = attributes.get("gen_ai.usage.cache_creation.input_tokens", 0)
    uncached = attributes["gen_ai.usage.input_tokens"] - read - write
    output = attributes["gen_ai.usage.output_tokens"]
    prices = USER_PRICES
    return (uncached * prices["input"] + read * prices["cache_read"] + write * prices["cache_write"]
            + output * prices["output"]) / 1e6  # fmt: skip
