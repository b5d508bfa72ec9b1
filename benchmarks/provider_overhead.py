"""Per-call overhead of each LLM provider instrumentor against that provider's bare SDK, in one run.

Each provider's real SDK calls the fake LLM service in process, so that the figures are the SDK's own work plus ours,
free of network time:
- ``openai``: ``chat.completions.create`` through an ``httpx2.MockTransport`` (the reference, as in ``overhead.py``);
- ``google-genai``: ``models.generate_content`` through an ``httpx.MockTransport`` (``HttpOptions.httpx_client``);
- ``bedrock``: ``converse`` with botocore's ``before-send`` event answering from the fake (botocore still signs the
  request and parses the response: only the socket is skipped);
- ``litellm``: ``litellm.completion`` with the ``anthropic/`` prefix, through LiteLLM's own HTTP handler on an
  ``httpx.MockTransport`` (LiteLLM's offline settings are set before it is imported).

Bare and instrumented calls alternate batch by batch (instrument, batch, uninstrument), so that drift hits both alike;
a garbage collection runs before each batch. Figures are medians of per-batch means in microseconds of wall time, and
the instrumented call as a multiple of the bare one. Run ``python benchmarks/provider_overhead.py`` (about a minute)
or ``--quick``. Wall time on a shared machine swings: compare the ratios of one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import httpx
import httpx2
import openai
from botocore.awsrequest import AWSResponse
from google import genai
from google.genai import types
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

os.environ.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"})
import litellm  # noqa: E402 - after its offline settings
from litellm.llms.custom_httpx.http_handler import HTTPHandler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "demo"))
from llm_server import respond  # noqa: E402

from otel_agentperf.instrumentation.bedrock import BedrockInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.google_genai import GoogleGenAIInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor  # noqa: E402

PROMPT = "What changed in the last release? " * 40


class _NoopExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _fake(method: str, url: str, headers: Any, content: bytes) -> tuple[int, dict[str, str], bytes]:
    status, reply_headers, body = respond(method, url, dict(headers), content)
    return status, dict(reply_headers), body if isinstance(body, bytes) else b"".join(body)


def _openai_call() -> Callable[[], Any]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        status, headers, body = _fake(request.method, request.url.path, request.headers, request.content)
        return httpx2.Response(status, headers=headers, content=body)

    http = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = openai.OpenAI(api_key="sk-bench", base_url="http://llm.test/v1", http_client=http)
    messages = [{"role": "user", "content": PROMPT}]
    return lambda: client.chat.completions.create(model="gpt-4o-mini", messages=messages)


def _genai_call() -> Callable[[], Any]:
    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = _fake(request.method, request.url.path, request.headers, request.content)
        return httpx.Response(status, headers=headers, content=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    options = types.HttpOptions(base_url="http://llm.test", httpx_client=http)
    client = genai.Client(api_key="gemini-bench", http_options=options)
    _genai_call.keep = client  # type: ignore[attr-defined] # a genai.Client closes its HTTP client when collected
    return lambda: client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _bedrock_call() -> Callable[[], Any]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url="http://llm.test",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench-secret",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        path = request.url.split("llm.test", 1)[1]
        status, headers, body = _fake(request.method, path, request.headers, request.body or b"")
        return AWSResponse(request.url, status, headers, _Raw(body))

    client.meta.events.register("before-send.bedrock-runtime.Converse", answer)
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    return lambda: client.converse(modelId="anthropic.claude-3-5-sonnet-20240620-v1:0", messages=messages)


def _litellm_call() -> Callable[[], Any]:
    def handler(request: httpx.Request) -> httpx.Response:
        status, headers, body = _fake(request.method, request.url.path, request.headers, request.content)
        return httpx.Response(status, headers=headers, content=body)

    client = HTTPHandler(client=httpx.Client(transport=httpx.MockTransport(handler)))
    messages = [{"role": "user", "content": PROMPT}]
    options = {"api_base": "http://llm.test", "api_key": "sk-bench", "client": client}
    litellm.suppress_debug_info = True
    return lambda: litellm.completion(model="anthropic/claude-sonnet-4-5", messages=messages, **options)


PROVIDERS: dict[str, tuple[Callable[[], Callable[[], Any]], type]] = {
    "openai chat": (_openai_call, OpenAIInstrumentor),
    "google-genai generate_content": (_genai_call, GoogleGenAIInstrumentor),
    "bedrock converse": (_bedrock_call, BedrockInstrumentor),
    "litellm completion (anthropic/)": (_litellm_call, LiteLLMInstrumentor),
}


def _batch(call: Callable[[], Any], size: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(size):
        call()
    return (time.perf_counter() - started) / size * 1e6


def measure(rounds: int, batch: int) -> dict[str, tuple[float, float]]:
    """Median µs per call (bare, instrumented) for each provider."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(_NoopExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    results = {}
    for name, (make, instrumentor_class) in PROVIDERS.items():
        call = make()
        instrumentor = instrumentor_class()
        for _ in range(3):  # warm-up, both ways
            call()
        bare: list[float] = []
        ours: list[float] = []
        for _ in range(rounds):
            bare.append(_batch(call, batch))
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
            ours.append(_batch(call, batch))
            instrumentor.uninstrument()
        results[name] = (statistics.median(bare), statistics.median(ours))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    options = parser.parse_args()
    rounds, batch = (5, 20) if options.quick else (15, 50)
    print("| provider, call | bare SDK (µs) | instrumented (µs) | added (µs) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, (bare, ours) in measure(rounds, batch).items():
        print(f"| {name} | {bare:.0f} | {ours:.0f} | {ours - bare:.0f} | {ours / bare:.2f}× |")


if __name__ == "__main__":
    main()
