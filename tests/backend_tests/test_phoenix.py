"""End to end through real processes: the demo agent under opentelemetry-instrument, a rotel collector, and the
Phoenix trace store, read back over its REST API."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.backend_tests import backends

pytestmark = pytest.mark.skipif(not backends.available(), reason=".venv-backends is missing: run `make test`")


def _spans(phoenix_url: str) -> list[dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{phoenix_url}/v1/projects/default/spans?limit=1000", timeout=5) as response:
            return list(json.load(response)["data"])
    except urllib.error.HTTPError:  # 404 until the project's first span arrives
        return []


@pytest.fixture(scope="module")
def stored_spans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """The spans Phoenix stored after the demo agent ran once through rotel."""
    directory = tmp_path_factory.mktemp("backends")
    with backends.phoenix(directory) as phoenix, backends.rotel(phoenix.url, directory / "rotel.log") as endpoint:
        done = backends.run_demo_agent(endpoint)
        assert done.returncode == 0, done.stdout + done.stderr
        deadline = time.monotonic() + 30
        spans = _spans(phoenix.url)
        while len(spans) < 8 and time.monotonic() < deadline:
            time.sleep(0.5)
            spans = _spans(phoenix.url)
        yield spans


def test_agent_trace_arrives_whole(stored_spans):
    """One trace: the agent-run span at the root, the six LLM calls and the tool call as its children."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in stored_spans:
        by_name.setdefault(span["name"], []).append(span)
    (agent,) = by_name["invoke_agent research-agent"]
    assert agent["parent_id"] is None
    children = [span for span in stored_spans if span["parent_id"] == agent["context"]["span_id"]]
    assert sorted(span["name"] for span in children) == sorted(
        ["chat gpt-4o-mini"] * 5 + ["embeddings text-embedding-3-small", "execute_tool search_docs"]
    )
    assert {span["context"]["trace_id"] for span in stored_spans} == {agent["context"]["trace_id"]}


def test_attributes_survive_the_collector(stored_spans):
    """The run summary, GenAI usage and retry attributes arrive as the instrumentation set them."""
    agent = next(span for span in stored_spans if span["name"] == "invoke_agent research-agent")
    attributes = agent["attributes"]
    assert attributes["agentperf.run.llm_calls"] == 6
    assert attributes["agentperf.run.tool_calls"] == 1
    assert attributes["agentperf.run.retries"] == 1
    chats = [span["attributes"] for span in stored_spans if span["name"] == "chat gpt-4o-mini"]
    assert all(chat["gen_ai.provider.name"] == "openai" and chat["gen_ai.usage.input_tokens"] > 0 for chat in chats)
    assert sum(chat.get("agentperf.retry.count", 0) for chat in chats) == 1
    calls = [span for span in stored_spans if span["name"].startswith(("chat", "embeddings"))]
    assert attributes["agentperf.run.input_tokens"] == sum(
        span["attributes"]["gen_ai.usage.input_tokens"] for span in calls
    )
