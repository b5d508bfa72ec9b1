"""The OpenAI instrumentor's entry in the contract suite."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.instrumentation.openai._operations import ChatCompletions
from tests.contract import ContractCase
from tests.helpers import OPENAI_HTTP, fake_handler
from tests.openai_tests.conftest import USER_MESSAGES, make_client


def _patched() -> list[tuple[Any, str]]:
    from openai import _base_client
    from openai.resources import embeddings, responses
    from openai.resources.chat import completions

    return [
        (completions.Completions, "create"),
        (completions.AsyncCompletions, "create"),
        (completions.Completions, "parse"),
        (completions.AsyncCompletions, "parse"),
        (responses.Responses, "create"),
        (responses.AsyncResponses, "create"),
        (responses.Responses, "parse"),
        (responses.AsyncResponses, "parse"),
        (embeddings.Embeddings, "create"),
        (embeddings.AsyncEmbeddings, "create"),
        (_base_client.SyncAPIClient, "request"),
        (_base_client.AsyncAPIClient, "request"),
        (_base_client.SyncAPIClient, "_sleep_for_retry"),
        (_base_client.AsyncAPIClient, "_sleep_for_retry"),
    ]


def _call() -> Any:
    return make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)


def _call_raising(error: BaseException) -> Any:
    def handler(request: OPENAI_HTTP.Request) -> OPENAI_HTTP.Response:
        raise error

    return make_client(fake_handler(handler), max_retries=0).chat.completions.create(
        model="gpt-4o-mini", messages=USER_MESSAGES
    )


def _open_stream() -> Any:
    return make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES, stream=True)


def _break_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, invocation: Any, response: Any) -> None:
        raise RuntimeError("extractor bug")

    monkeypatch.setattr(ChatCompletions, "read_response", broken)


def _fingerprint(result: openai.types.chat.ChatCompletion) -> Any:
    return result.model_dump()


OPENAI_CASE = ContractCase(
    id="openai",
    instrumentor=OpenAIInstrumentor,
    patched=_patched,
    call=_call,
    call_raising=_call_raising,
    open_stream=_open_stream,
    break_recording=_break_extraction,
    fingerprint=_fingerprint,
    signal="gen_ai.client.operation.duration",
    spans=1,
)
