"""LiteLLM on the fake LLM service, offline: its model cost map is the bundled one (no fetch at import).

LiteLLM reads ``LITELLM_LOCAL_MODEL_COST_MAP`` when it is imported, so it is set here, before any test module
imports it. ``LITELLM_OFFLINE_MODE`` also keeps its other catalogs (Anthropic beta headers, tokenizers) local.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

OFFLINE = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
os.environ.update(OFFLINE)

import litellm  # noqa: E402 - after the settings above

litellm.suppress_debug_info = True

LONG_PROMPT = "Which city hosts the 2031 conference? " * 20
MESSAGES = [{"role": "user", "content": LONG_PROMPT}]
AWS = {"aws_access_key_id": "AKIDFAKEFAKEFAKE", "aws_secret_access_key": "aws-secret", "aws_region_name": "us-east-1"}
API_KEY = "litellm-test-secret-0123456789"


def provider_kwargs(base_url: str) -> dict[str, dict[str, Any]]:
    """Per model prefix, the ``completion()`` arguments that reach it on the fake at ``base_url``."""
    return {
        "openai": {"model": "openai/gpt-4o-mini", "api_base": f"{base_url}/v1", "api_key": API_KEY},
        "anthropic": {"model": "anthropic/claude-sonnet-4-5", "api_base": base_url, "api_key": API_KEY},
        "gemini": {"model": "gemini/gemini-2.5-flash", "api_base": f"{base_url}/v1beta", "api_key": API_KEY},
        "bedrock": {"model": "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "api_base": base_url, **AWS},
    }


PROVIDERS = list(provider_kwargs(""))


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest, fake_llm_url: str) -> dict[str, Any]:
    """``completion()`` arguments for one model prefix on the fake."""
    return provider_kwargs(fake_llm_url)[request.param]


def fault(kind: str) -> dict[str, Any]:
    """``extra_headers`` asking the fake for ``kind`` (``retry-once:500``, ...), unique to this call."""
    return {"extra_headers": {"x-fake-fault": f"{kind}:{uuid.uuid4().hex}"}}


@pytest.fixture(autouse=True)
async def _close_litellm_clients() -> AsyncIterator[None]:
    """Close the HTTP clients LiteLLM caches per event loop, before pytest closes this test's loop under them."""
    yield
    await litellm.close_litellm_async_clients()
