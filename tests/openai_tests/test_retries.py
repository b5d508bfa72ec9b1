"""SDK-internal retries: one event per retry, a counter, and backoff time apart from request time."""

from __future__ import annotations

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.helpers import OPENAI_HTTP, fake_handler, one_span, points
from tests.openai_tests.conftest import USER_MESSAGES, make_async_client, make_client

RETRY_ONCE = {"x-fake-fault": "retry-once:429"}


def test_retry_then_success_is_visible(instrumented, span_exporter, metric_reader):
    """A 429 then 200 gives one span with a retry event, a retry count and the measured backoff."""
    instrumented()
    client = make_client(max_retries=2)
    client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers=RETRY_ONCE)

    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["agentperf.retry.count"] == 1
    backoff = span.attributes["agentperf.retry.backoff_time"]
    assert 0.015 <= backoff < 1.0  # the fake asks for retry-after-ms: 20
    (event,) = span.events
    assert event.name == "agentperf.retry"
    assert dict(event.attributes) == {
        "agentperf.retry.attempt": 1,
        "agentperf.retry.delay": backoff,
        "error.type": "429",
        "http.response.status_code": 429,
    }
    assert span.start_time <= event.timestamp <= span.end_time

    (retries,) = points(metric_reader, "agentperf.retries")
    assert retries.value == 1
    assert dict(retries.attributes) == {
        "agentperf.retry.source": "openai",
        "error.type": "429",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
    }
    (waited,) = points(metric_reader, "agentperf.retry.backoff.duration")
    assert waited.sum == pytest.approx(backoff)
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.sum > backoff


def test_persistent_failure_counts_every_retry(instrumented, span_exporter, metric_reader):
    """A 500 that never clears gives max_retries events and an ERROR span."""
    instrumented()
    client = make_client(max_retries=2)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers={"x-fake-fault": "always:500"}
        )
    span = one_span(span_exporter)
    retry_events = [event for event in span.events if event.name == "agentperf.retry"]
    assert [event.attributes["agentperf.retry.attempt"] for event in retry_events] == [1, 2]
    assert span.attributes["agentperf.retry.count"] == 2
    assert span.status.status_code is StatusCode.ERROR
    assert sum(point.value for point in points(metric_reader, "agentperf.retries")) == 2


def test_connection_error_retry_names_the_transport_error(instrumented, span_exporter):
    """A retry after a connection failure carries the transport's exception type."""
    attempts = []

    def flaky(request: OPENAI_HTTP.Request) -> OPENAI_HTTP.Response | None:
        attempts.append(request)
        if len(attempts) == 1:
            raise OPENAI_HTTP.ConnectError("refused", request=request)
        return None

    instrumented()
    client = make_client(fake_handler(flaky), max_retries=1)
    client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    (event,) = one_span(span_exporter).events
    assert event.attributes["error.type"] == "ConnectError"
    assert "http.response.status_code" not in event.attributes
    assert len(attempts) == 2


async def test_async_retry_is_recorded(instrumented, span_exporter):
    """The async client's retries are recorded the same way."""
    instrumented()
    client = make_async_client(max_retries=1)
    await client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers=RETRY_ONCE)
    assert one_span(span_exporter).attributes["agentperf.retry.count"] == 1


def test_retry_outside_an_instrumented_call_is_still_counted(instrumented, metric_reader):
    """A retry of a method we do not trace (models.list) still counts, without GenAI attributes."""
    instrumented()

    def first_fails(request: OPENAI_HTTP.Request) -> OPENAI_HTTP.Response:
        if request.headers["x-stainless-retry-count"] == "0":
            return OPENAI_HTTP.Response(503, headers={"retry-after-ms": "5"}, json={"error": {"message": "busy"}})
        return OPENAI_HTTP.Response(200, json={"object": "list", "data": []})

    make_client(first_fails, max_retries=1).models.list()
    (retries,) = points(metric_reader, "agentperf.retries")
    assert dict(retries.attributes) == {
        "agentperf.retry.source": "openai",
        "error.type": "503",
    }
