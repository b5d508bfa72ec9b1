"""How the Google Gen AI ``models`` API maps onto GenAI telemetry.

Token semantics follow the GenAI conventions: ``gen_ai.usage.input_tokens`` counts every token the model read, so
it is ``prompt_token_count`` (which already includes ``cached_content_token_count``) plus
``tool_use_prompt_token_count`` (results of built-in tools such as Google Search); ``gen_ai.usage.output_tokens`` is
``candidates_token_count`` plus ``thoughts_token_count`` (the reasoning tokens, which Gemini bills as output).
Cache reads are ``cached_content_token_count``; Gemini reports no cache writes. Readers are defensive: a missing or
ill-typed field is left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core.attribute_sets import Attributes
from otel_agentperf.core.provider import ClientOperation, LLMResult
from otel_agentperf.core.values import as_int, as_number, as_str, as_str_list, field, put

GEMINI = semconv.PROVIDER_GCP_GEMINI
VERTEX_AI = semconv.PROVIDER_GCP_VERTEX_AI

_PARAMETERS = (
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ("top_k", semconv.GEN_AI_REQUEST_TOP_K),
    ("presence_penalty", semconv.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("frequency_penalty", semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY),
)


class _ModelsOperation(ClientOperation):
    """An operation of ``client.models`` / ``client.aio.models``: the provider and server come from its API client."""

    provider = GEMINI

    def __init__(self) -> None:
        super().__init__(())

    def provider_name(self, instance: Any, kwargs: Mapping[str, Any]) -> str:
        return VERTEX_AI if getattr(getattr(instance, "_api_client", None), "vertexai", False) else GEMINI

    def server_url(self, instance: Any) -> object:
        """The client's base URL string (the same object on every call, so the attributes are built once)."""
        return field(getattr(getattr(instance, "_api_client", None), "_http_options", None), "base_url")

    def response_headers(self, response: object) -> object | None:
        """``sdk_http_response.headers`` of a response; an ``APIError``'s ``response.headers``."""
        http_response = getattr(response, "sdk_http_response", None)
        if http_response is not None:
            return getattr(http_response, "headers", None)
        return getattr(getattr(response, "response", None), "headers", None)


class GenerateContent(_ModelsOperation):
    """``generate_content`` and ``generate_content_stream`` (whose result is a generator of responses)."""

    name = "generate_content"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        config = kwargs.get("config")
        attributes: Attributes = {}
        if config is not None:
            put(attributes, semconv.GEN_AI_REQUEST_MAX_TOKENS, as_int(field(config, "max_output_tokens")))
            for name, key in _PARAMETERS:
                put(attributes, key, as_number(field(config, name)))
            put(attributes, semconv.GEN_AI_REQUEST_SEED, as_int(field(config, "seed")))
            put(attributes, semconv.GEN_AI_REQUEST_CHOICE_COUNT, as_int(field(config, "candidate_count")))
            put(attributes, semconv.GEN_AI_REQUEST_STOP_SEQUENCES, as_str_list(field(config, "stop_sequences")))
            mime_type = field(config, "response_mime_type")
            if mime_type == "application/json" or field(config, "response_schema") is not None:
                attributes[semconv.GEN_AI_OUTPUT_TYPE] = "json"
            elif mime_type == "text/plain":
                attributes[semconv.GEN_AI_OUTPUT_TYPE] = "text"
        return attributes

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {semconv.GEN_AI_INPUT_MESSAGES: _input_messages(kwargs.get("contents"))}
        system = field(kwargs.get("config"), "system_instruction")
        if system is not None:
            content[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = _parts_of(system)
        return content

    def is_stream(self, kwargs: Mapping[str, Any], result: object) -> bool:
        return type(result) is GeneratorType or type(result) is AsyncGeneratorType

    def read_response(self, result: LLMResult, response: object) -> None:
        result.response_id = as_str(field(response, "response_id"))
        result.response_model = as_str(field(response, "model_version"))
        candidates = field(response, "candidates")
        if isinstance(candidates, list):
            reasons = [_finish_reason(field(candidate, "finish_reason")) for candidate in candidates]
            result.finish_reasons = [reason for reason in reasons if reason is not None] or None
            if result.capture_content:
                result.output_messages = [_output_message(candidate) for candidate in candidates]
        _read_usage(result, field(response, "usage_metadata"))

    def read_chunk(self, result: LLMResult, chunk: object) -> bool:
        # Runs for every chunk: plain attribute reads. Every chunk repeats the usage so far; the last one is complete.
        usage = getattr(chunk, "usage_metadata", None)
        if usage is not None:
            _read_usage(result, usage)
        if result.response_model is None:
            result.response_model = as_str(getattr(chunk, "model_version", None))
            result.response_id = as_str(getattr(chunk, "response_id", None))
        candidates = getattr(chunk, "candidates", None)
        if not candidates or type(candidates) is not list:
            return False
        candidate = candidates[0]
        reason = getattr(candidate, "finish_reason", None)
        if reason is not None:
            result.finish_reasons = [_finish_reason(reason) or "unknown"]
        if result.capture_content:
            _accumulate(result, candidate)
        content = getattr(candidate, "content", None)
        return bool(getattr(content, "parts", None))


class EmbedContent(_ModelsOperation):
    """``embed_content``: Gemini reports no token usage for it on the Gemini API."""

    name = "embeddings"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        attributes: Attributes = {}
        dimensions = as_int(field(kwargs.get("config"), "output_dimensionality"))
        put(attributes, semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, dimensions)
        return attributes

    def read_response(self, result: LLMResult, response: object) -> None:
        tokens = 0
        for embedding in field(response, "embeddings") or ():  # Vertex AI counts the tokens of each input
            count = as_number(field(field(embedding, "statistics"), "token_count"))
            if count is None:
                return
            tokens += int(count)
        if tokens:
            result.input_tokens = tokens


def _read_usage(result: LLMResult, usage: object) -> None:
    prompt = as_int(field(usage, "prompt_token_count"))
    tool_use = as_int(field(usage, "tool_use_prompt_token_count"))
    if prompt is not None or tool_use is not None:
        result.input_tokens = (prompt or 0) + (tool_use or 0)
    candidates = as_int(field(usage, "candidates_token_count"))
    thoughts = as_int(field(usage, "thoughts_token_count"))
    if candidates is not None or thoughts is not None:
        result.output_tokens = (candidates or 0) + (thoughts or 0)
    result.cache_read_tokens = as_int(field(usage, "cached_content_token_count"))
    result.reasoning_tokens = thoughts
    if tool_use is not None:
        result.add_attributes({semconv.AGENTPERF_USAGE_TOOL_USE_PROMPT_TOKENS: tool_use})


def _finish_reason(reason: object) -> str | None:
    """A ``FinishReason`` enum member (or its string) as the lower-case name the conventions use."""
    value = getattr(reason, "value", reason)
    return value.lower() if type(value) is str and value else None


# --- content (only when capture is on) -------------------------------------------------------------------------------
def _input_messages(contents: object) -> list[dict[str, Any]]:
    """``contents`` (a string, a Content, a list of either, or dicts) as convention messages."""
    items = contents if isinstance(contents, list) else [contents]
    messages: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str) or field(item, "parts") is None:
            messages.append({"role": "user", "parts": _parts_of(item)})
        else:
            role = as_str(field(item, "role")) or "user"
            role = "assistant" if role == "model" else role
            messages.append({"role": role, "parts": _parts_of(field(item, "parts"))})
    return messages


def _parts_of(value: object) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"type": "text", "content": value}]
    if field(value, "parts") is not None:
        value = field(value, "parts")
    parts = []
    for part in value if isinstance(value, list) else [value]:
        parts.append(_part(part))
    return parts


def _part(part: object) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "content": part}
    text = field(part, "text")
    if isinstance(text, str):
        return {"type": "reasoning" if field(part, "thought") is True else "text", "content": text}
    call = field(part, "function_call")
    if call is not None:
        arguments = field(call, "args")
        return {
            "type": "tool_call",
            "id": as_str(field(call, "id")),
            "name": as_str(field(call, "name")),
            **({"arguments": dict(arguments)} if isinstance(arguments, Mapping) else {}),
        }
    reply = field(part, "function_response")
    if reply is not None:
        response = field(reply, "response")
        return {
            "type": "tool_call_response",
            "id": as_str(field(reply, "id")),
            "response": dict(response) if isinstance(response, Mapping) else None,
        }
    return {"type": "blob" if field(part, "inline_data") is not None else "unknown"}


def _output_message(candidate: object) -> dict[str, Any]:
    content = field(candidate, "content")
    return {
        "role": "assistant",
        "parts": _parts_of(field(content, "parts") or []),
        "finish_reason": _finish_reason(field(candidate, "finish_reason")) or "unknown",
    }


def _accumulate(result: LLMResult, candidate: object) -> None:
    """Join the text of streamed parts into one output message."""
    if result.output_messages is None:
        result.output_messages = [{"role": "assistant", "parts": [], "finish_reason": "unknown"}]
    message = result.output_messages[0]
    for part in _parts_of(field(field(candidate, "content"), "parts") or []):
        previous = message["parts"][-1] if message["parts"] else None
        if previous is not None and part["type"] in ("text", "reasoning") and previous["type"] == part["type"]:
            previous["content"] += part["content"]
        else:
            message["parts"].append(part)
    reason = _finish_reason(field(candidate, "finish_reason"))
    if reason is not None:
        message["finish_reason"] = reason
