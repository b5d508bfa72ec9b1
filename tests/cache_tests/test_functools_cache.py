import functools

import pytest

from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.functools_cache import instrument_cache
from tests.cache_tests.helpers import duration_count, lookups


def test_lru_cache_hits_and_misses(meter_provider, metric_reader):
    """The first call of each argument is a miss, repeats are hits; cache_info() is the original's."""

    @instrument_cache(meter_provider=meter_provider)
    @functools.lru_cache(maxsize=8)
    def double(x: int) -> int:
        return 2 * x

    assert [double(1), double(1), double(2), double(1)] == [2, 2, 4, 2]
    name = double.__qualname__
    assert lookups(metric_reader) == {(name, "functools", "miss"): 2, (name, "functools", "hit"): 2}
    assert double.cache_info().hits == 2
    assert duration_count(metric_reader) == 4


def test_recursive_function_counts_each_inner_call(meter_provider, metric_reader):
    """A recursive cached function: each call, inner or outer, is its own lookup."""

    @instrument_cache(name="fib", meter_provider=meter_provider)
    @functools.cache
    def fib(n: int) -> int:
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(10) == 55
    info = fib.cache_info()
    assert lookups(metric_reader) == {("fib", "functools", "miss"): info.misses, ("fib", "functools", "hit"): info.hits}


def test_exception_propagates_and_counts_a_miss(meter_provider, metric_reader):
    """A function that raises: the same exception reaches the caller, and the call was a miss."""

    @instrument_cache(name="fails", meter_provider=meter_provider)
    @functools.lru_cache
    def fails(x: int) -> int:
        raise ValueError(f"bad {x}")

    with pytest.raises(ValueError, match="bad 3"):
        fails(3)
    assert lookups(metric_reader) == {("fails", "functools", "miss"): 1}


def test_unhashable_argument_is_not_counted(meter_provider, metric_reader):
    """An unhashable argument raises lru_cache's TypeError and is neither hit nor miss."""

    @instrument_cache(meter_provider=meter_provider)
    @functools.lru_cache
    def size(x: object) -> int:
        return 1

    with pytest.raises(TypeError, match="unhashable"):
        size([1])
    assert lookups(metric_reader) == {}


def test_not_an_lru_cache_is_a_configuration_error():
    """Wrapping a plain function is refused at decoration time."""
    with pytest.raises(ConfigurationError, match="lru_cache"):
        instrument_cache(lambda: 1)
