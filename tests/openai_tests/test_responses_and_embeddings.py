"""The Responses API and embeddings."""

from __future__ import annotations

import json

from tests.helpers import one_span, points


def test_responses_call(instrumented, client, span_exporter, metric_reader):
    """responses.create gives a chat span with api type responses, usage and finish reason."""
    instrumented()
    response = client.responses.create(model="gpt-5", input="Summarise the news", max_output_tokens=100)
    span = one_span(span_exporter)
    assert span.name == "chat gpt-5"
    assert span.attributes["openai.api.type"] == "responses"
    assert span.attributes["gen_ai.request.max_tokens"] == 100
    assert span.attributes["gen_ai.response.id"] == response.id
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert sum(p.count for p in points(metric_reader, "gen_ai.client.token.usage")) == 2


def test_responses_stream(instrumented, client, span_exporter, metric_reader):
    """A streamed response counts only text deltas as output chunks and reads usage from the completed event."""
    instrumented()
    events = list(client.responses.create(model="gpt-5", input="Summarise the news", stream=True))
    deltas = [event for event in events if event.type == "response.output_text.delta"]
    completed = events[-1].response
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.chunk_count"] == len(deltas)
    assert span.attributes["gen_ai.usage.output_tokens"] == completed.usage.output_tokens
    assert span.attributes["gen_ai.response.model"] == completed.model
    assert points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")[0].count == 1


def test_responses_content_capture(instrumented, client, span_exporter):
    """Instructions and input are captured in the conventions' shape when opted in."""
    instrumented(capture_content="SPAN_ONLY")
    client.responses.create(model="gpt-5", input="Summarise", instructions="Be brief")
    span = one_span(span_exporter)
    assert json.loads(span.attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief"}]
    assert json.loads(span.attributes["gen_ai.input.messages"])[0]["parts"][0]["content"] == "Summarise"
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["type"] == "text"


def test_embeddings_call(instrumented, client, span_exporter, metric_reader):
    """embeddings.create gives an embeddings span with input tokens and the vector size, and no output tokens."""
    instrumented()
    response = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=16)
    span = one_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 16
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert "gen_ai.usage.output_tokens" not in span.attributes
    (tokens,) = points(metric_reader, "gen_ai.client.token.usage")
    assert tokens.attributes["gen_ai.token.type"] == "input"


async def test_async_embeddings(instrumented, async_client, span_exporter):
    """The async embeddings resource is instrumented too."""
    instrumented()
    await async_client.embeddings.create(model="text-embedding-3-small", input="a")
    assert one_span(span_exporter).name == "embeddings text-embedding-3-small"


def test_responses_stream_helper_goes_through_create(instrumented, client, span_exporter):
    """responses.stream() sends its request through create(stream=True) and is traced with it."""
    instrumented()
    with client.responses.stream(model="gpt-5", input="Summarise the news") as stream:
        final = stream.get_final_response()
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
