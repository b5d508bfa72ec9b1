"""OpenTelemetry instrumentation for backoff: every retry counted, its wait recorded, and shown on the current span.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_backoff``. By
hand::

    from otel_agentperf.instrumentation.backoff import BackoffInstrumentor

    BackoffInstrumentor().instrument(meter_provider=meter_provider)

Configuration: ``meter_provider`` defaults to the global one; retries are events on the span current when they happen.

What is recorded
----------------
As for tenacity: ``agentperf.retries`` and ``agentperf.retry.backoff.duration`` with
``agentperf.retry.source=backoff``, ``error.type`` (the exception's class name for ``on_exception``, ``result`` for
``on_predicate``); an ``agentperf.retry`` event on the current span with ``agentperf.retry.attempt`` (1 for the first
retry), whose ``agentperf.retry.count`` and ``agentperf.retry.backoff_time`` include the retry; one retry in the
current agent run. A give-up records nothing more.

What is patched
---------------
``_call_handlers`` of ``backoff._sync`` and ``backoff._async``: the retry loops of ``on_exception`` and
``on_predicate`` look that function up at each attempt and call it with the wait they are about to sleep just before
each retry (their ``on_backoff`` call), so functions decorated before ``instrument()`` are covered too. The handlers
the user gave still run, with the same details; nothing else in the loop changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf import semconv
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.retries import RetryRecorder, record_library_retry
from otel_agentperf.core.values import as_int, as_number
from otel_agentperf.instrumentation.backoff.package import _instruments

__all__ = ["BackoffInstrumentor"]


class BackoffInstrumentor(AgentPerfInstrumentor):
    """Records every retry that backoff's decorators make."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        _, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        record = _retry_recorder(RetryRecorder(instruments), reporter)
        sync_wrapper, async_wrapper = _handler_wrappers(record)
        self._patch("backoff._sync", "_call_handlers", sync_wrapper)
        self._patch("backoff._async", "_call_handlers", async_wrapper)


def _retry_recorder(recorder: RetryRecorder, reporter: ErrorReporter) -> Callable[[dict[str, Any]], None]:
    def record(details: dict[str, Any]) -> None:
        """Record a retry when ``details`` are those of an ``on_backoff`` call (the only ones with a ``wait``)."""
        if "wait" not in details or not is_instrumentation_enabled():
            return
        try:
            failure = details.get("exception")
            delay = float(as_number(details["wait"]) or 0.0)
            attempt = as_int(details.get("tries")) or 0
            record_library_retry(recorder, semconv.RETRY_SOURCE_BACKOFF, attempt, failure, delay)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report("backoff retry", error)

    return record


def _handler_wrappers(
    record: Callable[[dict[str, Any]], None],
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        record(kwargs)
        return wrapped(*args, **kwargs)

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        record(kwargs)
        return await wrapped(*args, **kwargs)

    return sync_wrapper, async_wrapper
