"""Rate-limit headers: the parser, the names it reads (and the ones it never reads), the instruments."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from email.utils import formatdate

import anthropic
import httpx2
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_agentperf import semconv
from otel_agentperf.core.instruments import instruments as instruments_of
from otel_agentperf.core.rate_limits import (
    HEADER_NAMES,
    MAX_TRACKED,
    RateLimitInstruments,
    headroom,
    read_rate_limits,
)
from tests.helpers import fake_handler, points

NOW = 1_780_000_000.0  # 2026-05-28T20:26:40Z

OPENAI_HEADERS = {
    "X-RateLimit-Limit-Requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "2400",
    "x-ratelimit-reset-tokens": "6m0s",
    "content-type": "application/json",
    "authorization": "Bearer sk-secret",
}


class RecordingHeaders(Mapping[str, str]):
    """A header mapping that remembers whose values were read."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers
        self.read: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.read.append(key)
        return self._headers[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)


def test_openai_headers_from_httpx_headers():
    limits = read_rate_limits(httpx2.Headers(OPENAI_HEADERS), now=NOW)
    assert limits == {
        "agentperf.rate_limit.requests.limit": 500,
        "agentperf.rate_limit.requests.remaining": 499,
        "agentperf.rate_limit.requests.reset": 0.12,
        "agentperf.rate_limit.tokens.limit": 30000,
        "agentperf.rate_limit.tokens.remaining": 2400,
        "agentperf.rate_limit.tokens.reset": 360.0,
    }


def test_anthropic_headers_reset_in_seconds_from_now():
    headers = {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "0"}
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        headers[f"anthropic-ratelimit-{kind}-reset"] = "2026-05-28T20:27:10Z"
    headers["anthropic-ratelimit-input-tokens-limit"] = "20000"
    headers["anthropic-ratelimit-input-tokens-remaining"] = "1600"
    headers["anthropic-ratelimit-output-tokens-remaining"] = "8000"
    limits = read_rate_limits(headers, now=NOW)
    assert limits == {
        "agentperf.rate_limit.requests.limit": 50,
        "agentperf.rate_limit.requests.remaining": 0,
        "agentperf.rate_limit.requests.reset": 30.0,
        "agentperf.rate_limit.tokens.reset": 30.0,
        "agentperf.rate_limit.input_tokens.limit": 20000,
        "agentperf.rate_limit.input_tokens.remaining": 1600,
        "agentperf.rate_limit.input_tokens.reset": 30.0,
        "agentperf.rate_limit.output_tokens.remaining": 8000,
        "agentperf.rate_limit.output_tokens.reset": 30.0,
    }


def test_a_reset_time_already_past_is_zero_seconds_away():
    limits = read_rate_limits({"anthropic-ratelimit-tokens-reset": "2026-05-28T20:26:00+00:00"}, now=NOW)
    assert limits == {"agentperf.rate_limit.tokens.reset": 0.0}


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("6m0s", 360.0), ("20ms", 0.02), ("1.5s", 1.5), ("2h3m", 7380.0), ("1m30.5s", 90.5), ("0s", 0.0), ("7", 7.0),
     ("250us", 0.00025)],
)  # fmt: skip
def test_openai_reset_durations(duration, seconds):
    limits = read_rate_limits({"x-ratelimit-reset-tokens": duration})
    assert limits is not None
    assert limits["agentperf.rate_limit.tokens.reset"] == pytest.approx(seconds)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ratelimit-reset-tokens": "soon"},
        {"x-ratelimit-reset-tokens": "1x"},
        {"x-ratelimit-reset-tokens": "5m junk"},
        {"x-ratelimit-limit-requests": "-1"},
        {"x-ratelimit-remaining-requests": "many"},
        {"anthropic-ratelimit-tokens-reset": "tomorrow"},
        {"retry-after": "later"},
        {"retry-after-ms": "x"},
    ],
)
def test_values_that_do_not_parse_are_left_out(headers):
    assert read_rate_limits(headers, now=NOW) is None


def test_retry_after_in_seconds_or_as_an_http_date():
    assert read_rate_limits({"Retry-After": "20"}, now=NOW) == {"agentperf.rate_limit.retry_after": 20.0}
    date = formatdate(NOW + 45, usegmt=True)
    assert read_rate_limits({"retry-after": date}, now=NOW) == {"agentperf.rate_limit.retry_after": 45.0}


def test_retry_after_ms_wins_over_retry_after():
    for headers in ({"retry-after": "1", "retry-after-ms": "250"}, {"retry-after-ms": "250", "retry-after": "1"}):
        assert read_rate_limits(headers, now=NOW) == {"agentperf.rate_limit.retry_after": 0.25}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json", "x-request-id": "req_1", "authorization": "Bearer sk-secret"},
        httpx2.Headers({"content-type": "application/json", "openai-processing-ms": "12"}),
        {"ratelimit-policy": "100;w=60"},  # a standard draft header, not a provider's
    ],
)
def test_responses_without_the_headers_have_no_rate_limits(headers):
    assert read_rate_limits(headers) is None


def test_only_rate_limit_headers_are_read():
    headers = RecordingHeaders({**OPENAI_HEADERS, "retry-after": "3", "x-api-key": "secret", "cookie": "c=1"})
    assert read_rate_limits(headers, now=NOW) is not None
    assert headers.read
    assert {name.lower() for name in headers.read} <= HEADER_NAMES
    assert not {"authorization", "x-api-key", "cookie"} & {name.lower() for name in headers.read}


def test_headroom_is_remaining_over_limit_for_kinds_that_report_both():
    limits = {
        "agentperf.rate_limit.requests.limit": 500,
        "agentperf.rate_limit.requests.remaining": 450,
        "agentperf.rate_limit.tokens.remaining": 2400,
        "agentperf.rate_limit.input_tokens.limit": 0,
        "agentperf.rate_limit.input_tokens.remaining": 0,
        "agentperf.rate_limit.output_tokens.limit": 100,
        "agentperf.rate_limit.output_tokens.remaining": 150,
    }
    assert dict(headroom(limits)) == {"requests": 0.9, "output_tokens": 1.0}


def instruments() -> tuple[RateLimitInstruments, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    return RateLimitInstruments(instruments_of(MeterProvider(metric_readers=[reader]).get_meter("test"))), reader


ATTRIBUTES = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}


def test_the_headroom_gauge_keeps_the_last_ratio_per_kind():
    recorder, reader = instruments()
    earlier = {"agentperf.rate_limit.tokens.limit": 30000, "agentperf.rate_limit.tokens.remaining": 6000}
    recorder.record(ATTRIBUTES, earlier)
    recorder.record({**ATTRIBUTES, "server.address": "api.openai.com"}, read_rate_limits(OPENAI_HEADERS, now=NOW))
    found = {
        point.attributes[semconv.AGENTPERF_RATE_LIMIT_KIND]: point
        for point in points(reader, "agentperf.rate_limit.headroom")
    }
    assert {kind: point.value for kind, point in found.items()} == {"requests": 499 / 500, "tokens": 0.08}
    assert dict(found["tokens"].attributes) == {**ATTRIBUTES, "agentperf.rate_limit.kind": "tokens"}
    assert points(reader, "agentperf.rate_limit.rejections") == []


def test_a_429_that_names_no_limits_keeps_the_last_headroom():
    """A rejection with only ``retry-after`` says nothing of the limits: the gauge keeps what the last one said."""
    recorder, reader = instruments()
    recorder.record(ATTRIBUTES, read_rate_limits(OPENAI_HEADERS, now=NOW))
    recorder.record(ATTRIBUTES, read_rate_limits({"retry-after-ms": "20"}, now=NOW), 429)
    headroom = points(reader, "agentperf.rate_limit.headroom")
    assert {point.attributes[semconv.AGENTPERF_RATE_LIMIT_KIND]: point.value for point in headroom} == {
        "requests": 499 / 500,
        "tokens": 0.08,
    }


def test_429_responses_are_counted_with_the_wait_they_asked_for():
    recorder, reader = instruments()
    recorder.record(ATTRIBUTES, read_rate_limits({"retry-after-ms": "1500"}), 429)
    recorder.record(ATTRIBUTES, None, 429)
    recorder.record(ATTRIBUTES, None, 500)
    [rejections] = points(reader, "agentperf.rate_limit.rejections")
    [waits] = points(reader, "agentperf.rate_limit.retry_after.duration")
    assert (rejections.value, dict(rejections.attributes)) == (2, ATTRIBUTES)
    assert (waits.count, waits.sum, dict(waits.attributes)) == (1, 1.5, ATTRIBUTES)


def test_the_real_openai_sdk_response_headers():
    client = openai.OpenAI(
        api_key="sk-test", base_url="http://fake.test/v1", default_headers={"x-fake-rate-limits": "low"},
        http_client=httpx2.Client(transport=httpx2.MockTransport(fake_handler())),
    )  # fmt: skip
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    limits = read_rate_limits(raw.headers)
    assert limits is not None
    assert dict(headroom(limits)) == {"requests": 499 / 500, "tokens": 0.08}
    assert limits["agentperf.rate_limit.tokens.reset"] == 90.0


def test_the_real_anthropic_sdk_response_headers():
    client = anthropic.Anthropic(
        api_key="sk-ant-test", base_url="http://fake.test", default_headers={"x-fake-rate-limits": "low"},
        http_client=httpx2.Client(transport=httpx2.MockTransport(fake_handler())),
    )  # fmt: skip
    raw = client.messages.with_raw_response.create(
        model="claude-3-5-haiku-latest", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )
    limits = read_rate_limits(raw.headers)
    assert limits is not None
    assert dict(headroom(limits)) == {"requests": 49 / 50, "tokens": 0.08, "input_tokens": 0.08, "output_tokens": 0.08}
    assert 0 < limits["agentperf.rate_limit.input_tokens.reset"] <= 60


def test_the_headroom_gauge_tracks_a_bounded_number_of_models():
    recorder, reader = instruments()
    limits = {"agentperf.rate_limit.requests.limit": 10, "agentperf.rate_limit.requests.remaining": 5}
    for number in range(MAX_TRACKED + 50):
        recorder.record({**ATTRIBUTES, "gen_ai.request.model": f"model-{number}"}, limits)
    assert len(points(reader, "agentperf.rate_limit.headroom")) == MAX_TRACKED


def test_counts_that_are_not_integers_are_left_out():
    headers = {"x-ratelimit-limit-requests": "1.5", "x-ratelimit-remaining-requests": " 7 "}
    assert read_rate_limits(headers) == {"agentperf.rate_limit.requests.remaining": 7}


def test_values_that_are_not_text_are_left_out():
    headers = {"x-ratelimit-limit-requests": ["500"], "x-ratelimit-remaining-requests": None, "retry-after": 3}
    assert read_rate_limits({**headers, "x-ratelimit-limit-tokens": "100"}) == {
        "agentperf.rate_limit.tokens.limit": 100
    }
