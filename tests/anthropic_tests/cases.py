"""The Anthropic instrumentor's entry in the contract suite."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.anthropic._operations import Messages
from tests.contract import ContractCase
from tests.helpers import ANTHROPIC_HTTP, fake_handler
from tests.llm_drivers import DRIVERS

DRIVER = next(driver for driver in DRIVERS if driver.provider == "anthropic")


def _patched() -> list[tuple[Any, str]]:
    from anthropic import _base_client
    from anthropic.resources.messages import messages

    return [
        (messages.Messages, "create"),
        (messages.AsyncMessages, "create"),
        (messages.Messages, "parse"),
        (messages.AsyncMessages, "parse"),
        (messages.Messages, "stream"),
        (messages.AsyncMessages, "stream"),
        (_base_client.SyncAPIClient, "request"),
        (_base_client.AsyncAPIClient, "request"),
        (_base_client.SyncAPIClient, "_sleep_for_retry"),
        (_base_client.AsyncAPIClient, "_sleep_for_retry"),
    ]


def _call_raising(error: BaseException) -> Any:
    def handler(request: ANTHROPIC_HTTP.Request) -> ANTHROPIC_HTTP.Response:
        raise error

    return DRIVER.call(DRIVER.client(fake_handler(handler), max_retries=0))


def _break_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, invocation: Any, response: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(Messages, "read_response", broken)


def _fingerprint(result: anthropic.types.Message) -> Any:
    return result.model_dump()


ANTHROPIC_CASE = ContractCase(
    id="anthropic",
    instrumentor=AnthropicInstrumentor,
    patched=_patched,
    call=lambda: DRIVER.call(DRIVER.client()),
    call_raising=_call_raising,
    open_stream=lambda: DRIVER.call(DRIVER.client(), stream=True),
    break_recording=_break_extraction,
    fingerprint=_fingerprint,
    signal="gen_ai.client.operation.duration",
    spans=1,
)
