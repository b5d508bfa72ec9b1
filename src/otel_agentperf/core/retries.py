"""Provider-agnostic retry telemetry, and the hook into the client SDKs' own retry loops.

Every retry, whoever makes it, is counted in ``agentperf.retries`` and its wait recorded in
``agentperf.retry.backoff.duration``, with ``agentperf.retry.source`` and ``error.type`` (plus the GenAI operation's
provider, operation and model when it happens inside an instrumented LLM call). The current span gets an
``agentperf.retry`` event stamped when the wait began, with ``agentperf.retry.attempt`` (a per-call number, kept off
the metrics so that a polling loop cannot grow their series), and sums its retries in ``agentperf.retry.count`` and
their waits in ``agentperf.retry.backoff_time``, whatever made them (SDK, tenacity, backoff): an LLM call's span
counts the retries made inside it, any other span (a tool, a run, the caller's own) the retries made while it was
current, so one tail-sampling policy on ``agentperf.retry.count`` sees every source.

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
from opentelemetry.trace import Span, get_current_span, set_span_in_context
from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core.instruments import Instruments
from otel_agentperf.core.lifecycle import error_type
from otel_agentperf.core.tally import record_rate_limit_wait, record_retry
from otel_agentperf.core.values import http_status

if TYPE_CHECKING:
    from otel_agentperf.core.guard import ErrorReporter

_LLM_KEYS = (semconv.GEN_AI_OPERATION_NAME, semconv.GEN_AI_PROVIDER_NAME, semconv.GEN_AI_REQUEST_MODEL)

_RATE_LIMITED = 429
_EMPTY_CONTEXT = otel_context.Context()

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

    def read_failure(self, headers: object | None, status_code: int | None) -> None:
        """Read a failed response seen as an exception, unless a nested call has read it already."""


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
        context = set_span_in_context(span, _EMPTY_CONTEXT)
        self._count.add(1, attributes, context)
        self._backoff.record(delay, attributes, context)
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

    The retry belongs to the LLM call current in this context if there is one, else to the current span. A retry
    inside an SDK retry loop that an SDK instrumentor records (:func:`in_sdk_retry_loop`) is left to it.
    """
    if in_sdk_retry_loop():  # the SDK's instrumentor records it
        return
    kind = semconv.RETRY_ERROR_RESULT if failure is None else error_type(failure)
    if getattr(failure, "status_code", None) == _RATE_LIMITED:
        record_rate_limit_wait(delay)
    span, context_attributes = _retry_span(delay)
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
    response = kwargs.get("response")
    status_code = getattr(response, "status_code", None)
    retries_taken = kwargs.get("retries_taken")
    attempt = retries_taken + 1 if isinstance(retries_taken, int) else 0
    status_code = status_code if isinstance(status_code, int) else None
    headers = getattr(response, "headers", None)
    record_sdk_retry(recorder, source, attempt, failure, status_code, delay, started_ns, headers)


SDK_RETRY_LOOP_KEY = otel_context.create_key("otel_agentperf.sdk_retry_loop")
"""Context key set while an SDK's own retry loop runs, whose retries an SDK instrumentor records itself."""


def in_sdk_retry_loop() -> bool:
    """Whether the code running now is inside an SDK retry loop that its instrumentor records.

    Retry-library instrumentors skip such retries: an SDK that retries through tenacity (google-genai) would
    otherwise count each retry twice.
    """
    return otel_context.get_value(SDK_RETRY_LOOP_KEY) is not None


class _Loop:
    """One run of an SDK retry loop: how many attempts failed, and when and how the last one did."""

    __slots__ = ("failures", "failed_at", "failed_at_ns", "failure")

    def __init__(self, failure: BaseException | None = None) -> None:
        self.failures = 0 if failure is None else 1
        self.failed_at = default_timer()
        self.failed_at_ns = time_ns()
        self.failure = failure


def attempt_loop_wrappers(
    recorder: RetryRecorder, source: str, reporter: ErrorReporter, *, after_failure: bool = False
) -> tuple[Callable[..., Any], Callable[..., Awaitable[Any]], Callable[..., Any], Callable[..., Awaitable[Any]]]:
    """Wrappers (loop sync, loop async, attempt sync, attempt async) for a retry loop that hides its waits.

    For an SDK whose retry loop calls one method per attempt (google-genai: ``_request`` around ``_request_once``).

    An attempt that follows a failed one inside the same loop is a retry; its wait is the time from the failure to
    the attempt's start (what the loop slept, with its own bookkeeping). The loop marks its context so that
    :func:`in_sdk_retry_loop` holds inside it. With ``after_failure``, the loop is entered from the ``except`` block
    of a first attempt made before it (LiteLLM's ``completion_with_retries``): that exception is its first failure.
    """

    def before_attempt(loop: _Loop | None) -> None:
        if loop is None or loop.failure is None or not is_instrumentation_enabled():
            return
        try:
            _record_attempt_retry(recorder, source, loop)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report(f"{source} retry", error)

    def failed(loop: _Loop | None, error: BaseException) -> None:
        if loop is not None:
            loop.failures += 1
            loop.failed_at, loop.failed_at_ns, loop.failure = default_timer(), time_ns(), error

    def new_loop() -> _Loop:
        return _Loop(sys.exc_info()[1] if after_failure else None)

    def sync_loop(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        token = otel_context.attach(otel_context.set_value(SDK_RETRY_LOOP_KEY, new_loop()))
        try:
            return wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    async def async_loop(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        token = otel_context.attach(otel_context.set_value(SDK_RETRY_LOOP_KEY, new_loop()))
        try:
            return await wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    def sync_attempt(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        loop = otel_context.get_value(SDK_RETRY_LOOP_KEY)
        before_attempt(loop)  # type: ignore[arg-type]
        try:
            return wrapped(*args, **kwargs)
        except BaseException as error:
            failed(loop, error)  # type: ignore[arg-type]
            raise

    async def async_attempt(wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Any, kwargs: Any) -> Any:
        loop = otel_context.get_value(SDK_RETRY_LOOP_KEY)
        before_attempt(loop)  # type: ignore[arg-type]
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as error:
            failed(loop, error)  # type: ignore[arg-type]
            raise

    return sync_loop, async_loop, sync_attempt, async_attempt


def _record_attempt_retry(recorder: RetryRecorder, source: str, loop: _Loop) -> None:
    failure = loop.failure
    assert failure is not None
    loop.failure = None
    delay = max(default_timer() - loop.failed_at, 0.0)
    headers = getattr(getattr(failure, "response", None), "headers", None)
    status_code = http_status(failure)
    record_sdk_retry(
        recorder, source, loop.failures, failure, status_code, delay, loop.failed_at_ns, headers, as_exception=True
    )


def record_sdk_retry(
    recorder: RetryRecorder,
    source: str,
    attempt: int,
    failure: BaseException | None,
    status_code: int | None,
    delay: float,
    started_ns: int,
    headers: object | None = None,
    *,
    as_exception: bool = False,
) -> None:
    """Record a retry made by an SDK's own loop, for the LLM call current in this context or the current span.

    ``status_code`` and ``headers`` are those of the HTTP response retried, if there was one: the LLM call reads its
    rate-limit headers, and a 429's wait counts as the run's rate-limit wait. ``as_exception``: the loop saw the
    response as an exception (which a nested LLM call may have read already), not as the response itself.
    """
    if status_code is not None:
        kind = str(status_code)
        owner = current_retry_owner()
        if owner is not None:
            (owner.read_failure if as_exception else owner.read_headers)(headers, status_code)
        if status_code == _RATE_LIMITED:
            record_rate_limit_wait(delay)
    elif failure is not None:
        kind = error_type(failure)
    else:
        kind = semconv.ERROR_TYPE_OTHER
    span, context_attributes = _retry_span(delay)
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


def _retry_span(delay: float) -> tuple[Span, Mapping[str, AttributeValue] | None]:
    """The span a retry belongs to, with its LLM attributes; its retry count and backoff time now include it.

    An LLM call current in this context sums its retries itself (set when its span ends); any other current span
    gets the running sums as attributes now.
    """
    owner = current_retry_owner()
    if owner is not None:
        owner.add_retry(delay)
        return owner.span, owner.metric_attributes
    span = get_current_span()
    if span.is_recording():
        _add_to_span(span, delay)
    return span, None


def _add_to_span(span: Span, delay: float) -> None:
    recorded = getattr(span, "attributes", None) or {}
    count = recorded.get(semconv.AGENTPERF_RETRY_COUNT)
    backoff = recorded.get(semconv.AGENTPERF_RETRY_BACKOFF_TIME)
    span.set_attributes(
        {
            semconv.AGENTPERF_RETRY_COUNT: (count if isinstance(count, int) else 0) + 1,
            semconv.AGENTPERF_RETRY_BACKOFF_TIME: (backoff if isinstance(backoff, float) else 0.0) + delay,
        }
    )
