"""Keeps telemetry failures out of the instrumented program.

Every piece of telemetry work that runs around a user's call goes through :meth:`ErrorReporter.report` when it fails:
the first failure at each place is logged at WARNING with its traceback, later ones at DEBUG, and the user's call goes
on unaffected. In strict mode (``OTEL_AGENTPERF_STRICT=true``, used by this package's tests) the error is re-raised
instead, so that bugs are loud where they can be fixed.
"""

from __future__ import annotations

import logging

from otel_agentperf.core.settings import read_bool
from otel_agentperf.environment_variables import OTEL_AGENTPERF_STRICT

_logger = logging.getLogger("otel_agentperf")


class ErrorReporter:
    """Reports internal telemetry errors once per place, or re-raises them in strict mode."""

    __slots__ = ("strict", "_seen")

    def __init__(self, strict: bool | None = False) -> None:
        """``strict=None`` reads ``OTEL_AGENTPERF_STRICT`` at each report (helpers used without ``instrument()``)."""
        self.strict = strict
        self._seen: set[str] = set()

    def report(self, where: str, error: BaseException) -> None:
        """Log ``error`` raised by telemetry code at ``where``; re-raise it in strict mode."""
        strict = self.strict
        if strict is None:
            strict = read_bool(OTEL_AGENTPERF_STRICT, "strict", None, False)
        if strict:
            raise error
        if where in self._seen:
            _logger.debug("otel_agentperf internal error in %s", where, exc_info=error)
            return
        self._seen.add(where)
        _logger.warning(
            "otel_agentperf caught an internal error in %s; your call was not affected, only its telemetry is "
            "incomplete. Further errors here are logged at DEBUG.",
            where,
            exc_info=error,
        )
