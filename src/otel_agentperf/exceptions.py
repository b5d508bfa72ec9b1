"""Exceptions raised by otel_agentperf.

They are raised only at configuration time (``instrument(...)`` with a bad keyword argument), never while the
instrumented program runs::

    AgentPerfError
    └── ConfigurationError
"""

from __future__ import annotations


class AgentPerfError(Exception):
    """Base class of every exception this package raises."""


class ConfigurationError(AgentPerfError, ValueError):
    """A keyword argument given to an instrumentor has the wrong type or value."""
