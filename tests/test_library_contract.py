"""The contract of the cache, retry-library and tool instrumentors: they never change what the user's code does."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import backoff
import cachetools
import diskcache
import langchain_core.tools.base as langchain_tool_base
import pytest
import tenacity
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as langchain_tool
from mcp import Client, ClientSession
from mcp.server import MCPServer
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_agentperf.core.caches import CacheRecorder
from otel_agentperf.core.retries import RetryRecorder
from otel_agentperf.core.tool_execution import ToolCall
from otel_agentperf.instrumentation.backoff import BackoffInstrumentor
from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor
from otel_agentperf.instrumentation.diskcache import DiskcacheInstrumentor
from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor
from otel_agentperf.instrumentation.mcp import MCPInstrumentor
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from tests.helpers import metrics_by_name, points
from tests.retry_tests.helpers import Flaky


@dataclass(frozen=True)
class LibraryCase:
    id: str
    instrumentor: type
    patched: Callable[[], list[tuple[Any, str]]]
    call: Callable[[], Any]
    """One call of the library that the instrumentor records; returns a comparable result."""
    break_recording: Callable[[pytest.MonkeyPatch], None]
    counter: str
    """The counter (or histogram) each recorded event adds one to."""
    events: int
    """How many events one ``call`` records."""


def _break_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CacheRecorder, "_record", lambda *args: 1 / 0)


def _break_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ToolCall, "_end", lambda *args: 1 / 0)


def _break_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryRecorder, "record", lambda *args, **kwargs: 1 / 0)


def _cachetools_call() -> Any:
    cache = cachetools.LRUCache(maxsize=2)
    cache["a"] = 1
    return cache["a"], cache.get("b", 2)


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


CASES = [
    LibraryCase(
        "cachetools",
        CachetoolsInstrumentor,
        lambda: [(cachetools.LRUCache, "__getitem__"), (cachetools.Cache, "get")],
        _cachetools_call,
        _break_cache,
        "agentperf.cache.requests",
        2,
    ),
    LibraryCase(
        "diskcache",
        DiskcacheInstrumentor,
        lambda: [(diskcache.Cache, "get")],
        _diskcache_call,
        _break_cache,
        "agentperf.cache.requests",
        2,
    ),
    LibraryCase(
        "tenacity",
        TenacityInstrumentor,
        lambda: [(tenacity.RetryCallState, "prepare_for_next_attempt")],
        _tenacity_call,
        _break_retry,
        "agentperf.retries",
        1,
    ),
    LibraryCase(
        "backoff",
        BackoffInstrumentor,
        lambda: [(backoff._sync, "_call_handlers"), (backoff._async, "_call_handlers")],
        _backoff_call,
        _break_retry,
        "agentperf.retries",
        1,
    ),
    LibraryCase(
        "langchain",
        LangChainToolsInstrumentor,
        lambda: [(BaseTool, "run"), (BaseTool, "arun"), (langchain_tool_base, "_format_output")],
        _langchain_call,
        _break_tool,
        "gen_ai.execute_tool.duration",
        1,
    ),
    LibraryCase(
        "mcp",
        MCPInstrumentor,
        lambda: [(ClientSession, "call_tool")],
        _mcp_call,
        _break_tool,
        "gen_ai.execute_tool.duration",
        1,
    ),
]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def case(request: pytest.FixtureRequest) -> LibraryCase:
    return request.param


def _originals(case: LibraryCase) -> list[object]:
    return [vars(owner)[name] for owner, name in case.patched()]


def test_uninstrument_restores_the_exact_originals(case, instrument, metric_reader):
    """After uninstrument() every patched attribute is the very object it was before, and nothing is recorded."""
    before = _originals(case)
    instrumentor = instrument(case.instrumentor)
    assert all(now is not then for now, then in zip(_originals(case), before, strict=True))
    instrumentor.uninstrument()
    assert all(now is then for now, then in zip(_originals(case), before, strict=True))
    case.call()
    assert not metrics_by_name(metric_reader)


def test_double_instrument_records_once(case, instrument, metric_reader, caplog):
    """A second instrument() is ignored with a warning: each event is recorded once."""
    instrument(case.instrumentor)
    with caplog.at_level(logging.WARNING):
        instrument(case.instrumentor)
    case.call()
    assert "already instrumented" in caplog.text
    assert (
        sum(getattr(point, "value", None) or point.count for point in points(metric_reader, case.counter))
        == case.events
    )


def test_suppression_is_honoured(case, instrument, metric_reader):
    """Inside suppress_instrumentation() nothing is recorded."""
    instrument(case.instrumentor)
    with suppress_instrumentation():
        case.call()
    assert not metrics_by_name(metric_reader)


def test_failing_recorder_leaves_the_result_identical(case, instrument, monkeypatch, caplog):
    """A bug in recording is logged once; the caller gets what it gets without instrumentation, in its own context."""
    bare = case.call()
    monkeypatch.setenv("OTEL_AGENTPERF_STRICT", "false")
    instrument(case.instrumentor)
    case.break_recording(monkeypatch)
    with caplog.at_level(logging.DEBUG, logger="otel_agentperf"):
        first, second = case.call(), case.call()
    assert first == second == bare
    assert trace.get_current_span() is trace.INVALID_SPAN, "the caller's context must be restored"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "internal error" in r.getMessage()]
    assert len(warnings) == 1
