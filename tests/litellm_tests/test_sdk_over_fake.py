"""LiteLLM, uninstrumented, parses what the fake LLM service answers for the openai, anthropic, gemini and bedrock
model prefixes: plain and streamed, sync and async, embeddings, its own retries, and the Router's fallbacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import litellm
import openai
import pytest

from tests.litellm_tests.conftest import MESSAGES, OFFLINE, fault, provider_kwargs

ROOT = Path(__file__).resolve().parents[2]


def _text(response: Any) -> str:
    return str(response.choices[0].message.content)


def test_completion(provider: dict[str, Any]) -> None:
    response = litellm.completion(messages=MESSAGES, **provider)
    assert _text(response).startswith("Here is what I found about") and "Which city" in _text(response)
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.prompt_tokens > response.usage.prompt_tokens_details.cached_tokens > 0
    assert response.usage.completion_tokens > 0
    assert response.model


async def test_acompletion(provider: dict[str, Any]) -> None:
    response = await litellm.acompletion(messages=MESSAGES, **provider)
    assert _text(response).startswith("Here is what I found about")
    assert response.usage.total_tokens > 0


def test_stream(provider: dict[str, Any]) -> None:
    whole = litellm.completion(messages=MESSAGES, **provider)
    chunks = list(
        litellm.completion(messages=MESSAGES, stream=True, stream_options={"include_usage": True}, **provider)
    )
    assert len(chunks) > 2
    rebuilt = litellm.stream_chunk_builder(chunks, messages=MESSAGES)
    assert _text(rebuilt) == _text(whole)
    assert rebuilt.choices[0].finish_reason == "stop"
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


async def test_astream(provider: dict[str, Any]) -> None:
    stream = await litellm.acompletion(messages=MESSAGES, stream=True, **provider)
    pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert "".join(pieces).startswith("Here is what I found about")


def test_stream_closed_early(provider: dict[str, Any]) -> None:
    stream = litellm.completion(messages=MESSAGES, stream=True, **provider)
    assert next(iter(stream)).choices
    stream.close()


def test_num_retries(provider: dict[str, Any]) -> None:
    with pytest.raises(openai.APIStatusError) as raised:
        litellm.completion(messages=MESSAGES, num_retries=0, max_retries=0, **provider, **fault("retry-once:500"))
    assert raised.value.status_code in (500, 503)  # LiteLLM maps Bedrock's 500 to its ServiceUnavailableError
    response = litellm.completion(messages=MESSAGES, num_retries=2, **provider, **fault("retry-once:429"))
    assert _text(response)


@pytest.mark.parametrize(
    "model",
    ["openai/text-embedding-3-small", "gemini/gemini-embedding-001", "bedrock/amazon.titan-embed-text-v2:0"],
)
def test_embedding(fake_llm_url: str, model: str) -> None:
    prefix = model.split("/", 1)[0]
    options = {key: value for key, value in provider_kwargs(fake_llm_url)[prefix].items() if key != "model"}
    response = litellm.embedding(model=model, input=["one", "two"], **options)
    assert [item["index"] for item in response.data] == [0, 1]
    assert all(item["embedding"] for item in response.data)
    assert response.usage.prompt_tokens > 0


async def test_router_retries_then_falls_back(fake_llm_url: str) -> None:
    """The primary deployment always fails: the Router retries it, then answers from the fallback model."""
    kwargs = provider_kwargs(fake_llm_url)
    primary = {**kwargs["openai"], "max_retries": 0, "extra_headers": {"x-fake-fault": "always:500"}}
    router = litellm.Router(
        model_list=[
            {"model_name": "primary", "litellm_params": primary},
            {"model_name": "backup", "litellm_params": kwargs["gemini"]},
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=1,
        retry_after=0,
    )
    response = await router.acompletion(model="primary", messages=MESSAGES)
    assert response.model.startswith("gemini-2.5-flash")
    assert _text(response).startswith("Here is what I found about")


def test_router_retry(fake_llm_url: str) -> None:
    """A deployment whose first attempt fails is retried by the Router."""
    router = litellm.Router(
        model_list=[{"model_name": "chat", "litellm_params": provider_kwargs(fake_llm_url)["bedrock"]}],
        num_retries=2,
        retry_after=0,
    )
    response = router.completion(model="chat", messages=MESSAGES, **fault("retry-once:500"))
    assert _text(response)


_NETWORK_PROBE = """
import json, sys
hosts = set()
def audit(event, args):
    if event == "socket.getaddrinfo":
        hosts.add(str(args[0]))
    elif event == "socket.connect" and isinstance(args[1], tuple):
        hosts.add(str(args[1][0]))
sys.addaudithook(audit)
sys.path[:0] = [{demo!r}, {root!r}]
import litellm
if {calls!r}:
    import llm_server
    from tests.litellm_tests.conftest import MESSAGES, provider_kwargs
    server = llm_server.serve(0)
    for kwargs in provider_kwargs(f"http://127.0.0.1:{{server.server_address[1]}}").values():
        litellm.completion(messages=MESSAGES, **kwargs)
        litellm.completion(messages=MESSAGES, stream=True, **kwargs).close()
print(json.dumps(sorted(hosts - {{"127.0.0.1", "localhost"}})))
"""


def _hosts_reached(env: dict[str, str], calls: bool) -> list[str]:
    """The hosts other than loopback that a fresh process looked up or connected to (import, then ``calls``)."""
    script = _NETWORK_PROBE.format(demo=str(ROOT / "examples" / "demo"), root=str(ROOT), calls=calls)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_offline_import_and_calls() -> None:
    """With the two settings, importing LiteLLM and calling four providers reaches nothing but the loopback fake."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LITELLM_")}
    assert _hosts_reached({**env, **OFFLINE}, calls=True) == []


def test_cost_map_fetched_at_import_without_the_setting() -> None:
    """Without them LiteLLM fetches its cost map when imported (pointed here at a name that cannot resolve)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LITELLM_")}
    env["LITELLM_MODEL_COST_MAP_URL"] = "http://cost-map.invalid/model_prices.json"
    assert "cost-map.invalid" in _hosts_reached(env, calls=False)
