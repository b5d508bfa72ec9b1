"""The Google Gen AI instrumentor's entry in the contract suite."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types

from otel_agentperf.instrumentation.google_genai import GoogleGenAIInstrumentor
from otel_agentperf.instrumentation.google_genai._operations import GenerateContent
from tests.contract import ContractCase
from tests.llm_drivers import CONFORMANCE_DRIVERS

DRIVER: Any = next(driver for driver in CONFORMANCE_DRIVERS if driver.id == "google-genai")


def _patched() -> list[tuple[Any, str]]:
    from google.genai import _api_client, models

    return [
        *((models.Models, method) for method in ("generate_content", "generate_content_stream", "embed_content")),
        *((models.AsyncModels, method) for method in ("generate_content", "generate_content_stream", "embed_content")),
        (_api_client.BaseApiClient, "_request"),
        (_api_client.BaseApiClient, "_async_request"),
        (_api_client.BaseApiClient, "_request_once"),
        (_api_client.BaseApiClient, "_async_request_once"),
    ]


def _call_raising(error: BaseException) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    http = httpx.Client(transport=httpx.MockTransport(handler))
    options = types.HttpOptions(base_url="http://llm.test", httpx_client=http)
    client = genai.Client(api_key="gemini-test-secret", http_options=options)
    return client.models.generate_content(model=DRIVER.model, contents="Hi")


def _break_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, invocation: Any, response: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(GenerateContent, "read_response", broken)


GOOGLE_GENAI_CASE = ContractCase(
    id="google-genai",
    instrumentor=GoogleGenAIInstrumentor,
    patched=_patched,
    call=lambda: DRIVER.invoke(DRIVER.new_client()),
    call_raising=_call_raising,
    open_stream=lambda: DRIVER.invoke(DRIVER.new_client(), stream=True),
    break_recording=_break_extraction,
    fingerprint=lambda result: result.model_dump(exclude={"sdk_http_response"}),
    signal="gen_ai.client.operation.duration",
    spans=1,
)
