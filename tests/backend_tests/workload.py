"""An instrumented agent workload that serves its metrics to Prometheus until it is stopped.

``python workload.py PORT``: every instrumentor on, a Prometheus exporter on 127.0.0.1:PORT, and agent runs in a
loop: plain and streamed LLM calls through the real openai SDK (against the fake LLM service), a retried call, a
failing call, cache lookups, tool calls, a retried tenacity call, and a call near its rate limit and a rate-limited one
whose headers and cost are recorded with the rate-limit and cost instruments.
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
from otel_agentperf.pricing import CostInstruments, bundled_prices  # noqa: E402
from otel_agentperf.rate_limits import RateLimitInstruments, read_rate_limits  # noqa: E402
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
    meter = meter_provider.get_meter("otel_agentperf")
    rate_limits, costs, prices = RateLimitInstruments(meter), CostInstruments(meter), bundled_prices()
    attributes = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}

    def near_the_rate_limit() -> None:
        raw = limited.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER_MESSAGES)
        rate_limits.record(read_rate_limits(raw.headers), attributes, raw.status_code)
        usage = raw.parse().usage
        assert usage is not None and usage.prompt_tokens_details is not None
        cost = prices.cost(
            "openai", raw.parse().model, input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens,
            cache_read_tokens=usage.prompt_tokens_details.cached_tokens or 0,
        )  # fmt: skip
        costs.record(cost, {**attributes, "gen_ai.operation.name": "chat"})
        try:
            refused.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
        except openai.RateLimitError as error:
            rate_limits.record(read_rate_limits(error.response.headers), attributes, error.status_code)

    round_number = 0
    while True:
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
        round_number += 1
        time.sleep(0.2)


if __name__ == "__main__":
    main()
