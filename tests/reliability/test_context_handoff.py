"""Scopes left in another context than the one they were entered in: a run, a tool call or a stream manager inside
a generator that a web server steps from worker threads, or that asyncio closes in a task of its own.

Each must end its span once, keep its summary, and raise nothing into the program.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import threading
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import uvicorn
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from otel_agentperf import agent, agent_run, tool_call
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.runs import RunSummary
from tests.helpers import free_port, wait_for_port
from tests.llm_drivers import DRIVERS

CHAT = next(driver for driver in DRIVERS if driver.id == "openai-chat")


def _spans_by_name(exporter: Any) -> dict[str, Any]:
    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert len(names) == len(set(names)), names  # every span ended exactly once
    return {span.name: span for span in spans}


def _serve(app: Starlette) -> tuple[uvicorn.Server, threading.Thread, int]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, "uvicorn")
    return server, thread, port


def test_run_inside_a_starlette_streaming_response(instrument, tracer_provider, meter_provider, span_exporter):
    """Starlette steps the generator with next() in worker threads, each step in a fresh copy of the request's context.

    A ``with agent_run()`` inside the generator is left in another context than it was entered in; the generator
    decorated with ``@agent`` runs in a context of its own, so its run also counts what its later steps do.
    """
    instrument(OpenAIInstrumentor)
    client = CHAT.client()
    summaries: list[RunSummary] = []
    failures: list[BaseException] = []
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}

    def steps(label: str) -> Iterator[bytes]:
        yield label.encode() + b";"
        with tool_call(f"lookup-{label}", **providers):
            yield b"tool;"
        with client.chat.completions.stream(model=f"gpt-{label}", messages=[{"role": "user", "content": "hi"}]):
            yield b"stream;"
        yield b"end;"

    def plain() -> Iterator[bytes]:
        try:
            with agent_run("plain", on_end=summaries.append, **providers):
                yield from steps("plain")
        except BaseException as error:
            failures.append(error)
            raise

    @agent("decorated", on_end=summaries.append, **providers)
    def decorated() -> Iterator[bytes]:
        yield from steps("decorated")

    async def endpoint(request: Request) -> StreamingResponse:
        body = plain() if request.url.path == "/plain" else decorated()
        return StreamingResponse(body, media_type="text/plain")

    app = Starlette(routes=[Route("/plain", endpoint), Route("/decorated", endpoint)])
    server, thread, port = _serve(app)
    try:
        received = []
        for path in ("plain", "decorated"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=30) as response:
                received.append(response.read())
    finally:
        server.should_exit = True
        thread.join(30)

    assert failures == []
    assert received == [b"plain;tool;stream;end;", b"decorated;tool;stream;end;"]
    spans = _spans_by_name(span_exporter)
    assert set(spans) == {
        "invoke_agent plain",
        "invoke_agent decorated",
        "execute_tool lookup-plain",
        "execute_tool lookup-decorated",
        "chat gpt-plain",
        "chat gpt-decorated",
    }
    assert [summary.name for summary in summaries] == ["plain", "decorated"]
    assert summaries[0].error_type is None
    assert (summaries[1].tool_calls, summaries[1].llm_calls) == (1, 1)
    run = spans["invoke_agent decorated"]
    assert spans["execute_tool lookup-decorated"].parent.span_id == run.context.span_id
    assert spans["chat gpt-decorated"].parent.span_id == run.context.span_id
    assert all(span.attributes.get("agentperf.stream.end", "closed") == "closed" for span in spans.values())


async def test_async_generator_closed_by_the_event_loop(tracer_provider, meter_provider, span_exporter):
    """A consumer stops early and drops the generator: asyncio closes it later, in a new task."""
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    summaries: list[RunSummary] = []
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}

    async def items() -> AsyncIterator[int]:
        async with agent_run("outer", on_end=summaries.append, **providers):
            with agent_run("inner", on_end=summaries.append, **providers), tool_call("step", **providers):
                yield 1
                yield 2

    async def consume() -> None:
        async for _ in items():
            break

    await asyncio.create_task(consume())
    for _ in range(10):  # let the finalizer's aclose() task run
        gc.collect()
        await asyncio.sleep(0)

    gc.collect()
    assert loop_errors == []
    assert sorted(summary.name for summary in summaries) == ["inner", "outer"]
    assert set(_spans_by_name(span_exporter)) == {"invoke_agent outer", "invoke_agent inner", "execute_tool step"}
    outer = next(summary for summary in summaries if summary.name == "outer")
    assert outer.tool_calls == 1


def _enter(scope: Any) -> None:
    scope.__enter__()


@pytest.mark.parametrize("kind", ["agent_run", "tool_call", "stream manager"])
def test_left_in_another_context(kind, instrument, tracer_provider, meter_provider, span_exporter, caplog):
    """Entered in one copy of the context, left in another: the span ends, nothing raises or logs an error, and no
    context is left changed."""
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    if kind == "agent_run":
        scope: Any = agent_run("handed", **providers)
    elif kind == "tool_call":
        scope = tool_call("handed", **providers)
    else:
        instrument(OpenAIInstrumentor)
        scope = CHAT.client().chat.completions.stream(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    entered_in, left_in = contextvars.copy_context(), contextvars.copy_context()
    entered_in.run(_enter, scope)
    left_in.run(scope.__exit__, None, None, None)

    (span,) = span_exporter.get_finished_spans()
    assert span.end_time is not None
    assert left_in.run(trace.get_current_span) is trace.INVALID_SPAN
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
    if kind == "agent_run":
        assert scope.summary is not None
