"""How Anthropic's Messages API maps onto GenAI telemetry.

Token semantics follow the GenAI conventions: ``gen_ai.usage.input_tokens`` counts every prompt token, so it is
Anthropic's ``input_tokens`` plus ``cache_creation_input_tokens`` plus ``cache_read_input_tokens``. Readers are
defensive: a missing or ill-typed field is left out, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core.attribute_sets import Attributes
from otel_agentperf.core.provider import ClientOperation, LLMResult
from otel_agentperf.core.values import (
    as_int,
    as_number,
    as_str,
    as_str_list,
    field,
    output_type,
    put,
    with_extra_body,
)

PROVIDER = "anthropic"

_PARAMETERS = (
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ("top_k", semconv.GEN_AI_REQUEST_TOP_K),
)


class Messages(ClientOperation):
    """``messages.create`` and ``messages.stream``."""

    provider = PROVIDER

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        kwargs = with_extra_body(kwargs)
        attributes: Attributes = {}
        put(attributes, semconv.GEN_AI_REQUEST_MAX_TOKENS, as_int(kwargs.get("max_tokens")))
        for name, key in _PARAMETERS:
            put(attributes, key, as_number(kwargs.get(name)))
        put(attributes, semconv.GEN_AI_REQUEST_STOP_SEQUENCES, as_str_list(kwargs.get("stop_sequences")))
        requested_format = kwargs.get("output_format") or field(kwargs.get("output_config"), "format")
        put(attributes, semconv.GEN_AI_OUTPUT_TYPE, output_type(requested_format))
        if kwargs.get("stream") is True:
            attributes[semconv.GEN_AI_REQUEST_STREAM] = True
        return attributes

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        content: dict[str, Any] = {}
        system = kwargs.get("system")
        if system is not None:
            content[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = _parts(system)
        messages = kwargs.get("messages")
        if isinstance(messages, list):
            content[semconv.GEN_AI_INPUT_MESSAGES] = [
                {"role": as_str(field(message, "role")) or "user", "parts": _parts(field(message, "content"))}
                for message in messages
            ]
        return content

    def read_response(self, invocation: LLMResult, response: object) -> None:
        invocation.response_id = as_str(field(response, "id"))
        invocation.response_model = as_str(field(response, "model"))
        reason = as_str(field(response, "stop_reason"))
        invocation.finish_reasons = [reason] if reason is not None else None
        _read_usage(invocation, field(response, "usage"))
        if invocation.capture_content:
            invocation.output_messages = [
                {"role": "assistant", "parts": _parts(field(response, "content")), "finish_reason": reason}
            ]

    def read_chunk(self, invocation: LLMResult, chunk: object) -> bool:
        event_type = getattr(chunk, "type", None)  # runs for every event: an event of another shape reads as empty
        if event_type == "content_block_delta":
            if invocation.capture_content:
                _accumulate_block(invocation, chunk, field(chunk, "delta"), None)
            return True
        if event_type == "content_block_start" or event_type == "content_block_stop":
            if invocation.capture_content:
                _accumulate_block(invocation, chunk, None, field(chunk, "content_block"))
        elif event_type == "message_start":
            message = field(chunk, "message")
            invocation.response_id = as_str(field(message, "id"))
            invocation.response_model = as_str(field(message, "model"))
            # message_start's output count is a placeholder; the real one comes with message_delta.
            _read_usage(invocation, field(message, "usage"), with_output=False)
        elif event_type == "message_delta":
            reason = as_str(field(field(chunk, "delta"), "stop_reason"))
            if reason is not None:
                invocation.finish_reasons = [reason]
                if invocation.output_messages:
                    invocation.output_messages[0]["finish_reason"] = reason
            _read_usage(invocation, field(chunk, "usage"))
        return False


def _read_usage(invocation: LLMResult, usage: object, with_output: bool = True) -> None:
    """Read usage; a later event (message_delta) updates only the counts it carries."""
    if usage is None:
        return
    uncached = as_int(field(usage, "input_tokens"))
    cache_write = as_int(field(usage, "cache_creation_input_tokens"))
    cache_read = as_int(field(usage, "cache_read_input_tokens"))
    if uncached is not None:
        invocation.input_tokens = uncached + (cache_write or 0) + (cache_read or 0)
    if cache_write is not None:
        invocation.cache_write_tokens = cache_write
    if cache_read is not None:
        invocation.cache_read_tokens = cache_read
    output = as_int(field(usage, "output_tokens")) if with_output else None
    if output is not None:
        invocation.output_tokens = output


def _parts(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        kind = field(block, "type")
        if kind == "text":
            parts.append({"type": "text", "content": field(block, "text")})
        elif kind == "tool_use":
            name, call_id = as_str(field(block, "name")), as_str(field(block, "id"))
            parts.append({"type": "tool_call", "id": call_id, "name": name, "arguments": field(block, "input")})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": field(block, "thinking")})
        elif kind == "redacted_thinking":
            parts.append({"type": "reasoning"})
        elif kind == "tool_result":
            result = {"type": "tool_call_response", "id": as_str(field(block, "tool_use_id"))}
            parts.append({**result, "response": field(block, "content")})
        elif isinstance(kind, str):
            parts.append({"type": kind})
    return parts


def _accumulate_block(invocation: LLMResult, event: object, delta: object, block: object) -> None:
    """Build the output parts from content-block events: a block starts a part, its deltas add to it.

    A tool call's arguments arrive as JSON text, read into a value when its block stops, as non-streamed responses
    give them.
    """
    if invocation.output_messages is None:
        invocation.output_messages = [{"role": "assistant", "parts": []}]
    parts: list[dict[str, Any]] = invocation.output_messages[0]["parts"]
    index = field(event, "index")
    index = index if type(index) is int and 0 <= index < 128 else max(len(parts) - 1, 0)
    while len(parts) <= index:
        parts.append({"type": "text", "content": ""})
    if block is None and delta is None:  # the block stopped
        part = parts[index]
        if part["type"] == "tool_call" and isinstance(part["arguments"], str):
            try:
                part["arguments"] = json.loads(part["arguments"] or "{}")
            except ValueError:  # a cut stream: keep the text
                pass
        return
    if block is not None:
        kind = field(block, "type")
        if kind == "tool_use":
            name, call_id = as_str(field(block, "name")), as_str(field(block, "id"))
            parts[index] = {"type": "tool_call", "id": call_id, "name": name, "arguments": ""}
        elif kind == "text":
            parts[index] = {"type": "text", "content": as_str(field(block, "text")) or ""}
        elif kind == "thinking":
            parts[index] = {"type": "reasoning", "content": as_str(field(block, "thinking")) or ""}
        elif kind == "redacted_thinking":
            parts[index] = {"type": "reasoning"}
        elif isinstance(kind, str):
            parts[index] = {"type": kind}
        return
    part = parts[index]
    text, partial_json = field(delta, "text"), field(delta, "partial_json")
    if text is None and part["type"] == "reasoning":
        text = field(delta, "thinking")
    if isinstance(text, str) and "content" in part:
        part["content"] += text
    elif isinstance(partial_json, str) and part["type"] == "tool_call":
        part["arguments"] += partial_json
