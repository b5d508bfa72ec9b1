import diskcache
import pytest

from otel_agentperf.instrumentation.diskcache import DiskcacheInstrumentor, name_cache
from tests.cache_tests.helpers import duration_count, lookups


@pytest.fixture
def cache(tmp_path):
    with diskcache.Cache(str(tmp_path / "cache")) as cache:
        yield cache


def test_get_and_getitem(cache, instrument, metric_reader):
    """get() and cache[key] count one lookup each; a stored value equal to the default is a hit."""
    cache.set("a", 1)
    cache.set("none", None)
    instrument(DiskcacheInstrumentor)
    assert cache.get("a") == 1
    assert cache.get("none") is None
    assert cache.get("b", "dflt") == "dflt"
    assert cache["a"] == 1
    with pytest.raises(KeyError):
        cache["b"]
    assert lookups(metric_reader) == {("Cache", "diskcache", "hit"): 3, ("Cache", "diskcache", "miss"): 2}
    assert duration_count(metric_reader) == 5


def test_tuple_returning_get_gives_back_the_callers_default(cache, instrument, metric_reader):
    """get(expire_time=True, tag=True) returns exactly what diskcache returns, hit or miss."""
    cache.set("a", 1, tag="t")
    expected = (cache.get("a", tag=True), cache.get("b", "d", expire_time=True, tag=True))
    instrument(DiskcacheInstrumentor)
    assert (cache.get("a", tag=True), cache.get("b", "d", expire_time=True, tag=True)) == expected
    assert expected[1] == ("d", None, None)
    assert lookups(metric_reader) == {("Cache", "diskcache", "hit"): 1, ("Cache", "diskcache", "miss"): 1}


def test_memoize_and_fanout(tmp_path, instrument, metric_reader):
    """A memoized function on a named FanoutCache counts under that name, once per call."""
    instrument(DiskcacheInstrumentor)
    with diskcache.FanoutCache(str(tmp_path / "fan"), shards=2) as fanout:
        name_cache(fanout, "pages")

        @fanout.memoize()
        def fetch(url: str) -> str:
            return url.upper()

        assert [fetch("a"), fetch("a"), fetch("b")] == ["A", "A", "B"]
    assert lookups(metric_reader) == {("pages", "diskcache", "miss"): 2, ("pages", "diskcache", "hit"): 1}
