"""One driver per LLM API, so that the conformance suite runs the same scenarios against every instrumentor.

A new provider adds a driver to ``DRIVERS``: how to build its real SDK client on the fake LLM service, make one call
(sync or async, streamed or not), and read the usage it reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anthropic
import boto3
import openai
import pytest
from botocore.config import Config as BotocoreConfig
from google import genai
from google.genai import types as genai_types

from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.bedrock import BedrockInstrumentor
from otel_agentperf.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import ANTHROPIC_HTTP, OPENAI_HTTP, fake_handler, free_port, shared_fake_llm_url
from tests.litellm_tests.conftest import litellm  # LiteLLM set up offline

API_KEY = "sk-conformance-secret-0123456789"
PROMPT = "Which city hosts the 2031 conference? " * 20
Handler = Callable[[Any], Any]


class ConformanceDriver(Protocol):
    """What the conformance suite needs of a provider: its real SDK client on the fake service, and one call."""

    id: str
    instrumentor: type
    provider: str
    model: str
    operation: str
    server_address: str
    server_error: str
    """The class name of the SDK's error for a 500 that never clears."""
    connection_error: str
    retry_source: str

    @property
    def span_name(self) -> str: ...

    def usage(self, response: Any) -> tuple[int, int]:
        """(input tokens as the conventions count them, output tokens) of a complete response."""

    def new_client(self, retries: int = 0, *, asynchronous: bool = False) -> Any:
        """A client on the fake service that retries ``retries`` times."""

    def refused_client(self) -> Any:
        """A client whose connections are refused, without retries."""

    def invoke(self, client: Any, *, stream: bool = False, fault: str | None = None) -> Any:
        """One call of the driver's API, asking the fake for ``fault`` (``x-fake-fault``) if given."""


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

    # --- the conformance suite's interface (see ConformanceDriver) ----------------------------------------------
    operation = "chat"
    server_address = "llm.test"
    server_error = "InternalServerError"
    connection_error = "APIConnectionError"

    @property
    def retry_source(self) -> str:
        return self.provider

    def new_client(self, retries: int = 0, *, asynchronous: bool = False) -> Any:
        return (self.async_client if asynchronous else self.client)(max_retries=retries)

    def refused_client(self) -> Any:
        def refuse(request: Any) -> Any:
            raise self.http.ConnectError("refused", request=request)

        return self.client(fake_handler(refuse), max_retries=0)

    def invoke(self, client: Any, *, stream: bool = False, fault: str | None = None) -> Any:
        headers = {"extra_headers": {"x-fake-fault": fault}} if fault else {}
        return self.call(client, stream=stream, **headers)


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


class GoogleGenAIDriver:
    """google-genai's ``models.generate_content`` (``generate_content_stream`` when streamed) on the fake service."""

    id = "google-genai"
    instrumentor = GoogleGenAIInstrumentor
    provider = "gcp.gemini"
    model = "gemini-2.5-flash"
    operation = "generate_content"
    server_address = "127.0.0.1"
    server_error = "ServerError"
    connection_error = "ConnectError"
    retry_source = "google_genai"
    span_name = f"generate_content {model}"

    def __init__(self) -> None:
        self._clients: list[genai.Client] = []  # a genai.Client closes its HTTP client when collected

    @staticmethod
    def usage(response: Any) -> tuple[int, int]:
        usage = response.usage_metadata
        return usage.prompt_token_count, usage.candidates_token_count + (usage.thoughts_token_count or 0)

    def new_client(self, retries: int = 0, *, asynchronous: bool = False, base_url: str | None = None) -> Any:
        retry = genai_types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.01, max_delay=0.02, jitter=0)
        options = genai_types.HttpOptions(base_url=base_url or shared_fake_llm_url(), retry_options=retry)
        client = genai.Client(api_key=API_KEY, http_options=options)
        del self._clients[:-32]
        self._clients.append(client)
        return client.aio if asynchronous else client

    def refused_client(self) -> Any:
        return self.new_client(base_url=f"http://127.0.0.1:{free_port()}")

    def invoke(self, client: Any, *, stream: bool = False, fault: str | None = None) -> Any:
        config = None
        if fault:  # the fake counts attempts per header value: each call gets its own
            value = fault if fault == "malformed" else f"{fault}:{uuid.uuid4().hex}"
            options = genai_types.HttpOptions(headers={"x-fake-fault": value})
            config = genai_types.GenerateContentConfig(http_options=options)
        method = client.models.generate_content_stream if stream else client.models.generate_content
        return method(model=self.model, contents=PROMPT, config=config)


class BedrockDriver:
    """boto3 ``bedrock-runtime`` ``converse`` (``converse_stream``, whose event stream it returns) on the fake.

    botocore keeps a body it cannot parse out of a Converse result without raising: a malformed call is made streamed
    and read, where botocore checks every frame.
    """

    id = "bedrock-converse"
    instrumentor = BedrockInstrumentor
    provider = "aws.bedrock"
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    operation = "chat"
    server_address = "127.0.0.1"
    server_error = "InternalServerException"
    connection_error = "EndpointConnectionError"
    retry_source = "botocore"
    span_name = f"chat {model}"

    @staticmethod
    def usage(response: Any) -> tuple[int, int]:
        usage = response["usage"]
        cached = usage.get("cacheReadInputTokens", 0) + usage.get("cacheWriteInputTokens", 0)
        return usage["inputTokens"] + cached, usage["outputTokens"]

    def new_client(self, retries: int = 0, *, asynchronous: bool = False, endpoint_url: str | None = None) -> Any:
        if asynchronous:
            pytest.skip("boto3 has no async client (aiobotocore is not instrumented)")
        return boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=endpoint_url or shared_fake_llm_url(),
            aws_access_key_id="AKIDFAKEFAKEFAKE",
            aws_secret_access_key=API_KEY,
            config=BotocoreConfig(retries={"mode": "standard", "total_max_attempts": retries + 1}),
        )

    def refused_client(self) -> Any:
        return self.new_client(endpoint_url=f"http://127.0.0.1:{free_port()}")

    def invoke(self, client: Any, *, stream: bool = False, fault: str | None = None) -> Any:
        if fault:
            events = client.meta.events
            events.register_first("before-sign.bedrock-runtime.*", _header_adder(fault), unique_id="fault")
        messages = [{"role": "user", "content": [{"text": PROMPT}]}]
        if fault == "malformed":
            return list(client.converse_stream(modelId=self.model, messages=messages)["stream"])
        if stream:
            return client.converse_stream(modelId=self.model, messages=messages)["stream"]
        return client.converse(modelId=self.model, messages=messages)


@dataclass(frozen=True)
class _LiteLLMClient:
    """LiteLLM has no client object: what a call is given (``api_base``, ``num_retries``) and how it is made."""

    options: dict[str, Any]
    asynchronous: bool


class LiteLLMDriver:
    """``litellm.completion`` (``acompletion``) with the ``anthropic/`` prefix, which LiteLLM sends with its own HTTP
    client: retries are LiteLLM's ``num_retries``."""

    id = "litellm-anthropic"
    instrumentor = LiteLLMInstrumentor
    provider = "anthropic"
    model = "anthropic/claude-sonnet-4-5"
    operation = "chat"
    server_address = "127.0.0.1"
    server_error = "InternalServerError"
    connection_error = "InternalServerError"  # what LiteLLM maps a refused connection to, for Anthropic
    retry_source = "litellm"
    span_name = f"chat {model}"

    @staticmethod
    def usage(response: Any) -> tuple[int, int]:
        return response.usage.prompt_tokens, response.usage.completion_tokens

    def new_client(self, retries: int = 0, *, asynchronous: bool = False, base_url: str | None = None) -> Any:
        options = {"api_base": base_url or shared_fake_llm_url(), "api_key": API_KEY, "num_retries": retries}
        return _LiteLLMClient(options, asynchronous)

    def refused_client(self) -> Any:
        return self.new_client(base_url=f"http://127.0.0.1:{free_port()}")

    def invoke(self, client: Any, *, stream: bool = False, fault: str | None = None) -> Any:
        options = dict(client.options)
        if fault:  # the fake counts attempts per header value: each call gets its own
            value = fault if fault == "malformed" else f"{fault}:{uuid.uuid4().hex}"
            options["extra_headers"] = {"x-fake-fault": value}
        if stream:
            options.update(stream=True, stream_options={"include_usage": True})
        call = litellm.acompletion if client.asynchronous else litellm.completion
        return call(model=self.model, messages=[{"role": "user", "content": PROMPT}], **options)


def _header_adder(fault: str) -> Callable[..., None]:
    def add(request: Any, **_: Any) -> None:
        request.headers["x-fake-fault"] = fault

    return add


CONFORMANCE_DRIVERS: list[ConformanceDriver] = [*DRIVERS, GoogleGenAIDriver(), BedrockDriver(), LiteLLMDriver()]
