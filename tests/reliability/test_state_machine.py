"""A stateful property-based test: runs, tool calls, streams, retries, cache lookups and instrument()/uninstrument()
interleaved across threads, copies of the context and generators, with scopes left in other contexts than they were
entered in, and streams opened, partly read, closed, abandoned and collected.

Invariants: the program's values come back unchanged; nothing of this package raises (strict mode is on, so an
internal error would); no span is left current; at the end every span has ended exactly once and the metric series
stay few. ``make test`` runs a quick profile; ``make reliability`` (profile ``long``) runs at least 10,000 steps.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import cachetools
import tenacity
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_agentperf import agent_run, tool_call
from otel_agentperf.core.streams import finish_abandoned
from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from tests.llm_drivers import DRIVERS

CHAT = next(driver for driver in DRIVERS if driver.id == "openai-chat")
LONG = settings.default.max_examples >= 10_000
EXAMPLES, STEPS = (250, 50) if LONG else (8, 25)
MAX_SERIES = 40
steps_run = Counter[str]()


class Interleavings(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.providers = {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}
        self.instrumentors = [OpenAIInstrumentor(), TenacityInstrumentor(), CachetoolsInstrumentor()]
        self.client = CHAT.client()
        self.open_scopes: list[Any] = []
        self.streams: list[Any] = []
        self.cache: cachetools.LRUCache[int, int] = cachetools.LRUCache(maxsize=4)
        self.instrumented = False
        self.toggle_instrumentation()

    # --- rules -------------------------------------------------------------------------------------------------
    @rule()
    def toggle_instrumentation(self) -> None:
        for instrumentor in self.instrumentors:
            if self.instrumented:
                instrumentor.uninstrument()
            else:
                instrumentor.instrument(**self.providers)
        self.instrumented = not self.instrumented
        self._count("instrument" if self.instrumented else "uninstrument")

    @rule(kind=st.sampled_from(["run", "tool"]))
    def enter_in_a_copied_context(self, kind: str) -> None:
        scope = agent_run("fuzz", **self.providers) if kind == "run" else tool_call("fuzz", **self.providers)
        contextvars.copy_context().run(scope.__enter__)
        self.open_scopes.append(scope)
        self._count(f"enter {kind}")

    @precondition(lambda self: self.open_scopes)
    @rule(where=st.sampled_from(["here", "copied context", "thread", "task"]), last=st.booleans())
    def leave_elsewhere(self, where: str, last: bool) -> None:
        scope = self.open_scopes.pop(-1 if last else 0)
        leave = lambda: scope.__exit__(None, None, None)  # noqa: E731
        if where == "here":
            leave()
        elif where == "copied context":
            contextvars.copy_context().run(leave)
        elif where == "thread":
            self._in_thread(leave)
        else:

            async def in_task() -> None:
                leave()

            asyncio.run(in_task())
        self._count(f"leave {where}")

    @rule(chunks=st.integers(0, 3))
    def open_stream(self, chunks: int) -> None:
        stream = CHAT.call(self.client, stream=True)
        iterator = iter(stream)
        for _ in range(chunks):
            assert next(iterator).object == "chat.completion.chunk"
        self.streams.append(stream)
        self._count("open stream")

    @precondition(lambda self: self.streams)
    @rule(how=st.sampled_from(["close", "read to the end", "abandon", "abandon in a cycle", "close in a thread"]))
    def end_stream(self, how: str) -> None:
        stream = self.streams.pop()
        if how == "close":
            stream.close()
        elif how == "read to the end":
            assert all(chunk.object == "chat.completion.chunk" for chunk in stream)
        elif how == "abandon in a cycle":
            cycle: list[Any] = [stream]
            cycle.append(cycle)
        elif how == "close in a thread":
            self._in_thread(stream.close)
        del stream
        if how.startswith("abandon"):
            gc.collect()
        self._count(f"stream {how}")

    @rule(failures=st.integers(0, 3))
    def retry(self, failures: int) -> None:
        answers = iter([None] * failures + ["ready"])
        retrying = tenacity.Retrying(wait=tenacity.wait_none(), retry=tenacity.retry_if_result(lambda v: v is None))
        assert retrying(lambda: next(answers)) == "ready"
        self._count("retry")

    @rule(key=st.integers(0, 6), in_thread=st.booleans())
    def cache_lookup(self, key: int, in_thread: bool) -> None:
        def lookup() -> None:
            self.cache.setdefault(key, key * 10)
            assert self.cache.get(key, key * 10) == key * 10

        self._in_thread(lookup) if in_thread else lookup()
        self._count("cache lookup")

    @rule()
    def async_generator_left_early(self) -> None:
        async def items() -> AsyncIterator[int]:
            async with agent_run("generator", **self.providers):
                with tool_call("generator step", **self.providers):
                    yield 1
                    yield 2

        async def consume() -> None:
            async for item in items():
                assert item == 1
                break
            gc.collect()
            await asyncio.sleep(0)

        asyncio.run(consume())
        self._count("async generator left early")

    # --- invariants --------------------------------------------------------------------------------------------
    @invariant()
    def no_span_left_current(self) -> None:
        assert trace.get_current_span() is trace.INVALID_SPAN

    def teardown(self) -> None:
        for scope in self.open_scopes:
            scope.__exit__(None, None, None)
        for stream in self.streams:
            stream.close()
        if self.instrumented:
            self.toggle_instrumentation()
        gc.collect()
        assert finish_abandoned()
        spans = self.exporter.get_finished_spans()
        ids = Counter(span.context.span_id for span in spans)
        assert all(count == 1 for count in ids.values())
        assert all(span.end_time is not None for span in spans)
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    assert len(metric.data.data_points) <= MAX_SERIES, metric.name
        self.meter_provider.shutdown()

    # --- helpers -----------------------------------------------------------------------------------------------
    @staticmethod
    def _in_thread(work: Any) -> None:
        failures: list[BaseException] = []

        def guarded() -> None:
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
                failures.append(error)

        thread = threading.Thread(target=guarded)
        thread.start()
        thread.join()
        if failures:
            raise failures[0]

    @staticmethod
    def _count(step: str) -> None:
        steps_run[step] += 1


Interleavings.TestCase.settings = settings(settings.default, max_examples=EXAMPLES, stateful_step_count=STEPS)
TestInterleavings = Interleavings.TestCase


def test_steps_report() -> None:
    """Prints how many steps of each kind ran (``-s`` or ``make reliability`` shows it); checks that all kinds ran."""
    print(f"\nstate machine steps: {sum(steps_run.values())}", dict(sorted(steps_run.items())))
    if steps_run:
        assert {"leave thread", "stream abandon in a cycle", "retry", "cache lookup"} <= set(steps_run) or not LONG
