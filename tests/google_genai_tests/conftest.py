"""google-genai clients on the fake LLM service: the Gemini API, and Vertex AI in express and project modes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google import genai
from google.auth.credentials import Credentials
from google.genai import types

API_KEY = "gemini-test-secret-0123456789"
MODEL = "gemini-2.5-flash"
LONG_PROMPT = "Which city hosts the 2031 conference? " * 20
FAST_RETRIES = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.05, jitter=0)

ClientFactory = Callable[..., genai.Client]


class StaticToken(Credentials):  # type: ignore[misc]
    """Credentials whose refresh sets a fixed bearer token (Vertex AI with a project needs some)."""

    def refresh(self, request: Any) -> None:
        self.token = "vertex-test-token"


@pytest.fixture
def genai_client(fake_llm_url: str) -> Iterator[ClientFactory]:
    """``genai_client(**options)``: a client of the Gemini API (``vertexai=True`` for Vertex AI) on the fake.

    The clients live until the test ends: a ``genai.Client`` closes its HTTP client when collected.
    """
    clients: list[genai.Client] = []

    def make(**options: Any) -> genai.Client:
        if options.get("vertexai") and "project" in options:
            options.setdefault("credentials", StaticToken())
        else:
            options.setdefault("api_key", API_KEY)
        clients.append(genai.Client(http_options=types.HttpOptions(base_url=fake_llm_url), **options))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def with_fault(fault: str, retry_options: types.HttpRetryOptions | None = None, **config: Any) -> Any:
    """A request config that asks the fake for ``fault`` (made unique per call) with the given retry options."""
    headers = {"x-fake-fault": f"{fault}:{uuid.uuid4().hex}" if fault != "malformed" else fault}
    options = types.HttpOptions(headers=headers, retry_options=retry_options)
    return types.GenerateContentConfig(http_options=options, **config)
