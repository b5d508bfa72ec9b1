"""OpenTelemetry instrumentation for tenacity: every retry counted, its wait recorded, and shown on the current span.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_tenacity``. By
hand::

    from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor

    TenacityInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration: ``tracer_provider`` is not used (retries are events on the span current when they happen);
``meter_provider`` defaults to the global one.

What is recorded
----------------
Each retry adds one to ``agentperf.retries`` and records its wait in ``agentperf.retry.backoff.duration``, the same
instruments the LLM SDK retries use, with ``agentperf.retry.source=tenacity``, ``error.type`` (the exception's class
name, or ``result`` when a returned value was retried). The span current in the retrying code gets an
``agentperf.retry`` event with ``agentperf.retry.attempt`` (1 for the first retry) and sums the retries made while it
was current in ``agentperf.retry.count`` and ``agentperf.retry.backoff_time`` (as an LLM call's span sums the SDK's
retries), and the current agent run counts the retry. A retrying object that gives up, or stops, records nothing
more: the last failure is the caller's to see.

What is patched
---------------
``tenacity.RetryCallState.prepare_for_next_attempt``, which every retry loop of tenacity calls exactly once between a
failed attempt and its wait: ``@retry`` on functions and coroutines, ``Retrying``, ``AsyncRetrying`` (called, or
iterated with ``for attempt in ...`` / ``async for attempt in ...``), whether they were created before or after
``instrument()``. The wait recorded is the one tenacity computed (``upcoming_sleep``), which is what it sleeps.
Nothing in the retry loop changes: same results, same exceptions, same number of attempts and waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf import semconv
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.retries import RetryRecorder, record_library_retry
from otel_agentperf.core.values import as_int, as_number
from otel_agentperf.instrumentation.tenacity.package import _instruments

__all__ = ["TenacityInstrumentor"]


class TenacityInstrumentor(AgentPerfInstrumentor):
    """Records every retry that tenacity makes."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        _, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        wrapper = _prepare_wrapper(RetryRecorder(instruments), reporter)
        self._patch("tenacity", "RetryCallState.prepare_for_next_attempt", wrapper)


def _prepare_wrapper(recorder: RetryRecorder, reporter: ErrorReporter) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if is_instrumentation_enabled():
            try:
                _record(recorder, instance)
            except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
                reporter.report("tenacity retry", error)
        return wrapped(*args, **kwargs)

    return wrapper


def _record(recorder: RetryRecorder, state: Any) -> None:
    """Record the retry that follows the failed attempt ``state`` describes (read before tenacity resets it)."""
    outcome = state.outcome
    failure = outcome.exception() if outcome is not None and outcome.failed else None
    attempt = as_int(state.attempt_number) or 0
    delay = float(as_number(getattr(state, "upcoming_sleep", None)) or 0.0)
    record_library_retry(recorder, semconv.RETRY_SOURCE_TENACITY, attempt, failure, delay)
