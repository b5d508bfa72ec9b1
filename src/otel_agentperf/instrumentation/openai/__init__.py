"""OpenTelemetry instrumentation for the openai SDK (2.x, 3.x): spans, GenAI metrics, prompt-cache tokens, retries.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_openai``
(disable it with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentperf_openai``). By hand::

    from otel_agentperf.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration (keyword argument, environment variable, default)
---------------------------------------------------------------
- ``capture_content``, ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``, ``NO_CONTENT``: record prompts and
  completions (``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``; ``True`` means ``SPAN_ONLY``).
- ``content_max_length``, ``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``, ``8192``: longer captured values are cut.
- ``chunk_gaps``, ``OTEL_AGENTPERF_CHUNK_GAPS``, ``True``: record ``gen_ai.client.operation.time_per_output_chunk``,
  one point per output chunk after the first (recorded when the stream ends).
- ``stream_include_usage``, ``OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE``, ``False``: ask streamed chat completions
  for token usage (adds ``stream_options={"include_usage": True}`` unless the call sets ``include_usage`` itself; the
  stream then ends with one chunk whose ``choices`` is empty). Without it such streams report no tokens: none are
  estimated.
- ``provider_name``, ``OTEL_AGENTPERF_OPENAI_PROVIDER_NAME``, ``openai``: ``gen_ai.provider.name`` of calls to a server
  that is not a known service. The provider is named from the host of the client's ``base_url``: Azure OpenAI
  (``azure.ai.openai``), Groq, DeepSeek, Mistral (``mistral_ai``), xAI (``x_ai``), Perplexity, Gemini's
  OpenAI-compatible endpoint (``gcp.gemini``), OpenRouter (``openrouter``), Together (``together_ai``) and Fireworks
  (``fireworks_ai``) get their names; any other server (vLLM, Ollama, LM Studio, llama.cpp, TGI) gets this one, with
  ``server.address`` and ``server.port`` telling it apart.
- ``tracer_provider``, ``meter_provider``: default to the global ones.

What is patched
---------------
Nothing until the program imports ``openai`` (``instrument()`` does not import it); then:
``chat.completions.create``, ``responses.create`` and ``embeddings.create`` of the sync and async resources,
``chat.completions.parse`` and ``responses.parse`` (structured outputs, ``gen_ai.output.type=json``), the clients'
``request`` (for the ``with_raw_response`` and ``with_streaming_response`` forms of those methods, which record the
same telemetry; their raw responses are parsed once, by the SDK's own cached ``parse()``), and the clients'
``_sleep_for_retry``, which the SDK calls before each of its own retries. ``chat.completions.stream()`` and
``responses.stream()`` send their request through ``create(stream=True)`` and are traced with it; their helpers'
``close()`` (called on leaving the ``with``) is wrapped too, to end the span as ``closed`` there.
The openai SDK emits no spans of its own, so each call shows up once.

Telemetry
---------
A CLIENT span ``{gen_ai.operation.name} {gen_ai.request.model}`` per call, with ``agentperf.retry`` events; metrics
``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage``, ``gen_ai.client.operation.time_to_first_chunk``,
``gen_ai.client.operation.time_per_output_chunk`` (one point per output chunk after the first),
``gen_ai.client.inference.usage.cache_read.input_tokens`` / ``.cache_write.input_tokens``, ``agentperf.retries`` and
``agentperf.retry.backoff.duration``. API keys and headers are never read.
"""

from __future__ import annotations

from typing import Any

from otel_agentperf import environment_variables as env
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.llm import LLMTelemetry, resolve_llm_settings
from otel_agentperf.core.llm_wrappers import Route, llm_wrappers, stainless_client_patches
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.provider import STAINLESS_RAW_HEADER
from otel_agentperf.core.settings import read_bool, read_str
from otel_agentperf.core.streams import helper_close_wrappers
from otel_agentperf.instrumentation.openai.package import _instruments

__all__ = ["OpenAIInstrumentor"]

_RESOURCES = "openai.resources"


class OpenAIInstrumentor(AgentPerfInstrumentor):
    """Instruments the openai SDK's chat completions, responses and embeddings, and its retries."""

    _dependencies = _instruments
    _setup_when_imported = "openai"

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        import openai  # noqa: PLC0415 - imported only once the dependency check passed

        from otel_agentperf.instrumentation.openai._operations import (  # noqa: PLC0415
            ChatCompletions,
            Embeddings,
            Responses,
        )

        settings = resolve_llm_settings(
            kwargs,
            stream_include_usage=read_bool(
                env.OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE,
                "stream_include_usage",
                kwargs.get("stream_include_usage"),
                False,
            ),
        )
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = LLMTelemetry(tracer, instruments, settings, reporter)
        streams = (openai.Stream, openai.AsyncStream)
        provider = read_str(
            env.OTEL_AGENTPERF_OPENAI_PROVIDER_NAME, "provider_name", kwargs.get("provider_name"), "openai"
        )
        prepare_chat = _add_include_usage if settings.stream_include_usage else None
        targets = (
            ("chat.completions", "Completions", "AsyncCompletions", ChatCompletions(streams, provider), prepare_chat),
            ("responses", "Responses", "AsyncResponses", Responses(streams, provider), None),
            ("embeddings", "Embeddings", "AsyncEmbeddings", Embeddings(streams, provider), None),
        )
        routes: dict[str, Route] = {}
        for module, sync_class, async_class, operation, prepare in targets:
            routes["/" + module.replace(".", "/")] = (operation, prepare)
            sync_wrapper, async_wrapper = llm_wrappers(telemetry, operation, prepare, STAINLESS_RAW_HEADER)
            for method in ("create", "parse") if module != "embeddings" else ("create",):
                self._patch(f"{_RESOURCES}.{module}", f"{sync_class}.{method}", sync_wrapper)
                self._patch(f"{_RESOURCES}.{module}", f"{async_class}.{method}", async_wrapper)
        sync_close, async_close = helper_close_wrappers()
        helpers = (("chat._completions", "ChatCompletionStream"), ("responses._responses", "ResponseStream"))
        for module, helper in helpers:
            self._patch(f"openai.lib.streaming.{module}", f"{helper}.close", sync_close)
            self._patch(f"openai.lib.streaming.{module}", f"Async{helper}.close", async_close)
        for path, wrapper in stainless_client_patches(telemetry, routes, "openai", reporter):
            self._patch("openai._base_client", path, wrapper)


def _add_include_usage(kwargs: dict[str, Any]) -> dict[str, Any]:
    if kwargs.get("stream") is not True:
        return kwargs
    options = kwargs.get("stream_options")
    if options is None or isinstance(options, dict) and "include_usage" not in options:
        return {**kwargs, "stream_options": {**(options or {}), "include_usage": True}}
    return kwargs
