"""Chat completions: span attributes, metric points, errors and content capture."""

from __future__ import annotations

import json

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.helpers import OPENAI_HTTP, fake_handler, one_span, points
from tests.openai_tests.conftest import API_KEY, USER_MESSAGES, make_async_client, make_client


def gpt_4o_mini_usd(usage: object) -> float:
    """gpt-4o-mini's bundled prices: USD 0.15 / 0.075 (cached) / 0.60 per million input / cached / output tokens."""
    cached = usage.prompt_tokens_details.cached_tokens
    return ((usage.prompt_tokens - cached) * 0.15 + cached * 0.075 + usage.completion_tokens * 0.60) / 1e6


def test_chat_span_has_request_and_response_attributes(instrumented, client, span_exporter):
    """A chat call gives one CLIENT span named after operation and model, with request and response attributes."""
    instrumented()
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER_MESSAGES, temperature=0.3, max_tokens=50, top_p=0.9, seed=7, stop=["END"]
    )

    span = one_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope.name == "otel_agentperf.instrumentation.openai"
    assert span.instrumentation_scope.version
    attributes = dict(span.attributes)
    usage = response.usage
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "llm.test",
        "server.port": 8080,
        "openai.api.type": "chat_completions",
        "gen_ai.request.temperature": 0.3,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.seed": 7,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.id": response.id,
        "gen_ai.response.model": response.model,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.prompt_tokens_details.cached_tokens,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "openai.response.system_fingerprint": "fp_fake",
        "gen_ai.usage.cost.amount": pytest.approx(gpt_4o_mini_usd(usage), rel=1e-12),
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
    }
    assert usage.prompt_tokens_details.cached_tokens > 0
    assert span.status.status_code is StatusCode.UNSET


def test_chat_metrics_carry_usage_duration_and_cache_tokens(instrumented, client, metric_reader):
    """Token usage, duration and prompt-cache reads are recorded with low-cardinality attributes."""
    instrumented()
    first = client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    second = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    expected_base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": first.model,
        "server.address": "llm.test",
        "server.port": 8080,
    }
    tokens = {
        point.attributes["gen_ai.token.type"]: point for point in points(metric_reader, "gen_ai.client.token.usage")
    }
    assert dict(tokens["input"].attributes) == {**expected_base, "gen_ai.token.type": "input"}
    assert tokens["input"].sum == first.usage.prompt_tokens + second.usage.prompt_tokens
    assert tokens["input"].count == 2
    assert tokens["output"].sum == first.usage.completion_tokens + second.usage.completion_tokens

    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert dict(duration.attributes) == expected_base
    assert duration.count == 2
    assert 0 < duration.sum < 5
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]

    (cache_read,) = points(metric_reader, "gen_ai.client.inference.usage.cache_read.input_tokens")
    assert cache_read.value == first.usage.prompt_tokens_details.cached_tokens + 0
    assert not points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")


def test_metric_units_and_bucket_advice(instrumented, client, metric_reader):
    """Metrics use UCUM units and the GenAI bucket advice."""
    from tests.helpers import metrics_by_name

    instrumented()
    client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    metrics = metrics_by_name(metric_reader)
    assert metrics["gen_ai.client.token.usage"].unit == "{token}"
    assert metrics["gen_ai.client.operation.duration"].unit == "s"
    assert metrics["gen_ai.client.inference.usage.cache_read.input_tokens"].unit == "{token}"
    (token_point,) = [
        p for p in metrics["gen_ai.client.token.usage"].data.data_points if p.attributes["gen_ai.token.type"] == "input"
    ]
    assert list(token_point.explicit_bounds)[:4] == [1, 4, 16, 64]


async def test_async_chat_is_traced_like_sync(instrumented, async_client, span_exporter, metric_reader):
    """The async client gives the same span and metrics."""
    instrumented()
    response = await async_client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)

    span = one_span(span_exporter)
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert sum(p.count for p in points(metric_reader, "gen_ai.client.operation.duration")) == 1


def test_server_error_marks_span_and_duration_and_propagates(instrumented, span_exporter, metric_reader):
    """A persistent 500 ends the span with ERROR and error.type; the SDK's exception reaches the caller unchanged."""
    instrumented()
    client = make_client(max_retries=0)
    with pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers={"x-fake-fault": "always:500"}
        )

    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "InternalServerError"
    assert [event.name for event in span.events] == ["exception"]
    assert "gen_ai.usage.input_tokens" not in span.attributes
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "InternalServerError"
    assert not points(metric_reader, "gen_ai.client.token.usage")
    assert raised.value.status_code == 500


def test_connection_error_is_recorded(instrumented, span_exporter):
    """A transport failure ends the span with the SDK's exception type."""

    def refuse(request: OPENAI_HTTP.Request) -> OPENAI_HTTP.Response:
        raise OPENAI_HTTP.ConnectError("connection refused", request=request)

    instrumented()
    client = make_client(refuse, max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    assert one_span(span_exporter).attributes["error.type"] == "APIConnectionError"


def _exception_for(client: openai.OpenAI, **kwargs) -> BaseException:
    with pytest.raises(Exception) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, **kwargs)
    return raised.value


def test_malformed_body_raises_the_same_as_without_instrumentation(instrumented, span_exporter):
    """A response body that is not JSON gives the caller exactly the error it gets without instrumentation."""
    headers = {"x-fake-fault": "malformed"}
    bare = _exception_for(make_client(max_retries=0), extra_headers=headers)
    instrumented()
    traced = _exception_for(make_client(max_retries=0), extra_headers=headers)

    assert type(traced) is type(bare)
    assert str(traced) == str(bare)
    assert one_span(span_exporter).attributes["error.type"] == type(bare).__qualname__


def test_content_is_not_recorded_by_default(instrumented, client, span_exporter):
    """Without opting in, no prompt or completion text and no key reaches the span."""
    instrumented()
    client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    span = one_span(span_exporter)
    dumped = json.dumps({key: str(value) for key, value in span.attributes.items()})
    assert "gen_ai.input.messages" not in span.attributes
    assert "gen_ai.output.messages" not in span.attributes
    assert "Paris" not in dumped
    assert API_KEY not in dumped
    assert not span.events


def test_content_on_span_when_opted_in_by_environment(instrumented, client, span_exporter, monkeypatch):
    """SPAN_ONLY records the messages in the conventions' shape, and still never the key."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    instrumented()
    response = client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)

    span = one_span(span_exporter)
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": USER_MESSAGES[0]["content"]}]}
    ]
    assert json.loads(span.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": response.choices[0].message.content}],
            "finish_reason": "stop",
        }
    ]
    assert API_KEY not in str(dict(span.attributes))


def test_content_in_event_mode_goes_to_a_span_event(instrumented, client, span_exporter):
    """EVENT_ONLY puts content on a details event, not on the span's attributes; texts cut, JSON valid."""
    instrumented(capture_content="EVENT_ONLY", content_max_length=40)
    client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)

    span = one_span(span_exporter)
    assert "gen_ai.input.messages" not in span.attributes
    (event,) = span.events
    assert event.name == "gen_ai.client.inference.operation.details"
    (message,) = json.loads(event.attributes["gen_ai.input.messages"])
    assert message["parts"][0]["content"] == USER_MESSAGES[0]["content"][:40]


def test_tool_calls_are_captured_as_parts(instrumented, client, span_exporter):
    """A tool-call answer gives finish reason tool_calls and a tool_call part when content is captured."""
    instrumented(capture_content=True)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, tools=tools)

    span = one_span(span_exporter)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": '{"query": "latest"}'}
    ]


async def test_async_error_propagates_unchanged(instrumented, span_exporter):
    """An async call's exception is the SDK's own object."""
    instrumented()
    client = make_async_client(fake_handler(), max_retries=0)
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=USER_MESSAGES, extra_headers={"x-fake-fault": "always:429"}
        )
    assert one_span(span_exporter).attributes["error.type"] == "RateLimitError"
