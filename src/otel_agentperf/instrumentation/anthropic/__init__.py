"""OpenTelemetry instrumentation for the anthropic SDK (0.120+, 1.x, 2.x): spans, GenAI metrics, cache tokens, retries.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_anthropic``
(disable it with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentperf_anthropic``). By hand::

    from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration
-------------
``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``content_max_length``
(``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``) and ``chunk_gaps`` (``OTEL_AGENTPERF_CHUNK_GAPS``), as for the OpenAI
instrumentor; ``tracer_provider``, ``meter_provider``.

What is patched
---------------
Nothing until the program imports ``anthropic`` (``instrument()`` does not import it); then:
``messages.create`` (sync and async, streamed or not), ``messages.parse()`` (structured outputs, sync and async,
``gen_ai.output.type=json``), ``messages.stream()`` (sync and async: the span starts when
the ``with`` block is entered and ends when the stream is read to its end, closed, or left), the clients' ``request``
(for the ``with_raw_response`` and ``with_streaming_response`` forms of ``messages.create``), and the clients'
``_sleep_for_retry``, which the SDK calls before each of its own retries.

The SDK's own spans
-------------------
The anthropic SDK emits a CLIENT span of its own per API call (scope ``com.anthropic.sdk.python``), in the context
that is current when the call starts. This instrumentor makes its ``chat {model}`` span current around the call, so
the SDK's span is always its child, never a sibling: one LLM call shows as one GenAI span with the SDK's HTTP-level
span (request id, resend count) under it. Turn the SDK's span off with the client option ``open_telemetry=False`` or
``ANTHROPIC_OPEN_TELEMETRY=false`` if you do not want it; metrics come from this instrumentor either way.
"""

from __future__ import annotations

from typing import Any

from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.llm import LLMTelemetry, resolve_llm_settings
from otel_agentperf.core.llm_wrappers import llm_wrappers, stainless_client_patches, stream_manager_wrappers
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.provider import STAINLESS_RAW_HEADER
from otel_agentperf.instrumentation.anthropic.package import _instruments

__all__ = ["AnthropicInstrumentor"]

_MESSAGES = "anthropic.resources.messages.messages"


class AnthropicInstrumentor(AgentPerfInstrumentor):
    """Instruments the anthropic SDK's Messages API and its retries."""

    _dependencies = _instruments
    _setup_when_imported = "anthropic"

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        import anthropic  # noqa: PLC0415 - imported only once the dependency check passed

        from otel_agentperf.instrumentation.anthropic._operations import Messages  # noqa: PLC0415

        settings = resolve_llm_settings(kwargs)
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = LLMTelemetry(tracer, instruments, settings, reporter)
        operation = Messages((anthropic.Stream, anthropic.AsyncStream))
        sync_create, async_create = llm_wrappers(telemetry, operation, raw_header=STAINLESS_RAW_HEADER)
        for method in ("create", "parse"):
            self._patch(_MESSAGES, f"Messages.{method}", sync_create)
            self._patch(_MESSAGES, f"AsyncMessages.{method}", async_create)
        sync_stream, async_stream = stream_manager_wrappers(telemetry, operation)
        self._patch(_MESSAGES, "Messages.stream", sync_stream)
        self._patch(_MESSAGES, "AsyncMessages.stream", async_stream)
        for path, wrapper in stainless_client_patches(
            telemetry, {"/v1/messages": (operation, None)}, "anthropic", reporter
        ):
            self._patch("anthropic._base_client", path, wrapper)
