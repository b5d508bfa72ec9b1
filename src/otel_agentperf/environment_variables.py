"""Environment variables read by otel_agentperf.

Every variable has a keyword-argument equivalent on ``instrument()``; a keyword argument wins over the variable.
An empty value counts as unset. A value that cannot be parsed logs a warning naming the variable and falls back to
the default. Booleans are true only for a case-insensitive ``true``.
"""

from __future__ import annotations

from typing import Final

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""
.. envvar:: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT

Standard GenAI variable: whether prompt and completion content is recorded. ``NO_CONTENT`` (default), ``SPAN_ONLY``
(span attributes), ``EVENT_ONLY`` (a ``gen_ai.client.inference.operation.details`` span event), ``SPAN_AND_EVENT``.
The older boolean form is accepted: ``true`` means ``SPAN_ONLY``, ``false`` means ``NO_CONTENT``.
Keyword argument: ``capture_content``.
"""

OTEL_AGENTPERF_CONTENT_MAX_LENGTH: Final = "OTEL_AGENTPERF_CONTENT_MAX_LENGTH"
"""
.. envvar:: OTEL_AGENTPERF_CONTENT_MAX_LENGTH

When content is captured, each text longer than this many characters is cut to it; the JSON that holds the texts
stays valid. Default ``8192``.
Keyword argument: ``content_max_length``.
"""

OTEL_AGENTPERF_CHUNK_GAPS: Final = "OTEL_AGENTPERF_CHUNK_GAPS"
"""
.. envvar:: OTEL_AGENTPERF_CHUNK_GAPS

LLM instrumentors: ``false`` records no ``gen_ai.client.operation.time_per_output_chunk``, whose one point per output
chunk is most of the per-chunk cost of a stream (the SDK's price of a histogram record, paid when the stream ends).
Time to first chunk and the chunk count stay. Default ``true``. Keyword argument: ``chunk_gaps``.
"""

OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE: Final = "OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE"
"""
.. envvar:: OTEL_AGENTPERF_OPENAI_STREAM_INCLUDE_USAGE

``true`` adds ``stream_options={"include_usage": True}`` to streamed chat completions that do not set it, so that
streams report token usage. The stream then ends with one extra chunk whose ``choices`` list is empty: code that reads
``chunk.choices[0]`` without a check must be ready for it. Default ``false``.
Keyword argument: ``stream_include_usage``.
"""

OTEL_AGENTPERF_CACHE_LOOKUP_DURATION: Final = "OTEL_AGENTPERF_CACHE_LOOKUP_DURATION"
"""
.. envvar:: OTEL_AGENTPERF_CACHE_LOOKUP_DURATION

Cache instrumentors: ``false`` records no ``agentperf.cache.lookup.duration`` histogram (the request counter and the
span counts stay). Default ``true``. Keyword argument: ``lookup_duration``.
"""

OTEL_AGENTPERF_RESOURCE_USAGE_PRESET: Final = "OTEL_AGENTPERF_RESOURCE_USAGE_PRESET"
"""
.. envvar:: OTEL_AGENTPERF_RESOURCE_USAGE_PRESET

Resource-usage gauges: ``basic`` (default: CPU, memory, peak memory, threads, file descriptors, GC) or ``full``
(every process instrument, plus ``system.*`` CPU and memory, and GPU gauges when NVML finds a GPU).
Keyword argument: ``preset``.
"""

OTEL_AGENTPERF_RESOURCE_USAGE_EXCLUDE: Final = "OTEL_AGENTPERF_RESOURCE_USAGE_EXCLUDE"
"""
.. envvar:: OTEL_AGENTPERF_RESOURCE_USAGE_EXCLUDE

Resource-usage gauges: comma-separated glob patterns of instrument names to leave out (``process.paging.*``).
Keyword argument: ``exclude``.
"""

OTEL_AGENTPERF_STRICT: Final = "OTEL_AGENTPERF_STRICT"
"""
.. envvar:: OTEL_AGENTPERF_STRICT

``true`` re-raises errors inside the instrumentation instead of logging them. Meant for this package's own tests;
never set it in production. Default ``false``. Keyword argument: ``strict``.
"""

OTEL_AGENTPERF_PRICES: Final = "OTEL_AGENTPERF_PRICES"
"""
.. envvar:: OTEL_AGENTPERF_PRICES

Path of a JSON price table in the format of the bundled ``otel_agentperf/prices.json``
(``{"prices": [{"provider", "model", "input", "output", "cache_read", "cache_write"}]}``, USD per million tokens). Its
rows add models to the bundled table or replace rows of it. Unlike other variables, a file that is missing or not a
valid table raises ``ConfigurationError`` at setup: costs must not silently fall back to other prices.
Keyword argument: ``prices``.
"""

OTEL_AGENTPERF_OPENAI_PROVIDER_NAME: Final = "OTEL_AGENTPERF_OPENAI_PROVIDER_NAME"
"""
.. envvar:: OTEL_AGENTPERF_OPENAI_PROVIDER_NAME

OpenAI instrumentor: ``gen_ai.provider.name`` of calls to a server that is not a known hosted service (a local vLLM,
Ollama, LM Studio, llama.cpp or TGI server, a proxy): for example ``vllm`` or ``ollama``. Known services (OpenAI,
Azure OpenAI, Groq, DeepSeek, Mistral, xAI, Perplexity, Gemini, OpenRouter, Together, Fireworks) keep their own
names. Default ``openai``. Keyword argument: ``provider_name``.
"""
