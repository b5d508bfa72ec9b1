"""Run tallies: what instrumentors observe inside a run is counted there, across tasks, and rolls up when nested."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from otel_agentperf.core.tally import current_run, enter_run, exit_run, record_cache_lookup, record_tool_call
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.openai_tests.conftest import USER_MESSAGES, make_async_client, make_client


def test_llm_calls_and_retries_count_in_the_current_run(instrument):
    instrument(OpenAIInstrumentor)
    client = make_client(max_retries=1)
    tally, token = enter_run()
    first = client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    second = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers={"x-fake-fault": "retry-once:429"}
    )
    counts = exit_run(tally, token)
    assert current_run() is None
    assert counts.llm_calls == 2
    assert counts.retries == 1
    assert counts.input_tokens == first.usage.prompt_tokens + second.usage.prompt_tokens
    assert counts.output_tokens == first.usage.completion_tokens + second.usage.completion_tokens
    assert counts.cache_read_tokens == 2 * first.usage.prompt_tokens_details.cached_tokens
    assert counts.errors == 0


def test_nothing_is_counted_outside_a_run(instrument):
    instrument(OpenAIInstrumentor)
    make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    tally, token = enter_run()
    assert exit_run(tally, token).llm_calls == 0


def test_nested_run_rolls_up_into_its_parent():
    outer, outer_token = enter_run()
    record_tool_call(failed=False)
    inner, inner_token = enter_run()
    record_tool_call(failed=True)
    record_cache_lookup(hit=True)
    inner_counts = exit_run(inner, inner_token)
    outer_counts = exit_run(outer, outer_token)
    assert (inner_counts.tool_calls, inner_counts.errors, inner_counts.cache_hits) == (1, 1, 1)
    assert (outer_counts.tool_calls, outer_counts.errors, outer_counts.cache_hits) == (2, 1, 1)


def test_concurrent_async_runs_stay_apart(instrument):
    instrument(OpenAIInstrumentor)
    client = make_async_client()

    async def run(calls: int) -> int:
        tally, token = enter_run()
        await asyncio.gather(
            *(client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES) for _ in range(calls))
        )
        return exit_run(tally, token).llm_calls

    async def main() -> list[int]:
        return list(await asyncio.gather(run(1), run(3), run(5)))

    assert asyncio.run(main()) == [1, 3, 5]


def test_threads_started_with_the_context_count_in_the_run():
    tally, token = enter_run()
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(record_cache_lookup, hit))
        for hit in [True, False, False] * 50
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = exit_run(tally, token)
    assert (counts.cache_hits, counts.cache_misses) == (50, 100)
