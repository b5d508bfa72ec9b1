"""Streams: the span ends exactly once however the stream ends, with chunk timing and (opt-in) usage."""

from __future__ import annotations

import gc
import json

import openai
import pytest
from opentelemetry.trace import StatusCode

from otel_agentperf.core.streams import finish_abandoned
from otel_agentperf.exceptions import ConfigurationError
from tests.helpers import one_span, points
from tests.openai_tests.conftest import USER_MESSAGES

STREAM = {"model": "gpt-4o-mini", "messages": USER_MESSAGES, "stream": True}


def test_consumed_stream_ends_span_with_timing(instrumented, client, span_exporter, metric_reader):
    """A stream read to its end ends the span as completed, with time to first chunk and chunk count."""
    instrumented()
    stream = client.chat.completions.create(**STREAM)
    assert not span_exporter.get_finished_spans()
    chunks = list(stream)

    span = one_span(span_exporter)
    output_chunks = [chunk for chunk in chunks if chunk.choices]
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["agentperf.stream.chunk_count"] == len(output_chunks)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.response.model"] == chunks[0].model
    assert 0 < span.attributes["gen_ai.response.time_to_first_chunk"] < 5
    (first_chunk,) = points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")
    assert first_chunk.count == 1
    assert first_chunk.sum == pytest.approx(span.attributes["gen_ai.response.time_to_first_chunk"])
    (per_chunk,) = points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == len(output_chunks) - 1
    assert per_chunk.attributes["gen_ai.response.model"] == chunks[0].model
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert 0 < per_chunk.sum < duration.sum - first_chunk.sum + 1e-6


def test_chunk_gaps_of_a_long_stream_are_recorded_in_batches(instrumented, client, metric_reader, monkeypatch):
    """Past GAP_BUFFER gaps a stream records them early; every chunk after the first still gives one point."""
    monkeypatch.setattr("otel_agentperf.core.llm.GAP_BUFFER", 3)
    instrumented()
    output_chunks = [
        chunk for chunk in client.chat.completions.create(**STREAM, max_completion_tokens=10) if chunk.choices
    ]
    assert len(output_chunks) > 7
    (per_chunk,) = points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == len(output_chunks) - 1


def test_stream_without_include_usage_reports_no_tokens(instrumented, client, span_exporter, metric_reader):
    """Without include_usage the stream carries no usage, and none is invented."""
    instrumented()
    list(client.chat.completions.create(**STREAM))
    span = one_span(span_exporter)
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert "gen_ai.usage.output_tokens" not in span.attributes
    assert not points(metric_reader, "gen_ai.client.token.usage")


def test_include_usage_opt_in_adds_stream_options(instrumented, client, span_exporter, metric_reader):
    """stream_include_usage asks for usage, which then reaches the span and the token metric."""
    instrumented(stream_include_usage=True)
    chunks = list(client.chat.completions.create(**STREAM))
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    span = one_span(span_exporter)
    assert span.attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens
    total = sum(point.sum for point in points(metric_reader, "gen_ai.client.token.usage"))
    assert total == usage.prompt_tokens + usage.completion_tokens


def test_include_usage_opt_in_respects_callers_choice(instrumented, client, span_exporter):
    """A caller that sets include_usage=False keeps that choice."""
    instrumented(stream_include_usage=True)
    chunks = list(client.chat.completions.create(**STREAM, stream_options={"include_usage": False}))
    assert all(chunk.usage is None for chunk in chunks)
    assert "gen_ai.usage.input_tokens" not in one_span(span_exporter).attributes


def test_break_then_close_ends_span_as_closed(instrumented, client, span_exporter):
    """Leaving the loop early and closing the stream ends the span once, as closed."""
    instrumented()
    stream = client.chat.completions.create(**STREAM)
    for _ in stream:
        break
    stream.close()
    stream.close()
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "closed"
    assert span.attributes["agentperf.stream.chunk_count"] == 1


def test_context_manager_exit_ends_span(instrumented, client, span_exporter):
    """Leaving a with block ends the span; the proxy keeps the stream's interface (response, iteration)."""
    instrumented()
    with client.chat.completions.create(**STREAM) as stream:
        assert stream.response.status_code == 200
        next(iter(stream))
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "closed"


def test_abandoned_stream_ends_span_on_garbage_collection(instrumented, client, span_exporter):
    """A stream dropped unfinished ends its span when collected."""
    instrumented()
    stream = client.chat.completions.create(**STREAM)
    next(stream)
    del stream
    gc.collect()
    finish_abandoned()
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "abandoned"


def test_stream_error_mid_way_marks_span(instrumented, client, span_exporter, metric_reader):
    """An exception raised while reading the stream ends the span with ERROR and propagates; chunk gaps carry it."""

    class Boom(Exception):
        pass

    instrumented()
    stream = client.chat.completions.create(**STREAM)
    original = stream.__wrapped__._iterator

    def failing():
        yield next(original)
        yield next(original)
        raise Boom("mid-stream")

    stream.__wrapped__._iterator = failing()
    with pytest.raises(Boom):
        list(stream)
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "test_stream_error_mid_way_marks_span.<locals>.Boom"
    assert span.attributes["agentperf.stream.end"] == "error"
    (per_chunk,) = points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 1 and per_chunk.attributes["error.type"] == span.attributes["error.type"]


def test_stream_content_is_accumulated_when_captured(instrumented, client, span_exporter):
    """With capture on, the streamed text is reassembled into the output message."""
    instrumented(capture_content="SPAN_ONLY")
    text = "".join(chunk.choices[0].delta.content or "" for chunk in client.chat.completions.create(**STREAM))
    (message,) = json.loads(one_span(span_exporter).attributes["gen_ai.output.messages"])
    assert message["parts"][0]["content"] == text
    assert message["finish_reason"] == "stop"


async def test_async_stream_consumed(instrumented, async_client, span_exporter, metric_reader):
    """An async stream read to its end ends the span with timing."""
    instrumented()
    stream = await async_client.chat.completions.create(**STREAM)
    chunks = [chunk async for chunk in stream]
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.chunk_count"] == len([c for c in chunks if c.choices])
    assert points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")[0].count == 1


async def test_async_stream_closed_early(instrumented, async_client, span_exporter):
    """Closing an async stream early ends the span as closed."""
    instrumented()
    stream = await async_client.chat.completions.create(**STREAM)
    async for _ in stream:
        break
    await stream.close()
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "closed"


async def test_async_stream_context_manager(instrumented, async_client, span_exporter):
    """async with ends the span on exit."""
    instrumented()
    async with await async_client.chat.completions.create(**STREAM) as stream:
        await stream.__anext__()
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "closed"


def test_stream_is_still_the_sdk_stream(instrumented, client):
    """The proxy passes isinstance checks for the SDK's Stream."""
    instrumented()
    stream = client.chat.completions.create(**STREAM)
    assert isinstance(stream, openai.Stream)
    stream.close()


def test_stream_helper_goes_through_create(instrumented, client, span_exporter):
    """chat.completions.stream() sends its request through create(stream=True): one span, ended with the stream."""
    instrumented()
    with client.chat.completions.stream(model="gpt-4o-mini", messages=USER_MESSAGES) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "content.done" in events
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["gen_ai.response.id"] == final.id
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_chunk_gaps_can_be_turned_off(instrumented, client, span_exporter, metric_reader):
    """chunk_gaps=False records no time_per_output_chunk; time to first chunk and the chunk count stay."""
    instrumented(chunk_gaps=False)
    chunks = [chunk for chunk in client.chat.completions.create(**STREAM) if chunk.choices]
    assert len(chunks) > 2
    assert not points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert [point.count for point in points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")] == [1]
    assert one_span(span_exporter).attributes["agentperf.stream.chunk_count"] == len(chunks)


def test_chunk_gaps_setting_is_checked_at_instrument_time(instrumented):
    """A chunk_gaps that is not a bool is a ConfigurationError from instrument(), not a failure mid-stream."""
    with pytest.raises(ConfigurationError, match="chunk_gaps"):
        instrumented(chunk_gaps="no")
