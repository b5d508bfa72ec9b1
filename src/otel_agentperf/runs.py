"""Agent runs: a span and a duration metric per run, and a performance summary of everything that happened in it.

Usage::

    from otel_agentperf import agent, agent_run

    with agent_run("researcher", conversation_id=thread_id) as run:
        answer = research(question)          # LLM calls, tools, caches and retries are counted automatically
    print(run.summary.to_dict())

    @agent("planner")
    async def plan(goal: str) -> Plan: ...

Each run is a span ``invoke_agent {name}`` (kind INTERNAL) with ``gen_ai.operation.name=invoke_agent``,
``gen_ai.agent.name`` and the optional ``gen_ai.agent.id``, ``gen_ai.conversation.id`` and ``gen_ai.provider.name``;
its duration goes to ``gen_ai.invoke_agent.duration``, its LLM and tool calls to ``gen_ai.invoke_agent.inference_calls``
and ``gen_ai.invoke_agent.tool_calls``. ``workflow_run(name)`` and ``@workflow`` are the same for a workflow (steps,
agents and tools coordinated by code or a graph): span ``invoke_workflow {name}`` with ``gen_ai.workflow.name``,
metric ``gen_ai.invoke_workflow.duration``. What the instrumentors observe while the run is current (LLM
calls and their tokens, tool calls, cache hits and misses, retries, errors) is counted in it, in asyncio tasks it
starts and in threads that run in a copy of its context (``contextvars.copy_context().run``, or executors that copy
it, such as ``asyncio.to_thread``). A run inside a run adds its counts to its parent's when it ends. The ``record_*``
functions count what no instrumentor sees.

When the run ends, its :class:`RunSummary` is written on the span as ``agentperf.run.*`` attributes, kept on
``run.summary``, and passed to ``on_end`` (a :class:`RunCollector` is one). It splits the run's wall time into time
in LLM calls, in tools, waiting before retries, and the rest (the agent's own code). CPU time and peak-memory growth are
process-wide: concurrent runs see each other's use.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import Token
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, TypeVar, overload

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Link, SpanKind, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.decorate import decorate
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import Instruments, scope
from otel_agentperf.core.lifecycle import Operation, error_type, operation_attributes
from otel_agentperf.core.process import peak_rss
from otel_agentperf.core.tally import RunCounts, RunTally, enter_run, exit_run
from otel_agentperf.core.tally import record_cache_lookup as _record_cache_lookup
from otel_agentperf.core.tally import record_error as _record_error
from otel_agentperf.core.tally import record_retry as _record_retry
from otel_agentperf.core.tally import record_tool_call as _record_tool_call
from otel_agentperf.exceptions import ConfigurationError

__all__ = [
    "AgentRun",
    "RunCollector",
    "RunSummary",
    "WorkflowRun",
    "agent",
    "agent_run",
    "record_cache_lookup",
    "record_error",
    "record_retry",
    "record_tool_call",
    "workflow",
    "workflow_run",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_reporter = ErrorReporter(strict=None)

record_cache_lookup = _record_cache_lookup
record_error = _record_error
record_retry = _record_retry
record_tool_call = _record_tool_call


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The performance of one agent run."""

    name: str
    duration: float
    """Wall time, seconds."""
    cpu_time: float
    """Process CPU time (user + system) during the run, seconds."""
    peak_memory_growth: int
    """How much the process's peak RSS grew during the run, bytes (0 when it did not, or cannot be read)."""
    llm_calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    tool_calls: int
    cache_hits: int
    cache_misses: int
    retries: int
    errors: int
    cost: float | None
    """USD of the run's LLM calls that could be priced; ``None`` when none could (never a guess)."""
    unpriced_calls: int
    """LLM calls with tokens whose model is in no price table: ``cost`` leaves them out."""
    rate_limit_wait: float
    """Seconds the run waited before retrying responses refused by a rate limit (HTTP 429)."""
    error_type: str | None
    """The class name of the exception that ended the run, if one did."""
    llm_time: float = 0.0
    """Seconds in LLM calls, apart from the waits between their retries (concurrent calls add up)."""
    tool_time: float = 0.0
    """Seconds in tool executions (concurrent tools add up; a tool's own LLM calls count here too)."""
    backoff_time: float = 0.0
    """Seconds waited before retries: the SDKs' own, tenacity's, backoff's."""
    other_time: float = 0.0
    """The rest of the wall time: the agent's own code (``duration`` minus the three above, at least 0)."""
    end: str = "completed"
    """How the run ended: ``completed``, ``error``, ``closed`` (a generator closed before its end),
    ``interrupted`` (a framework paused it for human input)."""

    @property
    def cache_hit_rate(self) -> float | None:
        """App-cache hits over lookups; ``None`` without lookups."""
        lookups = self.cache_hits + self.cache_misses
        return self.cache_hits / lookups if lookups else None

    @property
    def prompt_cache_hit_rate(self) -> float | None:
        """Share of input tokens the provider served from its prompt cache; ``None`` without input tokens."""
        return self.cache_read_tokens / self.input_tokens if self.input_tokens else None

    def to_dict(self) -> dict[str, Any]:
        """All fields and both rates, as plain values."""
        values = asdict(self)
        values["cache_hit_rate"] = self.cache_hit_rate
        values["prompt_cache_hit_rate"] = self.prompt_cache_hit_rate
        return values

    def span_attributes(self) -> dict[str, AttributeValue]:
        """The summary as ``agentperf.run.*`` attributes (rates only when defined)."""
        return {
            semconv.AGENTPERF_RUN_PREFIX + key: value
            for key, value in self.to_dict().items()
            if value is not None and key not in ("name", "error_type")
        }


def _time_split(duration: float, counts: RunCounts) -> float:
    """The wall time not spent in LLM calls, tools or retry waits (never below 0)."""
    return max(duration - counts.llm_time - counts.tool_time - counts.backoff_time, 0.0)


class AgentRun(Operation):
    """One agent run: a context manager (``with`` or ``async with``) returned by :func:`agent_run`.

    Its span is an :class:`~otel_agentperf.core.lifecycle.Operation` like every other: a workflow
    (:class:`WorkflowRun`, ``invoke_workflow {name}``) is the same lifecycle with another operation name.
    """

    operation = semconv.OPERATION_INVOKE_AGENT
    name_attribute = semconv.GEN_AI_AGENT_NAME
    duration_metric = semconv.GEN_AI_INVOKE_AGENT_DURATION

    def __init__(
        self,
        name: str,
        *,
        agent_id: str | None,
        conversation_id: str | None,
        provider: str | None,
        on_end: Callable[[RunSummary], Any] | None,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        links: Sequence[Link] = (),
        reporter: ErrorReporter | None = None,
    ) -> None:
        self.name = name
        self._reporter = reporter or _reporter
        """Where telemetry failures go: a framework adapter passes its instrumentor's."""
        self.summary: RunSummary | None = None
        """The run's summary, once it has ended."""
        self.end_reason: str | None = None
        """Set before the run ends to override how it ended (``interrupted``); see :attr:`RunSummary.end`."""
        self.begin(trace.INVALID_SPAN)
        self._links = links
        self._attributes = operation_attributes(
            self.operation,
            (self.name_attribute, name),
            (semconv.GEN_AI_AGENT_ID, agent_id),
            (semconv.GEN_AI_CONVERSATION_ID, conversation_id),
            (semconv.GEN_AI_PROVIDER_NAME, provider),
        )
        self._on_end = on_end
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._tally: RunTally | None = None
        self._run_token: Token[RunTally | None] | None = None
        self._started = (0.0, 0.0, 0)

    def counts(self) -> RunCounts:
        """What the run has counted so far."""
        return self._tally.snapshot() if self._tally is not None else RunCounts()

    def __enter__(self) -> AgentRun:
        if self._tally is not None:
            raise ConfigurationError(f"agent run {self.name!r} was entered twice; make one agent_run() per run")
        tracer, _ = scope(self._tracer_provider, self._meter_provider, __name__)
        span = tracer.start_span(
            f"{self.operation} {self.name}", kind=SpanKind.INTERNAL, attributes=self._attributes, links=self._links
        )
        self.begin(span)
        self.enter()
        self._tally, self._run_token = enter_run()
        self._started = (time.perf_counter(), time.process_time(), (peak_rss() or 0))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._tally is not None and self._run_token is not None
        # Possibly in another context than __enter__'s (a generator stepped from threads or closed by asyncio).
        counts = exit_run(self._tally, self._run_token)
        self.leave()
        try:
            self._finish(counts, error)
        except Exception as failure:  # noqa: BLE001 - telemetry must never reach the caller
            self.end_after_failure()
            self._reporter.report("agent run summary", failure)

    async def __aenter__(self) -> AgentRun:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.__exit__(kind, error, traceback)

    def closed_early(self) -> None:
        """The generator this run decorates was closed before its end (told by the decorator)."""
        if self.end_reason is None:
            self.end_reason = semconv.RUN_END_CLOSED

    def _finish(self, counts: RunCounts, error: BaseException | None) -> None:
        wall, cpu, peak = self._started
        kind = error_type(error) if error is not None else None
        duration = time.perf_counter() - wall
        end = self.end_reason or (semconv.RUN_END_ERROR if kind is not None else semconv.RUN_END_COMPLETED)
        self.summary = RunSummary(
            name=self.name,
            duration=duration,
            cpu_time=time.process_time() - cpu,
            peak_memory_growth=max((peak_rss() or 0) - peak, 0),
            error_type=kind,
            other_time=_time_split(duration, counts),
            end=end,
            **asdict(counts),
        )
        self.close_span(self.summary.span_attributes(), kind, error)
        metric_attributes = dict(self._attributes)
        metric_attributes.pop(semconv.GEN_AI_CONVERSATION_ID, None)
        metric_attributes.pop(semconv.GEN_AI_AGENT_ID, None)
        if kind is not None:
            metric_attributes[semconv.ERROR_TYPE] = kind
        _, instruments = scope(self._tracer_provider, self._meter_provider, __name__)
        instruments.histogram(self.duration_metric).record(duration, metric_attributes, self.metric_context())
        self._record_counts(instruments, metric_attributes)
        if self._on_end is not None:
            try:
                self._on_end(self.summary)
            except Exception as failure:  # noqa: BLE001 - the callback's bug must not end the user's run
                self._reporter.report("agent run on_end callback", failure)

    def _record_counts(self, instruments: Instruments, attributes: dict[str, AttributeValue]) -> None:
        """The agent metrics of the conventions: LLM calls and tool calls per run."""
        summary = self.summary
        assert summary is not None
        instruments.histogram(semconv.GEN_AI_INVOKE_AGENT_INFERENCE_CALLS).record(summary.llm_calls, attributes)
        instruments.histogram(semconv.GEN_AI_INVOKE_AGENT_TOOL_CALLS).record(summary.tool_calls, attributes)


class WorkflowRun(AgentRun):
    """One workflow run (:func:`workflow`): an agent run's lifecycle and summary under another operation.

    Span ``invoke_workflow {name}`` with ``gen_ai.workflow.name``, metric ``gen_ai.invoke_workflow.duration``; no
    per-agent call metrics.
    """

    operation = semconv.OPERATION_INVOKE_WORKFLOW
    name_attribute = semconv.GEN_AI_WORKFLOW_NAME
    duration_metric = semconv.GEN_AI_INVOKE_WORKFLOW_DURATION

    def _record_counts(self, instruments: Instruments, attributes: dict[str, AttributeValue]) -> None:
        pass


def _check_run_options(kind: str, name: object, on_end: object) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"Expected the {kind} name to be a non-empty string, got {name!r}")
    if on_end is not None and not callable(on_end):
        raise ConfigurationError(f"Expected on_end to be callable, got {on_end!r}")


def workflow_run(
    name: str,
    *,
    conversation_id: str | None = None,
    on_end: Callable[[RunSummary], Any] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    links: Sequence[Link] = (),
) -> WorkflowRun:
    """A new workflow run named ``name``, to enter with ``with`` or ``async with``: steps, agents, tools, LLM calls.

    Raises:
        ConfigurationError: ``name`` is not a non-empty string, or ``on_end`` is not callable.
    """
    _check_run_options("workflow", name, on_end)
    return WorkflowRun(
        name,
        agent_id=None,
        conversation_id=conversation_id,
        provider=None,
        on_end=on_end,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        links=links,
    )


@overload
def workflow(name: _F, /) -> _F: ...


@overload
def workflow(name: str | None = None, /, **options: Any) -> Callable[[_F], _F]: ...


def workflow(name: Any = None, /, **options: Any) -> Any:
    """Decorate a function (sync, async, generator) so that each call is a workflow run.

    ``@workflow``, ``@workflow("ingest")`` or ``@workflow(name, on_end=...)``; the name defaults to the function's
    ``__qualname__``. Options are those of :func:`workflow_run`.
    """
    if callable(name):
        return workflow()(name)

    def decorator(function: _F) -> _F:
        run_name = name or getattr(function, "__qualname__", None) or repr(function)
        workflow_run(run_name, **options)  # checks the options once, at decoration time
        return decorate(function, lambda args, kwargs: workflow_run(run_name, **options))

    return decorator


def agent_run(
    name: str,
    *,
    agent_id: str | None = None,
    conversation_id: str | None = None,
    provider: str | None = None,
    on_end: Callable[[RunSummary], Any] | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    links: Sequence[Link] = (),
) -> AgentRun:
    """A new agent run named ``name``, to enter with ``with`` or ``async with``; ``links`` go on its span.

    Raises:
        ConfigurationError: ``name`` is not a non-empty string, or ``on_end`` is not callable.
    """
    _check_run_options("agent", name, on_end)
    return AgentRun(
        name,
        agent_id=agent_id,
        conversation_id=conversation_id,
        provider=provider,
        on_end=on_end,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        links=links,
    )


@overload
def agent(name: _F, /) -> _F: ...


@overload
def agent(name: str | None = None, /, **options: Any) -> Callable[[_F], _F]: ...


def agent(name: Any = None, /, **options: Any) -> Any:
    """Decorate a function (sync, async, generator) so that each call is an agent run.

    ``@agent``, ``@agent("planner")`` or ``@agent(name, conversation_id=..., on_end=...)``; the name defaults to the
    function's ``__qualname__``. Options are those of :func:`agent_run`.
    """
    if callable(name):
        return agent()(name)

    def decorator(function: _F) -> _F:
        run_name = name or getattr(function, "__qualname__", None) or repr(function)
        agent_run(run_name, **options)  # checks the options once, at decoration time
        return decorate(function, lambda args, kwargs: agent_run(run_name, **options))

    return decorator


class RunCollector:
    """Keeps the summaries of the last ``window`` runs (all runs' totals too) for in-process aggregates.

    Pass it as ``on_end=`` (it is callable). Thread-safe.
    """

    def __init__(self, window: int = 1000) -> None:
        if not isinstance(window, int) or window < 1:
            raise ConfigurationError(f"Expected window to be a positive int, got {window!r}")
        self._recent: deque[RunSummary] = deque(maxlen=window)
        self._totals: dict[str, float] = {}
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, summary: RunSummary) -> None:
        """Add one run's summary."""
        with self._lock:
            self._recent.append(summary)
            self._count += 1
            for key, value in _numbers(summary).items():
                self._totals[key] = self._totals.get(key, 0) + value

    add = __call__

    @property
    def count(self) -> int:
        """How many runs were added in all."""
        return self._count

    def totals(self) -> dict[str, float]:
        """Sums over every run added (not only the window)."""
        with self._lock:
            return dict(self._totals)

    def averages(self, last: int | None = None) -> dict[str, float]:
        """Means over the runs in the window, or over the ``last`` of them; rates are pooled over those runs."""
        runs = self._last(last)
        if not runs:
            return {}
        sums: dict[str, float] = {}
        for run in runs:
            for key, value in _numbers(run).items():
                sums[key] = sums.get(key, 0) + value
        averages = {key: value / len(runs) for key, value in sums.items()}
        lookups = sums["cache_hits"] + sums["cache_misses"]
        averages["cache_hit_rate"] = sums["cache_hits"] / lookups if lookups else math.nan
        tokens = sums["input_tokens"]
        averages["prompt_cache_hit_rate"] = sums["cache_read_tokens"] / tokens if tokens else math.nan
        averages["error_rate"] = sum(run.error_type is not None for run in runs) / len(runs)
        return averages

    def percentiles(
        self, field: str = "duration", quantiles: tuple[float, ...] = (0.5, 0.95, 0.99)
    ) -> dict[float, float]:
        """Nearest-rank percentiles of ``field`` over the runs in the window."""
        values = sorted(float(getattr(run, field)) for run in self._last(None))
        if not values:
            return {}
        return {q: values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))] for q in quantiles}

    def _last(self, last: int | None) -> list[RunSummary]:
        with self._lock:
            runs = list(self._recent)
        return runs[-last:] if last else runs


def _numbers(summary: RunSummary) -> dict[str, float]:
    return {key: value for key, value in asdict(summary).items() if isinstance(value, (int, float))}
