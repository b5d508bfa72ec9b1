"""With content capture on, a streamed answer that calls tools records the same output messages as the same answer
not streamed: tool-call deltas are put together into ``tool_call`` parts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.llm_drivers import DRIVERS, LLMDriver

_TOOLS = {
    "openai-chat": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    "anthropic-messages": [{"name": "get_weather", "input_schema": {"type": "object"}}],
}


@pytest.fixture(params=[driver for driver in DRIVERS if driver.id in _TOOLS], ids=lambda driver: driver.id)
def driver(request: pytest.FixtureRequest, instrument: Any) -> LLMDriver:
    chosen: LLMDriver = request.param
    instrument(chosen.instrumentor, capture_content="SPAN_ONLY")
    return chosen


def _output_messages(exporter: Any) -> list[Any]:
    (span,) = exporter.get_finished_spans()
    exporter.clear()
    return json.loads(span.attributes["gen_ai.output.messages"])  # type: ignore[no-any-return]


def test_streamed_tool_calls_are_captured_as_parts(driver, span_exporter):
    client = driver.client()
    driver.call(client, tools=_TOOLS[driver.id])
    not_streamed = _output_messages(span_exporter)
    for _ in driver.call(client, stream=True, tools=_TOOLS[driver.id]):
        pass
    streamed = _output_messages(span_exporter)

    (message,) = streamed
    assert [part["type"] for part in message["parts"]] == ["tool_call"]
    assert message["parts"][0]["name"] == "get_weather"
    assert streamed == not_streamed


async def test_async_streamed_tool_calls_are_captured_as_parts(driver, span_exporter):
    client = driver.async_client()
    await driver.call(client, tools=_TOOLS[driver.id])
    not_streamed = _output_messages(span_exporter)
    async for _ in await driver.call(client, stream=True, tools=_TOOLS[driver.id]):
        pass
    assert _output_messages(span_exporter) == not_streamed
