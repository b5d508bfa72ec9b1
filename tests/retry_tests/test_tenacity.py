import pytest
import tenacity

from otel_agentperf.core.tally import enter_run, exit_run
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from tests.retry_tests.helpers import Flaky, backoff_sum, retries

FAST = tenacity.wait_fixed(0.001)


def test_decorator_retries_are_counted_with_their_waits(instrument, metric_reader):
    """@retry decorated before instrument(): each retry counted with error type, attempt and its wait."""
    flaky = Flaky(2)
    retried = tenacity.retry(wait=FAST, stop=tenacity.stop_after_attempt(5))(flaky)
    instrument(TenacityInstrumentor)
    assert retried() == "ok"
    assert flaky.calls == 3
    assert retries(metric_reader) == {("tenacity", "ConnectionError"): 2}
    assert backoff_sum(metric_reader) == pytest.approx(0.002)


def test_give_up_raises_the_same_error_after_the_same_attempts(instrument, metric_reader):
    """A retry that gives up raises tenacity's RetryError (or reraises) exactly as without instrumentation."""
    bare = Flaky(10)
    with pytest.raises(tenacity.RetryError):
        tenacity.Retrying(wait=FAST, stop=tenacity.stop_after_attempt(3))(bare)
    instrument(TenacityInstrumentor)
    traced = Flaky(10)
    with pytest.raises(ConnectionError, match="failure 3"):
        tenacity.Retrying(wait=FAST, stop=tenacity.stop_after_attempt(3), reraise=True)(traced)
    assert traced.calls == bare.calls == 3
    assert sum(retries(metric_reader).values()) == 2


def test_retry_on_result_has_error_type_result(instrument, metric_reader):
    """A retry decided by the returned value has error.type=result."""
    values = iter([None, None, 7])
    instrument(TenacityInstrumentor)
    retrying = tenacity.Retrying(wait=FAST, retry=tenacity.retry_if_result(lambda value: value is None))
    assert retrying(lambda: next(values)) == 7
    assert retries(metric_reader) == {("tenacity", "result"): 2}


def test_iterating_retrying_is_counted_and_shown_on_the_span(instrument, tracer_provider, span_exporter, metric_reader):
    """for attempt in Retrying(): retries are events on the current span and count in the agent run."""
    instrument(TenacityInstrumentor)
    flaky = Flaky(1, TimeoutError)
    tally, token = enter_run()
    with tracer_provider.get_tracer("test").start_as_current_span("step"):
        for attempt in tenacity.Retrying(wait=FAST):
            with attempt:
                flaky()
    counts = exit_run(tally, token)
    (span,) = span_exporter.get_finished_spans()
    (event,) = span.events
    assert event.name == "agentperf.retry"
    assert event.attributes["error.type"] == "TimeoutError"
    assert event.attributes["agentperf.retry.attempt"] == 1
    assert counts.retries == 1


async def test_async_retrying(instrument, metric_reader):
    """@retry on a coroutine function and async for over AsyncRetrying are both counted."""
    flaky = Flaky(1)

    @tenacity.retry(wait=FAST)
    async def call() -> str:
        return flaky()

    instrument(TenacityInstrumentor)
    assert await call() == "ok"
    second = Flaky(2, ValueError)
    async for attempt in tenacity.AsyncRetrying(wait=FAST):
        with attempt:
            second()
    assert retries(metric_reader) == {("tenacity", "ConnectionError"): 1, ("tenacity", "ValueError"): 2}


def test_uninstrument_stops_counting(instrument, metric_reader):
    """After uninstrument() retries still happen but nothing is recorded."""
    instrument(TenacityInstrumentor).uninstrument()
    flaky = Flaky(1)
    assert tenacity.Retrying(wait=FAST)(flaky) == "ok"
    assert flaky.calls == 2
    assert retries(metric_reader) == {}
