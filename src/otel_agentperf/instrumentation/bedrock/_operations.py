"""How the Bedrock Runtime API maps onto GenAI telemetry.

Operations: ``Converse``, ``ConverseStream``, ``InvokeModel`` and ``InvokeModelWithResponseStream``.

Token semantics follow the GenAI conventions: ``gen_ai.usage.input_tokens`` counts every prompt token, so it is
Bedrock's ``inputTokens`` plus ``cacheReadInputTokens`` plus ``cacheWriteInputTokens`` (Bedrock counts them apart).
Bedrock returns no model name: ``gen_ai.response.model`` is left out. ``InvokeModel``'s body is the caller's to read:
its usage comes from the ``x-amzn-bedrock-*-token-count`` response headers, and its finish reason is not recorded.
Readers are defensive: a missing or ill-typed field is left out, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core.attribute_sets import Attributes
from otel_agentperf.core.provider import ClientOperation, LLMResult
from otel_agentperf.core.values import as_int, as_number, as_str, as_str_list, field, put

PROVIDER = semconv.PROVIDER_AWS_BEDROCK

_INFERENCE = (
    ("maxTokens", semconv.GEN_AI_REQUEST_MAX_TOKENS),
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("topP", semconv.GEN_AI_REQUEST_TOP_P),
)
_MAX_TOKENS = ("max_tokens", "maxTokens", "max_new_tokens", "maxTokenCount")
_BODY_PARAMETERS = (  # Anthropic, Amazon Nova (inferenceConfig) and Titan (textGenerationConfig) invoke bodies
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ("topP", semconv.GEN_AI_REQUEST_TOP_P),
    ("top_k", semconv.GEN_AI_REQUEST_TOP_K),
)
_HEADER_TOKENS = (
    ("x-amzn-bedrock-input-token-count", "input"),
    ("x-amzn-bedrock-output-token-count", "output"),
    ("x-amzn-bedrock-cache-read-input-token-count", "cache_read"),
    ("x-amzn-bedrock-cache-write-input-token-count", "cache_write"),
)


class _RuntimeOperation(ClientOperation):
    """An operation of a ``bedrock-runtime`` client: the model is ``modelId``, the server the client's endpoint."""

    provider = PROVIDER
    streamed = False

    def __init__(self) -> None:
        super().__init__(())

    def sampling_attributes(self, instance: Any, kwargs: Mapping[str, Any]) -> Attributes:
        url = getattr(getattr(instance, "meta", None), "endpoint_url", None)
        return self._sampling.get(url, kwargs.get("modelId"), PROVIDER)

    def is_stream(self, kwargs: Mapping[str, Any], result: object) -> bool:
        return self.streamed

    def response_headers(self, response: object) -> object | None:
        """``ResponseMetadata.HTTPHeaders`` of a response, or of a ``ClientError``'s ``response``."""
        return _metadata(response).get("HTTPHeaders")

    def error_status(self, error: BaseException) -> int | None:
        """``ResponseMetadata.HTTPStatusCode`` of a ``ClientError`` (429 for a ``ThrottlingException``)."""
        return as_int(_metadata(error).get("HTTPStatusCode"))

    def _stream_attribute(self, attributes: Attributes) -> Attributes:
        if self.streamed:
            attributes[semconv.GEN_AI_REQUEST_STREAM] = True
        return attributes


class Converse(_RuntimeOperation):
    """``converse`` and (``streamed``) ``converse_stream``."""

    def __init__(self, streamed: bool = False) -> None:
        super().__init__()
        self.streamed = streamed

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        attributes: Attributes = {}
        config = kwargs.get("inferenceConfig")
        for name, key in _INFERENCE:
            put(attributes, key, as_number(field(config, name)))
        put(attributes, semconv.GEN_AI_REQUEST_STOP_SEQUENCES, as_str_list(field(config, "stopSequences")))
        return self._stream_attribute(attributes)

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {semconv.GEN_AI_INPUT_MESSAGES: _messages(kwargs.get("messages"))}
        system = kwargs.get("system")
        if isinstance(system, list):
            content[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = _parts(system)
        return content

    def read_response(self, result: LLMResult, response: object) -> None:
        reason = as_str(field(response, "stopReason"))
        result.finish_reasons = [reason] if reason is not None else None
        _read_usage(result, field(response, "usage"))
        if result.capture_content:
            message = field(field(response, "output"), "message")
            result.output_messages = [
                {"role": "assistant", "parts": _parts(field(message, "content")), "finish_reason": reason or "unknown"}
            ]

    def read_chunk(self, result: LLMResult, chunk: object) -> bool:
        if type(chunk) is not dict:
            return False
        delta = chunk.get("contentBlockDelta")
        if delta is not None:
            if result.capture_content:
                _accumulate_text(result, field(field(delta, "delta"), "text"))
            return True
        stop = chunk.get("messageStop")
        if stop is not None:
            reason = as_str(field(stop, "stopReason"))
            if reason is not None:
                result.finish_reasons = [reason]
                if result.output_messages:
                    result.output_messages[0]["finish_reason"] = reason
        metadata = chunk.get("metadata")
        if metadata is not None:
            _read_usage(result, field(metadata, "usage"))
        return False


class InvokeModel(_RuntimeOperation):
    """``invoke_model`` and (``streamed``) ``invoke_model_with_response_stream`` for text models."""

    def __init__(self, streamed: bool = False, name: str = "chat") -> None:
        super().__init__()
        self.streamed = streamed
        self.name = name

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        attributes: Attributes = {}
        body = _json(kwargs.get("body"))
        for config in (body, field(body, "inferenceConfig"), field(body, "textGenerationConfig")):
            if isinstance(config, dict):
                for name, key in _BODY_PARAMETERS:
                    put(attributes, key, as_number(config.get(name)))
                for name in _MAX_TOKENS:
                    put(attributes, semconv.GEN_AI_REQUEST_MAX_TOKENS, as_int(config.get(name)))
        put(attributes, semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, as_int(field(body, "dimensions")))
        return self._stream_attribute(attributes)

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        body = _json(kwargs.get("body"))
        messages = field(body, "messages")
        if messages is not None:
            return {semconv.GEN_AI_INPUT_MESSAGES: _messages(messages)}
        text = field(body, "inputText")
        if isinstance(text, str):
            return {semconv.GEN_AI_INPUT_MESSAGES: [{"role": "user", "parts": [{"type": "text", "content": text}]}]}
        return {}

    def read_response(self, result: LLMResult, response: object) -> None:
        headers = field(field(response, "ResponseMetadata"), "HTTPHeaders")
        if not isinstance(headers, Mapping):
            return
        counts = {}
        for header, kind in _HEADER_TOKENS:
            value = headers.get(header)
            counts[kind] = int(value) if isinstance(value, str) and value.isdigit() else None
        _set_tokens(result, counts["input"], counts["output"], counts["cache_read"], counts["cache_write"])

    def read_chunk(self, result: LLMResult, chunk: object) -> bool:
        data = field(field(chunk, "chunk"), "bytes") if type(chunk) is dict else None
        if type(data) is not bytes:
            return False
        if b"invocationMetrics" in data or b"top_reason" in data or b"topReason" in data:
            _read_event(result, _json(data))
        return b"block_delta" in data or b"BlockDelta" in data or b"outputText" in data


def _read_event(result: LLMResult, event: object) -> None:
    """Usage and finish reason from one event of an invoke stream (Anthropic, Nova or Titan)."""
    metrics = field(event, "amazon-bedrock-invocationMetrics")
    if metrics is not None:
        _set_tokens(
            result,
            as_int(field(metrics, "inputTokenCount")),
            as_int(field(metrics, "outputTokenCount")),
            as_int(field(metrics, "cacheReadInputTokenCount")),
            as_int(field(metrics, "cacheWriteInputTokenCount")),
        )
    reason = (
        as_str(field(field(event, "delta"), "stop_reason"))
        or as_str(field(field(event, "messageStop"), "stopReason"))
        or as_str(field(event, "completionReason"))
    )
    if reason is not None:
        result.finish_reasons = [reason]


def _read_usage(result: LLMResult, usage: object) -> None:
    _set_tokens(
        result,
        as_int(field(usage, "inputTokens")),
        as_int(field(usage, "outputTokens")),
        as_int(field(usage, "cacheReadInputTokens")),
        as_int(field(usage, "cacheWriteInputTokens")),
    )


def _set_tokens(
    result: LLMResult, fresh: int | None, output: int | None, cache_read: int | None, cache_write: int | None
) -> None:
    if fresh is not None:
        result.input_tokens = fresh + (cache_read or 0) + (cache_write or 0)
    if output is not None:
        result.output_tokens = output
    if cache_read is not None:
        result.cache_read_tokens = cache_read
    if cache_write is not None:
        result.cache_write_tokens = cache_write


def _metadata(response: object) -> Mapping[str, Any]:
    data = response if isinstance(response, dict) else getattr(response, "response", None)
    metadata = data.get("ResponseMetadata") if isinstance(data, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _json(body: object) -> Any:
    if not isinstance(body, (str, bytes, bytearray)):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _messages(messages: object) -> list[dict[str, Any]]:
    return [
        {"role": as_str(field(message, "role")) or "user", "parts": _parts(field(message, "content"))}
        for message in (messages if isinstance(messages, list) else ())
    ]


def _parts(content: object) -> list[dict[str, Any]]:
    """Converse content blocks (``{"text": ...}``, ``{"toolUse": ...}``) or Anthropic blocks as convention parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        text = field(block, "text")
        tool = field(block, "toolUse")
        if isinstance(text, str):
            parts.append({"type": "text", "content": text})
        elif tool is not None:
            name, call_id = as_str(field(tool, "name")), as_str(field(tool, "toolUseId"))
            parts.append({"type": "tool_call", "id": call_id, "name": name, "arguments": field(tool, "input")})
        elif field(block, "toolResult") is not None:
            parts.append({"type": "tool_call_response", "id": as_str(field(field(block, "toolResult"), "toolUseId"))})
        elif isinstance(block, dict) and block:
            parts.append({"type": as_str(block.get("type")) or next(iter(block))})
    return parts


def _accumulate_text(result: LLMResult, text: object) -> None:
    if not isinstance(text, str):
        return
    if result.output_messages is None:
        result.output_messages = [{"role": "assistant", "parts": [], "finish_reason": "unknown"}]
    parts = result.output_messages[0]["parts"]
    if parts and parts[-1]["type"] == "text":
        parts[-1]["content"] += text
    else:
        parts.append({"type": "text", "content": text})
