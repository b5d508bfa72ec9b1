"""LangGraph runs and their nodes: a run per graph invocation, a span per node execution.

Runs: ``Pregel.stream`` and ``Pregel.astream`` are wrapped (``invoke``, ``ainvoke`` and ``batch`` go through them,
subgraphs too), so each invocation is one :class:`~otel_agentperf.runs.AgentRun` (a graph with a tool node, or built by
``create_react_agent`` / ``create_agent``) or :class:`~otel_agentperf.runs.WorkflowRun` (any other graph), current for
the whole iteration and never in the consumer's code between chunks.

Nodes: LangGraph's runner executes each task (a node, with its retries) through ``run_with_retry`` /
``arun_with_retry``; wrapping those gives one span per node execution, current around exactly the node's code, sync or
async, in whatever task or thread the runner uses. (A LangChain callback handler cannot do that: async chain-end
callbacks run shielded, in a task of their own, so a span made current at a node's start could not be taken off at
its end, and the next node would nest under it.) No callback handler is added: nothing runs per token or per event.

Imported only once LangGraph's ``langgraph.pregel.main`` is (a post-import hook): only modules that one already
imported are imported here.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import Token
from types import TracebackType
from typing import Any
from weakref import WeakKeyDictionary

from langgraph.errors import GraphBubbleUp, GraphInterrupt, ParentCommand
from langgraph.types import Command
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import INVALID_SPAN, Link, SpanContext, SpanKind, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.decorate import decorate
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.lifecycle import Operation, error_type
from otel_agentperf.core.tally import RunTally, enter_run, exit_run
from otel_agentperf.runs import AgentRun, WorkflowRun

_INTERRUPT_KEY = "__interrupt__"
_RESERVED_PREFIX = "__"
_REMEMBERED_INTERRUPTS = 1024
_AGENT_FACTORY_MODULES = ("langgraph.prebuilt", "langchain.agents")


class GraphRuns:
    """Starts the run of each graph invocation; remembers interrupted runs by thread to link their resumptions."""

    def __init__(
        self,
        reporter: ErrorReporter,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
    ) -> None:
        self.reporter = reporter
        self._providers = (tracer_provider, meter_provider)
        self._kinds: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()
        self._interrupted: OrderedDict[str, SpanContext] = OrderedDict()
        self._command = Command

    def scope(self, graph: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> GraphRunScope | None:
        """The run of one invocation of ``graph``; ``None`` if it cannot be made (the graph then runs bare)."""
        try:
            config = args[1] if len(args) > 1 else kwargs.get("config")
            config = config if isinstance(config, Mapping) else {}
            configurable = config.get("configurable")
            thread = configurable.get("thread_id") if isinstance(configurable, Mapping) else None
            thread_id = str(thread) if thread is not None else None
            name = str(config.get("run_name") or getattr(graph, "name", None) or "LangGraph")
            run_input = args[0] if args else kwargs.get("input")
            links = self._resume_links(thread_id, run_input)
            run_class = AgentRun if self._is_agent(graph) else WorkflowRun
            tracer_provider, meter_provider = self._providers
            run = run_class(
                name,
                agent_id=None,
                conversation_id=thread_id,
                provider=None,
                on_end=None,
                tracer_provider=tracer_provider,
                meter_provider=meter_provider,
                links=links,
                reporter=self.reporter,
            )
            return GraphRunScope(self, run, thread_id)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report("langgraph run start", error)
            return None

    def remember_interrupt(self, thread_id: str, context: SpanContext) -> None:
        """Keep the span of a run interrupted on ``thread_id`` (the most recent ones) to link its resumption."""
        self._interrupted[thread_id] = context
        self._interrupted.move_to_end(thread_id)
        while len(self._interrupted) > _REMEMBERED_INTERRUPTS:
            self._interrupted.popitem(last=False)

    def _resume_links(self, thread_id: str | None, run_input: Any) -> list[Link]:
        if thread_id is None:
            return []
        resuming = run_input is None or (
            isinstance(run_input, self._command) and getattr(run_input, "resume", None) is not None
        )
        context = self._interrupted.pop(thread_id, None) if resuming else None
        return [Link(context, {semconv.AGENTPERF_RUN_RESUMES: True})] if context is not None else []

    def _is_agent(self, graph: Any) -> bool:
        try:
            return self._kinds[graph]
        except (KeyError, TypeError):
            pass
        nodes = getattr(graph, "nodes", None)
        agent = isinstance(nodes, Mapping) and any(self._agent_node(node) for node in nodes.values())
        try:
            self._kinds[graph] = agent
        except TypeError:
            pass
        return agent

    def _agent_node(self, node: Any) -> bool:
        bound = getattr(node, "bound", None)
        # langgraph.prebuilt.ToolNode, told by name: importing it here could be circular
        if any(kind.__name__ == "ToolNode" and kind.__module__.startswith("langgraph.") for kind in type(bound).mro()):
            return True
        module = getattr(getattr(bound, "func", None), "__module__", None) or ""
        return module.startswith(_AGENT_FACTORY_MODULES)


class GraphRunScope:
    """Enters and leaves one graph run; an interrupt ends it as ``interrupted``, not as an error."""

    __slots__ = ("runs", "run", "thread_id")

    def __init__(self, runs: GraphRuns, run: AgentRun, thread_id: str | None) -> None:
        self.runs = runs
        self.run = run
        self.thread_id = thread_id

    def __enter__(self) -> AgentRun:
        return self.run.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        run = self.run
        if isinstance(error, GraphInterrupt):
            run.end_reason = semconv.RUN_END_INTERRUPTED
            kind = error = traceback = None
        elif isinstance(error, ParentCommand):
            kind = error = traceback = None
        elif isinstance(error, asyncio.CancelledError):
            run.end_reason = semconv.RUN_END_CANCELLED
            kind = error = traceback = None
        run.__exit__(kind, error, traceback)
        try:
            if run.end_reason == semconv.RUN_END_INTERRUPTED and self.thread_id is not None:
                self.runs.remember_interrupt(self.thread_id, run.span.get_span_context())
        except Exception as failure:  # noqa: BLE001 - telemetry must never reach the caller
            self.runs.reporter.report("langgraph interrupt", failure)

    def closed_early(self) -> None:
        """The consumer closed the stream before its end."""
        self.run.closed_early()

    def watch(self, chunk: Any) -> None:
        """Notice an interrupt in a streamed chunk (``{"__interrupt__": ...}``, alone or in a mode tuple)."""
        if type(chunk) is tuple and chunk:
            chunk = chunk[-1]
        if type(chunk) is dict and _INTERRUPT_KEY in chunk:
            self.run.end_reason = semconv.RUN_END_INTERRUPTED


def stream_wrappers(runs: GraphRuns) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Wrappers of ``Pregel.stream`` and ``Pregel.astream``: the iteration runs inside the graph's run."""

    def sync_wrapper(wrapped: Callable[..., Iterator[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        scope = runs.scope(instance, args, kwargs) if is_instrumentation_enabled() else None
        if scope is None:
            return wrapped(*args, **kwargs)

        def stream() -> Iterator[Any]:
            inner = wrapped(*args, **kwargs)
            try:
                for chunk in inner:
                    scope.watch(chunk)
                    yield chunk
            finally:
                inner.close()  # type: ignore[attr-defined]

        return decorate(stream, lambda _args, _kwargs: scope)()

    def async_wrapper(wrapped: Callable[..., AsyncIterator[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        scope = runs.scope(instance, args, kwargs) if is_instrumentation_enabled() else None
        if scope is None:
            return wrapped(*args, **kwargs)

        async def stream() -> AsyncIterator[Any]:
            inner = wrapped(*args, **kwargs)
            try:
                async for chunk in inner:
                    scope.watch(chunk)
                    yield chunk
            finally:
                await inner.aclose()  # type: ignore[attr-defined]

        return decorate(stream, lambda _args, _kwargs: scope)()

    return sync_wrapper, async_wrapper


class NodeSpan(Operation):
    """One node execution: its span, current while the node runs, and its own tally, which tells its type."""

    __slots__ = ("span", "started", "_token", "nodes", "name", "_attributes", "_tally", "_run_token")

    def __init__(self, nodes: NodeSpans, name: str, step: object) -> None:
        self.nodes = nodes
        self.name = name
        self._attributes: dict[str, AttributeValue] = {semconv.AGENTPERF_NODE_NAME: name}
        if isinstance(step, int):
            self._attributes[semconv.AGENTPERF_NODE_STEP] = step
        self.begin(INVALID_SPAN)
        self._tally: RunTally | None = None
        self._run_token: Token[RunTally | None] | None = None

    def __enter__(self) -> NodeSpan:
        try:
            span = self.nodes.tracer.start_span(
                f"node {self.name}", kind=SpanKind.INTERNAL, attributes=self._attributes
            )
            self.begin(span)
            self.enter()
            self._tally, self._run_token = enter_run()
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.nodes.reporter.report("langgraph node start", error)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            counts = exit_run(self._tally, self._run_token) if self._tally and self._run_token else None
            self.leave()
            attributes: dict[str, AttributeValue] = {}
            if counts is not None:
                attributes[semconv.AGENTPERF_NODE_TYPE] = (
                    semconv.NODE_TYPE_TOOL
                    if counts.tool_calls
                    else semconv.NODE_TYPE_MODEL
                    if counts.llm_calls
                    else semconv.NODE_TYPE_FUNCTION
                )
            if isinstance(error, GraphInterrupt):
                attributes[semconv.AGENTPERF_NODE_INTERRUPTED] = True
                error = None
            elif isinstance(error, GraphBubbleUp):
                error = None  # a command for a parent graph: control flow, not a failure
            self.close_span(attributes, error_type(error) if error is not None else None, error)
        except Exception as failure:  # noqa: BLE001 - telemetry must never reach the caller
            self.nodes.reporter.report("langgraph node end", failure)


class NodeSpans:
    """Makes the span of each node execution, around LangGraph's own runner of one task (with its retries)."""

    __slots__ = ("tracer", "reporter")

    def __init__(self, tracer: Tracer, reporter: ErrorReporter) -> None:
        self.tracer = tracer
        self.reporter = reporter

    def node(self, task: Any) -> NodeSpan | None:
        """The span of running ``task`` (a ``PregelExecutableTask``); ``None`` for LangGraph's own steps."""
        try:
            name = task.name
            if not isinstance(name, str) or name.startswith(_RESERVED_PREFIX):
                return None  # __start__ (writing the input) and the like: not the user's nodes
            metadata = (getattr(task, "config", None) or {}).get("metadata") or {}
            return NodeSpan(self, name, metadata.get("langgraph_step"))
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            self.reporter.report("langgraph node", error)
            return None

    def wrappers(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """Wrappers of ``run_with_retry`` and ``arun_with_retry``, which run one task (a node) to its end."""

        def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            node = self.node(args[0]) if args and is_instrumentation_enabled() else None
            if node is None:
                return wrapped(*args, **kwargs)
            with node:
                return wrapped(*args, **kwargs)

        async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
            node = self.node(args[0]) if args and is_instrumentation_enabled() else None
            if node is None:
                return await wrapped(*args, **kwargs)
            with node:
                return await wrapped(*args, **kwargs)

        return sync_wrapper, async_wrapper
