"""One driver per LLM API, so that the conformance suite runs the same scenarios against every instrumentor.

A new provider adds a driver to ``DRIVERS``: how to build its real SDK client on the fake LLM service, make one call
(sync or async, streamed or not), and read the usage it reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic
import openai

from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import ANTHROPIC_HTTP, OPENAI_HTTP, fake_handler

API_KEY = "sk-conformance-secret-0123456789"
PROMPT = "Which city hosts the 2031 conference? " * 20
Handler = Callable[[Any], Any]


@dataclass(frozen=True)
class LLMDriver:
    id: str
    instrumentor: type
    provider: str
    model: str
    sdk: Any
    base_url: str
    call_kwargs: Callable[[bool], dict[str, Any]]
    method: Callable[[Any], Any]
    usage: Callable[[Any], tuple[int, int]]
    """(input tokens as the conventions count them, output tokens) of a complete response."""
    http: Any
    """The HTTP library of the installed SDK major (httpx or httpx2)."""

    @property
    def span_name(self) -> str:
        return f"chat {self.model}"

    def client(self, handler: Handler | None = None, **options: Any) -> Any:
        http = self.http.Client(transport=self.http.MockTransport(handler or fake_handler()))
        return self.sdk.Client(api_key=API_KEY, base_url=self.base_url, http_client=http, **options)

    def async_client(self, handler: Handler | None = None, **options: Any) -> Any:
        http = self.http.AsyncClient(transport=self.http.MockTransport(handler or fake_handler()))
        return self.sdk.AsyncClient(api_key=API_KEY, base_url=self.base_url, http_client=http, **options)

    def call(self, client: Any, *, stream: bool = False, **kwargs: Any) -> Any:
        return self.method(client)(**self.call_kwargs(stream), **kwargs)


class _OpenAISDK:
    Client = openai.OpenAI
    AsyncClient = openai.AsyncOpenAI


class _AnthropicSDK:
    Client = anthropic.Anthropic
    AsyncClient = anthropic.AsyncAnthropic


def _chat_kwargs(stream: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if stream else {}
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}], "stream": stream, **options}


def _responses_kwargs(stream: bool) -> dict[str, Any]:
    return {"model": "gpt-5", "input": PROMPT, "stream": stream}


def _messages_kwargs(stream: bool) -> dict[str, Any]:
    return {
        "model": "claude-demo",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": stream,
    }


def _anthropic_usage(message: Any) -> tuple[int, int]:
    usage = message.usage
    total = usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens
    return total, usage.output_tokens


DRIVERS = [
    LLMDriver(
        id="openai-chat",
        instrumentor=OpenAIInstrumentor,
        provider="openai",
        model="gpt-4o-mini",
        sdk=_OpenAISDK,
        base_url="http://llm.test/v1",
        call_kwargs=_chat_kwargs,
        method=lambda client: client.chat.completions.create,
        usage=lambda response: (response.usage.prompt_tokens, response.usage.completion_tokens),
        http=OPENAI_HTTP,
    ),
    LLMDriver(
        id="openai-responses",
        instrumentor=OpenAIInstrumentor,
        provider="openai",
        model="gpt-5",
        sdk=_OpenAISDK,
        base_url="http://llm.test/v1",
        call_kwargs=_responses_kwargs,
        method=lambda client: client.responses.create,
        usage=lambda response: (response.usage.input_tokens, response.usage.output_tokens),
        http=OPENAI_HTTP,
    ),
    LLMDriver(
        id="anthropic-messages",
        instrumentor=AnthropicInstrumentor,
        provider="anthropic",
        model="claude-demo",
        sdk=_AnthropicSDK,
        base_url="http://llm.test",
        call_kwargs=_messages_kwargs,
        method=lambda client: client.messages.create,
        usage=_anthropic_usage,
        http=ANTHROPIC_HTTP,
    ),
]
