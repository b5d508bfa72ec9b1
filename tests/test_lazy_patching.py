"""Instrumenting never imports a library the program has not imported: patches wait for the import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

OPENTELEMETRY_INSTRUMENT = Path(sys.executable).with_name("opentelemetry-instrument")

_SETUP = """
import sys
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.langchain import LangChainToolsInstrumentor
from otel_agentperf.instrumentation.mcp import MCPInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
instrumentors = [LangChainToolsInstrumentor(), MCPInstrumentor(), OpenAIInstrumentor(), AnthropicInstrumentor()]
for instrumentor in instrumentors:
    instrumentor.instrument(tracer_provider=provider)
assert "langchain_core" not in sys.modules, "langchain_core imported by instrument()"
for library in ("mcp", "openai", "anthropic"):
    assert library not in sys.modules, f"{library} imported by instrument()"
"""

_USE_LANGCHAIN = """
from langchain_core.tools import tool

@tool
def double(x: int) -> int:
    \"\"\"Double a number.\"\"\"
    return 2 * x

assert double.invoke({"x": 2}) == 4
import mcp.client.session
print(sorted(span.name for span in exporter.get_finished_spans()))
import anthropic, openai
for patched in (
    mcp.client.session.ClientSession.__dict__["call_tool"],
    openai.resources.chat.completions.Completions.__dict__["create"],
    anthropic.resources.messages.AsyncMessages.__dict__["stream"],
):
    print(type(patched).__name__)
"""


def _run(code: str, *command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [*command, sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_patches_wait_for_the_import_and_then_apply():
    """Nothing is imported by instrument(); importing later patches the library, so its tools are traced."""
    output = _run(_SETUP + _USE_LANGCHAIN)
    assert output.splitlines() == ["['execute_tool double']"] + ["FunctionWrapper"] * 3


def test_uninstrument_before_the_import_leaves_the_library_untouched():
    """Hooks still pending when uninstrument() runs patch nothing when the library is imported later."""
    code = _SETUP + "for instrumentor in instrumentors:\n    instrumentor.uninstrument()\n" + _USE_LANGCHAIN
    assert _run(code).splitlines() == ["[]"] + ["function"] * 3


def test_reinstrument_before_the_import_patches_once():
    """instrument, uninstrument, instrument, then the import: one patch, one span per call."""
    code = (
        _SETUP
        + "for instrumentor in instrumentors:\n    instrumentor.uninstrument()\n    instrumentor.instrument()\n"
        + "    instrumentor.uninstrument()\n    instrumentor.instrument(tracer_provider=provider)\n"
        + _USE_LANGCHAIN
        + "\nfrom langchain_core.tools.base import BaseTool\n"
        + "print(type(BaseTool.__dict__['run'].__wrapped__).__name__)\n"
    )
    assert _run(code).splitlines() == ["['execute_tool double']"] + ["FunctionWrapper"] * 3 + ["function"]


@pytest.mark.skipif(not OPENTELEMETRY_INSTRUMENT.exists(), reason="opentelemetry-instrument not installed")
def test_zero_code_startup_imports_no_unused_library():
    """Under opentelemetry-instrument, a program that imports nothing finds none of the instrumented LLM and tool
    libraries loaded."""
    quiet = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    code = (
        "import sys; print([name for name in ('mcp', 'langchain_core', 'openai', 'anthropic') if name in sys.modules])"
    )
    assert _run(code, str(OPENTELEMETRY_INSTRUMENT), env=quiet).strip() == "[]"
