"""Chat Completions messages (the OpenAI chat shape, which LiteLLM also speaks) in the GenAI conventions' shape.

Used only when content capture is on. Messages are ``{"role": ..., "parts": [{"type": "text", "content": ...}]}``;
tool calls are parts of type ``tool_call``, tool results (``role: tool`` messages) parts of type
``tool_call_response`` with the call's id. What is not text is recorded by its type alone.
"""

from __future__ import annotations

from typing import Any

from otel_agentperf.core.provider import LLMResult
from otel_agentperf.core.values import as_str, field


def content_parts(content: object) -> list[dict[str, Any]]:
    """A message's ``content`` (a string or a list of typed parts) as convention parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for item in content:
            kind = field(item, "type")
            text = field(item, "text")
            if isinstance(text, str):
                parts.append({"type": "text", "content": text})
            elif isinstance(kind, str):
                parts.append({"type": kind})
    return parts


def _tool_call_parts(tool_calls: object) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for call in tool_calls if isinstance(tool_calls, list) else ():
        function = field(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": as_str(field(call, "id")),
                "name": as_str(field(function, "name")),
                "arguments": field(function, "arguments"),
            }
        )
    return parts


def tool_response_part(call_id: object, response: object) -> dict[str, Any]:
    """The result of tool call ``call_id`` as a convention part."""
    return {"type": "tool_call_response", "id": as_str(call_id), "response": response}


def chat_input(messages: object) -> list[dict[str, Any]] | None:
    """Chat ``messages`` as convention messages."""
    if not isinstance(messages, list):
        return None
    converted = []
    for message in messages:
        role = as_str(field(message, "role")) or "user"
        if role == "tool":
            parts = [tool_response_part(field(message, "tool_call_id"), field(message, "content"))]
        else:
            parts = content_parts(field(message, "content")) + _tool_call_parts(field(message, "tool_calls"))
        converted.append({"role": role, "parts": parts})
    return converted


def chat_output(choices: list[Any]) -> list[dict[str, Any]]:
    """Chat completion choices as convention output messages."""
    output = []
    for choice in choices:
        message = field(choice, "message")
        parts = content_parts(field(message, "content")) + _tool_call_parts(field(message, "tool_calls"))
        output.append({"role": "assistant", "parts": parts, "finish_reason": as_str(field(choice, "finish_reason"))})
    return output


def accumulate_chat_chunk(invocation: LLMResult, choices: list[Any]) -> None:
    """Add the text and tool-call deltas of one chunk to the invocation's output messages."""
    if invocation.output_messages is None:
        invocation.output_messages = []
    messages = invocation.output_messages
    for choice in choices:
        index = _small_index(field(choice, "index"), 0)
        while len(messages) <= index:
            messages.append({"role": "assistant", "parts": [], "finish_reason": None})
        parts = messages[index]["parts"]
        delta = field(choice, "delta")
        text = as_str(field(delta, "content"))
        if text:
            if not parts or parts[0]["type"] != "text":
                parts.insert(0, {"type": "text", "content": ""})
            parts[0]["content"] += text
        tool_calls = field(delta, "tool_calls")
        if tool_calls:
            _accumulate_tool_calls(parts, tool_calls)
        reason = as_str(field(choice, "finish_reason"))
        if reason is not None:
            messages[index]["finish_reason"] = reason


def _accumulate_tool_calls(parts: list[dict[str, Any]], deltas: object) -> None:
    """Add tool-call deltas (``index``, then ``id``, ``function.name`` and pieces of ``function.arguments``)."""
    calls = [part for part in parts if part["type"] == "tool_call"]
    for delta in deltas if isinstance(deltas, list) else ():
        index = _small_index(field(delta, "index"), max(len(calls) - 1, 0))
        while len(calls) <= index:
            calls.append({"type": "tool_call", "id": None, "name": None, "arguments": ""})
            parts.append(calls[-1])
        call = calls[index]
        function = field(delta, "function")
        for key, value in (("id", field(delta, "id")), ("name", field(function, "name"))):
            if isinstance(value, str) and value:
                call[key] = value
        arguments = field(function, "arguments")
        if isinstance(arguments, str):
            call["arguments"] += arguments


def _small_index(value: object, default: int) -> int:
    return value if type(value) is int and 0 <= value < 128 else default
