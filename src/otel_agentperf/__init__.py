"""otel_agentperf: OpenTelemetry instrumentation that makes the performance of AI agents visible.

Importing this package has no side effects: it sets no provider and imports no instrumented library. Instrumentors
live in ``otel_agentperf.instrumentation.<library>`` and are also loaded by ``opentelemetry-instrument``.
"""

from otel_agentperf.exceptions import AgentPerfError, ConfigurationError
from otel_agentperf.runs import RunCollector, RunSummary, agent, agent_run, workflow, workflow_run
from otel_agentperf.tools import tool, tool_call
from otel_agentperf.version import __version__

__all__ = [
    "AgentPerfError",
    "ConfigurationError",
    "RunCollector",
    "RunSummary",
    "__version__",
    "agent",
    "agent_run",
    "tool",
    "tool_call",
    "workflow",
    "workflow_run",
]
