import backoff
import pytest

from otel_agentperf.instrumentation.backoff import BackoffInstrumentor
from tests.retry_tests.helpers import Flaky, backoff_sum, retries


def test_on_exception_retries_are_counted(instrument, metric_reader):
    """on_exception, decorated before instrument(): each retry counted; the user's on_backoff still runs."""
    seen = []
    flaky = Flaky(2)
    decorate = backoff.on_exception(
        backoff.constant, ConnectionError, interval=0.001, jitter=None, on_backoff=seen.append
    )
    retried = decorate(flaky)
    instrument(BackoffInstrumentor)
    assert retried() == "ok"
    assert [details["tries"] for details in seen] == [1, 2]
    assert retries(metric_reader) == {("backoff", "ConnectionError"): 2}
    assert backoff_sum(metric_reader) == pytest.approx(0.002)


def test_give_up_reraises_and_success_and_giveup_handlers_record_nothing(instrument, metric_reader):
    """max_tries reached: the last exception propagates unchanged after the same number of calls."""
    instrument(BackoffInstrumentor)
    flaky = Flaky(10, KeyError)
    retried = backoff.on_exception(backoff.constant, KeyError, interval=0, jitter=None, max_tries=3)(flaky)
    with pytest.raises(KeyError, match="failure 3"):
        retried()
    assert flaky.calls == 3
    assert sum(retries(metric_reader).values()) == 2


def test_on_predicate_has_error_type_result(instrument, metric_reader):
    """on_predicate retries a falsy value: error.type=result."""
    values = iter([0, 0, 5])
    instrument(BackoffInstrumentor)
    retried = backoff.on_predicate(backoff.constant, interval=0.001, jitter=None)(lambda: next(values))
    assert retried() == 5
    assert retries(metric_reader) == {("backoff", "result"): 2}


async def test_async_on_exception(instrument, metric_reader):
    """Coroutine functions retried by backoff are counted the same way."""
    flaky = Flaky(1)

    @backoff.on_exception(backoff.constant, ConnectionError, interval=0.001, jitter=None)
    async def call() -> str:
        return flaky()

    instrument(BackoffInstrumentor)
    assert await call() == "ok"
    assert retries(metric_reader) == {("backoff", "ConnectionError"): 1}


def test_uninstrument_restores_the_handlers_function(instrument):
    """uninstrument() puts backoff's own _call_handlers back."""
    import backoff._async
    import backoff._sync

    before = (backoff._sync._call_handlers, backoff._async._call_handlers)
    instrumentor = instrument(BackoffInstrumentor)
    assert backoff._sync._call_handlers is not before[0]
    instrumentor.uninstrument()
    assert (backoff._sync._call_handlers, backoff._async._call_handlers) == before
