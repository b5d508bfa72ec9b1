"""Rejections, rate-limit waits and cost recorded by the google-genai instrumentor over the fake service.

The Gemini API sends no rate-limit headroom headers; its 429s (``RESOURCE_EXHAUSTED``) count as rejections, and the
waits before retrying them as the run's rate-limit wait.
"""

from __future__ import annotations

import pytest
from google.genai import errors, types

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.google_genai import GoogleGenAIInstrumentor
from tests.google_genai_tests.conftest import FAST_RETRIES, LONG_PROMPT, MODEL, with_fault
from tests.helpers import expected_cost, one_span, points, price_table


def test_gemini_cost_from_a_user_table(genai_client, instrument, span_exporter, metric_reader, tmp_path):
    instrument(GoogleGenAIInstrumentor, prices=price_table(tmp_path, "gcp.gemini", MODEL))
    with agent_run("researcher") as run:
        genai_client().models.generate_content(model=MODEL, contents=LONG_PROMPT)
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.usage.cache_read.input_tokens"] > 0
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected_cost(attributes), rel=1e-12)
    [cost] = points(metric_reader, "agentperf.client.cost")
    assert cost.attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert run.summary.cost == pytest.approx(expected_cost(attributes), rel=1e-12)


def test_a_gemini_model_whose_cache_read_price_is_unknown_gets_no_cost(genai_client, instrument, span_exporter):
    """The bundled gemini-2.5-flash row has no cache-read price: a call that read the cache is not priced."""
    instrument(GoogleGenAIInstrumentor)
    genai_client().models.generate_content(model=MODEL, contents=LONG_PROMPT)
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.usage.cache_read.input_tokens"] > 0
    assert "gen_ai.usage.cost.amount" not in attributes


def test_a_retried_gemini_429_is_a_rejection_and_a_rate_limit_wait(genai_client, instrument, metric_reader):
    instrument(GoogleGenAIInstrumentor)
    config = with_fault("retry-once:429", FAST_RETRIES)
    with agent_run("researcher") as run:
        genai_client().models.generate_content(model=MODEL, contents="Hi", config=config)
    [rejections] = points(metric_reader, "agentperf.rate_limit.rejections")
    assert (rejections.value, rejections.attributes["gen_ai.provider.name"]) == (1, "gcp.gemini")
    assert run.summary.retries == 1
    assert run.summary.rate_limit_wait >= 0.01  # FAST_RETRIES' initial delay


def test_a_final_gemini_429_is_a_rejection(genai_client, instrument, metric_reader):
    instrument(GoogleGenAIInstrumentor)
    no_retries = types.HttpRetryOptions(attempts=1)
    with pytest.raises(errors.ClientError) as raised:
        genai_client().models.generate_content(model=MODEL, contents="Hi", config=with_fault("always:429", no_retries))
    assert raised.value.code == 429
    [rejections] = points(metric_reader, "agentperf.rate_limit.rejections")
    assert rejections.value == 1
