"""The same scenarios against every LLM instrumentor: a new provider passes this suite before it is done."""

from __future__ import annotations

import gc
import json

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

from otel_agentperf.core.streams import finish_abandoned
from tests.helpers import one_span, points
from tests.llm_drivers import API_KEY, CONFORMANCE_DRIVERS, PROMPT, ConformanceDriver

RETRY_ONCE = "retry-once:500"
ALWAYS_500 = "always:500"


@pytest.fixture(params=CONFORMANCE_DRIVERS, ids=[driver.id for driver in CONFORMANCE_DRIVERS])
def driver(request: pytest.FixtureRequest) -> ConformanceDriver:
    return request.param


@pytest.fixture
def instrumented(driver, instrument):
    return lambda **kwargs: instrument(driver.instrumentor, **kwargs)


def _assert_complete_span(driver: ConformanceDriver, span, usage: tuple[int, int] | None) -> None:
    assert span.name == driver.span_name
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["gen_ai.provider.name"] == driver.provider
    assert span.attributes["gen_ai.operation.name"] == driver.operation
    assert span.attributes["gen_ai.request.model"] == driver.model
    assert span.attributes["server.address"] == driver.server_address
    assert span.status.status_code is StatusCode.UNSET
    if usage is not None:
        assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == usage


def test_plain_call(driver, instrumented, span_exporter, metric_reader):
    """One call: one span with the usage the provider reported, and the duration and token metrics."""
    instrumented()
    response = driver.invoke(driver.new_client())
    usage = driver.usage(response)
    _assert_complete_span(driver, one_span(span_exporter), usage)
    assert sum(point.count for point in points(metric_reader, "gen_ai.client.operation.duration")) == 1
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in points(metric_reader, "gen_ai.client.token.usage")}
    assert tokens == {"input": usage[0], "output": usage[1]}
    assert sum(point.value for point in points(metric_reader, "gen_ai.client.inference.usage.cache_read.input_tokens"))


def test_stream_consumed(driver, instrumented, span_exporter, metric_reader):
    """A stream read to its end: the span ends once, completed, with usage and time to first chunk."""
    instrumented()
    chunks = list(driver.invoke(driver.new_client(), stream=True))
    assert chunks
    span = one_span(span_exporter)
    _assert_complete_span(driver, span, None)
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
    assert span.attributes["agentperf.stream.chunk_count"] > 1
    assert points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")[0].count == 1


def test_stream_closed_early(driver, instrumented, span_exporter):
    """A stream closed after one chunk ends its span once, as closed."""
    instrumented()
    stream = driver.invoke(driver.new_client(), stream=True)
    next(iter(stream))
    stream.close()
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "closed"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # botocore's unread socket, collected
def test_stream_abandoned(driver, instrumented, span_exporter):
    """A stream dropped unread ends its span when collected."""
    instrumented()
    stream = driver.invoke(driver.new_client(), stream=True)
    del stream
    gc.collect()
    finish_abandoned()
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "abandoned"


def test_one_retry_then_success(driver, instrumented, span_exporter, metric_reader):
    """A 500 then a success: one span, one retry event, the retry counter at one."""
    instrumented()
    driver.invoke(driver.new_client(retries=2), fault=RETRY_ONCE)
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["agentperf.retry.count"] == 1
    assert [event.attributes["error.type"] for event in span.events] == ["500"]
    (retries,) = points(metric_reader, "agentperf.retries")
    assert retries.attributes["agentperf.retry.source"] == driver.retry_source
    assert retries.value == 1


def test_persistent_500(driver, instrumented, span_exporter):
    """A 500 that never clears: every retry recorded, the SDK's error raised, the span in ERROR."""
    instrumented()
    with pytest.raises(Exception) as raised:
        driver.invoke(driver.new_client(retries=2), fault=ALWAYS_500)
    assert type(raised.value).__name__ == driver.server_error
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == driver.server_error
    assert span.attributes["agentperf.retry.count"] == 2


def test_connection_error(driver, instrumented, span_exporter):
    """A refused connection: the SDK's connection error, recorded as error.type."""
    instrumented()
    with pytest.raises(Exception) as raised:
        driver.invoke(driver.refused_client())
    assert type(raised.value).__name__ == driver.connection_error
    assert one_span(span_exporter).attributes["error.type"] == driver.connection_error


def test_malformed_body(driver, instrumented, span_exporter):
    """A body that is not JSON: the caller sees exactly what it sees without instrumentation."""
    with pytest.raises(Exception) as bare:
        driver.invoke(driver.new_client(), fault="malformed")
    instrumented()
    with pytest.raises(Exception) as traced:
        driver.invoke(driver.new_client(), fault="malformed")
    assert (type(traced.value), str(traced.value)) == (type(bare.value), str(bare.value))
    assert one_span(span_exporter).status.status_code is StatusCode.ERROR


async def test_async_call(driver, instrumented, span_exporter):
    """The async client gives the same span."""
    instrumented()
    response = await driver.invoke(driver.new_client(asynchronous=True))
    _assert_complete_span(driver, one_span(span_exporter), driver.usage(response))


async def test_async_stream(driver, instrumented, span_exporter):
    """An async stream read to its end ends its span once, completed."""
    instrumented()
    stream = await driver.invoke(driver.new_client(asynchronous=True), stream=True)
    assert [chunk async for chunk in stream]
    assert one_span(span_exporter).attributes["agentperf.stream.end"] == "completed"


async def test_async_retry(driver, instrumented, span_exporter):
    """The async client's retries are recorded."""
    instrumented()
    await driver.invoke(driver.new_client(retries=1, asynchronous=True), fault=RETRY_ONCE)
    assert one_span(span_exporter).attributes["agentperf.retry.count"] == 1


def test_content_capture_off_by_default(driver, instrumented, span_exporter):
    """No prompt, completion or key in any attribute or event unless opted in."""
    instrumented()
    driver.invoke(driver.new_client())
    span = one_span(span_exporter)
    exported = json.dumps(
        [{k: str(v) for k, v in span.attributes.items()}]
        + [{k: str(v) for k, v in e.attributes.items()} for e in span.events]
    )
    assert PROMPT.split()[0] not in exported
    assert API_KEY not in exported


def test_content_capture_on(driver, instrumented, span_exporter):
    """With capture on, the prompt and the completion are on the span, and the key is not."""
    instrumented(capture_content="SPAN_ONLY")
    driver.invoke(driver.new_client())
    span = one_span(span_exporter)
    (message,) = json.loads(span.attributes["gen_ai.input.messages"])
    assert message["parts"][0]["content"] == PROMPT
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"][0]["content"].startswith(("Here", "Summ"))
    assert API_KEY not in str(dict(span.attributes))


def test_suppression(driver, instrumented, span_exporter, metric_reader):
    """suppress_instrumentation() silences spans and metrics."""
    instrumented()
    with suppress_instrumentation():
        driver.invoke(driver.new_client())
    assert not span_exporter.get_finished_spans()
    assert not points(metric_reader, "gen_ai.client.operation.duration")
