"""An instrumented agent workload that serves its metrics to Prometheus until it is stopped.

``python workload.py PORT``: every instrumentor on, a Prometheus exporter on 127.0.0.1:PORT, and agent runs in a
loop: plain and streamed LLM calls through the real openai SDK (against the fake LLM service), a retried call, a
failing call, cache lookups, tool calls, a retried tenacity call, a call near its rate limit and a rate-limited one
(the instrumentor records their headroom, the 429 and the cost of every call).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples" / "demo")]

import cachetools  # noqa: E402
import openai  # noqa: E402
import tenacity  # noqa: E402
from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from prometheus_client import start_http_server  # noqa: E402

from otel_agentperf import agent_run, tool  # noqa: E402
from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.resource_usage import ResourceUsageInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor  # noqa: E402
from tests.openai_tests.conftest import USER_MESSAGES, make_client  # noqa: E402


def main() -> None:
    start_http_server(int(sys.argv[1]), addr="127.0.0.1")
    tracer_provider = TracerProvider()
    meter_provider = MeterProvider(metric_readers=[PrometheusMetricReader()])
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    for instrumentor in (OpenAIInstrumentor, CachetoolsInstrumentor, TenacityInstrumentor, ResourceUsageInstrumentor):
        instrumentor().instrument(**providers)
    client = make_client()
    retried = make_client(default_headers={"x-fake-fault": "retry-once:429"})
    failing = make_client(default_headers={"x-fake-fault": "always:500"}, max_retries=0)
    cache = cachetools.LRUCache(maxsize=8)

    @tool(**providers)
    def lookup(key: str) -> str:
        value = cache.get(key)
        if value is None:
            cache[key] = value = key.upper()
        return value

    flaky = iter([True] * 10**9)

    @tenacity.retry(wait=tenacity.wait_fixed(0.01), stop=tenacity.stop_after_attempt(3))
    def sometimes_fails() -> None:
        if next(flaky) and time.monotonic() % 2 < 1:
            raise ConnectionError("flaky")

    limited = make_client(default_headers={"x-fake-rate-limits": "low"})
    refused = make_client(default_headers={"x-fake-fault": "always:429"}, max_retries=0)

    def near_the_rate_limit() -> None:
        limited.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
        try:
            refused.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
        except openai.RateLimitError:
            pass

    def one_round(round_number: int) -> None:
        with agent_run("researcher", **providers):
            client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=USER_MESSAGES, stream=True, stream_options={"include_usage": True}
            )
            for _ in stream:
                pass
            retried.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
            try:
                failing.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
            except Exception:  # noqa: BLE001, S110 - the failure is the point
                pass
            near_the_rate_limit()
            lookup(f"k{round_number % 3}")
            try:
                sometimes_fails()
            except tenacity.RetryError:
                pass

    round_number = 0
    while True:
        try:
            one_round(round_number)
        except openai.APIError as error:  # a loaded machine may time a call out: the next round goes on
            print(f"round {round_number}: {error!r}", file=sys.stderr, flush=True)
        round_number += 1
        time.sleep(0.2)


if __name__ == "__main__":
    main()
