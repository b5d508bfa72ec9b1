"""What every route of the fake shares: the answer it gives, its token counts, and the injected faults.

The header ``x-fake-fault`` works here as on the OpenAI and Anthropic routes (``retry-once:<status>``,
``always:<status>``, ``malformed``). A retry is recognised by the attempt number the SDK sends
(``x-stainless-retry-count``, or ``amz-sdk-request: attempt=N``); where a request carries none (google-genai, LiteLLM's
own HTTP clients), the fake counts the requests that carry the same header value, so that a test gives each call its
own value: ``retry-once:500:<any unique suffix>``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

Headers = dict[str, str]
Reply = tuple[int, Headers, "bytes | Iterator[bytes]"]

CACHED_BLOCK = 64
MALFORMED = b'{"id": "broken", "candidates": ['
_SEEN_LIMIT = 4096
_seen: OrderedDict[str, int] = OrderedDict()
_seen_lock = threading.Lock()


def injected_fault(headers: Headers) -> str | int | None:
    """``"malformed"``, the HTTP status this attempt must fail with, or ``None`` to answer normally."""
    fault = headers.get("x-fake-fault", "")
    if fault == "malformed":
        return fault
    kind, _, rest = fault.partition(":")
    status = int(rest.partition(":")[0] or 500)
    if kind == "always" or (kind == "retry-once" and _attempt(headers, fault) == 1):
        return status
    return None


def _attempt(headers: Headers, fault: str) -> int:
    """This request's attempt number (1 for the first) as the SDK tells it, else as counted by fault value."""
    if "x-stainless-retry-count" in headers:
        return int(headers["x-stainless-retry-count"]) + 1
    for item in headers.get("amz-sdk-request", "").split(";"):
        key, _, value = item.strip().partition("=")
        if key == "attempt" and value.isdigit():
            return int(value)
    with _seen_lock:
        count = _seen.pop(fault, 0) + 1
        _seen[fault] = count
        while len(_seen) > _SEEN_LIMIT:
            _seen.popitem(last=False)
    return count


def json_reply(payload: Any, headers: Headers | None = None, status: int = 200) -> Reply:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def malformed_reply() -> Reply:
    return 200, {"content-type": "application/json"}, MALFORMED


def paced(pieces: list[bytes], chunk_delay: float) -> Iterator[bytes]:
    """The pieces of a streamed body, ``chunk_delay`` seconds before each."""
    for piece in pieces:
        if chunk_delay:
            time.sleep(chunk_delay)
        yield piece


def stream_reply(pieces: list[bytes], content_type: str, chunk_delay: float, headers: Headers | None = None) -> Reply:
    return 200, {"content-type": content_type, **(headers or {})}, paced(pieces, chunk_delay)


def words_of(text: str, length: object = None) -> list[str]:
    """The answer's words, cut or repeated to exactly ``length`` words when one is asked (one word, one token)."""
    words = text.split() or ["ok"]
    if not isinstance(length, int) or length < 1:
        return words
    return (words * (length // len(words) + 1))[:length]


def answer_to(question: str) -> str:
    return f"Here is what I found about: {question[:120]}"


def prompt_tokens(request: Any) -> int:
    """A deterministic token count for a request body: a quarter of its JSON length."""
    return max(1, len(json.dumps(request)) // 4)


def cached_tokens(prompt: int) -> int:
    """How many prompt tokens the provider's prompt cache served: whole blocks after the first."""
    return (prompt // CACHED_BLOCK - 1) * CACHED_BLOCK if prompt >= 2 * CACHED_BLOCK else 0


def cache_write_tokens(prompt: int) -> int:
    """How many prompt tokens were written to the cache: one block of what was not read, once there is one."""
    return min(CACHED_BLOCK, prompt - cached_tokens(prompt)) if prompt >= CACHED_BLOCK else 0


def vector(index: int, dimensions: int) -> list[float]:
    """A deterministic embedding."""
    return [((index + 1) * (d + 1)) % 7 / 7 for d in range(dimensions)]


def last_text(items: list[Any], text_of: Callable[[Any], str]) -> str:
    """The text of the last item that has any."""
    for item in reversed(items):
        text = text_of(item)
        if text:
            return text
    return ""
