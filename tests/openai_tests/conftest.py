"""Real openai clients talking to the fake LLM service through an httpx2 (openai >= 3) or httpx (openai 2) transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import OPENAI_HTTP, fake_handler

API_KEY = "sk-test-secret-key-0123456789"
BASE_URL = "http://llm.test:8080/v1"

Handler = Callable[[OPENAI_HTTP.Request], OPENAI_HTTP.Response]


def make_client(handler: Handler | None = None, **options: Any) -> openai.OpenAI:
    transport = OPENAI_HTTP.MockTransport(handler or fake_handler())
    return openai.OpenAI(
        api_key=API_KEY, base_url=BASE_URL, http_client=OPENAI_HTTP.Client(transport=transport), **options
    )


def make_async_client(handler: Handler | None = None, **options: Any) -> openai.AsyncOpenAI:
    transport = OPENAI_HTTP.MockTransport(handler or fake_handler())
    client = OPENAI_HTTP.AsyncClient(transport=transport)
    return openai.AsyncOpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=client, **options)


@pytest.fixture
def instrumented(instrument: Callable[..., Any]) -> Callable[..., OpenAIInstrumentor]:
    """Instrument openai with the test providers: ``instrumented(**kwargs)``."""

    def _instrumented(**kwargs: Any) -> OpenAIInstrumentor:
        return instrument(OpenAIInstrumentor, **kwargs)  # type: ignore[no-any-return]

    return _instrumented


@pytest.fixture
def client() -> openai.OpenAI:
    return make_client()


@pytest.fixture
def async_client() -> openai.AsyncOpenAI:
    return make_async_client()


USER_MESSAGES = [{"role": "user", "content": "What is the weather in Paris today? " * 20}]
