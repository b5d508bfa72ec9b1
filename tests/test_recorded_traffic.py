"""Response bodies recorded from the real OpenAI and Anthropic APIs, replayed through the real SDKs.

Each file in ``tests/recordings`` holds one response as the API sent it (status, headers, and a JSON body or the
server-sent events of a stream); a MockTransport of the SDK's own HTTP client serves it, so the SDK parses it as it
would parse the real service's answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import one_span

RECORDINGS = Path(__file__).parent / "recordings"
API_KEY = "sk-test-secret-key-0123456789"


def _body(recording: dict[str, Any]) -> bytes:
    if "sse" not in recording:
        return json.dumps(recording["body"]).encode()
    lines = []
    for event in recording["sse"]:
        data = event["data"]
        if "event" in event:
            lines.append(f"event: {event['event']}")
        lines.append(f"data: {data if isinstance(data, str) else json.dumps(data)}\n")
    return ("\n".join(lines) + "\n").encode()


def replay(name: str, sent: list[dict[str, Any]] | None = None) -> httpx2.MockTransport:
    """A transport answering every request with the recording ``name``; request bodies are appended to ``sent``."""
    recording = json.loads((RECORDINGS / f"{name}.json").read_text())

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == recording["request"]["path"]
        if sent is not None:
            sent.append(json.loads(request.content))
        return httpx2.Response(recording["status"], headers=recording["headers"], content=_body(recording))

    return httpx2.MockTransport(handler)


def openai_client(name: str, sent: list[dict[str, Any]] | None = None) -> openai.OpenAI:
    http = httpx2.Client(transport=replay(name, sent))
    return openai.OpenAI(api_key=API_KEY, base_url="https://api.openai.com/v1", http_client=http, max_retries=0)


def anthropic_client(name: str, sent: list[dict[str, Any]] | None = None) -> anthropic.Anthropic:
    http = httpx2.Client(transport=replay(name, sent))
    return anthropic.Anthropic(api_key=API_KEY, base_url="https://api.anthropic.com", http_client=http, max_retries=0)


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "span_only")


def attributes_of(exporter) -> dict[str, Any]:
    return dict(one_span(exporter).attributes)


def messages(attributes: dict[str, Any], key: str) -> Any:
    return json.loads(attributes[key])


def test_chat_completion(instrument, span_exporter):
    instrument(OpenAIInstrumentor)
    openai_client("openai_chat").chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}]
    )
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.response.id"] == "chatcmpl-BQzR3kXhN1vW8e7Yp2LmTq9sUaC4D"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 1342
    assert attributes["gen_ai.usage.output_tokens"] == 8
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 1280
    assert attributes["openai.response.system_fingerprint"] == "fp_0392822090"
    assert attributes["openai.response.service_tier"] == "default"
    assert attributes["server.address"] == "api.openai.com"


def test_chat_stream_records_fingerprint_and_service_tier_from_the_chunks(instrument, span_exporter):
    """The chunks carry system_fingerprint and service_tier: the stream's span has them as a plain call's does."""
    instrument(OpenAIInstrumentor)
    stream = openai_client("openai_chat_stream").chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello in French"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "Bonjour !"
    attributes = attributes_of(span_exporter)
    assert attributes["openai.response.system_fingerprint"] == "fp_dbaca60df0"
    assert attributes["openai.response.service_tier"] == "default"
    assert attributes["gen_ai.response.id"] == "chatcmpl-BQzTe2yqKpX0aVbN5mHcRj7wLd8Fs"
    assert attributes["gen_ai.usage.input_tokens"] == 12
    assert attributes["gen_ai.usage.output_tokens"] == 3
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["agentperf.stream.chunk_count"] == 4


def test_chat_tool_calls_and_tool_results(instrument, span_exporter, capture):
    """Tool calls in the output; role: tool messages in the input are tool_call_response parts with their call id."""
    instrument(OpenAIInstrumentor)
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_prev", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_prev", "content": '{"temperature": 18}'},
    ]
    openai_client("openai_chat_tools").chat.completions.create(model="gpt-4o", messages=history)
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    inputs = messages(attributes, "gen_ai.input.messages")
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_prev", "response": '{"temperature": 18}'}],
    }
    (output,) = messages(attributes, "gen_ai.output.messages")
    assert [(part["type"], part["id"]) for part in output["parts"]] == [
        ("tool_call", "call_n6ZQ1eJ0pW3hT8kYbM2vC7xA"),
        ("tool_call", "call_R4sD9fG2hJ5kL8mN1pQ3tV6w"),
    ]


def test_chat_with_two_choices(instrument, span_exporter):
    instrument(OpenAIInstrumentor)
    openai_client("openai_chat_n2").chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Colour of the sky?"}], n=2, max_tokens=5
    )
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.request.choice.count"] == 2
    assert attributes["gen_ai.response.finish_reasons"] == ("stop", "length")


def test_chat_error(instrument, span_exporter):
    instrument(OpenAIInstrumentor)
    with pytest.raises(openai.NotFoundError):
        openai_client("openai_chat_error").chat.completions.create(
            model="gpt-nonexistent", messages=[{"role": "user", "content": "hi"}]
        )
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == "NotFoundError"
    assert "does not exist" in span.status.description


def test_embeddings(instrument, span_exporter):
    instrument(OpenAIInstrumentor)
    openai_client("openai_embeddings").embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=4)
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == 9
    assert attributes["gen_ai.embeddings.dimension.count"] == 4


def test_service_tier_passed_through_extra_body_is_read(instrument, span_exporter):
    instrument(OpenAIInstrumentor)
    sent: list[dict[str, Any]] = []
    openai_client("openai_chat", sent).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_body={"service_tier": "flex"}
    )
    assert sent[0]["service_tier"] == "flex"
    assert attributes_of(span_exporter)["openai.request.service_tier"] == "flex"


def test_responses_reasoning_summary_is_a_reasoning_part(instrument, span_exporter, capture):
    instrument(OpenAIInstrumentor)
    openai_client("openai_responses_reasoning").responses.create(
        model="o4-mini", input="Which is larger, 9.11 or 9.9?", reasoning={"effort": "medium", "summary": "detailed"}
    )
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 192
    assert attributes["openai.response.service_tier"] == "default"
    (output,) = messages(attributes, "gen_ai.output.messages")
    assert output["parts"] == [
        {"type": "reasoning", "content": "**Comparing the numbers**\n\n9.11 has a smaller tenths digit than 9.9."},
        {"type": "text", "content": "9.9 is larger than 9.11."},
    ]


def test_responses_function_call_output_is_a_tool_call_response(instrument, span_exporter, capture):
    instrument(OpenAIInstrumentor)
    openai_client("openai_responses_reasoning").responses.create(
        model="o4-mini",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {"type": "function_call", "call_id": "call_42", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_42", "output": "18 degrees"},
        ],
    )
    inputs = messages(attributes_of(span_exporter), "gen_ai.input.messages")
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_42", "response": "18 degrees"}],
    }
    assert inputs[1]["parts"][0]["type"] == "tool_call"


def test_anthropic_thinking_and_cache_creation(instrument, span_exporter, capture):
    """Thinking blocks are reasoning parts with their text; cache writes use the conventions' attribute name."""
    instrument(AnthropicInstrumentor)
    anthropic_client("anthropic_thinking").messages.create(
        model="claude-sonnet-4-20250514",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "27 * 453?"}],
    )
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == 2051
    assert "gen_ai.usage.cache_write.input_tokens" not in attributes
    assert attributes["gen_ai.usage.input_tokens"] == 42 + 2051
    (output,) = messages(attributes, "gen_ai.output.messages")
    thinking = "The user asks for 27 * 453. 27 * 453 = 27 * 400 + 27 * 53 = 10800 + 1431 = 12231."
    assert output["parts"] == [
        {"type": "reasoning", "content": thinking},
        {"type": "text", "content": "27 × 453 = 12,231."},
    ]


def test_anthropic_thinking_stream(instrument, span_exporter, capture):
    instrument(AnthropicInstrumentor)
    stream = anthropic_client("anthropic_thinking_stream").messages.create(
        model="claude-sonnet-4-20250514",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Capital of Japan?"}],
        stream=True,
    )
    for _ in stream:
        pass
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 2051
    assert attributes["gen_ai.usage.output_tokens"] == 58
    (output,) = messages(attributes, "gen_ai.output.messages")
    assert output["parts"] == [
        {"type": "reasoning", "content": "Capital of Japan: Tokyo."},
        {"type": "text", "content": "The capital of Japan is Tokyo."},
    ]
    assert output["finish_reason"] == "end_turn"


def test_anthropic_sampling_parameters_passed_through_extra_body_are_read(instrument, span_exporter):
    instrument(AnthropicInstrumentor)
    sent: list[dict[str, Any]] = []
    anthropic_client("anthropic_thinking", sent).messages.create(
        model="claude-sonnet-4-20250514",
        max_tokens=256,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 40},
    )
    assert sent[0]["temperature"] == 0.2
    attributes = attributes_of(span_exporter)
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.top_k"] == 40


def test_anthropic_overloaded(instrument, span_exporter):
    instrument(AnthropicInstrumentor)
    with pytest.raises(anthropic.APIStatusError) as raised:
        anthropic_client("anthropic_overloaded").messages.create(
            model="claude-sonnet-4-20250514", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert "Overloaded" in span.status.description
