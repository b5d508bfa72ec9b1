"""Capturing content never changes the span tree: a tool whose arguments or result JSON cannot take (a dict keyed by
tuples) is still the parent of what it calls, with its arguments and result recorded by ``repr``."""

from __future__ import annotations

from typing import Any

import pytest

from otel_agentperf import tool, tool_call

GRID = {(0, 0): "start", (1, 2): "goal"}


@pytest.fixture
def providers(tracer_provider, meter_provider) -> dict[str, Any]:
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


@pytest.fixture(autouse=True)
def _capture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")


def test_tool_with_tuple_keyed_arguments_stays_the_parent(providers, span_exporter):
    @tool(**providers)
    def plan(grid: dict[tuple[int, int], str]) -> dict[tuple[int, int], str]:
        with tool_call("inner", **providers):
            pass
        return {key: value.upper() for key, value in grid.items()}

    assert plan(GRID) == {(0, 0): "START", (1, 2): "GOAL"}
    spans = {span.name: span for span in span_exporter.get_finished_spans()}
    outer, inner = spans["execute_tool plan"], spans["execute_tool inner"]
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert outer.attributes["gen_ai.tool.call.arguments"] == repr({"grid": GRID})
    assert outer.attributes["gen_ai.tool.call.result"] == repr({(0, 0): "START", (1, 2): "GOAL"})
