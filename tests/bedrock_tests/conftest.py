"""boto3 ``bedrock-runtime`` clients on the fake LLM service (fake credentials, ``endpoint_url`` on loopback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
LONG_PROMPT = "Which city hosts the 2031 conference? " * 20
SECRET_KEY = "bedrock-test-secret-0123456789"

ClientFactory = Callable[..., Any]


@pytest.fixture
def bedrock_client(fake_llm_url: str) -> ClientFactory:
    """``bedrock_client(mode="standard", attempts=3, fault=None)``: a bedrock-runtime client on the fake.

    ``attempts`` counts the first one (botocore's ``total_max_attempts``); ``fault`` is sent as ``x-fake-fault`` on
    every attempt (botocore numbers them in ``amz-sdk-request``).
    """

    def make(mode: str = "standard", attempts: int = 3, fault: str | None = None) -> Any:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=fake_llm_url,
            aws_access_key_id="AKIDFAKEFAKEFAKE",
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"mode": mode, "total_max_attempts": attempts}),
        )
        if fault is not None:
            client.meta.events.register("before-sign.bedrock-runtime.*", _add_header("x-fake-fault", fault))
        return client

    return make


def _add_header(name: str, value: str) -> Callable[..., None]:
    def add(request: Any, **_: Any) -> None:
        request.headers[name] = value

    return add


def user_turn(text: str = LONG_PROMPT) -> list[dict[str, Any]]:
    """Converse (and Nova) messages: one user turn."""
    return [{"role": "user", "content": [{"text": text}]}]


def claude_body(text: str = LONG_PROMPT, **fields: Any) -> str:
    """An ``invoke_model`` body for an Anthropic model on Bedrock."""
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
    }
    return json.dumps({**body, **fields})
