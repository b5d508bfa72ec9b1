"""The contract every instrumentor of this package keeps, as data that one parametrized suite runs against.

A new integration adds one :class:`ContractCase` to ``CASES`` in ``test_contract.py`` (see CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.helpers import points


@dataclass(frozen=True)
class ContractCase:
    """How to drive one instrumentor through the contract."""

    id: str
    instrumentor: type
    """Instantiated and given ``instrument(tracer_provider=..., meter_provider=...)`` by the ``instrument`` fixture."""
    call: Callable[[], Any]
    """One call of the library that the instrumentor records; returns its result."""
    break_recording: Callable[[pytest.MonkeyPatch], None]
    """Makes the instrumentation's own reading or recording raise ``RuntimeError("extractor bug")``."""
    signal: str
    """The metric that shows a call was recorded: its counter value or histogram count grows with each call."""
    events: int | None = 1
    """How much one ``call`` adds to ``signal``; ``None``: some positive amount (an observed total, like a time)."""
    spans: int = 0
    """Spans one ``call`` produces."""
    patched: Callable[[], list[tuple[Any, str]]] = list
    """The (owner, attribute) pairs that instrument() replaces and uninstrument() restores."""
    call_raising: Callable[[BaseException], Any] | None = None
    """One call during which the library raises the given exception (``None`` where that cannot happen)."""
    open_stream: Callable[[], Any] | None = None
    """Starts a traced stream and returns it unread (``None`` for an instrumentor without streams)."""
    fingerprint: Callable[[Any], Any] = lambda result: result
    """A comparable summary of a call's result."""
    restores_only_its_own: bool = True
    """Whether uninstrument() leaves a wrapper someone added after it in place (attribute patches do)."""
    strict_raises: bool = True
    """Whether strict mode makes an internal error reach the caller (not for observable callbacks)."""
    setup: Callable[[pytest.FixtureRequest], None] | None = None
    """Prepares what the case needs from fixtures (a server's port) before each test."""


def recorded(case: ContractCase, reader: InMemoryMetricReader) -> float:
    """How much ``case.signal`` holds now: the sum of counter values or of histogram counts."""
    return sum(point.count if hasattr(point, "count") else point.value for point in points(reader, case.signal))
