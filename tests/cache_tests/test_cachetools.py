import threading

import cachetools
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation

from otel_agentperf.core.tally import enter_run, exit_run
from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.cachetools import CachetoolsInstrumentor, name_cache
from tests.cache_tests.helpers import duration_count, lookups

CACHE_CLASSES = [
    lambda: cachetools.Cache(maxsize=8),
    lambda: cachetools.FIFOCache(maxsize=8),
    lambda: cachetools.LFUCache(maxsize=8),
    lambda: cachetools.LRUCache(maxsize=8),
    lambda: cachetools.RRCache(maxsize=8),
    lambda: cachetools.TTLCache(maxsize=8, ttl=60),
    lambda: cachetools.TLRUCache(maxsize=8, ttu=lambda key, value, now: now + 60),
]


@pytest.mark.parametrize("make_cache", CACHE_CLASSES)
def test_each_cache_class_counts_one_hit_or_miss_per_lookup(make_cache, instrument, metric_reader):
    """cache[key] and get() count exactly once per lookup, whatever the class (no double count through super)."""
    instrument(CachetoolsInstrumentor)
    cache = make_cache()
    cache["a"] = 1
    assert cache["a"] == 1
    with pytest.raises(KeyError):
        cache["b"]
    assert cache.get("a") == 1
    assert cache.get("b", "default") == "default"
    name = type(cache).__name__
    assert lookups(metric_reader) == {(name, "cachetools", "hit"): 2, (name, "cachetools", "miss"): 2}
    assert duration_count(metric_reader) == 4


def test_cached_decorator_counts_hits_and_misses(instrument, metric_reader):
    """@cached, decorated before instrument(), counts a miss on the first call and hits after."""
    calls = []

    @cachetools.cached(name_cache(cachetools.LRUCache(maxsize=16), "squares"))
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    instrument(CachetoolsInstrumentor)
    assert [square(3), square(3), square(4), square(3)] == [9, 9, 16, 9]
    assert calls == [3, 4]
    assert lookups(metric_reader) == {("squares", "cachetools", "hit"): 2, ("squares", "cachetools", "miss"): 2}


def test_cachedmethod_is_counted(instrument, metric_reader):
    """@cachedmethod looks up the instance's cache: counted under that cache's name."""

    class Embedder:
        def __init__(self) -> None:
            self.cache = name_cache(cachetools.TTLCache(maxsize=4, ttl=60), "embeddings")

        @cachetools.cachedmethod(lambda self: self.cache)
        def embed(self, text: str) -> int:
            return len(text)

    instrument(CachetoolsInstrumentor)
    embedder = Embedder()
    assert [embedder.embed("ab"), embedder.embed("ab")] == [2, 2]
    assert lookups(metric_reader) == {("embeddings", "cachetools", "miss"): 1, ("embeddings", "cachetools", "hit"): 1}


def test_internal_lookups_of_cachetools_are_not_counted(instrument, metric_reader):
    """Eviction, iteration over values() and pop() are cachetools' own reads, not the user's lookups."""
    instrument(CachetoolsInstrumentor)
    cache = cachetools.LRUCache(maxsize=2)
    for key in "abcd":  # evicts twice
        cache[key] = key
    assert sorted(cache.values()) == ["c", "d"]
    assert cache.pop("c") == "c"
    assert lookups(metric_reader) == {}


def test_stored_value_equal_to_default_is_a_hit(instrument, metric_reader):
    """get(key, default) finds a stored value even when it equals the default."""
    instrument(CachetoolsInstrumentor)
    cache = cachetools.LRUCache(maxsize=2)
    cache["k"] = None
    assert cache.get("k", None) is None
    assert lookups(metric_reader) == {("LRUCache", "cachetools", "hit"): 1}


def test_loading_cache_with_own_missing_counts_a_miss(instrument, metric_reader):
    """A subclass whose __missing__ loads the value: the first lookup is a miss, the next a hit."""

    class Loading(cachetools.LRUCache):
        def __missing__(self, key):
            value = self[key] = key.upper()
            return value

    instrument(CachetoolsInstrumentor)
    cache = Loading(maxsize=4)
    assert [cache["x"], cache["x"]] == ["X", "X"]
    assert lookups(metric_reader) == {("Loading", "cachetools", "miss"): 1, ("Loading", "cachetools", "hit"): 1}


def test_unhashable_key_raises_the_same_and_is_not_counted(instrument, metric_reader):
    """An unhashable key raises the very TypeError cachetools raises, and counts nothing."""
    cache = cachetools.LRUCache(maxsize=2)
    with pytest.raises(TypeError) as bare:
        cache[[1]]
    instrument(CachetoolsInstrumentor)
    with pytest.raises(TypeError) as instrumented:
        cache[[1]]
    assert str(instrumented.value) == str(bare.value)
    assert lookups(metric_reader) == {}


def test_lookups_count_on_the_current_span_and_run(instrument, tracer_provider, span_exporter):
    """The current span gets hit and miss counters; the current agent run counts them too."""
    instrument(CachetoolsInstrumentor)
    cache = cachetools.LRUCache(maxsize=4)
    cache["a"] = 1
    tally, token = enter_run()
    with tracer_provider.get_tracer("test").start_as_current_span("step"):
        cache.get("a")
        cache.get("a")
        cache.get("b")
    counts = exit_run(tally, token)
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.cache.hits"] == 2
    assert span.attributes["agentperf.cache.misses"] == 1
    assert (counts.cache_hits, counts.cache_misses) == (2, 1)


def test_lookup_duration_can_be_turned_off(instrument, metric_reader, monkeypatch):
    """OTEL_AGENTPERF_CACHE_LOOKUP_DURATION=false keeps the counter and drops the histogram."""
    monkeypatch.setenv("OTEL_AGENTPERF_CACHE_LOOKUP_DURATION", "false")
    instrument(CachetoolsInstrumentor)
    cachetools.LRUCache(maxsize=1).get("a")
    assert sum(lookups(metric_reader).values()) == 1
    assert duration_count(metric_reader) == 0


def test_threads_count_exactly(instrument, metric_reader):
    """Lookups from several threads are all counted."""
    instrument(CachetoolsInstrumentor)
    cache = cachetools.LRUCache(maxsize=4)
    cache["a"] = 1

    def work() -> None:
        for _ in range(500):
            cache.get("a")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lookups(metric_reader) == {("LRUCache", "cachetools", "hit"): 2000}


def test_name_cache_rejects_bad_names():
    """A bad name is a configuration error, said at the call."""
    with pytest.raises(ConfigurationError, match="non-empty string"):
        name_cache(cachetools.LRUCache(maxsize=1), "")


def test_suppressed_and_uninstrumented_lookups_count_nothing(instrument, metric_reader):
    """suppress_instrumentation() and uninstrument() both stop counting; the cache works the same."""
    instrumentor = instrument(CachetoolsInstrumentor)
    cache = cachetools.LRUCache(maxsize=1)
    with suppress_instrumentation():
        assert cache.get("a", 5) == 5
    instrumentor.uninstrument()
    assert cache.get("a", 6) == 6
    assert lookups(metric_reader) == {}
