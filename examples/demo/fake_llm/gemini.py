"""Google Gen AI: the Gemini API (``/v1beta/models/{model}:{method}``) and Vertex AI
(``/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}``) paths.

Usage follows the real service: ``promptTokenCount`` includes the ``cachedContentTokenCount`` served from the cache;
``thoughtsTokenCount`` appears when thinking is on (``thinkingConfig`` with a budget other than 0), and
``toolUsePromptTokenCount`` when a built-in tool (Google Search, code execution, ...) is offered. A declared function
is called on the first turn (``finishReason: STOP`` with a ``functionCall`` part), and ``maxOutputTokens`` shorter
than the answer cuts it with ``finishReason: MAX_TOKENS``. Errors have Google's shape
(``{"error": {"code", "message", "status"}}``).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from fake_llm.common import (
    Headers,
    Reply,
    answer_to,
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

METHODS = ("generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents", "predict")
THOUGHT_TOKENS = 4
TOOL_USE_PROMPT_TOKENS = 3
STATUS_NAMES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


class Target(NamedTuple):
    model: str
    method: str
    vertex: bool


def match(path: str) -> Target | None:
    """The model and method of a Gemini API or Vertex AI path, else ``None``."""
    route = path.split("?", 1)[0]
    head, _, last = route.rpartition("/")
    model, _, method = last.partition(":")
    if method not in METHODS or not head.endswith("/models"):
        return None
    return Target(model, method, vertex="/publishers/" in head)


def respond(target: Target, headers: Headers, body: bytes, chunk_delay: float) -> Reply:
    fault = injected_fault(headers)
    if fault == "malformed":
        return malformed_reply()
    if isinstance(fault, int):
        return error(fault, "injected fault")
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return error(400, "Invalid JSON payload received.")
    if target.method in ("embedContent", "batchEmbedContents", "predict"):
        return _embed(target, request)
    pieces = _generate(target, request)
    if target.method == "generateContent":
        return json_reply(pieces[-1])
    events = [b"data: " + json.dumps(piece).encode() + b"\r\n\r\n" for piece in pieces[:-1]]
    return stream_reply(events, "text/event-stream", chunk_delay)


def error(status: int, message: str) -> Reply:
    name = STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return json_reply({"error": {"code": status, "message": message, "status": name}}, status=status)


def _text_of(content: Any) -> str:
    if not isinstance(content, dict) or content.get("role", "user") != "user":
        return ""
    return " ".join(str(part["text"]) for part in content.get("parts") or [] if "text" in part)


def _has_function_response(contents: list[Any]) -> bool:
    return any("functionResponse" in part for content in contents for part in content.get("parts") or [])


def _usage(request: dict[str, Any], target: Target, output: int) -> dict[str, Any]:
    config = request.get("generationConfig") or {}
    prompt = prompt_tokens([request.get("contents"), request.get("systemInstruction"), request.get("tools")])
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    cached = cached_tokens(prompt)
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    thinking = config.get("thinkingConfig")
    if isinstance(thinking, dict) and thinking.get("thinkingBudget") != 0:
        usage["thoughtsTokenCount"] = THOUGHT_TOKENS
    if any(isinstance(tool, dict) and set(tool) - {"functionDeclarations"} for tool in request.get("tools") or []):
        usage["toolUsePromptTokenCount"] = TOOL_USE_PROMPT_TOKENS
    extras = usage.get("thoughtsTokenCount", 0) + usage.get("toolUsePromptTokenCount", 0)
    usage["totalTokenCount"] = prompt + output + extras
    if target.vertex:
        usage["trafficType"] = "ON_DEMAND"
    return usage


def _function(request: dict[str, Any]) -> str | None:
    """The first declared function's name when the model should call it now, else ``None``."""
    contents = request.get("contents") or []
    for tool in request.get("tools") or []:
        for declaration in (tool.get("functionDeclarations") or []) if isinstance(tool, dict) else []:
            if not _has_function_response(contents):
                return str(declaration.get("name", "tool"))
    return None


def _generate(target: Target, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks of a stream, then the whole response as ``generateContent`` gives it."""
    config = request.get("generationConfig") or {}
    function = _function(request)
    base: dict[str, Any] = {"modelVersion": f"{target.model}-001", "responseId": "fake-gemini-response"}
    if target.vertex:
        base["createTime"] = "2026-01-01T00:00:00.000000Z"
    thought = (
        [{"text": "Thinking it over.", "thought": True}]
        if (config.get("thinkingConfig") or {}).get("includeThoughts")
        else []
    )
    if function is not None:
        parts = [{"functionCall": {"name": function, "args": {"query": "latest"}}}]
        candidate = {"content": {"role": "model", "parts": thought + parts}, "finishReason": "STOP", "index": 0}
        response = {**base, "candidates": [candidate], "usageMetadata": _usage(request, target, 5)}
        return [response, response]
    full = words_of(answer_to(last_text(request.get("contents") or [], _text_of)))
    limit = config.get("maxOutputTokens")
    words = full[:limit] if isinstance(limit, int) and limit > 0 else full
    finish = "MAX_TOKENS" if len(words) < len(full) else "STOP"
    usage = _usage(request, target, len(words))
    started = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}
    pieces = []
    for index, word in enumerate(words):
        parts = [*thought, {"text": word}] if index == 0 else [{"text": " " + word}]
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        pieces.append({**base, "candidates": [candidate], "usageMetadata": started})
    pieces[-1]["candidates"][0]["finishReason"] = finish
    pieces[-1]["usageMetadata"] = usage
    text = " ".join(words)
    whole = {"content": {"role": "model", "parts": [*thought, {"text": text}]}, "finishReason": finish, "index": 0}
    return [*pieces, {**base, "candidates": [whole], "usageMetadata": usage}]


def _embed(target: Target, request: dict[str, Any]) -> Reply:
    if target.method == "predict":
        instances = request.get("instances") or []
        dimensions = int((request.get("parameters") or {}).get("outputDimensionality") or 8)
        predictions = [
            {"embeddings": {"values": vector(i, dimensions), "statistics": {"token_count": 4, "truncated": False}}}
            for i in range(len(instances))
        ]
        return json_reply({"predictions": predictions, "metadata": {"billableCharacterCount": 16 * len(instances)}})
    requests = request.get("requests") if target.method == "batchEmbedContents" else [request]
    requests = requests if isinstance(requests, list) else []
    embeddings = [{"values": vector(i, _dimensions(item))} for i, item in enumerate(requests)]
    tokens = prompt_tokens([item.get("content") for item in requests])
    usage = {"promptTokenCount": tokens, "totalTokenCount": tokens}
    if target.method == "embedContent":
        return json_reply({"embedding": embeddings[0], "usageMetadata": usage})
    return json_reply({"embeddings": embeddings, "usageMetadata": usage})


def _dimensions(request: dict[str, Any]) -> int:
    """The size asked for (the Gemini API's ``outputDimensionality``, Vertex AI's ``embedContentConfig``), else 8."""
    config = request.get("embedContentConfig") or {}
    return int(request.get("outputDimensionality") or config.get("outputDimensionality") or 8)
