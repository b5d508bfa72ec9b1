"""Rate limits and cost through LiteLLM: read once per response and priced once per call, whether or not the openai
SDK underneath is instrumented too."""

from __future__ import annotations

from typing import Any

import pytest

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import expected_cost, points, price_table
from tests.litellm_tests.conftest import MESSAGES, fault, litellm, provider_kwargs

LOW = {"x-fake-rate-limits": "low"}


def chat_span(exporter: Any, model: str) -> Any:
    return next(span for span in exporter.get_finished_spans() if span.name == f"chat {model}")


@pytest.mark.parametrize("with_openai", [False, True], ids=["litellm", "litellm+openai"])
def test_headroom_of_the_openai_prefix_is_recorded_once(
    with_openai, fake_llm_url, instrument, span_exporter, metric_reader
):
    if with_openai:
        instrument(OpenAIInstrumentor)
    instrument(LiteLLMInstrumentor)
    litellm.completion(messages=MESSAGES, extra_headers=LOW, **provider_kwargs(fake_llm_url)["openai"])
    span = chat_span(span_exporter, "openai/gpt-4o-mini")
    assert span.attributes["agentperf.rate_limit.tokens.remaining"] == 2400
    assert span.attributes["agentperf.rate_limit.tokens.limit"] == 30000
    headroom = points(metric_reader, "agentperf.rate_limit.headroom")
    assert {point.attributes["agentperf.rate_limit.kind"]: point.value for point in headroom} == {
        "requests": 499 / 500,
        "tokens": 0.08,
    }
    assert {point.attributes["gen_ai.request.model"] for point in headroom} == {"openai/gpt-4o-mini"}


@pytest.mark.parametrize("with_openai", [False, True], ids=["litellm", "litellm+openai"])
def test_a_retried_and_a_final_429_count_once_each(with_openai, fake_llm_url, instrument, metric_reader):
    """The openai SDK under LiteLLM retries the first 429 itself: only the openai instrumentor sees that one."""
    if with_openai:
        instrument(OpenAIInstrumentor)
    instrument(LiteLLMInstrumentor)
    kwargs = provider_kwargs(fake_llm_url)["openai"]
    with agent_run("limited") as run:
        litellm.completion(messages=MESSAGES, max_retries=1, **kwargs, **fault("retry-once:429"))
        with pytest.raises(litellm.RateLimitError):
            litellm.completion(messages=MESSAGES, max_retries=0, **kwargs, **fault("always:429"))
    (rejections,) = points(metric_reader, "agentperf.rate_limit.rejections")
    assert rejections.value == (2 if with_openai else 1)
    assert rejections.attributes["gen_ai.request.model"] == "openai/gpt-4o-mini"
    assert (run.summary.rate_limit_wait > 0) is with_openai
    assert run.summary.llm_calls == 2


@pytest.mark.parametrize("with_openai", [False, True], ids=["litellm", "litellm+openai"])
def test_a_call_is_priced_once(with_openai, fake_llm_url, instrument, span_exporter, metric_reader, tmp_path):
    if with_openai:
        instrument(OpenAIInstrumentor)
    instrument(LiteLLMInstrumentor, prices=price_table(tmp_path, "openai", "gpt-4o-mini"))
    with agent_run("priced") as run:
        litellm.completion(messages=MESSAGES, **provider_kwargs(fake_llm_url)["openai"])
    span = chat_span(span_exporter, "openai/gpt-4o-mini")
    cost = expected_cost(span.attributes)
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(cost, rel=1e-12)
    (counter,) = points(metric_reader, "agentperf.client.cost")
    assert counter.value == pytest.approx(cost, rel=1e-12)
    assert run.summary.cost == pytest.approx(cost, rel=1e-12)


@pytest.mark.parametrize("prefix", ["anthropic", "openai"])
def test_the_wait_a_raised_429_asked_for_is_read_from_litellms_error(
    prefix, fake_llm_url, instrument, span_exporter, metric_reader
):
    """No instrumented SDK under LiteLLM: the 429's headers come from the error LiteLLM raises."""
    instrument(LiteLLMInstrumentor)
    kwargs = provider_kwargs(fake_llm_url)[prefix]
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(messages=MESSAGES, max_retries=0, max_tokens=16, **kwargs, **fault("always:429"))
    span = chat_span(span_exporter, kwargs["model"])
    assert span.attributes["agentperf.rate_limit.retry_after"] == 0.02  # the fake's retry-after-ms: 20
    (waits,) = points(metric_reader, "agentperf.rate_limit.retry_after.duration")
    assert (waits.count, waits.sum) == (1, 0.02)
    (rejections,) = points(metric_reader, "agentperf.rate_limit.rejections")
    assert rejections.value == 1
