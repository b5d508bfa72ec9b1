"""Tool telemetry for code no instrumentor covers: a ``tool`` decorator and a ``tool_call`` context manager.

Usage::

    from otel_agentperf import tool, tool_call

    @tool
    def search(query: str) -> list[str]: ...

    @tool(name="weather", description="Current weather for a city")
    async def get_weather(city: str) -> dict: ...

    with tool_call("calculator", call_id=call.id, arguments=call.arguments) as call:
        call.set_result(evaluate(call.arguments))

Each execution is a span ``execute_tool {gen_ai.tool.name}`` (kind INTERNAL) with ``gen_ai.operation.name``,
``gen_ai.tool.name``, ``gen_ai.tool.type`` (``function`` unless given), ``gen_ai.tool.description`` and
``gen_ai.tool.call.id`` when given, and ``error.type`` with ERROR status when it raises (the exception propagates
unchanged). Its duration goes to ``gen_ai.execute_tool.duration``, and the current agent run counts it. Arguments
(``gen_ai.tool.call.arguments``) and results (``gen_ai.tool.call.result``) are recorded only when content capture is on
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, read when the tool is declared, or when ``tool_call()``
is called), as JSON whose texts are cut to ``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``.
Decorated generators are timed over their whole iteration; their items are not recorded, and a consumer that stops
early ends the call normally.

``@tool`` goes right above the function, below a framework's own tool decorator (the OpenAI Agents SDK's
``@function_tool``, LangChain's ``@tool``), which returns a tool object rather than a function: ``@tool`` above such a
decorator raises a ``TypeError`` that says so, when the module is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from otel_agentperf.core.content import ContentPolicy
from otel_agentperf.core.decorate import decorate
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.tool_execution import ToolCall, ToolTelemetry
from otel_agentperf.exceptions import ConfigurationError

__all__ = ["ToolCall", "tool", "tool_call"]

_F = TypeVar("_F", bound=Callable[..., Any])
_reporter = ErrorReporter(strict=None)


def _telemetry(
    tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None, content: ContentPolicy
) -> ToolTelemetry:
    tracer, instruments = scope(tracer_provider, meter_provider, __name__)
    return ToolTelemetry(tracer, instruments, _reporter, content)


def tool_call(
    name: str,
    *,
    type: str = "function",  # noqa: A002 - the convention's attribute is gen_ai.tool.type
    description: str | None = None,
    call_id: str | None = None,
    arguments: Any = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> ToolCall:
    """One tool execution, to enter with ``with``; ``call.set_result(value)`` records its result when captured.

    Raises:
        ConfigurationError: ``name`` is not a non-empty string.
    """
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"Expected the tool name to be a non-empty string, got {name!r}")
    telemetry = _telemetry(tracer_provider, meter_provider, ContentPolicy.resolve({}))
    return telemetry.call(name, tool_type=type, description=description, call_id=call_id, arguments=arguments)


@overload
def tool(function: _F, /) -> _F: ...


@overload
def tool(
    function: None = None,
    /,
    *,
    name: str | None = None,
    type: str = "function",  # noqa: A002
    description: str | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Callable[[_F], _F]: ...


def tool(
    function: Any = None,
    /,
    *,
    name: str | None = None,
    type: str = "function",  # noqa: A002
    description: str | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> Any:
    """Decorate a tool function (sync, async, generator): each call is a tool execution.

    ``@tool`` or ``@tool(name=..., type=..., description=...)``; the name defaults to the function's ``__name__`` and
    the description to the first line of its docstring.
    """
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(f"Expected the tool name to be a non-empty string, got {name!r}")

    def decorator(wrapped: _F) -> _F:
        _check_decoratable(wrapped)
        tool_name = name or getattr(wrapped, "__name__", None) or repr(wrapped)
        doc = description or (inspect.getdoc(wrapped) or "").split("\n", 1)[0] or None
        signature = _signature(wrapped)
        returns_value = not (inspect.isgeneratorfunction(wrapped) or inspect.isasyncgenfunction(wrapped))
        content = ContentPolicy.resolve({})  # read once, when the tool is declared

        def open_scope(args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolCall:
            telemetry = _telemetry(tracer_provider, meter_provider, content)
            arguments = _arguments(signature, args, kwargs) if telemetry.capture else None
            return telemetry.call(tool_name, tool_type=type, description=doc, arguments=arguments)

        return decorate(wrapped, open_scope, keep_result=returns_value)

    return decorator if function is None else decorator(function)


def _check_decoratable(target: object) -> None:
    """Raise a ``TypeError`` for what ``@tool`` cannot wrap: a framework's tool object, or anything not callable."""
    kind = type(target).__qualname__
    if hasattr(target, "on_invoke_tool") or hasattr(target, "ainvoke") or not callable(target):
        raise TypeError(
            f"@tool decorates a function, but got a {kind} object: a framework's tool decorator (such as the OpenAI "
            "Agents SDK's @function_tool or LangChain's @tool) returns an object, not a function. Put @tool below it, "
            "right above the function:\n\n    @function_tool\n    @tool\n    def my_tool(...): ..."
        )


def _signature(function: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):
        return None


def _arguments(signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The call's arguments by parameter name when they bind, else as given."""
    if signature is not None:
        try:
            return dict(signature.bind(*args, **kwargs).arguments)
        except TypeError:
            pass
    return {"args": list(args), "kwargs": kwargs}
