"""OpenTelemetry instrumentation for the OpenAI Agents SDK (``openai-agents``): runs, handoffs, tools, guardrails.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_openai_agents``
(with ``agentperf_openai`` for the LLM calls). By hand::

    from otel_agentperf.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    OpenAIAgentsInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration: ``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``) records function-tool
arguments and results; ``tracer_provider``, ``meter_provider``.

What is recorded
----------------
- ``Runner.run``, ``Runner.run_sync`` and ``Runner.run_streamed`` (any ``AgentRunner``): one agent run
  (:func:`~otel_agentperf.agent_run`) named after the starting agent: span ``invoke_agent {agent.name}``, the run
  summary, ``gen_ai.invoke_agent.duration`` and the per-run call counts. The LLM calls the SDK makes go through the
  openai client, so the openai instrumentor traces them under this span and the run counts each one once. A streamed
  run ends when its run loop does: completed, failed, or cancelled (``result.cancel()``, ``agentperf.run.end``
  ``cancelled``), whatever the consumer read of it.
- From the SDK's own trace events (a processor added next to the SDK's; the SDK's exporter is left as it is, and
  nothing from here reaches it): each agent a handoff switches to is a nested ``invoke_agent {agent.name}`` run, so
  the time in each agent reads off the tree; each function tool call is ``execute_tool {name}`` with
  ``gen_ai.execute_tool.duration`` (an error the SDK reports to the model marks it ``tool_error``); each guardrail is
  a ``guardrail {name}`` span with ``agentperf.guardrail.triggered``. The SDK's generation and response spans are
  left out: the openai instrumentor's span is the one span per LLM call. MCP tools are left to the MCP
  instrumentor, hosted tools run at the provider and have no span.

With the SDK's tracing disabled (``RunConfig(tracing_disabled=True)``, ``OPENAI_AGENTS_DISABLE_TRACING``), the SDK
reports no events: runs and LLM calls are still traced, handoffs, tools and guardrails are not.

What is patched
---------------
``AgentRunner.run`` and ``AgentRunner.run_streamed`` (``run_sync`` goes through ``run``), when ``agents.run`` is
imported; ``agents.tracing.add_trace_processor`` adds the processor, which ``uninstrument()`` removes and disables.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.content import ContentPolicy
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.lifecycle import Operation
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.tool_execution import ToolCall, ToolTelemetry
from otel_agentperf.instrumentation.openai_agents.package import _instruments
from otel_agentperf.runs import AgentRun

__all__ = ["OpenAIAgentsInstrumentor"]

_logger = logging.getLogger(__name__)
_RUN_MODULE = "agents.run"

_current: contextvars.ContextVar[_RunState | None] = contextvars.ContextVar("agentperf_agents_run", default=None)


class _RunState:
    """What the processor needs to know of the run current in a context: whose agent span the run itself is."""

    __slots__ = ("starting_agent", "first_agent_seen")

    def __init__(self, starting_agent: str) -> None:
        self.starting_agent = starting_agent
        self.first_agent_seen = False


class OpenAIAgentsInstrumentor(AgentPerfInstrumentor):
    """Traces OpenAI Agents SDK runs, handoffs, function tools and guardrails."""

    _dependencies = _instruments
    _generation: object | None = None
    _processor: _Processor | None = None

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        tracer_provider, meter_provider = kwargs.get("tracer_provider"), kwargs.get("meter_provider")
        generation = self._generation = object()

        def on_import(module: Any) -> None:
            if self._generation is generation:
                self._setup_sdk(reporter, tracer_provider, meter_provider, ContentPolicy.resolve(kwargs))

        wrapt.register_post_import_hook(on_import, _RUN_MODULE)

    def _setup_sdk(
        self,
        reporter: ErrorReporter,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        content: ContentPolicy,
    ) -> None:
        from otel_agentperf.instrumentation.openai_agents import _processor  # noqa: PLC0415 - needs the SDK

        def new_run(name: str) -> AgentRun:
            return _agent_run(name, tracer_provider, meter_provider, reporter)

        run_wrapper, streamed_wrapper = _runner_wrappers(new_run, reporter)
        self._patch(_RUN_MODULE, "AgentRunner.run", run_wrapper)
        self._patch(_RUN_MODULE, "AgentRunner.run_streamed", streamed_wrapper)
        tracer, instruments = scope(tracer_provider, meter_provider, __name__)
        tools = ToolTelemetry(tracer, instruments, reporter, content)
        self._processor = _processor.add(_Processor(tracer, tools, reporter, new_run))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._generation = None
        super()._uninstrument(**kwargs)
        if self._processor is not None:
            from otel_agentperf.instrumentation.openai_agents import _processor  # noqa: PLC0415 - needs the SDK

            _processor.remove(self._processor)
            self._processor = None


def _agent_run(
    name: str, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None, reporter: ErrorReporter
) -> AgentRun:
    return AgentRun(
        name,
        agent_id=None,
        conversation_id=None,
        provider=None,
        on_end=None,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        reporter=reporter,
    )


def _starting_agent_name(args: Any, kwargs: Any) -> str:
    agent = args[0] if args else kwargs.get("starting_agent")
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else "agent"


def _runner_wrappers(
    new_run: Callable[[str], AgentRun], reporter: ErrorReporter
) -> tuple[Callable[..., Awaitable[Any]], Callable[..., Any]]:
    def start(args: Any, kwargs: Any) -> tuple[AgentRun, _RunState] | None:
        if not is_instrumentation_enabled():
            return None
        try:
            name = _starting_agent_name(args, kwargs)
            return new_run(name), _RunState(name)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report("agents run start", error)
            return None

    async def run_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        started = start(args, kwargs)
        if started is None:
            return await wrapped(*args, **kwargs)
        run, state = started
        token = _current.set(state)
        try:
            with _RunScope(run):
                return await wrapped(*args, **kwargs)
        finally:
            _current.reset(token)

    def streamed_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        started = start(args, kwargs)
        if started is None:
            return wrapped(*args, **kwargs)
        run, state = started
        # The run loop is a task the call creates: run the call in a context of its own, so that the task inherits
        # the run while the caller's context stays as it was; the run ends in that context when the task ends.
        context = contextvars.copy_context()
        result = context.run(_start_streamed, run, state, wrapped, args, kwargs)
        try:
            task = result.run_loop_task
            if isinstance(task, asyncio.Task):
                task.add_done_callback(lambda done: context.run(_end_streamed, run, done))
            else:
                context.run(run.__exit__, None, None, None)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report("agents streamed run", error)
        return result

    return run_wrapper, streamed_wrapper


def _start_streamed(run: AgentRun, state: _RunState, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    _current.set(state)
    run.__enter__()
    try:
        return wrapped(*args, **kwargs)
    except BaseException as error:
        run.__exit__(type(error), error, error.__traceback__)
        raise


def _end_streamed(run: AgentRun, task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        run.end_reason = semconv.RUN_END_CANCELLED
        run.__exit__(None, None, None)
        return
    error = task.exception()
    run.__exit__(type(error) if error is not None else None, error, error.__traceback__ if error else None)


class _RunScope:
    """A run as a context manager whose cancellation ends it as ``cancelled``, not as an error."""

    __slots__ = ("run",)

    def __init__(self, run: AgentRun) -> None:
        self.run = run

    def __enter__(self) -> AgentRun:
        return self.run.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if isinstance(error, asyncio.CancelledError):
            self.run.end_reason = semconv.RUN_END_CANCELLED
            kind = error = traceback = None
        self.run.__exit__(kind, error, traceback)


class _Guardrail(Operation):
    """One guardrail check: its span, current while the check runs (a guardrail may call an LLM)."""

    __slots__ = ("span", "started", "_token")


class _Processor:
    """Turns the SDK's agent, function and guardrail trace events into runs, tool calls and guardrail spans."""

    def __init__(
        self, tracer: Tracer, tools: ToolTelemetry, reporter: ErrorReporter, new_run: Callable[[str], AgentRun]
    ) -> None:
        self.tracer = tracer
        self.tools = tools
        self.reporter = reporter
        self.new_run = new_run
        self.enabled = True
        self._open: dict[str, AgentRun | ToolCall | _Guardrail] = {}

    def on_trace_start(self, trace_: Any) -> None:
        """Nothing: the run is made by the runner's wrapper."""

    def on_trace_end(self, trace_: Any) -> None:
        """Nothing: the run is ended by the runner's wrapper."""

    def shutdown(self) -> None:
        """Nothing to flush: spans go through the OpenTelemetry SDK."""

    def force_flush(self) -> None:
        """Nothing to flush: spans go through the OpenTelemetry SDK."""

    def on_span_start(self, span: Any) -> None:
        """Open what an agent, function or guardrail span stands for."""
        if not self.enabled or not is_instrumentation_enabled():
            return
        try:
            opened = self._open_for(span.span_data)
            if opened is not None:
                self._open[span.span_id] = opened
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report("agents span start", error)

    def on_span_end(self, span: Any) -> None:
        """Close what :meth:`on_span_start` opened for ``span``."""
        opened = self._open.pop(span.span_id, None)
        if opened is None:
            return
        try:
            self._close(opened, span)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report("agents span end", error)

    def _open_for(self, data: Any) -> AgentRun | ToolCall | _Guardrail | None:
        kind = getattr(data, "type", None)
        if kind == "agent":
            state = _current.get()
            if state is not None and not state.first_agent_seen and data.name == state.starting_agent:
                state.first_agent_seen = True  # the run's own span stands for its starting agent
                return None
            run = self.new_run(str(data.name))
            run.__enter__()
            return run
        if kind == "function" and not getattr(data, "mcp_data", None):
            call = self.tools.call(str(data.name), arguments=getattr(data, "input", None) or None)
            return call.__enter__()
        if kind == "guardrail":
            guardrail = _Guardrail()
            attributes: dict[str, AttributeValue] = {semconv.AGENTPERF_GUARDRAIL_NAME: str(data.name)}
            guardrail.begin(
                self.tracer.start_span(f"guardrail {data.name}", kind=SpanKind.INTERNAL, attributes=attributes)
            )
            guardrail.enter()
            return guardrail
        return None

    def _close(self, opened: AgentRun | ToolCall | _Guardrail, span: Any) -> None:
        error = getattr(span, "error", None)
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(opened, ToolCall):
            if error:
                opened.set_error_result(semconv.ERROR_TYPE_TOOL_ERROR, str(message or "the tool failed"))
            elif self.tools.capture:
                opened.set_result(getattr(span.span_data, "output", None))
            opened.__exit__(None, None, None)
        elif isinstance(opened, AgentRun):
            if error:
                opened.end_reason = semconv.RUN_END_ERROR
            opened.__exit__(None, None, None)
        else:
            opened.leave()
            triggered = bool(getattr(span.span_data, "triggered", False))
            opened.close_span({semconv.AGENTPERF_GUARDRAIL_TRIGGERED: triggered})
