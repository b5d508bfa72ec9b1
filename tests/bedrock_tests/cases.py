"""The Bedrock Runtime instrumentor's entry in the contract suite."""

from __future__ import annotations

from typing import Any

import pytest

from otel_agentperf.instrumentation.bedrock import BedrockInstrumentor
from otel_agentperf.instrumentation.bedrock._operations import Converse
from tests.contract import ContractCase
from tests.llm_drivers import CONFORMANCE_DRIVERS

DRIVER: Any = next(driver for driver in CONFORMANCE_DRIVERS if driver.id == "bedrock-converse")


def _patched() -> list[tuple[Any, str]]:
    from botocore import client, endpoint

    return [(client.BaseClient, "_make_api_call"), (endpoint.Endpoint, "_needs_retry")]


def _call_raising(error: BaseException) -> Any:
    bedrock = DRIVER.new_client()

    def fail(**_: Any) -> None:
        raise error

    bedrock.meta.events.register("before-send.bedrock-runtime.Converse", fail)
    return DRIVER.invoke(bedrock)


def _break_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, invocation: Any, response: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(Converse, "read_response", broken)


def _fingerprint(result: dict[str, Any]) -> Any:
    return {key: value for key, value in result.items() if key not in ("ResponseMetadata", "metrics")}


BEDROCK_CASE = ContractCase(
    id="bedrock",
    instrumentor=BedrockInstrumentor,
    patched=_patched,
    call=lambda: DRIVER.invoke(DRIVER.new_client()),
    call_raising=_call_raising,
    open_stream=lambda: DRIVER.invoke(DRIVER.new_client(), stream=True),
    break_recording=_break_extraction,
    fingerprint=_fingerprint,
    signal="gen_ai.client.operation.duration",
    spans=1,
)
