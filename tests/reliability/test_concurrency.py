"""Many calls at once: every span exported exactly once under the right parent, and metric sums exact."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import points
from tests.llm_drivers import DRIVERS

CHAT = next(driver for driver in DRIVERS if driver.id == "openai-chat")


def _token_sums(reader: Any) -> Counter[str]:
    sums: Counter[str] = Counter()
    for point in points(reader, "gen_ai.client.token.usage"):
        sums[point.attributes["gen_ai.token.type"]] += point.sum
    return sums


def _check_parents(spans: Any, calls: int) -> None:
    by_id = {span.context.span_id: span for span in spans}
    chats = [span for span in spans if span.name == CHAT.span_name]
    assert len(chats) == calls
    assert len(by_id) == len(spans)  # no span exported twice
    parents = Counter(by_id[span.parent.span_id].name for span in chats)
    assert parents == Counter({f"task-{index}": 1 for index in range(calls)})


async def test_a_thousand_concurrent_async_calls(instrument, tracer_provider, span_exporter, metric_reader):
    """1,000 concurrent tasks, half streaming: one chat span each, under its task's span; token sums exact."""
    instrument(OpenAIInstrumentor)
    client = CHAT.async_client(max_retries=0)
    tracer = tracer_provider.get_tracer("test")
    usage: Counter[str] = Counter()

    async def task(index: int) -> None:
        with tracer.start_as_current_span(f"task-{index}"):
            if index % 2:
                stream = await CHAT.call(client, stream=True)
                async for chunk in stream:
                    if chunk.usage is not None:
                        usage["input"] += chunk.usage.prompt_tokens
                        usage["output"] += chunk.usage.completion_tokens
            else:
                response = await CHAT.call(client)
                usage["input"] += response.usage.prompt_tokens
                usage["output"] += response.usage.completion_tokens

    await asyncio.gather(*(task(index) for index in range(1000)))
    _check_parents(span_exporter.get_finished_spans(), 1000)
    assert _token_sums(metric_reader) == usage
    assert sum(point.count for point in points(metric_reader, "gen_ai.client.operation.duration")) == 1000


def test_thirty_two_threads(instrument, tracer_provider, span_exporter, metric_reader):
    """32 threads sharing one client, 20 calls each: every span once under its parent; token sums exact."""
    instrument(OpenAIInstrumentor)
    client = CHAT.client(max_retries=0)
    tracer = tracer_provider.get_tracer("test")
    usage: Counter[str] = Counter()
    lock = threading.Lock()

    def worker(thread: int) -> None:
        for call in range(20):
            with tracer.start_as_current_span(f"task-{thread * 20 + call}"):
                response = CHAT.call(client)
            with lock:
                usage["input"] += response.usage.prompt_tokens
                usage["output"] += response.usage.completion_tokens

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_parents(span_exporter.get_finished_spans(), 640)
    assert _token_sums(metric_reader) == usage
