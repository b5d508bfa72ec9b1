"""A small fake LLM service for offline demos, tests and benchmarks (standard library only).

It answers OpenAI's ``POST /v1/chat/completions``, ``/v1/responses`` and ``/v1/embeddings`` and Anthropic's
``POST /v1/messages`` deterministically, streamed (SSE) or not, with token usage that includes prompt-cache reads.
The header ``x-fake-fault`` injects failures:

- ``retry-once:<status>``: the first attempt (``x-stainless-retry-count: 0``) gets ``<status>`` with
  ``retry-after-ms: 20``, the retry succeeds (a client that numbers no attempts gives each call its own value,
  ``retry-once:<status>:<unique suffix>``: see ``fake_llm.common``);
- ``always:<status>``: every attempt gets ``<status>``;
- ``malformed``: a 200 whose body is not JSON.

A chat request that offers tools gets a call of the first tool, then (once a tool result is in the conversation) the
answer. With the header ``x-fake-tools: each``, it calls each offered tool not yet called in the conversation, one per
reply, in the order offered, then answers: an agent can call a tool and then hand off to another agent.

The header ``x-fake-rate-limits: low`` adds the provider's rate-limit headers to a successful reply, with 8% of the
token limit left: OpenAI's ``x-ratelimit-*`` on OpenAI routes, Anthropic's ``anthropic-ratelimit-*`` on ``/messages``.

A chat request's ``max_completion_tokens`` sets the answer's exact length in words (one word, one stream chunk). A
request for structured output (a ``json_schema`` response format) is answered with a JSON object that fits the schema.

The package ``fake_llm`` beside this file adds Google Gen AI (Gemini API and Vertex AI) and Amazon Bedrock Runtime
routes in their own wire formats, with the same faults.

``respond()`` is the whole service as a function, so that an ``httpx2.MockTransport`` can serve it in process;
``serve()`` runs it on a loopback port. ``python llm_server.py --port 8000`` serves in the foreground.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_llm import route as provider_route
from fake_llm.common import injected_fault

Headers = dict[str, str]
Reply = tuple[int, Headers, "bytes | Iterator[bytes]"]

MODEL_SUFFIX = "-2026-01-01"
CACHED_BLOCK = 64


def respond(method: str, path: str, headers: Headers, body: bytes, chunk_delay: float = 0.0) -> Reply:
    """The reply to one request: status, headers, and a body (bytes, or an iterator of SSE bytes)."""
    headers = {key.lower(): value for key, value in headers.items()}
    routed = provider_route(path, headers, body, chunk_delay) if method == "POST" else None
    if routed is not None:
        return routed
    fault = _fault(headers)
    if fault is not None:
        return fault
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return _error(400, "invalid JSON body")
    if method != "POST":
        return _error(405, "method not allowed")
    route = path.split("?", 1)[0].rstrip("/")
    reply = _route(route, request, chunk_delay, headers)
    if reply[0] == 200 and headers.get("x-fake-rate-limits") == "low":
        reply[1].update(_anthropic_rate_limits() if route.endswith("/messages") else OPENAI_RATE_LIMITS)
    return reply


OPENAI_RATE_LIMITS = {
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-tokens": "2400",
    "x-ratelimit-reset-tokens": "1m30s",
}


def _anthropic_rate_limits() -> Headers:
    reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
    headers = {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": "49"}
    for kind, limit in (("tokens", 30000), ("input-tokens", 20000), ("output-tokens", 10000)):
        headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
        headers[f"anthropic-ratelimit-{kind}-remaining"] = str(limit * 8 // 100)
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        headers[f"anthropic-ratelimit-{kind}-reset"] = reset
    return headers


def _route(route: str, request: dict[str, Any], chunk_delay: float, headers: Headers) -> Reply:
    if route.endswith("/chat/completions"):
        return _chat(request, chunk_delay, each_tool=headers.get("x-fake-tools") == "each")
    if route.endswith("/responses"):
        return _responses(request, chunk_delay)
    if route.endswith("/embeddings"):
        return _embeddings(request)
    if route.endswith("/messages"):
        return _messages(request, chunk_delay)
    return _error(404, f"no route {route}")


def _fault(headers: Headers) -> Reply | None:
    fault = injected_fault(headers)
    if fault == "malformed":
        return 200, {"content-type": "application/json"}, b'{"id": "broken", "choices": ['
    if isinstance(fault, int):
        reply = _error(fault, "injected fault")
        reply[1]["retry-after-ms"] = "20"
        return reply
    return None


def _error(status: int, message: str) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "fake_error", "code": str(status)}}).encode()
    return status, {"content-type": "application/json"}, body


def _json(payload: dict[str, Any]) -> Reply:
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


def _sse(events: list[tuple[str | None, dict[str, Any]]], chunk_delay: float, done: bool) -> Reply:
    def stream() -> Iterator[bytes]:
        for name, payload in events:
            if chunk_delay:
                time.sleep(chunk_delay)
            prefix = f"event: {name}\n" if name else ""
            yield f"{prefix}data: {json.dumps(payload)}\n\n".encode()
        if done:
            yield b"data: [DONE]\n\n"

    return 200, {"content-type": "text/event-stream"}, stream()


def _words(text: str) -> list[str]:
    return text.split() or ["ok"]


def _fill(words: list[str], length: object) -> list[str]:
    """The answer cut or repeated to exactly ``length`` words (one word, one token, one chunk) when one is asked."""
    if not isinstance(length, int) or length < 1:
        return words
    return (words * (length // len(words) + 1))[:length]


def _prompt_tokens(request: dict[str, Any]) -> int:
    return max(1, len(json.dumps(request.get("messages") or request.get("input") or "")) // 4)


def _usage(prompt_tokens: int) -> tuple[int, int]:
    """Prompt tokens and how many of them the provider's prompt cache served (whole blocks after the first)."""
    cached = (prompt_tokens // CACHED_BLOCK - 1) * CACHED_BLOCK if prompt_tokens >= 2 * CACHED_BLOCK else 0
    return prompt_tokens, cached


def _answer(messages: list[dict[str, Any]]) -> str:
    last = next((m for m in reversed(messages) if m.get("role") in ("user", "tool")), {"content": ""})
    content = last.get("content")
    text = content if isinstance(content, str) else json.dumps(content)
    return f"Here is what I found about: {text[:120]}"


def _sample(schema: Any, definitions: dict[str, Any]) -> Any:
    """A value that fits the JSON schema ``schema`` (the subset structured outputs use)."""
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return _sample(definitions.get(str(schema["$ref"]).rsplit("/", 1)[-1]), definitions)
    if "anyOf" in schema:
        return _sample(schema["anyOf"][0], definitions)
    if "enum" in schema:
        return schema["enum"][0]
    samples = {"string": "fake", "integer": 1, "number": 1.5, "boolean": True, "null": None}
    kind = schema.get("type")
    if kind == "array":
        return [_sample(schema.get("items"), definitions)]
    if kind == "object":
        return {name: _sample(value, definitions) for name, value in (schema.get("properties") or {}).items()}
    return samples.get(str(kind))


def _structured(response_format: Any) -> str | None:
    """The JSON answer to a request for a ``json_schema`` format, else ``None``."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    schema = response_format.get("schema") or (response_format.get("json_schema") or {}).get("schema") or {}
    return json.dumps(_sample(schema, schema.get("$defs") or {}))


def _next_tool(messages: list[dict[str, Any]], tools: list[dict[str, Any]], each_tool: bool) -> str | None:
    """The tool the fake model calls next, if any (see the module docstring)."""
    names = [tool.get("function", {}).get("name", "tool") for tool in tools]
    if not each_tool:
        return names[0] if names and not any(m.get("role") == "tool" for m in messages) else None
    called = {
        call.get("function", {}).get("name")
        for message in messages
        if message.get("role") == "assistant"
        for call in message.get("tool_calls") or []
    }
    return next((name for name in names if name not in called), None)


def _chat(request: dict[str, Any], chunk_delay: float, each_tool: bool = False) -> Reply:
    model = str(request.get("model", "gpt-fake")) + MODEL_SUFFIX
    messages = request.get("messages") or []
    tool_name = _next_tool(messages, request.get("tools") or [], each_tool)
    wants_tool = tool_name is not None
    prompt, cached = _usage(_prompt_tokens(request))
    if wants_tool:
        call_id = f"call_{1 + sum(len(m.get('tool_calls') or []) for m in messages)}"
        function = {"name": tool_name, "arguments": '{"query": "latest"}'}
        call = {"id": call_id, "type": "function", "function": function}
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        words, finish = [], "tool_calls"
    else:
        structured = _structured(request.get("response_format"))
        answer = _answer(messages) if structured is None else structured
        words = _fill(_words(answer), request.get("max_completion_tokens"))
        message, finish = {"role": "assistant", "content": " ".join(words)}, "stop"
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": len(words) + 3,
        "total_tokens": prompt + len(words) + 3,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    base = {"id": "chatcmpl-fake", "model": model, "created": 1_700_000_000, "system_fingerprint": "fp_fake"}
    if not request.get("stream"):
        choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        return _json({**base, "object": "chat.completion", "choices": [choice], "usage": usage})
    chunk = {**base, "object": "chat.completion.chunk"}
    events: list[tuple[str | None, dict[str, Any]]] = [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
    ]
    for index, word in enumerate(words):
        delta = {"content": word if index == 0 else " " + word}
        events.append((None, {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
    if wants_tool:
        events.append((None, {**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **call}]}}]}))
    events.append((None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    if (request.get("stream_options") or {}).get("include_usage"):
        events.append((None, {**chunk, "choices": [], "usage": usage}))
    return _sse(events, chunk_delay, done=True)


def _responses(request: dict[str, Any], chunk_delay: float) -> Reply:
    model = str(request.get("model", "gpt-fake")) + MODEL_SUFFIX
    input_value = request.get("input")
    text = input_value if isinstance(input_value, str) else json.dumps(input_value)
    structured = _structured((request.get("text") or {}).get("format"))
    words = _words(f"Summary: {text[:120]}" if structured is None else structured)
    prompt, cached = _usage(_prompt_tokens(request))
    usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": len(words),
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + len(words),
    }
    content = [{"type": "output_text", "text": " ".join(words), "annotations": []}]
    item = {"id": "msg_fake", "type": "message", "role": "assistant", "status": "completed", "content": content}
    response = {
        "id": "resp_fake", "object": "response", "created_at": 1_700_000_000, "model": model, "status": "completed",
        "output": [item], "usage": usage, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
    }  # fmt: skip
    if not request.get("stream"):
        return _json(response)
    started = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": started})
    ]
    opened = {**item, "status": "in_progress", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "msg_fake", "output_index": 0}
    events.append(
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": opened, "sequence_number": 0},
        )
    )
    events.append(
        (
            "response.content_part.added",
            {"type": "response.content_part.added", **where, "content_index": 0, "part": part, "sequence_number": 0},
        )
    )
    for index, word in enumerate(words):
        delta = {
            "type": "response.output_text.delta", "item_id": "msg_fake", "output_index": 0, "content_index": 0,
            "delta": word if index == 0 else " " + word, "sequence_number": index + 1, "logprobs": [],
        }  # fmt: skip
        events.append(("response.output_text.delta", delta))
    text = " ".join(words)
    events.append(
        (
            "response.output_text.done",
            {
                "type": "response.output_text.done",
                **where,
                "content_index": 0,
                "text": text,
                "sequence_number": 0,
                "logprobs": [],
            },
        )
    )
    events.append(
        (
            "response.content_part.done",
            {
                "type": "response.content_part.done",
                **where,
                "content_index": 0,
                "part": {**part, "text": text},
                "sequence_number": 0,
            },
        )
    )
    events.append(
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": item, "sequence_number": 0},
        )
    )
    completed = {"type": "response.completed", "sequence_number": len(words) + 1, "response": response}
    events.append(("response.completed", completed))
    return _sse(events, chunk_delay, done=False)


def _embeddings(request: dict[str, Any]) -> Reply:
    inputs = request.get("input")
    texts = inputs if isinstance(inputs, list) else [inputs]
    dimensions = int(request.get("dimensions") or 8)
    data = [
        {"object": "embedding", "index": i, "embedding": [((i + 1) * (d + 1)) % 7 / 7 for d in range(dimensions)]}
        for i in range(len(texts))
    ]
    tokens = max(1, len(json.dumps(texts)) // 4)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    model = str(request.get("model", "embed-fake"))
    return _json({"object": "list", "data": data, "model": model, "usage": usage})


def _messages(request: dict[str, Any], chunk_delay: float) -> Reply:
    """Anthropic Messages: input tokens exclude the cache reads and writes, which are reported apart."""
    model = str(request.get("model", "claude-fake"))
    messages = request.get("messages") or []
    tools = request.get("tools") or []
    wants_tool = bool(tools) and not any(_has_tool_result(m) for m in messages)
    prompt, cache_read = _usage(_prompt_tokens(request))
    cache_write = min(CACHED_BLOCK, prompt - cache_read) if prompt >= CACHED_BLOCK else 0
    usage = {
        "input_tokens": prompt - cache_read - cache_write,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
    }
    if wants_tool:
        name = tools[0].get("name", "tool")
        words: list[str] = []
        content: list[dict[str, Any]] = [{"type": "tool_use", "id": "toolu_1", "name": name, "input": {"q": "latest"}}]
        stop_reason = "tool_use"
    else:
        structured = _structured((request.get("output_config") or {}).get("format"))
        words = _words(_answer(messages) if structured is None else structured)
        content, stop_reason = [{"type": "text", "text": " ".join(words)}], "end_turn"
    output_tokens = len(words) + 2
    message = {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason, "stop_sequence": None, "usage": {**usage, "output_tokens": output_tokens},
    }  # fmt: skip
    if not request.get("stream"):
        return _json(message)
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[tuple[str | None, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(content):
        empty = {"type": "text", "text": ""} if block["type"] == "text" else {**block, "input": {}}
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty}))
        if block["type"] == "text":
            for position, word in enumerate(words):
                delta = {"type": "text_delta", "text": word if position == 0 else " " + word}
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        else:
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    final = {"stop_reason": stop_reason, "stop_sequence": None}
    # As the real API does, message_delta carries the cumulative usage: input and cache counts with the output.
    final_usage = {**usage, "output_tokens": output_tokens}
    events.append(("message_delta", {"type": "message_delta", "delta": final, "usage": final_usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return _sse(events, chunk_delay, done=False)


def _has_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    chunk_delay = 0.0

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        status, headers, payload = respond("POST", self.path, dict(self.headers), body, self.chunk_delay)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if isinstance(payload, bytes):
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for piece in payload:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server API
        """Stay quiet."""


def serve(port: int = 0, chunk_delay: float = 0.0) -> ThreadingHTTPServer:
    """Serve on 127.0.0.1 (``port`` 0 picks a free one) in a daemon thread; ``server.shutdown()`` stops it."""
    handler = type("Handler", (_Handler,), {"chunk_delay": chunk_delay})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-llm", daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between stream chunks")
    options = parser.parse_args()
    server = serve(options.port, options.chunk_delay)
    print(f"fake LLM service on http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
