import pytest
import redis
import redis.asyncio

from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.redis import RedisCacheInstrumentor
from tests.cache_tests.helpers import duration_count, lookups


@pytest.fixture
def client(redis_port):
    client = redis.Redis(host="127.0.0.1", port=redis_port)
    client.flushall()
    yield client
    client.close()


def test_get_hit_and_nil_miss(client, instrument, metric_reader):
    """GET of a stored key is a hit, GET of an absent key (nil reply) a miss; replies are unchanged."""
    client.set("k", "v")
    instrument(RedisCacheInstrumentor)
    assert client.get("k") == b"v"
    assert client.get("absent") is None
    assert lookups(metric_reader) == {("redis", "redis", "hit"): 1, ("redis", "redis", "miss"): 1}
    assert duration_count(metric_reader) == 2


def test_multi_key_commands_count_each_key(client, instrument, metric_reader):
    """MGET and HMGET count one lookup per key or field; HGETALL of a missing hash is a miss."""
    client.set("a", 1)
    client.hset("h", mapping={"f1": 1})
    instrument(RedisCacheInstrumentor)
    assert client.mget(["a", "b", "c"]) == [b"1", None, None]
    assert client.hmget("h", ["f1", "f2"]) == [b"1", None]
    assert client.hgetall("h") == {b"f1": b"1"}
    assert client.hgetall("nothing") == {}
    assert lookups(metric_reader) == {("redis", "redis", "hit"): 3, ("redis", "redis", "miss"): 4}


def test_key_prefix_names_the_cache(client, instrument, metric_reader):
    """With key_prefix_separator, the part before the separator names the cache."""
    client.set("embeddings:1", "x")
    instrument(RedisCacheInstrumentor, key_prefix_separator=":", cache_name="app")
    client.get("embeddings:1")
    client.get("plain")
    assert lookups(metric_reader) == {("embeddings", "redis", "hit"): 1, ("app", "redis", "miss"): 1}


def test_writes_and_pipelines_are_not_lookups(client, instrument, metric_reader):
    """SET, DEL and pipelined GETs count nothing; pipeline replies are unchanged."""
    instrument(RedisCacheInstrumentor)
    client.set("a", 1)
    client.delete("a")
    with client.pipeline() as pipe:
        pipe.set("b", 2).get("b")
        assert pipe.execute() == [True, b"2"]
    assert lookups(metric_reader) == {}


def test_wrong_type_error_propagates_and_is_not_counted(client, instrument, metric_reader):
    """GET on a hash raises redis' own ResponseError with the same message; nothing is counted."""
    client.hset("h", "f", 1)
    with pytest.raises(redis.ResponseError) as bare:
        client.get("h")
    instrument(RedisCacheInstrumentor)
    with pytest.raises(redis.ResponseError) as instrumented:
        client.get("h")
    assert str(instrumented.value) == str(bare.value)
    assert lookups(metric_reader) == {}


def test_connection_error_propagates(instrument, metric_reader):
    """A server that is not there: redis' ConnectionError reaches the caller; nothing is counted."""
    instrument(RedisCacheInstrumentor)
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(redis.ConnectionError):
        client.get("k")
    assert lookups(metric_reader) == {}


async def test_asyncio_client(redis_port, instrument, metric_reader):
    """redis.asyncio clients are counted the same way."""
    client = redis.asyncio.Redis(host="127.0.0.1", port=redis_port)
    await client.set("ak", "v")
    instrument(RedisCacheInstrumentor)
    assert await client.get("ak") == b"v"
    assert await client.get("absent-async") is None
    await client.aclose()
    assert lookups(metric_reader) == {("redis", "redis", "hit"): 1, ("redis", "redis", "miss"): 1}


def test_bad_configuration_fails_at_instrument(instrument):
    """An empty separator is refused when instrumenting."""
    with pytest.raises(ConfigurationError, match="key_prefix_separator"):
        instrument(RedisCacheInstrumentor, key_prefix_separator="")
