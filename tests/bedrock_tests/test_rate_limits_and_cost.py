"""Rejections, rate-limit waits and cost recorded by the Bedrock instrumentor over the fake service.

Bedrock sends no rate-limit headroom headers; its 429s (``ThrottlingException``) count as rejections, and botocore's
waits before retrying them as the run's rate-limit wait.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.bedrock import BedrockInstrumentor
from tests.bedrock_tests.conftest import CLAUDE, user_turn
from tests.helpers import expected_cost, one_span, points, price_table


def test_bedrock_cost_from_a_user_table(bedrock_client, instrument, span_exporter, metric_reader, tmp_path):
    instrument(BedrockInstrumentor, prices=price_table(tmp_path, "aws.bedrock", CLAUDE))
    bedrock_client().converse(modelId=CLAUDE, messages=user_turn())
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.usage.cache_read.input_tokens"] > 0
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(expected_cost(attributes), rel=1e-12)
    [cost] = points(metric_reader, "agentperf.client.cost")
    assert cost.value == pytest.approx(expected_cost(attributes), rel=1e-12)


def test_bedrock_throttling_is_a_rejection_and_a_rate_limit_wait(bedrock_client, instrument, metric_reader):
    instrument(BedrockInstrumentor)
    with agent_run("researcher") as run:
        bedrock_client(fault="retry-once:429").converse(modelId=CLAUDE, messages=user_turn("Hi"))
        with pytest.raises(ClientError):
            bedrock_client(attempts=1, fault="always:429").converse(modelId=CLAUDE, messages=user_turn("Hi"))
    [rejections] = points(metric_reader, "agentperf.rate_limit.rejections")
    assert (rejections.value, rejections.attributes["gen_ai.provider.name"]) == (2, "aws.bedrock")
    assert run.summary.rate_limit_wait > 0
