"""OpenTelemetry instrumentation for the Google Gen AI SDK (``google-genai`` >= 2): the Gemini API and Vertex AI.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_google_genai``
(disable it with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentperf_google_genai``). By hand::

    from otel_agentperf.instrumentation.google_genai import GoogleGenAIInstrumentor

    GoogleGenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration
-------------
``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``content_max_length``
(``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``) and ``chunk_gaps`` (``OTEL_AGENTPERF_CHUNK_GAPS``), as for the OpenAI
instrumentor; ``tracer_provider``, ``meter_provider``.

What is patched
---------------
``Models.generate_content``, ``generate_content_stream`` and ``embed_content`` and the same methods of
``AsyncModels`` (``client.aio.models``): one span per public call, whatever the SDK does inside it (automatic
function calling sends several requests under one span). Chats (``client.chats.create().send_message()``) go through
them. ``gen_ai.operation.name`` is ``generate_content`` (``embeddings`` for ``embed_content``);
``gen_ai.provider.name`` is ``gcp.vertex_ai`` for a Vertex AI client, else ``gcp.gemini``.

Retries: the SDK retries as its ``HttpRetryOptions`` say, through tenacity, in ``BaseApiClient._request`` (one
``_request_once`` per attempt). Both are wrapped: each attempt after a failed one is a retry
(``agentperf.retry.source=google_genai``), its wait measured from the failure to the next attempt. The tenacity
instrumentor leaves retries inside that loop to this one, so none is counted twice. Streamed calls send their request
when the first chunk is read, after the call returned: their retries go to the span current at that moment.

Telemetry
---------
As the OpenAI instrumentor: a CLIENT span per call, the duration, token usage, time-to-first-chunk and
per-chunk-gap histograms, the prompt-cache read counter (``cached_content_token_count``), reasoning tokens
(``thoughts_token_count``), ``agentperf.usage.tool_use_prompt_tokens`` and finish reasons (lower case:
``stop``, ``max_tokens``, ``safety``). API keys, credentials and headers are never read.
"""

from __future__ import annotations

from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.llm import LLMTelemetry, resolve_llm_settings
from otel_agentperf.core.llm_wrappers import llm_wrappers
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.retries import attempt_loop_wrappers
from otel_agentperf.core.streams import AsyncGeneratorProxy
from otel_agentperf.instrumentation.google_genai.package import _instruments

__all__ = ["GoogleGenAIInstrumentor"]

_MODELS = "google.genai.models"
_API_CLIENT = "google.genai._api_client"


class GoogleGenAIInstrumentor(AgentPerfInstrumentor):
    """Instruments the Google Gen AI SDK's content generation and embeddings, and its retries."""

    _dependencies = _instruments

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        from otel_agentperf.instrumentation.google_genai._operations import (  # noqa: PLC0415
            EmbedContent,
            GenerateContent,
        )

        settings = resolve_llm_settings(kwargs)
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = LLMTelemetry(tracer, instruments, settings, reporter)
        generate = llm_wrappers(telemetry, GenerateContent(), async_stream=AsyncGeneratorProxy)
        embed = llm_wrappers(telemetry, EmbedContent())
        for method, (sync_wrapper, async_wrapper) in (
            ("generate_content", generate),
            ("generate_content_stream", generate),
            ("embed_content", embed),
        ):
            self._patch(_MODELS, f"Models.{method}", sync_wrapper)
            self._patch(_MODELS, f"AsyncModels.{method}", async_wrapper)
        sync_loop, async_loop, sync_attempt, async_attempt = attempt_loop_wrappers(
            telemetry.retries, semconv.RETRY_SOURCE_GOOGLE_GENAI, reporter
        )
        self._patch(_API_CLIENT, "BaseApiClient._request", sync_loop)
        self._patch(_API_CLIENT, "BaseApiClient._async_request", async_loop)
        self._patch(_API_CLIENT, "BaseApiClient._request_once", sync_attempt)
        self._patch(_API_CLIENT, "BaseApiClient._async_request_once", async_attempt)
