"""Leaving a stream helper's ``with`` early (``break``) ends the call's span there, as ``closed``, with the cyclic GC
switched off: the helpers' ``close()`` closes the HTTP response and sits in a reference cycle, so nothing else would."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from tests.llm_drivers import DRIVERS, LLMDriver

_HELPERS = {
    "openai-chat": lambda client: client.chat.completions.stream(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "tell me a long story " * 20}]
    ),
    "openai-responses": lambda client: client.responses.stream(model="gpt-5", input="tell me a long story " * 20),
    "anthropic-messages": lambda client: client.messages.stream(
        model="claude-demo", max_tokens=256, messages=[{"role": "user", "content": "tell me a long story " * 20}]
    ),
}


@pytest.fixture(autouse=True)
def _no_cyclic_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.fixture(params=DRIVERS, ids=[driver.id for driver in DRIVERS])
def driver(request: pytest.FixtureRequest, instrument: Any) -> LLMDriver:
    chosen: LLMDriver = request.param
    instrument(chosen.instrumentor)
    return chosen


def _ended_as(exporter: Any) -> list[Any]:
    return [span.attributes["agentperf.stream.end"] for span in exporter.get_finished_spans()]


def test_break_out_of_sync_helper(driver, span_exporter):
    with _HELPERS[driver.id](driver.client()) as stream:
        for _ in stream:
            break
        assert _ended_as(span_exporter) == []
    assert _ended_as(span_exporter) == ["closed"]


async def test_break_out_of_async_helper(driver, span_exporter):
    async with _HELPERS[driver.id](driver.async_client()) as stream:
        async for _ in stream:
            break
        assert _ended_as(span_exporter) == []
    assert _ended_as(span_exporter) == ["closed"]


def test_helper_closed_directly(driver, span_exporter):
    manager = _HELPERS[driver.id](driver.client())
    stream = manager.__enter__()
    next(iter(stream))
    stream.close()
    assert _ended_as(span_exporter) == ["closed"]
    manager.__exit__(None, None, None)
    assert _ended_as(span_exporter) == ["closed"]


def test_helper_read_to_the_end_stays_completed(driver, span_exporter):
    with _HELPERS[driver.id](driver.client()) as stream:
        for _ in stream:
            pass
    assert _ended_as(span_exporter) == ["completed"]
