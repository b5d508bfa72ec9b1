"""``gen_ai.provider.name`` of an OpenAI-compatible server, from the host of the client's ``base_url``.

Known hosted services get their name (the GenAI conventions' name where one exists); any other host (a local vLLM,
Ollama, LM Studio, llama.cpp or TGI server, a proxy) gets the configured name, ``openai`` by default, and is told
apart by ``server.address`` and ``server.port``.
"""

from __future__ import annotations

from otel_agentperf import semconv

KNOWN_HOSTS = (  # (host or host suffix, provider name)
    ("api.openai.com", "openai"),
    (".openai.azure.com", semconv.PROVIDER_AZURE_AI_OPENAI),
    (".cognitiveservices.azure.com", semconv.PROVIDER_AZURE_AI_OPENAI),
    ("api.groq.com", semconv.PROVIDER_GROQ),
    ("api.deepseek.com", semconv.PROVIDER_DEEPSEEK),
    ("api.mistral.ai", semconv.PROVIDER_MISTRAL_AI),
    ("api.x.ai", semconv.PROVIDER_X_AI),
    ("api.perplexity.ai", semconv.PROVIDER_PERPLEXITY),
    ("generativelanguage.googleapis.com", semconv.PROVIDER_GCP_GEMINI),
    ("openrouter.ai", "openrouter"),
    ("api.together.xyz", "together_ai"),
    ("api.together.ai", "together_ai"),
    ("api.fireworks.ai", "fireworks_ai"),
)
"""Services without a name in the conventions (OpenRouter, Together, Fireworks) get LiteLLM's provider names."""


def provider_for_host(host: object, default: str) -> str:
    """The provider name of a server at ``host``; ``default`` for an unknown one."""
    if not isinstance(host, str):
        return default
    host = host.lower()
    for known, name in KNOWN_HOSTS:
        if host == known or (known.startswith(".") and host.endswith(known)) or host.endswith("." + known):
            return name
    return default
