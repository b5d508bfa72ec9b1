"""OpenTelemetry instrumentation for LangChain tools (one span per execution) and LangGraph runs and nodes.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_langchain``. By
hand::

    from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor

    LangChainToolsInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration: ``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``) records the tool input and
output, cut to ``content_max_length`` (``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``); ``tracer_provider``, ``meter_provider``.

What is recorded
----------------
The same as the ``tool`` decorator: a span ``execute_tool {tool.name}`` (kind INTERNAL) with
``gen_ai.operation.name=execute_tool``, ``gen_ai.tool.name``, ``gen_ai.tool.type=function``,
``gen_ai.tool.description`` and ``gen_ai.tool.call.id`` (when the tool is invoked with a tool call); the metric
``gen_ai.execute_tool.duration``; a tool call in the current agent run. An exception the tool raises propagates
unchanged and marks the span with its class. A ``ToolException`` or validation error the tool handles itself
(``handle_tool_error``, ``handle_validation_error``) returns normally, but LangChain marks the output's status as an
error: that marks the span and metric with ``error.type=tool_error``, whether or not the call carried a tool-call id.

LangGraph (when it is installed): each invocation of a compiled graph (``invoke``, ``ainvoke``, ``stream``,
``astream``, ``batch``) is a run, as ``agent_run()`` makes: ``invoke_agent {name}`` for an agent graph (one with a
``ToolNode``, or built by ``langgraph.prebuilt.create_react_agent`` or ``langchain.agents.create_agent``),
``invoke_workflow {name}`` for any other, where the name is the ``run_name`` of the config, else the graph's; the run
summary on its span, its duration metric, and ``gen_ai.conversation.id`` set to the config's ``thread_id``. Each
node execution is a span ``node {name}`` (INTERNAL) with ``agentperf.node.name``, ``agentperf.node.step`` (LangGraph's
step number) and ``agentperf.node.type`` (``tool`` when it executed tools, ``model`` when it called an LLM and no tool,
else ``function``); the LLM and tool spans of the node, and a subgraph's run, nest under it. A streamed run ends
however its consumer stops: ``agentperf.run.end`` ``completed``, ``closed`` (closed early), ``cancelled`` or
``error``. An interrupt (``interrupt()``, ``interrupt_before``/``after``) ends the run as ``interrupted`` (not an
error; the node that paused gets ``agentperf.node.interrupted``); resuming the thread (``Command(resume=...)`` or
``None`` input with the same ``thread_id``) is a new run whose span links to the interrupted one
(``agentperf.run.resumes``).

What is patched
---------------
``BaseTool.run`` and ``BaseTool.arun``: ``invoke``, ``ainvoke``, agents and graphs call a tool through them, one call
each, so every execution gives exactly one span, for tools defined before or after ``instrument()``. The module
function ``_format_output``, which ``run`` and ``arun`` call with the output's status, tells a handled error from a
success; where a LangChain version lacks it, a handled error is still seen on a ``ToolMessage`` (calls with an id).

LangGraph, once ``langgraph.pregel.main`` is imported: ``Pregel.stream`` and ``Pregel.astream`` (every invocation goes
through them), and the task runners ``run_with_retry`` / ``arun_with_retry`` as ``langgraph.pregel._runner`` calls
them (every node execution, with its retries). No LangChain callback handler is added: an async chain's end callback
runs shielded in a task of its own, so a handler could not take a node's span off the context, and nothing has to run
per token or per callback event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Tracer

from otel_agentperf import semconv
from otel_agentperf.core.content import ContentPolicy
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.tool_execution import ToolCall, ToolTelemetry
from otel_agentperf.instrumentation.langchain.package import _instruments

__all__ = ["LangChainToolsInstrumentor"]

_logger = logging.getLogger(__name__)
_BASE_TOOL = "langchain_core.tools.base"
_PREGEL = "langgraph.pregel.main"
_RUNNER = "langgraph.pregel._runner"  # calls the task runners by their module-global names
_RUNNER = "langgraph.pregel._runner"  # calls the task runners by their module-global names
_STATUS_POSITION = 4  # _format_output(content, artifact, tool_call_id, name, status)

_current_call: ContextVar[ToolCall | None] = ContextVar("agentperf_langchain_tool_call", default=None)


class LangChainToolsInstrumentor(AgentPerfInstrumentor):
    """Traces every execution of a LangChain tool, and LangGraph runs and nodes."""

    _dependencies = _instruments
    _graphs_generation: object | None = None

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = ToolTelemetry(tracer, instruments, reporter, ContentPolicy.resolve(kwargs))
        sync_wrapper, async_wrapper = _wrappers(telemetry)
        self._patch(_BASE_TOOL, "BaseTool.run", sync_wrapper)
        self._patch(_BASE_TOOL, "BaseTool.arun", async_wrapper)
        self._patch(_BASE_TOOL, "_format_output", _format_output_wrapper(reporter))
        # LangGraph is patched when it is imported (now, if it already is): a process that has it installed but does
        # not use it does not pay for importing it.
        generation = self._graphs_generation = object()

        def on_import(module: Any) -> None:
            if self._graphs_generation is generation:
                self._setup_graphs(tracer, reporter, kwargs)

        wrapt.register_post_import_hook(on_import, _PREGEL)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._graphs_generation = None
        super()._uninstrument(**kwargs)

    def _setup_graphs(self, tracer: Tracer, reporter: ErrorReporter, kwargs: dict[str, Any]) -> None:
        try:
            from otel_agentperf.instrumentation.langchain import _graphs  # noqa: PLC0415 - needs langgraph
        except ImportError as error:  # a langgraph without the parts traced here
            _logger.debug("LangGraph runs not traced: %s", error)
            return
        runs = _graphs.GraphRuns(reporter, kwargs.get("tracer_provider"), kwargs.get("meter_provider"))
        sync_stream, async_stream = _graphs.stream_wrappers(runs)
        self._patch(_PREGEL, "Pregel.stream", sync_stream)
        self._patch(_PREGEL, "Pregel.astream", async_stream)
        sync_node, async_node = _graphs.NodeSpans(tracer, reporter).wrappers()
        self._patch(_RUNNER, "run_with_retry", sync_node)
        self._patch(_RUNNER, "arun_with_retry", async_node)


def _start(telemetry: ToolTelemetry, tool: Any, args: Any, kwargs: Any) -> ToolCall | None:
    try:
        name = tool.name
        if not isinstance(name, str) or not name:
            return None
        description = tool.description if isinstance(tool.description, str) and tool.description else None
        call_id = kwargs.get("tool_call_id")
        tool_input = args[0] if args else kwargs.get("tool_input")
        arguments = tool_input if telemetry.capture else None
        return telemetry.call(
            name, description=description, call_id=call_id if isinstance(call_id, str) else None, arguments=arguments
        )
    except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
        telemetry.reporter.report("langchain tool start", error)
        return None


def _format_output_wrapper(reporter: ErrorReporter) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        output = wrapped(*args, **kwargs)
        try:
            status = args[_STATUS_POSITION] if len(args) > _STATUS_POSITION else kwargs.get("status")
            call = _current_call.get()
            if status == "error" and call is not None:
                _mark_tool_error(call)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report("langchain tool status", error)
        return output

    return wrapper


def _mark_tool_error(call: ToolCall) -> None:
    call.set_error_result(semconv.ERROR_TYPE_TOOL_ERROR, "the tool handled an error and returned its message")


def _finish(call: ToolCall, output: Any) -> None:
    try:
        if getattr(output, "status", None) == "error":
            _mark_tool_error(call)
        if call.telemetry.capture:
            call.set_result(getattr(output, "content", output))
    except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
        call.telemetry.reporter.report("langchain tool result", error)


def _wrappers(telemetry: ToolTelemetry) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        call = _start(telemetry, instance, args, kwargs) if is_instrumentation_enabled() else None
        if call is None:
            return wrapped(*args, **kwargs)
        token = _current_call.set(call)
        try:
            with call:
                output = wrapped(*args, **kwargs)
                _finish(call, output)
        finally:
            _current_call.reset(token)
        return output

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        call = _start(telemetry, instance, args, kwargs) if is_instrumentation_enabled() else None
        if call is None:
            return await wrapped(*args, **kwargs)
        token = _current_call.set(call)
        try:
            with call:
                output = await wrapped(*args, **kwargs)
                _finish(call, output)
        finally:
            _current_call.reset(token)
        return output

    return sync_wrapper, async_wrapper
