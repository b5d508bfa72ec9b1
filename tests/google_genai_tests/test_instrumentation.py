"""What the Google Gen AI instrumentor records, through the real SDK on the fake service."""

from __future__ import annotations

import json

import pytest
from google.genai import types

from otel_agentperf.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from tests.google_genai_tests.conftest import FAST_RETRIES, LONG_PROMPT, MODEL, ClientFactory, with_fault
from tests.helpers import one_span, points

THINKING = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=256))


@pytest.fixture
def instrumented(instrument):
    return lambda **kwargs: instrument(GoogleGenAIInstrumentor, **kwargs)


def test_usage_cache_reasoning_and_finish(genai_client: ClientFactory, instrumented, span_exporter, metric_reader):
    instrumented()
    response = genai_client().models.generate_content(model=MODEL, contents=LONG_PROMPT, config=THINKING)
    usage = response.usage_metadata
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert attributes["gen_ai.response.model"] == response.model_version
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_token_count
    assert attributes["gen_ai.usage.output_tokens"] == usage.candidates_token_count + usage.thoughts_token_count
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == usage.thoughts_token_count > 0
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == usage.cached_content_token_count > 0
    (cache_read,) = points(metric_reader, "gen_ai.client.inference.usage.cache_read.input_tokens")
    assert cache_read.value == usage.cached_content_token_count


def test_request_attributes_and_max_tokens(genai_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    config = types.GenerateContentConfig(max_output_tokens=3, temperature=0.5, response_mime_type="text/plain")
    genai_client().models.generate_content(model=MODEL, contents="Hi", config=config)
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.request.max_tokens"] == 3
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.output.type"] == "text"
    assert attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)


def test_tool_use_prompt_tokens_count_as_input(genai_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    config = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())])
    usage = genai_client().models.generate_content(model=MODEL, contents="Hi", config=config).usage_metadata
    attributes = one_span(span_exporter).attributes
    assert attributes["agentperf.usage.tool_use_prompt_tokens"] == usage.tool_use_prompt_token_count > 0
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_token_count + usage.tool_use_prompt_token_count


@pytest.mark.parametrize(
    "vertex",
    [{"vertexai": True}, {"vertexai": True, "project": "demo-project", "location": "us-central1"}],
    ids=["express", "project"],
)
def test_vertex_ai_provider(genai_client: ClientFactory, instrumented, span_exporter, vertex):
    instrumented()
    genai_client(**vertex).models.generate_content(model=MODEL, contents="Hi")
    assert one_span(span_exporter).attributes["gen_ai.provider.name"] == "gcp.vertex_ai"


def test_embed_content(genai_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    config = types.EmbedContentConfig(output_dimensionality=4)
    genai_client().models.embed_content(model="gemini-embedding-001", contents=["one", "two"], config=config)
    span = one_span(span_exporter)
    assert span.name == "embeddings gemini-embedding-001"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 4


def test_stream_chunk_gaps_and_streamed_content(genai_client, instrumented, span_exporter, metric_reader):
    instrumented(capture_content="SPAN_ONLY")
    chunks = list(genai_client().models.generate_content_stream(model=MODEL, contents=LONG_PROMPT, config=THINKING))
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.chunk_count"] == len(chunks)
    usage = chunks[-1].usage_metadata
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == usage.cached_content_token_count
    (gaps,) = points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert gaps.count == len(chunks) - 1
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["parts"] == [{"type": "text", "content": "".join(chunk.text or "" for chunk in chunks)}]
    assert message["finish_reason"] == "stop"


async def test_async_stream_closed_with_aclose(genai_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    async with genai_client().aio as client:
        stream = await client.models.generate_content_stream(model=MODEL, contents=LONG_PROMPT)
        await stream.__anext__()
        await stream.aclose()
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "closed"


def test_chat_messages_are_calls(genai_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    chat = genai_client().chats.create(model=MODEL)
    chat.send_message("First question")
    list(chat.send_message_stream("Second question"))
    ends = [span.attributes.get("agentperf.stream.end") for span in span_exporter.get_finished_spans()]
    assert ends == [None, "completed"]


@pytest.mark.parametrize("with_tenacity", [False, True], ids=["alone", "with-tenacity-instrumentor"])
def test_retry_options_counted_once(
    genai_client: ClientFactory, instrument, instrumented, span_exporter, metric_reader, with_tenacity
):
    """google-genai retries through tenacity: with both instrumentors on, each retry is still counted once."""
    instrumented()
    if with_tenacity:
        instrument(TenacityInstrumentor)
    config = with_fault("retry-once:503", FAST_RETRIES)
    genai_client().models.generate_content(model=MODEL, contents="Hi", config=config)
    span = one_span(span_exporter)
    assert span.attributes["agentperf.retry.count"] == 1
    assert span.attributes["agentperf.retry.backoff_time"] >= 0.01  # the initial delay FAST_RETRIES asks for
    (event,) = span.events
    assert (event.attributes["error.type"], event.attributes["http.response.status_code"]) == ("503", 503)
    (retries,) = points(metric_reader, "agentperf.retries")
    assert (retries.attributes["agentperf.retry.source"], retries.value) == ("google_genai", 1)


def test_tenacity_outside_the_sdk_still_counts(genai_client: ClientFactory, instrument, instrumented, metric_reader):
    """The user's own tenacity loop around a call is not the SDK's: its retries are counted as tenacity's."""
    import tenacity

    instrumented()
    instrument(TenacityInstrumentor)
    client = genai_client()
    config = with_fault("retry-once:503")

    @tenacity.retry(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_none())
    def ask():
        return client.models.generate_content(model=MODEL, contents="Hi", config=config)

    ask()
    sources = {p.attributes["agentperf.retry.source"]: p.value for p in points(metric_reader, "agentperf.retries")}
    assert sources == {"tenacity": 1}


def test_captured_history_roles_and_system(genai_client: ClientFactory, instrumented, span_exporter):
    instrumented(capture_content="SPAN_ONLY")
    history = [
        types.Content(role="user", parts=[types.Part(text="First question")]),
        types.Content(role="model", parts=[types.Part(text="First answer")]),
        types.Content(role="user", parts=[types.Part(text="Second question")]),
    ]
    config = types.GenerateContentConfig(system_instruction="Be brief.")
    genai_client().models.generate_content(model=MODEL, contents=history, config=config)
    attributes = one_span(span_exporter).attributes
    messages = json.loads(attributes["gen_ai.input.messages"])
    assert [(m["role"], m["parts"][0]["content"]) for m in messages] == [
        ("user", "First question"),
        ("assistant", "First answer"),
        ("user", "Second question"),
    ]
    assert json.loads(attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
