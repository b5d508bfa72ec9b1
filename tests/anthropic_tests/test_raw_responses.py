"""Anthropic raw-response forms record what a plain call records."""

from __future__ import annotations

import pytest

from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from tests.anthropic_tests.test_messages import REQUEST, _async_client, _client
from tests.helpers import one_span

PER_CALL = ("gen_ai.response.id", "gen_ai.response.time_to_first_chunk")


@pytest.fixture
def instrumented(instrument):
    return lambda **kwargs: instrument(AnthropicInstrumentor, **kwargs)


def comparable(span):
    return {key: value for key, value in span.attributes.items() if key not in PER_CALL}


def plain_attributes(span_exporter, stream: bool) -> dict:
    if stream:
        for _ in _client().messages.create(**REQUEST, stream=True):
            pass
    else:
        _client().messages.create(**REQUEST)
    attributes = comparable(one_span(span_exporter))
    span_exporter.clear()
    return attributes


@pytest.mark.parametrize("stream", [False, True])
def test_raw_forms_record_like_plain_calls(instrumented, span_exporter, stream):
    """with_raw_response and with_streaming_response, streamed or not: usage, model, finish reasons, chunks."""
    instrumented()
    expected = plain_attributes(span_exporter, stream)
    assert expected["gen_ai.usage.output_tokens"] > 0
    client = _client()
    raw = client.messages.with_raw_response.create(**REQUEST, stream=stream)
    if stream:
        assert span_exporter.get_finished_spans() == ()
        for _ in raw.parse():
            pass
    assert comparable(one_span(span_exporter)) == expected
    span_exporter.clear()
    with client.messages.with_streaming_response.create(**REQUEST, stream=stream) as response:
        parsed = response.parse()
        if stream:
            for _ in parsed:
                pass
    assert comparable(one_span(span_exporter)) == expected


@pytest.mark.parametrize("stream", [False, True])
async def test_async_raw_forms_record_like_plain_calls(instrumented, span_exporter, stream):
    instrumented()
    expected = plain_attributes(span_exporter, stream)
    client = _async_client()
    raw = await client.messages.with_raw_response.create(**REQUEST, stream=stream)
    parsed = raw.parse()
    if not stream and hasattr(parsed, "__await__"):
        parsed = await parsed
    if stream:
        if hasattr(parsed, "__await__"):
            parsed = await parsed
        async for _ in parsed:
            pass
    assert comparable(one_span(span_exporter)) == expected


def test_client_bound_before_instrument_and_after_uninstrument(instrumented, span_exporter):
    """A client first used before instrument() is traced; after uninstrument() nothing is emitted."""
    client = _client()
    client.messages.with_raw_response.create(**REQUEST)
    instrumentor = instrumented()
    client.messages.with_raw_response.create(**REQUEST)
    assert one_span(span_exporter).attributes["gen_ai.usage.input_tokens"] > 0
    instrumentor.uninstrument()
    client.messages.with_raw_response.create(**REQUEST)
    assert len(span_exporter.get_finished_spans()) == 1
