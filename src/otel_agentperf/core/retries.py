"""Provider-agnostic retry telemetry, and the hook into the client SDKs' own retry loops.

Every retry, whoever makes it, is counted in ``agentperf.retries`` and its wait recorded in
``agentperf.retry.backoff.duration``, with ``agentperf.retry.source`` and ``error.type`` (plus the GenAI operation's
provider, operation and model when it happens inside an instrumented LLM call). The current span gets an
``agentperf.retry`` event stamped when the wait began, with ``agentperf.retry.attempt`` (a per-call number, kept off
the metrics so that a polling loop cannot grow their series), and an LLM call's span sums its retries and its backoff
time apart from the time spent in requests.

The openai and anthropic SDKs share one client design: their request loop calls
``_sleep_for_retry(*, retries_taken, max_retries, options, response)`` before each retry, from inside the ``except``
block that caught the failure (``response`` is set for a retryable status, ``None`` for a timeout or connection error).
:func:`sdk_sleep_wrappers` wraps that method; the wait it measures is the real one, ``retry-after`` headers included.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from time import time_ns
from timeit import default_timer
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, get_current_span
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.instruments import Instruments
from otel_agentperf.core.lifecycle import error_type
from otel_agentperf.core.tally import record_rate_limit_wait, record_retry

if TYPE_CHECKING:
    from otel_agentperf.core.guard import ErrorReporter

_LLM_KEYS = (semconv.GEN_AI_OPERATION_NAME, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL)

_RATE_LIMITED = 429

RETRY_OWNER_KEY = otel_context.create_key("otel_agentperf.retry_owner")
"""Context key of the operation that retries made in this context belong to (an LLM call)."""


class RetryOwner(Protocol):
    """An operation that accounts for the retries made inside it."""

    span: Span
    metric_attributes: Mapping[str, AttributeValue]

    def add_retry(self, delay: float) -> None:
        """Count one retry and the seconds waited before it."""

    def read_headers(self, headers: object | None, status_code: int | None = None) -> None:
        """Read the rate-limit headers of a response that is retried (``status_code`` set)."""


def current_retry_owner() -> RetryOwner | None:
    """The operation that retries in this context belong to, if any."""
    return otel_context.get_value(RETRY_OWNER_KEY)  # type: ignore[return-value]


class RetryRecorder:
    """The retry counter and backoff histogram, and how one retry is recorded."""

    __slots__ = ("_count", "_backoff")

    def __init__(self, instruments: Instruments) -> None:
        self._count = instruments.counter(semconv.AGENTPERF_RETRIES)
        self._backoff = instruments.histogram(semconv.AGENTPERF_RETRY_BACKOFF_DURATION)

    def record(
        self,
        source: str,
        attempt: int,
        error_type: str,
        delay: float,
        *,
        span: Span,
        started_ns: int,
        status_code: int | None = None,
        context_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """Record retry number ``attempt`` after a wait of ``delay`` seconds that began at ``started_ns``."""
        attributes: dict[str, AttributeValue] = {
            semconv.AGENTPERF_RETRY_SOURCE: source,
            semconv.ERROR_TYPE: error_type,
        }
        if context_attributes:
            for key in _LLM_KEYS:
                value = context_attributes.get(key)
                if value is not None:
                    attributes[key] = value
        self._count.add(1, attributes)
        self._backoff.record(delay, attributes)
        record_retry(delay)
        if span.is_recording():
            event: dict[str, AttributeValue] = {
                semconv.AGENTPERF_RETRY_ATTEMPT: attempt,
                semconv.AGENTPERF_RETRY_DELAY: delay,
                semconv.ERROR_TYPE: error_type,
            }
            if status_code is not None:
                event[semconv.HTTP_RESPONSE_STATUS_CODE] = status_code
            span.add_event(semconv.AGENTPERF_RETRY_EVENT, event, timestamp=started_ns)


def sdk_sleep_wrappers(
    recorder: RetryRecorder, source: str, reporter: ErrorReporter
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (sync, async) for an SDK client's ``_sleep_for_retry`` that record each retry."""

    def record(kwargs: Mapping[str, Any], failure: BaseException | None, started: float, started_ns: int) -> None:
        try:
            _record_sdk_retry(recorder, source, kwargs, failure, default_timer() - started, started_ns)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report(f"{source} retry", error)

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        failure, started_ns, started = sys.exc_info()[1], time_ns(), default_timer()
        try:
            return wrapped(*args, **kwargs)
        finally:
            record(kwargs, failure, started, started_ns)

    async def async_wrapper(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        failure, started_ns, started = sys.exc_info()[1], time_ns(), default_timer()
        try:
            return await wrapped(*args, **kwargs)
        finally:
            record(kwargs, failure, started, started_ns)

    return sync_wrapper, async_wrapper


def record_library_retry(
    recorder: RetryRecorder, source: str, attempt: int, failure: BaseException | None, delay: float
) -> None:
    """Record a retry decided by a retry library (``failure`` is ``None`` when a returned value was retried).

    The retry belongs to the LLM call current in this context if there is one, else to the current span.
    """
    kind = semconv.RETRY_ERROR_RESULT if failure is None else error_type(failure)
    if getattr(failure, "status_code", None) == _RATE_LIMITED:
        record_rate_limit_wait(delay)
    owner = current_retry_owner()
    if owner is not None:
        owner.add_retry(delay)
        span, context_attributes = owner.span, owner.metric_attributes
    else:
        span, context_attributes = get_current_span(), None
    recorder.record(
        source, attempt, kind, delay, span=span, started_ns=time_ns(), context_attributes=context_attributes
    )


def _record_sdk_retry(
    recorder: RetryRecorder,
    source: str,
    kwargs: Mapping[str, Any],
    failure: BaseException | None,
    delay: float,
    started_ns: int,
) -> None:
    status_code = getattr(kwargs.get("response"), "status_code", None)
    if not isinstance(status_code, int):
        status_code = None
    if status_code is not None:
        kind = str(status_code)
    elif failure is not None:
        kind = error_type(failure)
    else:
        kind = semconv.ERROR_TYPE_OTHER
    retries_taken = kwargs.get("retries_taken")
    attempt = retries_taken + 1 if isinstance(retries_taken, int) else 0
    if status_code == _RATE_LIMITED:
        record_rate_limit_wait(delay)
    owner = current_retry_owner()
    if owner is not None:
        if status_code is not None:
            owner.read_headers(getattr(kwargs.get("response"), "headers", None), status_code)
        owner.add_retry(delay)
        span, context_attributes = owner.span, owner.metric_attributes
    else:
        span, context_attributes = get_current_span(otel_context.get_current()), None
    recorder.record(
        source,
        attempt,
        kind,
        delay,
        span=span,
        started_ns=started_ns,
        status_code=status_code,
        context_attributes=context_attributes,
    )
