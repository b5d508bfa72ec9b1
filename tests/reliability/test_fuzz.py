"""Fuzzing every LLM instrumentor through the real SDKs: the program sees exactly what it sees without instrumentation.

Each example serves a spoiled response (or stream) to the real SDK client, calls it once with instrumentation
suppressed and once instrumented, and compares the outcomes: the same value (by ``repr``) or the same exception type
and message. Strict mode is on, so an error inside the instrumentation would surface as a different outcome. The
instrumented call's telemetry must stay sound whatever the body: exactly one ended span, ERROR with the exception's
class exactly when the call raised, and token counts that are non-negative integers or absent (never a value taken
from a field of the wrong type).
``make reliability`` runs the ``long`` profile (10,000 examples per test) and prints the counts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

from tests.llm_drivers import DRIVERS, LLMDriver
from tests.reliability.fuzz_bodies import spoiled, spoiled_stream, valid_reply

PATHS = {
    "openai-chat": "/v1/chat/completions",
    "openai-responses": "/v1/responses",
    "anthropic-messages": "/v1/messages",
}


def _outcome(call: Callable[[], Any]) -> tuple[str, ...]:
    try:
        result = call()
        if isinstance(result, Iterator) or hasattr(result, "__iter__") and hasattr(result, "response"):
            return ("chunks", *(repr(chunk) for chunk in result))
        return ("value", repr(result))
    except Exception as error:  # noqa: BLE001 - the outcome under comparison
        return ("raised", type(error).__qualname__, str(error))


def _client(driver: LLMDriver, body: bytes, content_type: str) -> Any:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": content_type}, content=body)

    return driver.client(handler, max_retries=0)


@functools.cache
def _valid(driver_id: str, stream: bool) -> bytes:
    """The fake service's answer for this driver, made once so that every example spoils the same bytes."""
    driver = next(driver for driver in DRIVERS if driver.id == driver_id)
    request = {**driver.call_kwargs(stream), "stream": stream}
    request.pop("stream_options", None)
    status, _, body = valid_reply(PATHS[driver_id], request)
    assert status == 200
    return body


@pytest.fixture(params=DRIVERS, ids=[driver.id for driver in DRIVERS])
def driver(request: pytest.FixtureRequest, instrument: Callable[..., Any], span_exporter: Any) -> LLMDriver:
    chosen: LLMDriver = request.param
    instrument(chosen.instrumentor)
    return chosen


def _assert_same(driver: LLMDriver, client: Any, stream: bool, span_exporter: Any) -> None:
    with suppress_instrumentation():
        bare = _outcome(lambda: driver.call(client, stream=stream))
    traced = _outcome(lambda: driver.call(client, stream=stream))
    assert traced == bare
    _assert_sound_telemetry(traced, span_exporter.get_finished_spans())
    span_exporter.clear()


def _assert_sound_telemetry(outcome: tuple[str, ...], spans: Any) -> None:
    (span,) = spans
    assert span.end_time is not None
    if outcome[0] == "raised":
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["error.type"] == outcome[1]
    else:
        assert span.status.status_code is not StatusCode.ERROR
        assert "error.type" not in span.attributes
    for key, value in span.attributes.items():
        if key == "gen_ai.usage.cost.amount":
            assert type(value) is float and value >= 0, (key, value)
        elif key.startswith("gen_ai.usage.") and not key.startswith("gen_ai.usage.cost."):
            assert type(value) is int and value >= 0, (key, value)


@given(data=st.data())
def test_spoiled_responses(driver, span_exporter, data):
    """Spoiled JSON bodies: same value or same exception, instrumented or not."""
    body = data.draw(spoiled(json.loads(_valid(driver.id, False))), label="body")
    client = _client(driver, json.dumps(body).encode(), "application/json")
    _assert_same(driver, client, False, span_exporter)


@given(data=st.data())
def test_spoiled_streams(driver, span_exporter, data):
    """Spoiled, cut or broken SSE streams: the same chunks, then the same end or exception."""
    stream = data.draw(spoiled_stream(_valid(driver.id, True)), label="stream")
    client = _client(driver, stream, "text/event-stream")
    _assert_same(driver, client, True, span_exporter)
