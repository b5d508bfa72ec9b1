"""The contract-suite entries of the cache, retry-library, tool and resource-usage instrumentors."""

from __future__ import annotations

import asyncio
import functools
import gc
import tempfile
from typing import Any

import backoff
import cachetools
import diskcache
import httpx2
import langchain_core.tools.base as langchain_tool_base
import langgraph.pregel._runner as langgraph_runner
import openai
import pytest
import redis
import redis.asyncio.client
import tenacity
from agents import Agent, OpenAIChatCompletionsModel, Runner
from agents.run import AgentRunner
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as langchain_tool
from langgraph.graph import START, StateGraph
from langgraph.pregel import Pregel
from mcp import Client, ClientSession
from mcp.server import MCPServer
from typing_extensions import TypedDict

from otel_agentperf.core.caches import CacheRecorder
from otel_agentperf.core.retries import RetryRecorder
from otel_agentperf.core.tool_execution import ToolCall
from otel_agentperf.instrumentation.backoff import BackoffInstrumentor
from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor
from otel_agentperf.instrumentation.diskcache import DiskcacheInstrumentor
from otel_agentperf.instrumentation.functools_cache import instrument_cache
from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor
from otel_agentperf.instrumentation.mcp import MCPInstrumentor
from otel_agentperf.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from otel_agentperf.instrumentation.redis import RedisCacheInstrumentor
from otel_agentperf.instrumentation.resource_usage import ResourceUsageInstrumentor
from otel_agentperf.instrumentation.resource_usage._sampler import ProcessSampler
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from otel_agentperf.runs import RunSummary
from tests.contract import ContractCase
from tests.helpers import fake_handler
from tests.retry_tests.helpers import Flaky


def _extractor_bug(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("extractor bug")


def _break_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CacheRecorder, "_record", _extractor_bug)


def _break_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ToolCall, "_end", _extractor_bug)


def _break_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryRecorder, "record", _extractor_bug)


def _cachetools_call() -> Any:
    cache = cachetools.LRUCache(maxsize=2)
    cache["a"] = 1
    return cache["a"], cache.get("b", 2)


def _cachetools_raising(error: BaseException) -> Any:
    class Failing(cachetools.LRUCache):  # type: ignore[type-arg]
        def __missing__(self, key: Any) -> Any:
            raise error

    return Failing(maxsize=2)["a"]


def _diskcache_call() -> Any:
    with tempfile.TemporaryDirectory() as directory, diskcache.Cache(directory) as cache:
        cache.set("a", 1)
        return cache.get("a"), cache.get("b", 2)


def _tenacity_call() -> Any:
    flaky = Flaky(1)
    return tenacity.Retrying(wait=tenacity.wait_none())(flaky), flaky.calls


def _backoff_call() -> Any:
    flaky = Flaky(1)
    return backoff.on_exception(backoff.constant, ConnectionError, interval=0, jitter=None)(flaky)(), flaky.calls


@langchain_tool
def _double(x: int) -> int:
    """Double a number."""
    return 2 * x


def _langchain_call() -> Any:
    return _double.invoke({"x": 21})


def _langchain_raising(error: BaseException) -> Any:
    @langchain_tool
    def failing(x: int) -> int:
        """Fail."""
        raise error

    return failing.invoke({"x": 1})


class _Counter(TypedDict):
    count: int


def _graph_call() -> Any:
    graph = StateGraph(_Counter)
    graph.add_node("increment", lambda state: {"count": state["count"] + 1})
    graph.add_edge(START, "increment")
    return graph.compile(name="counter").invoke({"count": 41})


def _break_run_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RunSummary, "span_attributes", _extractor_bug)


def _agents_sdk_call() -> Any:
    client = openai.AsyncOpenAI(
        api_key="sk-contract",
        base_url="http://llm.test/v1",
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake_handler())),
    )
    model = OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
    return asyncio.run(Runner.run(Agent(name="contract", instructions="Answer.", model=model), "Hello?"))


def _mcp_server() -> MCPServer:
    server = MCPServer("contract")

    @server.tool()
    def add(a: int, b: int) -> int:
        return a + b

    return server


def _mcp_call() -> Any:
    async def call() -> Any:
        async with Client(_mcp_server()) as client:
            result = await client.call_tool("add", {"a": 2, "b": 3})
            return result.is_error, [item.text for item in result.content]

    return asyncio.run(call())


class _Redis:
    """The session's redis-server (the ``redis_port`` fixture), set by the case's ``setup``."""

    port = 0

    @classmethod
    def setup(cls, request: pytest.FixtureRequest) -> None:
        cls.port = request.getfixturevalue("redis_port")


def _redis_call() -> Any:
    with redis.Redis(port=_Redis.port) as client:
        client.set("contract:a", "1")
        return client.get("contract:a"), client.get("contract:missing")


@functools.lru_cache(maxsize=8)
def _square(x: int) -> int:
    return x * x


class FunctoolsCache:
    """Drives ``instrument_cache`` through the contract: instrument() wraps ``cached``, uninstrument() unwraps it.

    ``instrument_cache`` is opt-in per function, not an instrumentor; this gives it the instrumentor's lifecycle so
    that it is held to the same contract.
    """

    cached: Any = _square
    _instrumented = False

    def instrument(self, **kwargs: Any) -> None:
        FunctoolsCache.cached = instrument_cache(FunctoolsCache.cached, meter_provider=kwargs["meter_provider"])
        FunctoolsCache._instrumented = True

    def uninstrument(self) -> None:
        FunctoolsCache.cached = _square
        FunctoolsCache._instrumented = False

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        return FunctoolsCache._instrumented


def _functools_call() -> Any:
    _square.cache_clear()
    return FunctoolsCache.cached(3), FunctoolsCache.cached(3)


def _break_resource_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ProcessSampler, "_read", _extractor_bug)


def _gc_call() -> Any:
    gc.collect()


LIBRARY_CASES = [
    ContractCase(
        "cachetools",
        CachetoolsInstrumentor,
        _cachetools_call,
        _break_cache,
        "agentperf.cache.requests",
        2,
        patched=lambda: [(cachetools.LRUCache, "__getitem__"), (cachetools.Cache, "get")],
        call_raising=_cachetools_raising,
    ),
    ContractCase(
        "diskcache",
        DiskcacheInstrumentor,
        _diskcache_call,
        _break_cache,
        "agentperf.cache.requests",
        2,
        patched=lambda: [(diskcache.Cache, "get")],
    ),
    ContractCase(
        "redis",
        RedisCacheInstrumentor,
        _redis_call,
        _break_cache,
        "agentperf.cache.requests",
        2,
        patched=lambda: [(redis.client.Redis, "execute_command"), (redis.asyncio.client.Redis, "execute_command")],
        setup=_Redis.setup,
    ),
    ContractCase(
        "functools_cache",
        FunctoolsCache,
        _functools_call,
        _break_cache,
        "agentperf.cache.requests",
        2,
        patched=lambda: [(FunctoolsCache, "cached")],
        restores_only_its_own=False,
    ),
    ContractCase(
        "tenacity",
        TenacityInstrumentor,
        _tenacity_call,
        _break_retry,
        "agentperf.retries",
        patched=lambda: [(tenacity.RetryCallState, "prepare_for_next_attempt")],
    ),
    ContractCase(
        "backoff",
        BackoffInstrumentor,
        _backoff_call,
        _break_retry,
        "agentperf.retries",
        patched=lambda: [(backoff._sync, "_call_handlers"), (backoff._async, "_call_handlers")],
    ),
    ContractCase(
        "langchain",
        LangChainToolsInstrumentor,
        _langchain_call,
        _break_tool,
        "gen_ai.execute_tool.duration",
        spans=1,
        patched=lambda: [(BaseTool, "run"), (BaseTool, "arun"), (langchain_tool_base, "_format_output")],
        call_raising=_langchain_raising,
    ),
    ContractCase(
        "langgraph",
        LangChainToolsInstrumentor,
        _graph_call,
        _break_run_summary,
        "gen_ai.invoke_workflow.duration",
        spans=2,
        patched=lambda: [
            (Pregel, "stream"),
            (Pregel, "astream"),
            (langgraph_runner, "run_with_retry"),
            (langgraph_runner, "arun_with_retry"),
        ],
    ),
    ContractCase(
        "openai_agents",
        OpenAIAgentsInstrumentor,
        _agents_sdk_call,
        _break_run_summary,
        "gen_ai.invoke_agent.duration",
        spans=1,
        patched=lambda: [(AgentRunner, "run"), (AgentRunner, "run_streamed")],
        fingerprint=lambda result: result.final_output,
    ),
    ContractCase(
        "mcp",
        MCPInstrumentor,
        _mcp_call,
        _break_tool,
        "gen_ai.execute_tool.duration",
        spans=1,
        patched=lambda: [(ClientSession, "call_tool")],
    ),
    ContractCase(
        "resource_usage",
        ResourceUsageInstrumentor,
        _gc_call,
        _break_resource_usage,
        "agentperf.cpython.gc.pause.time",
        None,
        strict_raises=False,
    ),
]
