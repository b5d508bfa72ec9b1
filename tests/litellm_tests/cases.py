"""The LiteLLM instrumentor's entry in the contract suite."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litellm.llms.custom_httpx.http_handler import HTTPHandler

from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor
from otel_agentperf.instrumentation.litellm._operations import Completion
from tests.contract import ContractCase
from tests.litellm_tests.conftest import litellm
from tests.llm_drivers import API_KEY, CONFORMANCE_DRIVERS

DRIVER: Any = next(driver for driver in CONFORMANCE_DRIVERS if driver.id == "litellm-anthropic")


def _patched() -> list[tuple[Any, str]]:
    from litellm.router_rust.core import RustCore

    public = ("completion", "acompletion", "embedding", "aembedding")
    return [
        *((litellm, name) for name in public),
        (litellm, "completion_with_retries"),
        (litellm, "acompletion_with_retries"),
        *((RustCore, name) for name in public),
    ]


def _call_raising(error: BaseException) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    client = HTTPHandler(client=httpx.Client(transport=httpx.MockTransport(handler)))
    messages = [{"role": "user", "content": "Hi"}]
    return litellm.completion(
        model=DRIVER.model, messages=messages, api_key=API_KEY, api_base="http://llm.test", client=client
    )


def _break_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, invocation: Any, response: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(Completion, "read_response", broken)


LITELLM_CASE = ContractCase(
    id="litellm",
    instrumentor=LiteLLMInstrumentor,
    patched=_patched,
    call=lambda: DRIVER.invoke(DRIVER.new_client()),
    call_raising=_call_raising,
    open_stream=lambda: DRIVER.invoke(DRIVER.new_client(), stream=True),
    break_recording=_break_extraction,
    fingerprint=lambda result: (result.choices[0].message.content, result.usage.model_dump()),
    signal="gen_ai.client.operation.duration",
    spans=1,
)
