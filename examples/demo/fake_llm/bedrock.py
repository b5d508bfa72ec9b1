"""Amazon Bedrock Runtime: ``/model/{modelId}/converse``, ``/converse-stream``, ``/invoke`` and
``/invoke-with-response-stream``.

Converse speaks one format for every model; ``invoke`` takes and returns the model family's own JSON body: Anthropic
Messages (``anthropic.claude-*``), Amazon Nova (``amazon.nova-*``), Titan Text (``amazon.titan-text-*``) and Titan
Embeddings (``amazon.titan-embed-*``); a regional inference profile prefix (``us.``, ``eu.``, ``global.``) is allowed.
Streams use the AWS event-stream framing. As on the real service, ``inputTokens`` excludes the prompt-cache reads and
writes (``cacheReadInputTokens`` / ``cacheWriteInputTokens``), which ``totalTokens`` includes. Errors carry their code
in ``x-amzn-ErrorType`` (429 is a ``ThrottlingException``, which botocore retries).
"""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple
from urllib.parse import unquote

from fake_llm import eventstream
from fake_llm.common import (
    Headers,
    Reply,
    answer_to,
    cache_write_tokens,
    cached_tokens,
    injected_fault,
    json_reply,
    last_text,
    malformed_reply,
    prompt_tokens,
    stream_reply,
    vector,
    words_of,
)

ACTIONS = ("converse", "converse-stream", "invoke", "invoke-with-response-stream")
ERROR_CODES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
REQUEST_ID = {"x-amzn-requestid": "00000000-fake-4000-8000-000000000000"}
LATENCY_MS = 12
TOOL_INPUT = {"query": "latest"}


class Target(NamedTuple):
    model_id: str
    action: str


class Turn(NamedTuple):
    """What the model answers: its words or a tool to call, why it stopped, and the token counts."""

    words: list[str]
    tool: str | None
    stop: str
    prompt: int
    cache_read: int
    cache_write: int

    @property
    def output(self) -> int:
        return len(self.words) + 2

    @property
    def fresh_input(self) -> int:
        return self.prompt - self.cache_read - self.cache_write


def match(path: str) -> Target | None:
    """The model and action of a Bedrock Runtime path, else ``None``."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if len(parts) != 3 or parts[0] != "model" or parts[2] not in ACTIONS:
        return None
    return Target(unquote(parts[1]), parts[2])


def respond(target: Target, headers: Headers, body: bytes, chunk_delay: float) -> Reply:
    fault = injected_fault(headers)
    if fault == "malformed":
        return malformed_reply()
    if isinstance(fault, int):
        return error(fault, "Too many requests, please wait before trying again." if fault == 429 else "injected")
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return error(400, "Malformed input request, please reformat your input and try again.")
    if target.action.startswith("converse"):
        return _converse(request, target.action == "converse-stream", chunk_delay)
    family = _family(target.model_id)
    if family is None:
        return error(400, f"The provided model identifier is invalid: {target.model_id}")
    stream = target.action == "invoke-with-response-stream"
    return family(target.model_id, request, stream, chunk_delay)


def error(status: int, message: str) -> Reply:
    code = ERROR_CODES.get(status, "InternalServerException" if status >= 500 else "ValidationException")
    headers = {**REQUEST_ID, "x-amzn-errortype": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    return json_reply({"message": message}, headers, status)


def _turn(question: str, tool: str | None, max_tokens: object, prompt: int) -> Turn:
    full = words_of(answer_to(question))
    words = [] if tool else full[:max_tokens] if isinstance(max_tokens, int) and max_tokens > 0 else full
    stop = "tool_use" if tool else "max_tokens" if len(words) < len(full) else "end_turn"
    return Turn(words, tool, stop, prompt, cached_tokens(prompt), cache_write_tokens(prompt))


def _blocks_text(message: Any) -> str:
    """The text of a user message whose content is a string or a list of blocks (``{"text": ...}``)."""
    if not isinstance(message, dict) or message.get("role") != "user":
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(str(block["text"]) for block in content or [] if isinstance(block, dict) and "text" in block)


def _has_block(messages: list[Any], kinds: tuple[str, ...]) -> bool:
    return any(
        isinstance(block, dict) and (block.get("type") in kinds or any(kind in block for kind in kinds))
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for block in message["content"]
    )


def _usage(turn: Turn) -> dict[str, int]:
    return {
        "inputTokens": turn.fresh_input,
        "outputTokens": turn.output,
        "totalTokens": turn.prompt + turn.output,
        "cacheReadInputTokens": turn.cache_read,
        "cacheWriteInputTokens": turn.cache_write,
    }


def _invocation_metrics(turn: Turn) -> dict[str, int]:
    return {
        "inputTokenCount": turn.fresh_input,
        "outputTokenCount": turn.output,
        "invocationLatency": LATENCY_MS,
        "firstByteLatency": LATENCY_MS // 2,
        "cacheReadInputTokenCount": turn.cache_read,
        "cacheWriteInputTokenCount": turn.cache_write,
    }


def _token_headers(turn: Turn) -> Headers:
    return {
        **REQUEST_ID,
        "x-amzn-bedrock-input-token-count": str(turn.fresh_input),
        "x-amzn-bedrock-output-token-count": str(turn.output),
        "x-amzn-bedrock-invocation-latency": str(LATENCY_MS),
        "x-amzn-bedrock-cache-read-input-token-count": str(turn.cache_read),
        "x-amzn-bedrock-cache-write-input-token-count": str(turn.cache_write),
    }


def _converse_turn(request: dict[str, Any], max_tokens: object) -> Turn:
    messages = request.get("messages") or []
    specs = [tool.get("toolSpec") or {} for tool in (request.get("toolConfig") or {}).get("tools") or []]
    tool = str(specs[0].get("name", "tool")) if specs and not _has_block(messages, ("toolResult",)) else None
    prompt = prompt_tokens([messages, request.get("system"), request.get("toolConfig")])
    return _turn(last_text(messages, _blocks_text), tool, max_tokens, prompt)


def _converse_content(turn: Turn) -> list[dict[str, Any]]:
    if turn.tool:
        return [{"toolUse": {"toolUseId": "tooluse_1", "name": turn.tool, "input": TOOL_INPUT}}]
    return [{"text": " ".join(turn.words)}]


def _converse(request: dict[str, Any], stream: bool, chunk_delay: float) -> Reply:
    turn = _converse_turn(request, (request.get("inferenceConfig") or {}).get("maxTokens"))
    content = _converse_content(turn)
    if not stream:
        message = {"role": "assistant", "content": content}
        reply = {"output": {"message": message}, "stopReason": turn.stop, "usage": _usage(turn)}
        return json_reply({**reply, "metrics": {"latencyMs": LATENCY_MS}}, REQUEST_ID)
    events = [eventstream.event("messageStart", {"role": "assistant"})]
    if turn.tool:
        start = {"toolUse": {"toolUseId": "tooluse_1", "name": turn.tool}}
        events.append(eventstream.event("contentBlockStart", {"start": start, "contentBlockIndex": 0}))
        delta: dict[str, Any] = {"toolUse": {"input": json.dumps(TOOL_INPUT)}}
        events.append(eventstream.event("contentBlockDelta", {"delta": delta, "contentBlockIndex": 0}))
    for index, word in enumerate(turn.words):
        delta = {"text": word if index == 0 else " " + word}
        events.append(eventstream.event("contentBlockDelta", {"delta": delta, "contentBlockIndex": 0}))
    events.append(eventstream.event("contentBlockStop", {"contentBlockIndex": 0}))
    events.append(eventstream.event("messageStop", {"stopReason": turn.stop}))
    metadata = {"usage": _usage(turn), "metrics": {"latencyMs": LATENCY_MS}}
    events.append(eventstream.event("metadata", metadata))
    return stream_reply(events, eventstream.CONTENT_TYPE, chunk_delay, REQUEST_ID)


def _family(model_id: str) -> Any:
    """The handler of the model family's own body format, else ``None``."""
    name = model_id.rsplit("/", 1)[-1]
    for prefix, handler in (
        ("anthropic.", _anthropic),
        ("amazon.nova-", _nova),
        ("amazon.titan-text-", _titan_text),
        ("amazon.titan-embed-", _titan_embed),
    ):
        if name.startswith(prefix) or f".{prefix}" in name:
            return handler
    return None


def _chunks(payloads: list[dict[str, Any]], chunk_delay: float, headers: Headers) -> Reply:
    """An ``invoke-with-response-stream`` reply: each payload a ``chunk`` event carrying its JSON, base64-encoded."""
    events = [
        eventstream.event("chunk", {"bytes": base64.b64encode(json.dumps(payload).encode()).decode()})
        for payload in payloads
    ]
    headers = {**headers, "x-amzn-bedrock-content-type": "application/json"}
    return stream_reply(events, eventstream.CONTENT_TYPE, chunk_delay, headers)


def _anthropic(model_id: str, request: dict[str, Any], stream: bool, chunk_delay: float) -> Reply:
    """Anthropic Messages as Bedrock serves it (``anthropic_version: bedrock-2023-05-31``)."""
    messages = request.get("messages") or []
    tools = request.get("tools") or []
    tool = str(tools[0].get("name", "tool")) if tools and not _has_block(messages, ("tool_result",)) else None
    prompt = prompt_tokens([messages, request.get("system"), tools])
    turn = _turn(last_text(messages, _blocks_text), tool, request.get("max_tokens"), prompt)
    model = model_id.rsplit("anthropic.", 1)[-1].split("-v", 1)[0]
    usage = {
        "input_tokens": turn.fresh_input,
        "cache_creation_input_tokens": turn.cache_write,
        "cache_read_input_tokens": turn.cache_read,
        "output_tokens": turn.output,
    }
    if turn.tool:
        content: list[dict[str, Any]] = [{"type": "tool_use", "id": "toolu_1", "name": turn.tool, "input": TOOL_INPUT}]
    else:
        content = [{"type": "text", "text": " ".join(turn.words)}]
    stop = "end_turn" if turn.stop == "end_turn" else turn.stop
    message = {
        "id": "msg_bdrk_fake", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop, "stop_sequence": None, "usage": usage,
    }  # fmt: skip
    if not stream:
        return json_reply(message, _token_headers(turn))
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    if turn.tool:
        block = {**content[0], "input": {}}
        events.append({"type": "content_block_start", "index": 0, "content_block": block})
        delta: dict[str, Any] = {"type": "input_json_delta", "partial_json": json.dumps(TOOL_INPUT)}
        events.append({"type": "content_block_delta", "index": 0, "delta": delta})
    else:
        events.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    for index, word in enumerate(turn.words):
        delta = {"type": "text_delta", "text": word if index == 0 else " " + word}
        events.append({"type": "content_block_delta", "index": 0, "delta": delta})
    events.append({"type": "content_block_stop", "index": 0})
    final = {"stop_reason": stop, "stop_sequence": None}
    events.append({"type": "message_delta", "delta": final, "usage": {"output_tokens": turn.output}})
    events.append({"type": "message_stop", "amazon-bedrock-invocationMetrics": _invocation_metrics(turn)})
    return _chunks(events, chunk_delay, REQUEST_ID)


def _nova_usage(turn: Turn) -> dict[str, int]:
    return {
        "inputTokens": turn.fresh_input,
        "outputTokens": turn.output,
        "totalTokens": turn.prompt + turn.output,
        "cacheReadInputTokenCount": turn.cache_read,
        "cacheWriteInputTokenCount": turn.cache_write,
    }


def _nova(model_id: str, request: dict[str, Any], stream: bool, chunk_delay: float) -> Reply:
    """Amazon Nova's ``messages-v1`` body: Converse-like, with Nova's own names for the cache counts."""
    config = request.get("inferenceConfig") or {}
    turn = _converse_turn(request, config.get("maxTokens", config.get("max_new_tokens")))
    content = _converse_content(turn)
    if not stream:
        message = {"role": "assistant", "content": content}
        reply = {"output": {"message": message}, "stopReason": turn.stop, "usage": _nova_usage(turn)}
        return json_reply(reply, _token_headers(turn))
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    if turn.tool:
        start = {"toolUse": {"toolUseId": "tooluse_1", "name": turn.tool}}
        events.append({"contentBlockStart": {"start": start, "contentBlockIndex": 0}})
        delta: dict[str, Any] = {"toolUse": {"input": json.dumps(TOOL_INPUT)}}
        events.append({"contentBlockDelta": {"delta": delta, "contentBlockIndex": 0}})
    for index, word in enumerate(turn.words):
        text = word if index == 0 else " " + word
        events.append({"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}})
    events.append({"contentBlockStop": {"contentBlockIndex": 0}})
    events.append({"messageStop": {"stopReason": turn.stop}})
    metadata = {"usage": _nova_usage(turn), "metrics": {}, "trace": {}}
    events.append({"metadata": metadata, "amazon-bedrock-invocationMetrics": _invocation_metrics(turn)})
    return _chunks(events, chunk_delay, REQUEST_ID)


def _titan_text(model_id: str, request: dict[str, Any], stream: bool, chunk_delay: float) -> Reply:
    """Titan Text: ``inputText`` in, ``results[].outputText`` out; no prompt cache."""
    question = str(request.get("inputText", ""))
    limit = (request.get("textGenerationConfig") or {}).get("maxTokenCount")
    turn = _turn(question, None, limit, prompt_tokens(question))._replace(cache_read=0, cache_write=0)
    reason = "LENGTH" if turn.stop == "max_tokens" else "FINISH"
    if not stream:
        result = {"tokenCount": turn.output, "outputText": " ".join(turn.words), "completionReason": reason}
        return json_reply({"inputTextTokenCount": turn.prompt, "results": [result]}, _token_headers(turn))
    events: list[dict[str, Any]] = []
    for index, word in enumerate(turn.words):
        last = index == len(turn.words) - 1
        events.append({
            "outputText": word if index == 0 else " " + word, "index": 0, "inputTextTokenCount": turn.prompt,
            "totalOutputTextTokenCount": turn.output if last else index + 1,
            "completionReason": reason if last else None,
        })  # fmt: skip
    events[-1]["amazon-bedrock-invocationMetrics"] = _invocation_metrics(turn)
    return _chunks(events, chunk_delay, REQUEST_ID)


def _titan_embed(model_id: str, request: dict[str, Any], stream: bool, chunk_delay: float) -> Reply:
    """Titan Embeddings: ``inputText`` in, ``embedding`` out (``dimensions`` long, 8 unless asked)."""
    if stream:
        return error(400, "The model does not support streaming.")
    tokens = prompt_tokens(request.get("inputText", ""))
    embedding = vector(0, int(request.get("dimensions") or 8))
    headers = {**REQUEST_ID, "x-amzn-bedrock-input-token-count": str(tokens)}
    return json_reply({"embedding": embedding, "inputTextTokenCount": tokens}, headers)
