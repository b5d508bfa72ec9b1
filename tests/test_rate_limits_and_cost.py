"""Rate-limit headroom, 429s and cost recorded by the openai and anthropic instrumentors over the fake service."""

from __future__ import annotations

import asyncio
import json
import logging

import anthropic
import openai
import pytest

from otel_agentperf import ConfigurationError, agent_run
from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import ANTHROPIC_HTTP, fake_handler, one_span, points
from tests.llm_drivers import API_KEY
from tests.openai_tests.conftest import USER_MESSAGES, make_async_client, make_client

LOW = {"x-fake-rate-limits": "low"}
OPENAI_KEYS = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini"}
HAIKU = "claude-3-5-haiku"
ANTHROPIC_REQUEST = {"model": HAIKU, "max_tokens": 64, "messages": [{"role": "user", "content": "hi " * 300}]}


def anthropic_client(**options) -> anthropic.Anthropic:
    http = ANTHROPIC_HTTP.Client(transport=ANTHROPIC_HTTP.MockTransport(fake_handler()))
    return anthropic.Anthropic(api_key=API_KEY, base_url="http://llm.test", http_client=http, **options)


def headroom(metric_reader) -> dict[str, tuple[float, dict]]:
    return {
        point.attributes["agentperf.rate_limit.kind"]: (point.value, dict(point.attributes))
        for point in points(metric_reader, "agentperf.rate_limit.headroom")
    }


def openai_call(mode: str) -> None:
    client = make_client(default_headers=LOW)
    if mode == "plain":
        client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    elif mode == "stream":
        for _ in client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, stream=True):
            pass
    elif mode == "raw":
        client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER_MESSAGES).parse()
    else:
        asyncio.run(make_async_client(default_headers=LOW).chat.completions.create(
            model="gpt-4o-mini", messages=USER_MESSAGES
        ))  # fmt: skip


@pytest.mark.parametrize("mode", ["plain", "stream", "raw", "async"])
def test_openai_rate_limit_headers_become_span_attributes_and_headroom(mode, instrument, span_exporter, metric_reader):
    instrument(OpenAIInstrumentor)
    openai_call(mode)
    attributes = one_span(span_exporter).attributes
    assert {key: value for key, value in attributes.items() if key.startswith("agentperf.rate_limit.")} == {
        "agentperf.rate_limit.requests.limit": 500,
        "agentperf.rate_limit.requests.remaining": 499,
        "agentperf.rate_limit.requests.reset": 0.12,
        "agentperf.rate_limit.tokens.limit": 30000,
        "agentperf.rate_limit.tokens.remaining": 2400,
        "agentperf.rate_limit.tokens.reset": 90.0,
    }
    assert headroom(metric_reader) == {
        "requests": (499 / 500, {**OPENAI_KEYS, "agentperf.rate_limit.kind": "requests"}),
        "tokens": (0.08, {**OPENAI_KEYS, "agentperf.rate_limit.kind": "tokens"}),
    }
    assert points(metric_reader, "agentperf.rate_limit.rejections") == []


@pytest.mark.parametrize("helper", [False, True])
def test_anthropic_rate_limit_headers_for_every_kind(helper, instrument, span_exporter, metric_reader):
    instrument(AnthropicInstrumentor)
    client = anthropic_client(default_headers=LOW)
    if helper:
        with client.messages.stream(**ANTHROPIC_REQUEST) as stream:
            stream.get_final_message()
    else:
        client.messages.create(**ANTHROPIC_REQUEST)
    attributes = one_span(span_exporter).attributes
    assert attributes["agentperf.rate_limit.input_tokens.remaining"] == 1600
    assert attributes["agentperf.rate_limit.output_tokens.limit"] == 10000
    assert 0 < attributes["agentperf.rate_limit.tokens.reset"] <= 60
    found = headroom(metric_reader)
    assert {kind: value for kind, (value, _) in found.items()} == {
        "requests": 49 / 50, "tokens": 0.08, "input_tokens": 0.08, "output_tokens": 0.08
    }  # fmt: skip
    assert found["tokens"][1] == {
        "gen_ai.provider.name": "anthropic", "gen_ai.request.model": HAIKU, "agentperf.rate_limit.kind": "tokens"
    }  # fmt: skip


def test_without_the_headers_there_is_no_rate_limit_telemetry(instrument, span_exporter, metric_reader):
    instrument(OpenAIInstrumentor)
    make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    assert not [key for key in one_span(span_exporter).attributes if key.startswith("agentperf.rate_limit.")]
    assert points(metric_reader, "agentperf.rate_limit.headroom") == []


def test_a_retried_429_counts_its_rejection_and_the_run_wait(instrument, span_exporter, metric_reader):
    instrument(OpenAIInstrumentor)
    client = make_client(default_headers={"x-fake-fault": "retry-once:429"})
    with agent_run("researcher") as run:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    span = next(span for span in span_exporter.get_finished_spans() if span.name == "chat gpt-4o-mini")
    assert span.attributes["agentperf.rate_limit.retry_after"] == 0.02
    assert span.attributes["agentperf.retry.count"] == 1
    assert run.summary.rate_limit_wait == span.attributes["agentperf.retry.backoff_time"] > 0
    [rejections] = points(metric_reader, "agentperf.rate_limit.rejections")
    assert (rejections.value, dict(rejections.attributes)) == (1, OPENAI_KEYS)
    [waits] = points(metric_reader, "agentperf.rate_limit.retry_after.duration")
    assert (waits.count, waits.sum) == (1, 0.02)


def test_a_retried_500_is_no_rate_limit_wait(instrument, metric_reader):
    instrument(OpenAIInstrumentor)
    client = make_client(default_headers={"x-fake-fault": "retry-once:500"})
    with agent_run("researcher") as run:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    assert run.summary.retries == 1
    assert run.summary.rate_limit_wait == 0.0
    assert points(metric_reader, "agentperf.rate_limit.rejections") == []


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_final_429_is_counted_with_its_retry_after(provider, instrument, span_exporter, metric_reader):
    fault = {"default_headers": {"x-fake-fault": "always:429"}, "max_retries": 0}
    if provider == "openai":
        instrument(OpenAIInstrumentor)
        with pytest.raises(openai.RateLimitError):
            make_client(**fault).chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    else:
        instrument(AnthropicInstrumentor)
        with pytest.raises(anthropic.RateLimitError):
            anthropic_client(**fault).messages.create(**ANTHROPIC_REQUEST)
    assert one_span(span_exporter).attributes["agentperf.rate_limit.retry_after"] == 0.02
    [rejections] = points(metric_reader, "agentperf.rate_limit.rejections")
    assert rejections.value == 1
    assert rejections.attributes["gen_ai.provider.name"] == provider
    [waits] = points(metric_reader, "agentperf.rate_limit.retry_after.duration")
    assert waits.sum == 0.02


def test_anthropic_cost_prices_cache_reads_and_writes(instrument, span_exporter, metric_reader):
    """claude-3-5-haiku's bundled prices: USD 0.80 input, 0.08 cache read, 1.00 cache write, 4.00 output."""
    instrument(AnthropicInstrumentor)
    client = anthropic_client()
    with agent_run("researcher") as run:
        usage = client.messages.create(**ANTHROPIC_REQUEST).usage
        client.messages.create(**ANTHROPIC_REQUEST)
    reads, writes = usage.cache_read_input_tokens, usage.cache_creation_input_tokens
    assert reads > 0 and writes > 0
    expected = (usage.input_tokens * 0.8 + reads * 0.08 + writes * 1.0 + usage.output_tokens * 4.0) / 1e6
    span = span_exporter.get_finished_spans()[0]
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-12)
    assert span.attributes["gen_ai.usage.cost.currency"] == "USD"
    [cost] = points(metric_reader, "agentperf.client.cost")
    assert cost.value == pytest.approx(2 * expected, rel=1e-12)
    assert cost.attributes["gen_ai.operation.name"] == "chat"
    assert cost.attributes["gen_ai.request.model"] == HAIKU
    [savings] = points(metric_reader, "agentperf.client.cost.cache_savings")
    assert savings.value == pytest.approx(2 * reads * (0.8 - 0.08) / 1e6, rel=1e-12)
    assert run.summary.cost == pytest.approx(2 * expected, rel=1e-12)


def test_an_unknown_model_gets_no_cost_and_one_info_line(instrument, span_exporter, metric_reader, caplog):
    instrument(OpenAIInstrumentor)
    client = make_client()
    with caplog.at_level(logging.INFO, logger="otel_agentperf.core.pricing"), agent_run("researcher") as run:
        for _ in range(2):
            client.chat.completions.create(model="gpt-unpriced-9", messages=USER_MESSAGES)
    for span in span_exporter.get_finished_spans():
        assert not [key for key in span.attributes if key.startswith("gen_ai.usage.cost.")]
    assert points(metric_reader, "agentperf.client.cost") == []
    assert run.summary.cost is None and run.summary.unpriced_calls == 2
    run_attributes = run.summary.span_attributes()
    assert "agentperf.run.cost" not in run_attributes and run_attributes["agentperf.run.unpriced_calls"] == 2
    lines = [record.getMessage() for record in caplog.records if "gpt-unpriced-9" in record.getMessage()]
    assert len(lines) == 1 and "OTEL_AGENTPERF_PRICES" in lines[0]


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_a_user_table_overrides_the_bundled_price(how, instrument, span_exporter, tmp_path, monkeypatch):
    table = tmp_path / "prices.json"
    row = {"provider": "openai", "model": "gpt-4o-mini", "input": 1.0, "output": 2.0, "cache_read": 0.5}
    table.write_text(json.dumps({"prices": [row]}))
    if how == "keyword":
        instrument(OpenAIInstrumentor, prices=str(table))
    else:
        monkeypatch.setenv("OTEL_AGENTPERF_PRICES", str(table))
        instrument(OpenAIInstrumentor)
    usage = make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES).usage
    cached = usage.prompt_tokens_details.cached_tokens
    expected = ((usage.prompt_tokens - cached) * 1.0 + cached * 0.5 + usage.completion_tokens * 2.0) / 1e6
    assert one_span(span_exporter).attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected, rel=1e-12)


def test_a_bad_price_table_fails_at_instrument_time(instrument, tmp_path):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"prices": [{"provider": "openai", "model": "gpt-4o-mini", "input": -1}]}))
    with pytest.raises(ConfigurationError, match="prices"):
        instrument(AnthropicInstrumentor, prices=str(table))
