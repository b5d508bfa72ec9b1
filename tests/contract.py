"""The contract every instrumentor of this package keeps, as data a parametrized suite runs against.

A new instrumentor adds one :class:`InstrumentorCase` to ``CASES`` in ``test_contract.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class InstrumentorCase:
    """How to drive one instrumentor through the contract."""

    id: str
    instrumentor: type
    patched: Callable[[], list[tuple[Any, str]]]
    """The (owner, attribute) pairs that instrument() replaces."""
    call: Callable[[], Any]
    """One traced call; returns its result."""
    call_raising: Callable[[BaseException], Any]
    """One traced call during which the library raises the given exception."""
    open_stream: Callable[[], Any] | None
    """Starts a traced stream and returns it unread (``None`` for an instrumentor without streams)."""
    break_extraction: Callable[[pytest.MonkeyPatch], None]
    """Makes reading the response raise inside the instrumentation."""
    result_fingerprint: Callable[[Any], Any]
    """A comparable summary of a call's result."""
