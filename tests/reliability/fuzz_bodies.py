"""Hypothesis strategies that spoil valid LLM responses: missing, null, wrong-typed and extra fields, cut streams."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st
from llm_server import respond

Path = tuple[Any, ...]

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
"""Any JSON value: what a field may turn into."""

ODD_USAGE = st.sampled_from(
    [
        None,
        {},
        {"prompt_tokens": -1, "completion_tokens": "7"},
        {"input_tokens": 2**63, "output_tokens": None},
        {"cache_read_input_tokens": [1], "input_tokens": 1.5},
    ]
).map(copy.deepcopy)
"""Usage blocks of odd shapes, to be put anywhere (fresh copies: later mutations may change them)."""


def valid_reply(path: str, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """What the fake LLM service answers to ``request`` on ``path``, the stream (if any) joined into bytes."""
    status, headers, body = respond("POST", path, {}, json.dumps(request).encode())
    return status, headers, body if isinstance(body, bytes) else b"".join(body)


def _paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _parent(root: Any, path: Path) -> Any:
    for key in path[:-1]:
        root = root[key]
    return root


@st.composite
def spoiled(draw: st.DrawFn, valid: Any) -> Any:
    """``valid`` with one to four fields deleted, nulled, replaced by any JSON, or given odd extra fields."""
    if draw(st.integers(0, 19)) == 0:
        return draw(ANY_JSON)
    body = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(body, path), path[-1]
        action = draw(st.sampled_from(["delete", "null", "replace", "extra", "usage"]))
        if action == "delete":
            del parent[key]
        elif action == "null":
            parent[key] = None
        elif action == "replace":
            parent[key] = draw(ANY_JSON)
        elif isinstance(parent, dict):
            name = "usage" if action == "usage" else draw(st.text(min_size=1, max_size=8))
            parent[name] = draw(ODD_USAGE) if action == "usage" else draw(ANY_JSON)
    return body


def _events(stream: bytes) -> list[tuple[str | None, Any]]:
    events: list[tuple[str | None, Any]] = []
    for block in stream.decode().split("\n\n"):
        name, data = None, None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data = line[len("data: ") :]
        if data is not None:
            events.append((name, data if data == "[DONE]" else json.loads(data)))
    return events


@st.composite
def spoiled_stream(draw: st.DrawFn, valid: bytes) -> bytes:
    """A valid SSE stream with some events spoiled, dropped, duplicated, cut short or ending in a broken line."""
    events = _events(valid)
    for index in draw(st.lists(st.integers(0, len(events) - 1), max_size=3)):
        name, data = events[index]
        events[index] = (name, data if data == "[DONE]" else draw(spoiled(data)))
    if draw(st.booleans()):
        events = events[: draw(st.integers(0, len(events)))]
    if events and draw(st.integers(0, 4)) == 0:
        index = draw(st.integers(0, len(events) - 1))
        events.insert(index, events[index])
    lines = []
    for name, data in events:
        prefix = f"event: {name}\n" if name else ""
        lines.append(f"{prefix}data: {data if data == '[DONE]' else json.dumps(data)}\n\n")
    if draw(st.integers(0, 9)) == 0:
        lines.append("data: {broken\n\n")
    return "".join(lines).encode()
