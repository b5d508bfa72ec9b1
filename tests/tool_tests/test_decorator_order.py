"""@tool with frameworks' own tool decorators: the order that works, and a clear error for the one that cannot."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as langchain_tool

from otel_agentperf import tool


def test_above_a_langchain_tool_raises_at_decoration_time():
    """@tool over LangChain's @tool gets a StructuredTool: a TypeError names the order that works."""
    with pytest.raises(TypeError, match=r"StructuredTool object.*Put @tool below it"):

        @tool
        @langchain_tool
        def lookup(city: str) -> str:
            """Look up a city."""
            return city

    with pytest.raises(TypeError, match="Put @tool below it"):

        @tool(name="lookup")
        @langchain_tool
        def named(city: str) -> str:
            """Look up a city."""
            return city


def test_not_callable_raises():
    with pytest.raises(TypeError, match="got a str object"):
        tool("search")  # type: ignore[call-overload]


def test_below_a_langchain_tool_traces_each_call(tracer_provider, meter_provider, span_exporter):
    """LangChain's @tool over @tool keeps LangChain's schema and description, and each call is a tool span."""

    @langchain_tool
    @tool(tracer_provider=tracer_provider, meter_provider=meter_provider)
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    @langchain_tool
    @tool(tracer_provider=tracer_provider, meter_provider=meter_provider)
    async def triple(x: int) -> int:
        """Triple a number."""
        return 3 * x

    assert isinstance(double, BaseTool)
    assert double.description == "Double a number."
    assert set(double.args) == {"x"}
    assert double.invoke({"x": 3}) == 6
    assert asyncio.run(triple.ainvoke({"x": 3})) == 9
    assert [span.name for span in span_exporter.get_finished_spans()] == ["execute_tool double", "execute_tool triple"]


def test_above_an_agents_sdk_function_tool_raises():
    agents = pytest.importorskip("agents")
    with pytest.raises(TypeError, match=r"FunctionTool object.*Put @tool below it"):

        @tool
        @agents.function_tool
        def lookup(city: str) -> str:
            """Look up a city."""
            return city


def test_below_an_agents_sdk_function_tool_keeps_its_schema(tracer_provider, meter_provider):
    agents = pytest.importorskip("agents")

    @agents.function_tool
    @tool(tracer_provider=tracer_provider, meter_provider=meter_provider)
    def lookup(city: str) -> str:
        """Look up a city."""
        return city

    assert lookup.name == "lookup"
    assert lookup.description == "Look up a city."
    assert set(lookup.params_json_schema["properties"]) == {"city"}
