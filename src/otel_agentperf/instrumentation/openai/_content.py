"""Prompt and completion content in the GenAI conventions' message shape; used only when content capture is on.

Messages are ``{"role": ..., "parts": [{"type": "text", "content": ...}, ...]}``; tool calls are parts of type
``tool_call``, tool results (``role: tool`` messages, Responses ``function_call_output`` items) parts of type
``tool_call_response`` with the call's id, reasoning summaries parts of type ``reasoning``. What is not text is
recorded by its type alone.
"""

from __future__ import annotations

from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core.chat_messages import (
    accumulate_chat_chunk,
    chat_input,
    chat_output,
    content_parts,
    tool_response_part,
)
from otel_agentperf.core.values import as_str, field

__all__ = ["accumulate_chat_chunk", "chat_input", "chat_output", "responses_input", "responses_output"]


def responses_input(input_value: object, instructions: object) -> dict[str, Any]:
    """Responses ``input`` and ``instructions`` as convention attributes (serialised later)."""
    attributes: dict[str, Any] = {}
    if isinstance(instructions, str):
        attributes[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = [{"type": "text", "content": instructions}]
    if isinstance(input_value, str):
        attributes[semconv.GEN_AI_INPUT_MESSAGES] = [{"role": "user", "parts": content_parts(input_value)}]
    elif isinstance(input_value, list):
        attributes[semconv.GEN_AI_INPUT_MESSAGES] = [_responses_input_item(item) for item in input_value]
    return attributes


def _responses_input_item(item: object) -> dict[str, Any]:
    kind = field(item, "type")
    if kind == "function_call_output":
        return {"role": "tool", "parts": [tool_response_part(field(item, "call_id"), field(item, "output"))]}
    if kind in ("function_call", "reasoning"):
        return {"role": "assistant", "parts": _responses_output_parts([item])}
    return {"role": as_str(field(item, "role")) or "user", "parts": content_parts(field(item, "content"))}


def _reasoning_part(item: object) -> dict[str, Any]:
    summary = field(item, "summary")
    parts = summary if isinstance(summary, list) else ()
    texts = [text for part in parts if isinstance(text := field(part, "text"), str)]
    return {"type": "reasoning", "content": "\n".join(texts)} if texts else {"type": "reasoning"}


def responses_output(output: list[Any]) -> list[dict[str, Any]]:
    """Responses ``output`` items as one convention output message."""
    return [{"role": "assistant", "parts": _responses_output_parts(output)}]


def _responses_output_parts(output: list[Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for item in output:
        kind = field(item, "type")
        if kind == "message":
            parts.extend(content_parts(field(item, "content")))
        elif kind == "function_call":
            parts.append(
                {
                    "type": "tool_call",
                    "id": as_str(field(item, "call_id")),
                    "name": as_str(field(item, "name")),
                    "arguments": field(item, "arguments"),
                }
            )
        elif kind == "reasoning":
            parts.append(_reasoning_part(item))
        elif isinstance(kind, str):
            parts.append({"type": kind})
    return parts
