"""Streams that end in every way a program can end them: the span ends exactly once, and nothing is left alive."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from otel_agentperf.core.streams import _StreamProxy, finish_abandoned
from tests.llm_drivers import DRIVERS, LLMDriver
from tests.reliability.test_fuzz import _valid


def _events(driver: LLMDriver) -> list[bytes]:
    return [block + b"\n\n" for block in _valid(driver.id, True).split(b"\n\n") if block]


@pytest.fixture(params=DRIVERS, ids=[driver.id for driver in DRIVERS])
def driver(request: pytest.FixtureRequest, instrument: Any) -> LLMDriver:
    chosen: LLMDriver = request.param
    instrument(chosen.instrumentor)
    return chosen


def _only_span(exporter: Any) -> Any:
    gc.collect()
    finish_abandoned()
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def _live_proxies() -> int:
    gc.collect()
    return sum(issubclass(type(thing), _StreamProxy) for thing in gc.get_objects())


def test_never_iterated(driver, span_exporter):
    """A stream never read and dropped: one span, ended as abandoned; no proxy left alive."""
    before = _live_proxies()
    stream = driver.call(driver.client(), stream=True)
    del stream
    assert _only_span(span_exporter).attributes["agentperf.stream.end"] == "abandoned"
    assert _live_proxies() == before


def test_partly_iterated_then_dropped(driver, span_exporter):
    """Two events read, then the stream dropped: one span, ended as abandoned."""
    stream = iter(driver.call(driver.client(), stream=True))
    next(stream), next(stream)
    del stream
    span = _only_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "abandoned"
    assert span.attributes["agentperf.stream.chunk_count"] <= 2


def test_keyboard_interrupt_while_reading(driver, span_exporter):
    """KeyboardInterrupt raised while the SDK reads: it reaches the caller unchanged; the span ends once, as error."""
    events = _events(driver)

    def body() -> Iterator[bytes]:
        yield from events[:2]
        raise KeyboardInterrupt

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    stream = driver.call(driver.client(handler, max_retries=0), stream=True)
    with pytest.raises(KeyboardInterrupt):
        for _ in stream:
            pass
    del stream
    span = _only_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "error"
    assert span.attributes["error.type"] == "KeyboardInterrupt"


def test_keyboard_interrupt_in_the_callers_loop(driver, span_exporter):
    """KeyboardInterrupt raised by the caller between chunks: the span ends once when the stream is dropped."""
    stream = driver.call(driver.client(), stream=True)
    with pytest.raises(KeyboardInterrupt):
        for _ in stream:
            raise KeyboardInterrupt
    del stream
    assert _only_span(span_exporter).attributes["agentperf.stream.end"] == "abandoned"


async def test_task_cancelled_mid_stream(driver, span_exporter):
    """A task cancelled while awaiting the next chunk: CancelledError propagates; the span ends once, as error."""
    events = _events(driver)
    reading = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        for event in events[:2]:
            yield event
        reading.set()
        await asyncio.sleep(3600)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    client = driver.async_client(handler, max_retries=0)

    async def consume() -> None:
        stream = await driver.call(client, stream=True)
        async for _ in stream:
            pass

    task = asyncio.create_task(consume())
    await reading.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = _only_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "error"
    assert span.attributes["error.type"] == "CancelledError"
