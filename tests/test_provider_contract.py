"""The provider contract's hooks for clients that are not Stainless-style: per-call provider, own server URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from otel_agentperf.core.provider import ClientOperation, LLMResult


class _Routed(ClientOperation):
    """A LiteLLM-like router: the provider is the model's prefix, the server is a URL held by the client itself."""

    name = "chat"

    def provider_name(self, instance: Any, kwargs: Mapping[str, Any]) -> str:
        return str(kwargs["model"]).partition("/")[0]

    def server_url(self, instance: Any) -> object:
        return urlsplit(instance.endpoint)


class _Client:
    endpoint = "https://llm.example.test:8443/v1"


def test_provider_and_server_come_from_the_hooks():
    """Each call gets the provider its model routes to, and the server from the client's own URL."""
    operation = _Routed(stream_types=())
    first = operation.sampling_attributes(_Client(), {"model": "openai/gpt-4o"})
    second = operation.sampling_attributes(_Client(), {"model": "anthropic/claude"})
    assert first["gen_ai.provider.name"] == "openai" and second["gen_ai.provider.name"] == "anthropic"
    assert first["server.address"] == "llm.example.test" and first["server.port"] == 8443
    assert first["gen_ai.request.model"] == "openai/gpt-4o"


def test_the_stainless_default_reads_the_client_base_url():
    """Without overrides, the server comes from ``instance._client.base_url`` and a client without it has none."""

    class Resource:
        class _client:  # noqa: N801 - the attribute name of Stainless resources
            base_url = urlsplit("http://127.0.0.1:9000/v1")

    operation = ClientOperation(stream_types=())
    attributes = operation.sampling_attributes(Resource(), {"model": "m"})
    assert (attributes["server.address"], attributes["server.port"]) == ("127.0.0.1", 9000)
    assert "server.address" not in operation.sampling_attributes(object(), {"model": "m"})


def test_readers_fill_a_typed_result():
    """The default reader fills the result's typed slots and leaves the rest unset."""
    result = LLMResult()

    class Response:
        id = "r-1"
        model = "m-2026"

    ClientOperation(stream_types=()).read_response(result, Response())
    assert (result.response_id, result.response_model, result.input_tokens) == ("r-1", "m-2026", None)
