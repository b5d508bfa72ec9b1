"""What the Bedrock Runtime instrumentor records, through boto3 on the fake service (real AWS wire formats)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from otel_agentperf.instrumentation.bedrock import BedrockInstrumentor
from tests.bedrock_tests.conftest import CLAUDE, NOVA, ClientFactory, claude_body, user_turn
from tests.helpers import one_span, points


@pytest.fixture
def instrumented(instrument):
    return lambda **kwargs: instrument(BedrockInstrumentor, **kwargs)


def test_converse_usage_with_cache(bedrock_client: ClientFactory, instrumented, span_exporter, metric_reader):
    instrumented()
    usage = bedrock_client().converse(modelId=CLAUDE, messages=user_turn(), inferenceConfig={"maxTokens": 64})["usage"]
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.max_tokens"] == 64
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.usage.input_tokens"] == (
        usage["inputTokens"] + usage["cacheReadInputTokens"] + usage["cacheWriteInputTokens"]
    )
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == usage["cacheReadInputTokens"] > 0
    assert attributes["gen_ai.usage.cache_creation.input_tokens"] == usage["cacheWriteInputTokens"] > 0
    (written,) = points(metric_reader, "gen_ai.client.inference.usage.cache_write.input_tokens")
    assert written.value == usage["cacheWriteInputTokens"]


def test_converse_stream_content_and_gaps(bedrock_client: ClientFactory, instrumented, span_exporter, metric_reader):
    instrumented(capture_content="SPAN_ONLY")
    events = list(bedrock_client().converse_stream(modelId=NOVA, messages=user_turn())["stream"])
    span = one_span(span_exporter)
    deltas = [event["contentBlockDelta"]["delta"]["text"] for event in events if "contentBlockDelta" in event]
    assert span.attributes["agentperf.stream.chunk_count"] == len(deltas)
    assert span.attributes["gen_ai.usage.output_tokens"] == events[-1]["metadata"]["usage"]["outputTokens"]
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message == {
        "role": "assistant",
        "parts": [{"type": "text", "content": "".join(deltas)}],
        "finish_reason": "end_turn",
    }
    (gaps,) = points(metric_reader, "gen_ai.client.operation.time_per_output_chunk")
    assert gaps.count == len(deltas) - 1


def test_invoke_model_usage_from_headers(bedrock_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    response = bedrock_client().invoke_model(modelId=CLAUDE, body=claude_body(temperature=0.2))
    body = json.loads(response["body"].read())  # the body is still the caller's to read
    usage = body["usage"]
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.request.max_tokens"] == 256
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert attributes["gen_ai.usage.input_tokens"] == (
        usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    )


@pytest.mark.parametrize("family", ["anthropic", "nova"])
def test_invoke_model_with_response_stream(bedrock_client: ClientFactory, instrumented, span_exporter, family):
    instrumented()
    model, body = (CLAUDE, claude_body()) if family == "anthropic" else (NOVA, json.dumps({"messages": user_turn()}))
    events = list(bedrock_client().invoke_model_with_response_stream(modelId=model, body=body)["body"])
    metrics = json.loads(events[-1]["chunk"]["bytes"])["amazon-bedrock-invocationMetrics"]
    attributes = one_span(span_exporter).attributes
    assert attributes["agentperf.stream.end"] == "completed"
    assert attributes["gen_ai.usage.output_tokens"] == metrics["outputTokenCount"]
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == metrics["cacheReadInputTokenCount"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert 1 < attributes["agentperf.stream.chunk_count"] < len(events)


def test_titan_embeddings(bedrock_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    bedrock_client().invoke_model(modelId="amazon.titan-embed-text-v2:0", body='{"inputText": "Hi", "dimensions": 4}')
    span = one_span(span_exporter)
    assert span.name == "embeddings amazon.titan-embed-text-v2:0"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 4
    assert span.attributes["gen_ai.usage.input_tokens"] > 0


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_throttling_retries_with_backoff(
    bedrock_client: ClientFactory, instrumented, span_exporter, metric_reader, mode
):
    """botocore waits about a second before retrying a ThrottlingException: that wait is the recorded backoff."""
    instrumented()
    response = bedrock_client(mode, fault="retry-once:429").converse(modelId=CLAUDE, messages=user_turn("Hi"))
    span = one_span(span_exporter)
    assert span.attributes["agentperf.retry.count"] == response["ResponseMetadata"]["RetryAttempts"] == 1
    (event,) = span.events
    assert (event.attributes["error.type"], event.attributes["agentperf.retry.attempt"]) == ("429", 1)
    assert span.attributes["agentperf.retry.backoff_time"] == event.attributes["agentperf.retry.delay"] > 0
    (backoff,) = points(metric_reader, "agentperf.retry.backoff.duration")
    assert backoff.attributes["agentperf.retry.source"] == "botocore"
    assert backoff.attributes["gen_ai.provider.name"] == "aws.bedrock"


def test_persistent_throttling_is_the_callers(bedrock_client: ClientFactory, instrumented, span_exporter):
    instrumented()
    with pytest.raises(ClientError) as raised:
        bedrock_client(attempts=2, fault="always:429").converse(modelId=CLAUDE, messages=user_turn("Hi"))
    span = one_span(span_exporter)
    assert span.attributes["error.type"] == type(raised.value).__name__ == "ThrottlingException"
    assert span.attributes["agentperf.retry.count"] == 1


def test_other_services_pass_through(instrumented, span_exporter):
    instrumented()
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="AKID", aws_secret_access_key="secret")
    with Stubber(s3) as stub:
        stub.add_response("list_buckets", {"Buckets": []})
        assert s3.list_buckets()["Buckets"] == []
    assert not span_exporter.get_finished_spans()
