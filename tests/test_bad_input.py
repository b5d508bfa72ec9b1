"""Responses of odd shapes: nothing raises into the caller, nothing is invented, what is unknown is left out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from opentelemetry.trace import StatusCode

from tests.helpers import one_span
from tests.llm_drivers import DRIVERS, LLMDriver

BY_ID = {driver.id: driver for driver in DRIVERS}

CHAT_BASE = {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-x"}
CHOICE = {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
MESSAGE_BASE = {"id": "m1", "type": "message", "role": "assistant", "model": "claude-x", "stop_sequence": None}

CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # (driver id, case id, body, the span attributes expected: value, or None for "absent")
    (
        "openai-chat",
        "null-usage",
        {**CHAT_BASE, "choices": [CHOICE], "usage": None},
        {"gen_ai.usage.input_tokens": None},
    ),
    ("openai-chat", "no-usage", {**CHAT_BASE, "choices": [CHOICE]}, {"gen_ai.usage.output_tokens": None}),
    (
        "openai-chat",
        "null-usage-fields",
        {**CHAT_BASE, "choices": [CHOICE], "usage": {"prompt_tokens": None, "completion_tokens": "7"}},
        {"gen_ai.usage.input_tokens": None, "gen_ai.usage.output_tokens": None},
    ),
    (
        "openai-chat",
        "unknown-finish-reason",
        {**CHAT_BASE, "choices": [{**CHOICE, "finish_reason": "sleepy"}]},
        {"gen_ai.response.finish_reasons": ("sleepy",)},
    ),
    ("openai-chat", "empty-choices", {**CHAT_BASE, "choices": []}, {"gen_ai.response.finish_reasons": None}),
    ("openai-chat", "unknown-shape", {"surprise": [1, 2, 3]}, {"gen_ai.response.id": None}),
    (
        "openai-chat",
        "wrong-types",
        {**CHAT_BASE, "id": 5, "model": ["x"], "choices": "none"},
        {"gen_ai.response.id": None},
    ),
    (
        "openai-responses",
        "incomplete",
        {
            "id": "r1",
            "object": "response",
            "model": "gpt-5",
            "status": "incomplete",
            "output": [],
            "incomplete_details": {"reason": "max_output_tokens"},
            "usage": None,
        },
        {"gen_ai.response.finish_reasons": ("length",), "gen_ai.usage.input_tokens": None},
    ),  # fmt: skip
    ("openai-responses", "unknown-shape", {"weird": True}, {"gen_ai.response.finish_reasons": None}),
    (
        "anthropic-messages",
        "null-cache-fields",
        {
            **MESSAGE_BASE,
            "content": [],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "output_tokens": 2, "cache_read_input_tokens": None},
        },
        {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.cache_read.input_tokens": None},
    ),  # fmt: skip
    (
        "anthropic-messages",
        "unknown-stop-reason-and-block",
        {
            **MESSAGE_BASE,
            "content": [{"type": "hologram", "data": "?"}],
            "stop_reason": "mystery",
            "usage": {"input_tokens": 3, "output_tokens": 1},
        },
        {"gen_ai.response.finish_reasons": ("mystery",), "gen_ai.usage.output_tokens": 1},
    ),  # fmt: skip
    ("anthropic-messages", "no-usage", {**MESSAGE_BASE, "content": []}, {"gen_ai.usage.input_tokens": None}),
    ("anthropic-messages", "unknown-shape", [1, 2, 3], {"gen_ai.response.id": None}),
]


def _serving(body: Any) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(200, json=body)


def _outcome(driver: LLMDriver, body: Any) -> tuple[str, Any]:
    try:
        result = driver.call(driver.client(_serving(body), max_retries=0))
    except Exception as error:  # noqa: BLE001 - the outcome is compared with the uninstrumented one
        return "raised", (type(error), str(error))
    return "returned", result.model_dump(warnings=False) if hasattr(result, "model_dump") else repr(result)


@pytest.mark.parametrize(
    ("driver_id", "body", "expected"),
    [pytest.param(driver_id, body, expected, id=f"{driver_id}-{case}") for driver_id, case, body, expected in CASES],
)
@pytest.mark.parametrize("capture", ["NO_CONTENT", "SPAN_ONLY"])
def test_odd_response_is_returned_as_without_instrumentation(
    instrument, span_exporter, driver_id, body, expected, capture
):
    driver = BY_ID[driver_id]
    bare = _outcome(driver, body)
    instrument(driver.instrumentor, capture_content=capture)
    assert _outcome(driver, body) == bare

    span = one_span(span_exporter)
    for key, value in expected.items():
        assert span.attributes.get(key) == value, key
    if bare[0] == "returned":
        assert span.status.status_code is StatusCode.UNSET
