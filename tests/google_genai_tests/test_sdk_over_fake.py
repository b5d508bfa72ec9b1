"""google-genai, uninstrumented, parses what the fake LLM service answers: the fake speaks the Gemini wire format."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import errors, types

from tests.google_genai_tests.conftest import FAST_RETRIES, LONG_PROMPT, MODEL, ClientFactory, with_fault

THINKING = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=256))


def test_generate_content_usage_and_finish(genai_client: ClientFactory) -> None:
    response = genai_client().models.generate_content(model=MODEL, contents=LONG_PROMPT, config=THINKING)
    usage = response.usage_metadata
    assert response.text.startswith("Here is what I found about: Which city")
    assert response.model_version == f"{MODEL}-001"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert 0 < usage.cached_content_token_count < usage.prompt_token_count
    assert usage.thoughts_token_count > 0
    assert usage.total_token_count == (
        usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count
    )
    assert response.sdk_http_response.headers["content-type"] == "application/json"


def test_max_output_tokens_cuts_the_answer(genai_client: ClientFactory) -> None:
    config = types.GenerateContentConfig(max_output_tokens=3)
    response = genai_client().models.generate_content(model=MODEL, contents="Hi", config=config)
    assert response.text == "Here is what"
    assert response.usage_metadata.candidates_token_count == 3
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_function_call_then_answer(genai_client: ClientFactory) -> None:
    declaration = types.FunctionDeclaration(name="search", description="Search the web.")
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])
    client = genai_client()
    first = client.models.generate_content(model=MODEL, contents="Find news", config=config)
    (call,) = first.function_calls
    assert (call.name, call.args) == ("search", {"query": "latest"})
    reply = types.Part.from_function_response(name="search", response={"result": "sunny"})
    contents = [types.Content(role="user", parts=[types.Part(text="Find news")]), first.candidates[0].content]
    second = client.models.generate_content(
        model=MODEL, contents=[*contents, types.Content(role="user", parts=[reply])], config=config
    )
    assert second.function_calls is None
    assert second.text


def test_built_in_tool_counts_tool_use_prompt_tokens(genai_client: ClientFactory) -> None:
    config = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch())])
    response = genai_client().models.generate_content(model=MODEL, contents="Hi", config=config)
    assert response.usage_metadata.tool_use_prompt_token_count > 0


def test_stream_chunks_then_usage(genai_client: ClientFactory) -> None:
    client = genai_client()
    whole = client.models.generate_content(model=MODEL, contents=LONG_PROMPT, config=THINKING)
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=LONG_PROMPT, config=THINKING))
    assert len(chunks) > 2
    assert "".join(chunk.text or "" for chunk in chunks) == whole.text
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata == whole.usage_metadata
    assert all(chunk.candidates[0].finish_reason is None for chunk in chunks[:-1])
    assert all(chunk.usage_metadata.candidates_token_count is None for chunk in chunks[:-1])


def test_stream_closed_early(genai_client: ClientFactory) -> None:
    stream = genai_client().models.generate_content_stream(model=MODEL, contents=LONG_PROMPT)
    assert next(stream).text == "Here"
    stream.close()


async def test_async_generate_and_stream(genai_client: ClientFactory) -> None:
    async with genai_client().aio as client:
        await _generate_and_stream(client)


async def _generate_and_stream(client: Any) -> None:
    response = await client.models.generate_content(model=MODEL, contents=LONG_PROMPT)
    stream = await client.models.generate_content_stream(model=MODEL, contents=LONG_PROMPT)
    chunks = [chunk async for chunk in stream]
    assert "".join(chunk.text or "" for chunk in chunks) == response.text
    assert chunks[-1].usage_metadata.cached_content_token_count == response.usage_metadata.cached_content_token_count


def test_chat_keeps_history(genai_client: ClientFactory) -> None:
    chat = genai_client().chats.create(model=MODEL)
    assert chat.send_message("First question").text.endswith("First question")
    chunks = list(chat.send_message_stream("Second question"))
    assert "".join(chunk.text or "" for chunk in chunks).endswith("Second question")
    assert [content.role for content in chat.get_history(curated=True)] == ["user", "model", "user"] + ["model"] * len(
        chunks
    )


async def test_async_chat(genai_client: ClientFactory) -> None:
    async with genai_client().aio as client:
        chat = client.chats.create(model=MODEL)
        assert (await chat.send_message("A question")).text.endswith("A question")
        assert len(chat.get_history(curated=True)) == 2


@pytest.mark.parametrize("vertex", [{}, {"vertexai": True}], ids=["gemini-api", "vertex-express"])
def test_embed_content(genai_client: ClientFactory, vertex: dict[str, bool]) -> None:
    config = types.EmbedContentConfig(output_dimensionality=4)
    response = genai_client(**vertex).models.embed_content(
        model="gemini-embedding-001", contents=["one", "two"], config=config
    )
    assert [len(embedding.values) for embedding in response.embeddings] == [4, 4]


@pytest.mark.parametrize(
    "vertex",
    [{"vertexai": True}, {"vertexai": True, "project": "demo-project", "location": "us-central1"}],
    ids=["express", "project"],
)
def test_vertex_ai(genai_client: ClientFactory, vertex: dict[str, object]) -> None:
    response = genai_client(**vertex).models.generate_content(model=MODEL, contents=LONG_PROMPT)
    assert response.usage_metadata.traffic_type == types.TrafficType.ON_DEMAND
    assert response.usage_metadata.cached_content_token_count > 0
    assert response.create_time is not None


def test_retry_options_retry_a_503(genai_client: ClientFactory) -> None:
    client = genai_client()
    with pytest.raises(errors.ServerError) as raised:
        client.models.generate_content(model=MODEL, contents="Hi", config=with_fault("retry-once:503"))
    assert (raised.value.code, raised.value.status) == (503, "UNAVAILABLE")
    retried = client.models.generate_content(
        model=MODEL, contents="Hi", config=with_fault("retry-once:503", FAST_RETRIES)
    )
    assert retried.text


async def test_async_retry_options_retry_a_429(genai_client: ClientFactory) -> None:
    async with genai_client().aio as client:
        with pytest.raises(errors.ClientError):
            await client.models.generate_content(model=MODEL, contents="Hi", config=with_fault("retry-once:429"))
        config = with_fault("retry-once:429", FAST_RETRIES)
        assert (await client.models.generate_content(model=MODEL, contents="Hi", config=config)).text


def test_persistent_429(genai_client: ClientFactory) -> None:
    with pytest.raises(errors.ClientError) as raised:
        genai_client().models.generate_content(
            model=MODEL, contents="Hi", config=with_fault("always:429", FAST_RETRIES)
        )
    assert (raised.value.code, raised.value.status) == (429, "RESOURCE_EXHAUSTED")


def test_malformed_body(genai_client: ClientFactory) -> None:
    with pytest.raises(ValueError):
        genai_client().models.generate_content(model=MODEL, contents="Hi", config=with_fault("malformed"))
