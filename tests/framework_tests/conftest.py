"""Frameworks over the fake LLM service: LangChain's ChatOpenAI on a real openai client, through an httpx2 transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from langchain_openai import ChatOpenAI

from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import fake_handler
from tests.openai_tests.conftest import API_KEY, BASE_URL


def chat_model() -> ChatOpenAI:
    """A LangChain chat model whose requests reach the fake LLM service (sync and async)."""
    return ChatOpenAI(
        model="gpt-4o-mini",
        api_key=API_KEY,
        base_url=BASE_URL,
        http_client=httpx2.Client(transport=httpx2.MockTransport(fake_handler())),
        http_async_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake_handler())),
        max_retries=0,
    )


@pytest.fixture
def graphs(instrument: Callable[..., Any]) -> None:
    """The openai and LangChain instrumentors, on the test providers."""
    instrument(OpenAIInstrumentor)
    instrument(LangChainToolsInstrumentor)
