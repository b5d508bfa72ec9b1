"""OpenAI-compatible servers: the provider is named from the client's base URL, or as configured for local ones."""

from __future__ import annotations

import httpx2
import openai
import pytest

from otel_agentperf.exceptions import ConfigurationError
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.helpers import fake_handler, one_span, points
from tests.openai_tests.conftest import API_KEY, USER_MESSAGES


def _chat(base_url: str) -> None:
    http = httpx2.Client(transport=httpx2.MockTransport(fake_handler()))
    client = openai.OpenAI(api_key=API_KEY, base_url=base_url, http_client=http)
    client.chat.completions.create(model="some-model", messages=USER_MESSAGES)


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://my-resource.openai.azure.com/openai/v1", "azure.ai.openai"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.deepseek.com/v1", "deepseek"),
        ("https://api.mistral.ai/v1", "mistral_ai"),
        ("https://api.x.ai/v1", "x_ai"),
        ("https://api.perplexity.ai", "perplexity"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://api.together.xyz/v1", "together_ai"),
        ("https://api.fireworks.ai/inference/v1", "fireworks_ai"),
        ("https://generativelanguage.googleapis.com/v1beta/openai", "gcp.gemini"),
    ],
)
def test_known_services_are_named(instrument, span_exporter, metric_reader, base_url, provider):
    instrument(OpenAIInstrumentor)
    _chat(base_url)
    assert one_span(span_exporter).attributes["gen_ai.provider.name"] == provider
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.attributes["gen_ai.provider.name"] == provider


def test_a_local_server_stays_openai_with_its_address(instrument, span_exporter):
    instrument(OpenAIInstrumentor)
    _chat("http://localhost:11434/v1")  # Ollama's usual port
    attributes = one_span(span_exporter).attributes
    assert attributes["gen_ai.provider.name"] == "openai"
    assert (attributes["server.address"], attributes["server.port"]) == ("localhost", 11434)


def test_provider_name_keyword_names_local_servers_only(instrument, span_exporter):
    instrument(OpenAIInstrumentor, provider_name="vllm")
    _chat("http://127.0.0.1:8000/v1")
    _chat("https://api.groq.com/openai/v1")
    assert [span.attributes["gen_ai.provider.name"] for span in span_exporter.get_finished_spans()] == ["vllm", "groq"]


def test_provider_name_variable(instrument, span_exporter, monkeypatch):
    monkeypatch.setenv("OTEL_AGENTPERF_OPENAI_PROVIDER_NAME", "ollama")
    instrument(OpenAIInstrumentor)
    _chat("http://localhost:11434/v1")
    assert one_span(span_exporter).attributes["gen_ai.provider.name"] == "ollama"


def test_a_bad_provider_name_fails_at_setup(instrument):
    with pytest.raises(ConfigurationError, match="provider_name"):
        instrument(OpenAIInstrumentor, provider_name="")
