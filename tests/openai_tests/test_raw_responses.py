"""Raw-response forms (with_raw_response, with_streaming_response) record what a plain call records."""

from __future__ import annotations

import pytest

from tests.helpers import one_span
from tests.openai_tests.conftest import USER_MESSAGES, make_async_client, make_client

CHAT = {"model": "gpt-4o-mini", "messages": USER_MESSAGES, "temperature": 0.2}
PER_CALL = ("gen_ai.response.id", "gen_ai.response.time_to_first_chunk")
"""Attributes whose values differ between any two calls."""


def comparable(span):
    return {key: value for key, value in span.attributes.items() if key not in PER_CALL}


def plain_attributes(span_exporter, stream: bool) -> dict:
    client = make_client()
    if stream:
        for _ in client.chat.completions.create(**CHAT, stream=True):
            pass
    else:
        client.chat.completions.create(**CHAT)
    attributes = comparable(one_span(span_exporter))
    span_exporter.clear()
    return attributes


def test_raw_response_records_what_a_plain_call_records(instrumented, client, span_exporter):
    """Usage, response model and finish reasons are read from the raw response; parse() is the object read."""
    instrumented()
    expected = plain_attributes(span_exporter, stream=False)
    raw = client.chat.completions.with_raw_response.create(**CHAT)
    span = one_span(span_exporter)
    assert comparable(span) == expected
    assert expected["gen_ai.usage.input_tokens"] > 0
    parsed = raw.parse()
    assert span.attributes["gen_ai.response.id"] == parsed.id
    assert raw.parse() is parsed
    assert raw.headers["content-type"].startswith("application/json")


def test_raw_response_records_without_parse(instrumented, client, span_exporter):
    """The caller never calls parse(): the span still carries the usage."""
    instrumented()
    client.chat.completions.with_raw_response.create(**CHAT)
    assert one_span(span_exporter).attributes["gen_ai.usage.output_tokens"] > 0


def test_streamed_raw_response_ends_when_the_body_is_read(instrumented, client, span_exporter):
    """A raw stream's span ends when its chunks are read to the end, with chunk count and time to first chunk."""
    instrumented()
    expected = plain_attributes(span_exporter, stream=True)
    raw = client.chat.completions.with_raw_response.create(**CHAT, stream=True)
    assert span_exporter.get_finished_spans() == ()
    stream = raw.parse()
    chunks = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
    assert "".join(filter(None, chunks)).startswith("Here is")
    span = one_span(span_exporter)
    assert comparable(span) == expected
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["agentperf.stream.chunk_count"] == expected["agentperf.stream.chunk_count"] > 1
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


def test_streaming_response_records_like_a_plain_call(instrumented, client, span_exporter):
    """with_streaming_response, not streamed: the span carries the usage when the block is left."""
    instrumented()
    expected = plain_attributes(span_exporter, stream=False)
    with client.chat.completions.with_streaming_response.create(**CHAT) as response:
        parsed = response.parse()
    span = one_span(span_exporter)
    assert comparable(span) == expected
    assert span.attributes["gen_ai.response.id"] == parsed.id


def test_streaming_response_stream_ends_when_closed(instrumented, client, span_exporter):
    """with_streaming_response of a streamed call: read two chunks, leave the block: the span ends as closed."""
    instrumented()
    with client.chat.completions.with_streaming_response.create(**CHAT, stream=True) as response:
        stream = response.parse()
        next(iter(stream))
        next(iter(stream))
        assert span_exporter.get_finished_spans() == ()
        stream.close()
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "closed"
    assert span.attributes["agentperf.stream.chunk_count"] >= 1


@pytest.mark.parametrize("stream", [False, True])
async def test_async_raw_forms_record_like_plain_calls(instrumented, span_exporter, stream):
    """Async with_raw_response and with_streaming_response, streamed or not."""
    instrumented()
    expected = plain_attributes(span_exporter, stream=stream)
    client = make_async_client()
    raw = await client.chat.completions.with_raw_response.create(**CHAT, stream=stream)
    if stream:
        async for _ in raw.parse():
            pass
    assert comparable(one_span(span_exporter)) == expected
    span_exporter.clear()
    async with client.chat.completions.with_streaming_response.create(**CHAT, stream=stream) as response:
        parsed = await response.parse()
        if stream:
            async for _ in parsed:
                pass
    assert comparable(one_span(span_exporter)) == expected


def test_embeddings_and_responses_raw_forms(instrumented, client, span_exporter):
    """Every instrumented API is traced through its raw form."""
    instrumented()
    client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="hello")
    client.responses.with_raw_response.create(model="gpt-4o-mini", input="hello")
    embeddings, responses = span_exporter.get_finished_spans()
    assert embeddings.attributes["gen_ai.operation.name"] == "embeddings"
    assert embeddings.attributes["gen_ai.usage.input_tokens"] > 0
    assert responses.attributes["openai.api.type"] == "responses"
    assert responses.attributes["gen_ai.usage.output_tokens"] > 0


def test_client_used_before_instrument_is_traced(instrumented, client, span_exporter):
    """with_raw_response binds create on first use: a client first used before instrument() is traced after."""
    client.chat.completions.with_raw_response.create(**CHAT)
    instrumented()
    client.chat.completions.with_raw_response.create(**CHAT)
    assert one_span(span_exporter).attributes["gen_ai.usage.input_tokens"] > 0


def test_client_used_while_instrumented_is_quiet_after_uninstrument(instrumented, client, span_exporter):
    """A raw form bound while instrumented emits nothing after uninstrument()."""
    instrumentor = instrumented()
    client.chat.completions.with_raw_response.create(**CHAT)
    with client.chat.completions.with_streaming_response.create(**CHAT) as response:
        response.parse()
    assert len(span_exporter.get_finished_spans()) == 2
    instrumentor.uninstrument()
    client.chat.completions.with_raw_response.create(**CHAT)
    with client.chat.completions.with_streaming_response.create(**CHAT) as response:
        response.parse()
    assert len(span_exporter.get_finished_spans()) == 2


def test_raw_response_retries_are_counted(instrumented, span_exporter):
    """The SDK's retries inside a raw-response call count on its span."""
    instrumented()
    client = make_client(max_retries=2)
    client.chat.completions.with_raw_response.create(**CHAT, extra_headers={"x-fake-fault": "retry-once:429"})
    assert one_span(span_exporter).attributes["agentperf.retry.count"] == 1
