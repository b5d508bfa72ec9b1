"""boto3 bedrock-runtime, uninstrumented, parses what the fake LLM service answers: Converse JSON, the AWS
event-stream framing of the streamed calls (botocore checks every CRC), the model families' own invoke bodies,
and Bedrock's error shape, which botocore's retry modes recognise."""

from __future__ import annotations

import json

import pytest
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import ClientError

from tests.bedrock_tests.conftest import CLAUDE, NOVA, ClientFactory, claude_body, user_turn

TOOLS = {"tools": [{"toolSpec": {"name": "search", "inputSchema": {"json": {"type": "object"}}}}]}


def test_converse_usage_with_cache(bedrock_client: ClientFactory) -> None:
    response = bedrock_client().converse(modelId=CLAUDE, messages=user_turn())
    usage = response["usage"]
    assert response["output"]["message"]["content"][0]["text"].startswith("Here is what I found about: Which city")
    assert response["stopReason"] == "end_turn"
    assert usage["cacheReadInputTokens"] > 0 and usage["cacheWriteInputTokens"] > 0
    assert usage["totalTokens"] == (
        usage["inputTokens"] + usage["outputTokens"] + usage["cacheReadInputTokens"] + usage["cacheWriteInputTokens"]
    )
    assert response["metrics"]["latencyMs"] > 0
    assert response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def test_converse_tool_use_and_max_tokens(bedrock_client: ClientFactory) -> None:
    client = bedrock_client()
    tool = client.converse(modelId=NOVA, messages=user_turn("Find news"), toolConfig=TOOLS)
    assert tool["stopReason"] == "tool_use"
    assert tool["output"]["message"]["content"][0]["toolUse"]["name"] == "search"
    cut = client.converse(modelId=NOVA, messages=user_turn("Hi"), inferenceConfig={"maxTokens": 2})
    assert (cut["stopReason"], cut["output"]["message"]["content"][0]["text"]) == ("max_tokens", "Here is")


def test_converse_stream_events(bedrock_client: ClientFactory) -> None:
    client = bedrock_client()
    whole = client.converse(modelId=CLAUDE, messages=user_turn())
    events = list(client.converse_stream(modelId=CLAUDE, messages=user_turn())["stream"])
    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    text = "".join(event["contentBlockDelta"]["delta"]["text"] for event in events if "contentBlockDelta" in event)
    assert text == whole["output"]["message"]["content"][0]["text"]
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"] == whole["usage"]


def test_converse_stream_tool_use(bedrock_client: ClientFactory) -> None:
    response = bedrock_client().converse_stream(modelId=NOVA, messages=user_turn("Find news"), toolConfig=TOOLS)
    events = list(response["stream"])
    assert events[1]["contentBlockStart"]["start"]["toolUse"]["name"] == "search"
    assert json.loads(events[2]["contentBlockDelta"]["delta"]["toolUse"]["input"]) == {"query": "latest"}
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_converse_stream_closed_early(bedrock_client: ClientFactory) -> None:
    stream = bedrock_client().converse_stream(modelId=CLAUDE, messages=user_turn())["stream"]
    assert next(iter(stream)) == {"messageStart": {"role": "assistant"}}
    stream.close()


def test_invoke_model_anthropic(bedrock_client: ClientFactory) -> None:
    response = bedrock_client().invoke_model(modelId=CLAUDE, body=claude_body())
    body = json.loads(response["body"].read())
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert response["contentType"] == "application/json"
    assert body["model"] == "claude-3-5-sonnet-20240620"
    assert body["usage"]["cache_read_input_tokens"] > 0
    assert int(headers["x-amzn-bedrock-input-token-count"]) == body["usage"]["input_tokens"]
    assert int(headers["x-amzn-bedrock-output-token-count"]) == body["usage"]["output_tokens"]


def test_invoke_model_with_response_stream_anthropic(bedrock_client: ClientFactory) -> None:
    response = bedrock_client().invoke_model_with_response_stream(modelId=CLAUDE, body=claude_body())
    events = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert response["contentType"] == "application/json"
    assert [event["type"] for event in events[:2]] == ["message_start", "content_block_start"]
    assert events[0]["message"]["usage"]["cache_read_input_tokens"] > 0
    text = "".join(event["delta"]["text"] for event in events if event["type"] == "content_block_delta")
    assert text.startswith("Here is what I found about")
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["outputTokenCount"] == events[-2]["usage"]["output_tokens"]


def test_invoke_model_nova(bedrock_client: ClientFactory) -> None:
    client = bedrock_client()
    request = json.dumps({"schemaVersion": "messages-v1", "messages": user_turn()})
    body = json.loads(client.invoke_model(modelId=NOVA, body=request)["body"].read())
    assert body["stopReason"] == "end_turn"
    assert body["usage"]["cacheReadInputTokenCount"] > 0
    chunks = [
        json.loads(e["chunk"]["bytes"])
        for e in client.invoke_model_with_response_stream(modelId=NOVA, body=request)["body"]
    ]
    assert next(iter(chunks[0])) == "messageStart"
    assert chunks[-1]["metadata"]["usage"] == {key: body["usage"][key] for key in chunks[-1]["metadata"]["usage"]}


def test_invoke_model_titan(bedrock_client: ClientFactory) -> None:
    client = bedrock_client()
    text = json.loads(
        client.invoke_model(modelId="amazon.titan-text-express-v1", body='{"inputText": "Hi"}')["body"].read()
    )
    assert text["results"][0]["completionReason"] == "FINISH"
    embedding = json.loads(
        client.invoke_model(modelId="amazon.titan-embed-text-v2:0", body='{"inputText": "Hi", "dimensions": 4}')[
            "body"
        ].read()
    )
    assert len(embedding["embedding"]) == 4 and embedding["inputTextTokenCount"] > 0


def test_unknown_model_family_is_a_validation_error(bedrock_client: ClientFactory) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock_client().invoke_model(modelId="cohere.command-r-v1:0", body="{}")
    assert raised.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_throttling_is_retried(bedrock_client: ClientFactory, mode: str) -> None:
    response = bedrock_client(mode, fault="retry-once:429").converse(modelId=CLAUDE, messages=user_turn("Hi"))
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize("mode", ["standard", "adaptive"])
def test_persistent_throttling(bedrock_client: ClientFactory, mode: str) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock_client(mode, attempts=2, fault="always:429").converse(modelId=CLAUDE, messages=user_turn("Hi"))
    error = raised.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ThrottlingException", 429)
    assert error["ResponseMetadata"]["RetryAttempts"] == 1
    assert type(raised.value).__name__ == "ThrottlingException"


def test_server_error_is_retried_in_streams(bedrock_client: ClientFactory) -> None:
    client = bedrock_client(fault="retry-once:500")
    response = client.converse_stream(modelId=CLAUDE, messages=user_turn("Hi"))
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert list(response["stream"])[-1]["metadata"]["usage"]["outputTokens"] > 0


def test_without_retries_the_fault_surfaces(bedrock_client: ClientFactory) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock_client(attempts=1, fault="retry-once:500").converse(modelId=CLAUDE, messages=user_turn("Hi"))
    assert raised.value.response["Error"]["Code"] == "InternalServerException"


def test_malformed_body(bedrock_client: ClientFactory) -> None:
    """botocore keeps a JSON body it cannot parse out of the result, and fails a stream on its first bad frame."""
    client = bedrock_client(attempts=1, fault="malformed")
    response = client.converse(modelId=CLAUDE, messages=user_turn("Hi"))
    assert set(response) == {"ResponseMetadata"}
    stream = client.converse_stream(modelId=CLAUDE, messages=user_turn("Hi"))["stream"]
    with pytest.raises(ChecksumMismatch):
        list(stream)
