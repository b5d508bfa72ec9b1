"""The one span lifecycle that every traced operation goes through: LLM calls, tool executions, agent runs.

An :class:`Operation` owns one span:

- created with the span already started (as a child of the caller's current context);
- :meth:`Operation.enter` makes the span current, with optional extra context values (an LLM call adds itself as the
  owner of the retries made inside it);
- :meth:`Operation.leave` restores the caller's context; it never raises, also when the operation is left in another
  context than the one that entered it (a generator finalised elsewhere, a task that was cancelled: see
  ``core.contexts``);
- :meth:`Operation.metric_context` is the context its metric points are recorded in, so that an exemplar links to the
  operation's own span even after it stopped being current;
- :meth:`Operation.close_span` puts the final attributes on the span, marks a failure (:func:`error_type`, ERROR status
  with the error's message, the exception event) and ends it.

The ``error.type`` of an exception is :func:`error_type`, everywhere: metrics, spans, run summaries.
"""

from __future__ import annotations

import logging
from timeit import default_timer

from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, set_span_in_context
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.contexts import Attached, attach, detach

_logger = logging.getLogger(__name__)
_EMPTY_CONTEXT = Context()


def operation_attributes(operation: str, *pairs: tuple[str, AttributeValue | None]) -> dict[str, AttributeValue]:
    """``gen_ai.operation.name`` set to ``operation``, and each ``(key, value)`` pair whose value is not ``None``."""
    attributes: dict[str, AttributeValue] = {semconv.GEN_AI_OPERATION_NAME: operation}
    for key, value in pairs:
        if value is not None:
            attributes[key] = value
    return attributes


def error_type(error: BaseException) -> str:
    """The ``error.type`` of an exception: its class's qualified name (``_OTHER`` if it has none)."""
    return type(error).__qualname__ or semconv.ERROR_TYPE_OTHER


def mark_failed(span: Span, kind: str, error: BaseException | None = None, message: str | None = None) -> None:
    """Mark a recording ``span`` failed with ``error.type`` ``kind``: ERROR status, and the exception event if raised.

    The status description is ``message`` if given, else the exception's message, else ``kind``.
    """
    if error is not None:
        span.record_exception(error)
    description = message or (str(error) if error is not None else None) or kind
    span.set_status(Status(StatusCode.ERROR, description))
    span.set_attribute(semconv.ERROR_TYPE, kind)


class Operation:
    """One traced operation's span, its start time and the context token while it is current.

    A mixin without slots of its own: subclasses list ``span``, ``started`` and ``_token`` in theirs (or have a
    ``__dict__``), so that they may also derive from another slotted class.
    """

    __slots__ = ()
    span: Span
    started: float
    _token: Attached | None

    def begin(self, span: Span) -> None:
        """Take ``span`` (already started) as this operation's span, and start the clock."""
        self.span = span  # type: ignore[misc]  # the slots are the subclass's
        self.started = default_timer()  # type: ignore[misc]
        self._token = None  # type: ignore[misc]

    def enter(self, context: Context | None = None) -> None:
        """Make the span current (on top of ``context`` when given, else of the current context)."""
        self._token = attach(set_span_in_context(self.span, context))  # type: ignore[misc]

    def leave(self) -> None:
        """Restore the context the operation was entered from (once; later calls do nothing). Never raises."""
        token, self._token = self._token, None  # type: ignore[misc]
        if token is not None:
            detach(token)

    def metric_context(self) -> Context:
        """A context holding only the span: record the operation's metric points in it (exemplars link to the span)."""
        return set_span_in_context(self.span, _EMPTY_CONTEXT)

    def end_after_failure(self) -> None:
        """End the span if recording it failed halfway (a span is never left open); never raises."""
        try:
            if self.span.is_recording():
                self.span.end()
        except Exception:  # noqa: BLE001 - already reporting a failure
            _logger.debug("otel_agentperf could not end a span", exc_info=True)

    def close_span(
        self,
        attributes: dict[str, AttributeValue] | None,
        kind: str | None = None,
        error: BaseException | None = None,
        message: str | None = None,
    ) -> None:
        """Set the final ``attributes``, mark a failure of type ``kind`` (see :func:`mark_failed`), end the span."""
        span = self.span
        if span.is_recording():
            if attributes:
                span.set_attributes(attributes)
            if kind is not None:
                mark_failed(span, kind, error, message)
        span.end()
