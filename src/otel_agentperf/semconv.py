"""Every attribute name, metric name, unit and bucket boundary this package emits, in one place.

Names that the OpenTelemetry semantic conventions define come from ``opentelemetry.semconv``. Names the released
conventions do not have yet are spelled here: the token-usage counters follow the GenAI conventions' draft
(``gen_ai.client.inference.usage.*``), and what no convention covers lives under ``agentperf.*``.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import cpu_attributes as _cpu
from opentelemetry.semconv._incubating.attributes import cpython_attributes as _cpython
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv._incubating.attributes import hw_attributes as _hw
from opentelemetry.semconv._incubating.attributes import mcp_attributes as _mcp
from opentelemetry.semconv._incubating.attributes import openai_attributes as _openai
from opentelemetry.semconv._incubating.attributes import process_attributes as _process
from opentelemetry.semconv._incubating.attributes import system_attributes as _system
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _gen_ai_metrics
from opentelemetry.semconv._incubating.metrics import hw_metrics as _hw_metrics
from opentelemetry.semconv._incubating.metrics import system_metrics as _system_metrics
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import server_attributes as _server
from opentelemetry.semconv.schemas import Schemas

SCHEMA_URL: Final = Schemas.V1_37_0.value

# --- GenAI span and metric attributes (semantic conventions) -------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = _gen_ai.GEN_AI_OPERATION_NAME
GEN_AI_PROVIDER_NAME: Final = _gen_ai.GEN_AI_PROVIDER_NAME
GEN_AI_REQUEST_MODEL: Final = _gen_ai.GEN_AI_REQUEST_MODEL
GEN_AI_REQUEST_MAX_TOKENS: Final = _gen_ai.GEN_AI_REQUEST_MAX_TOKENS
GEN_AI_REQUEST_TEMPERATURE: Final = _gen_ai.GEN_AI_REQUEST_TEMPERATURE
GEN_AI_REQUEST_TOP_P: Final = _gen_ai.GEN_AI_REQUEST_TOP_P
GEN_AI_REQUEST_TOP_K: Final = _gen_ai.GEN_AI_REQUEST_TOP_K
GEN_AI_REQUEST_SEED: Final = _gen_ai.GEN_AI_REQUEST_SEED
GEN_AI_REQUEST_STOP_SEQUENCES: Final = _gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY
GEN_AI_REQUEST_CHOICE_COUNT: Final = _gen_ai.GEN_AI_REQUEST_CHOICE_COUNT
GEN_AI_REQUEST_STREAM: Final = _gen_ai.GEN_AI_REQUEST_STREAM
GEN_AI_REQUEST_ENCODING_FORMATS: Final = _gen_ai.GEN_AI_REQUEST_ENCODING_FORMATS
GEN_AI_OUTPUT_TYPE: Final = _gen_ai.GEN_AI_OUTPUT_TYPE
GEN_AI_RESPONSE_ID: Final = _gen_ai.GEN_AI_RESPONSE_ID
GEN_AI_RESPONSE_MODEL: Final = _gen_ai.GEN_AI_RESPONSE_MODEL
GEN_AI_RESPONSE_FINISH_REASONS: Final = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = _gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
GEN_AI_USAGE_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
GEN_AI_USAGE_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
"""Input tokens written to the provider's prompt cache (the conventions' name; the metric keeps the draft's)."""
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = _gen_ai.GEN_AI_EMBEDDINGS_DIMENSION_COUNT
GEN_AI_TOKEN_TYPE: Final = _gen_ai.GEN_AI_TOKEN_TYPE
GEN_AI_INPUT_MESSAGES: Final = _gen_ai.GEN_AI_INPUT_MESSAGES
GEN_AI_OUTPUT_MESSAGES: Final = _gen_ai.GEN_AI_OUTPUT_MESSAGES
GEN_AI_SYSTEM_INSTRUCTIONS: Final = _gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS
OPENAI_API_TYPE: Final = _openai.OPENAI_API_TYPE
OPENAI_REQUEST_SERVICE_TIER: Final = _openai.OPENAI_REQUEST_SERVICE_TIER
OPENAI_RESPONSE_SERVICE_TIER: Final = _openai.OPENAI_RESPONSE_SERVICE_TIER
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = _openai.OPENAI_RESPONSE_SYSTEM_FINGERPRINT
SERVER_ADDRESS: Final = _server.SERVER_ADDRESS
SERVER_PORT: Final = _server.SERVER_PORT
ERROR_TYPE: Final = _error.ERROR_TYPE
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

# --- agents and tools (semantic conventions) ------------------------------------------------------------------------
GEN_AI_AGENT_NAME: Final = _gen_ai.GEN_AI_AGENT_NAME
GEN_AI_AGENT_ID: Final = _gen_ai.GEN_AI_AGENT_ID
GEN_AI_CONVERSATION_ID: Final = _gen_ai.GEN_AI_CONVERSATION_ID
GEN_AI_TOOL_NAME: Final = _gen_ai.GEN_AI_TOOL_NAME
GEN_AI_TOOL_TYPE: Final = _gen_ai.GEN_AI_TOOL_TYPE
GEN_AI_TOOL_DESCRIPTION: Final = _gen_ai.GEN_AI_TOOL_DESCRIPTION
GEN_AI_TOOL_CALL_ID: Final = _gen_ai.GEN_AI_TOOL_CALL_ID
GEN_AI_TOOL_CALL_ARGUMENTS: Final = _gen_ai.GEN_AI_TOOL_CALL_ARGUMENTS
GEN_AI_TOOL_CALL_RESULT: Final = _gen_ai.GEN_AI_TOOL_CALL_RESULT
OPERATION_INVOKE_AGENT: Final = "invoke_agent"
OPERATION_INVOKE_WORKFLOW: Final = "invoke_workflow"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
"""Name of a workflow run (GenAI conventions' draft; no released constant yet)."""
GEN_AI_INVOKE_WORKFLOW_DURATION: Final = "gen_ai.invoke_workflow.duration"
"""Histogram of workflow run durations (GenAI conventions' draft; no released constant yet)."""
GEN_AI_INVOKE_AGENT_INFERENCE_CALLS: Final = "gen_ai.invoke_agent.inference_calls"
"""Histogram of the LLM calls one agent run made (GenAI conventions' draft)."""
GEN_AI_INVOKE_AGENT_TOOL_CALLS: Final = "gen_ai.invoke_agent.tool_calls"
"""Histogram of the tool calls one agent run made (GenAI conventions' draft)."""
UNIT_INFERENCE_CALLS: Final = "{inference_call}"
UNIT_TOOL_CALLS: Final = "{tool_call}"
CALL_COUNT_BUCKETS: Final = (1, 2, 4, 8, 16, 32, 64, 128)
"""The conventions' advice for the per-run call counts."""
GEN_AI_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
"""Histogram of agent invocation durations, as the GenAI conventions' draft names it (no released constant yet)."""
GEN_AI_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
"""Histogram of tool execution durations, as the GenAI conventions' draft names it (no released constant yet)."""
MCP_METHOD_NAME: Final = _mcp.MCP_METHOD_NAME
MCP_CLIENT_OPERATION_DURATION: Final = "mcp.client.operation.duration"
"""Histogram of MCP request durations on the client side (MCP semantic conventions)."""
MCP_BUCKETS: Final = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300)
"""The MCP conventions' advice for ``mcp.*.operation.duration``."""
AGENT_BUCKETS: Final = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
"""Agent runs last longer than single LLM calls: from 0.1 s to about seven minutes."""

# --- the run summary, on the agent run's span -----------------------------------------------------------------------
AGENTPERF_RUN_PREFIX: Final = "agentperf.run."
"""Every field of a run summary goes on the run's span as ``agentperf.run.<field>``: ``llm_calls``, ``input_tokens``,
``output_tokens``, ``cache_read_tokens``, ``cache_write_tokens``, ``tool_calls``, ``cache_hits``,
``cache_misses``, ``retries``, ``errors``, ``duration`` (s), ``cpu_time`` (s, process-wide), ``peak_memory_growth``
(bytes, process-wide), the time split ``llm_time``, ``tool_time``, ``backoff_time``, ``other_time`` (s), ``end``
(``completed``, ``error``, ``closed``, ``interrupted``), and when defined ``cache_hit_rate`` and
``prompt_cache_hit_rate`` (0 to 1)."""
RUN_END_COMPLETED: Final = "completed"
RUN_END_ERROR: Final = "error"
RUN_END_CLOSED: Final = "closed"
"""A run over a generator (a streamed graph run, an ``@agent`` generator) that its consumer closed before its end."""
RUN_END_CANCELLED: Final = "cancelled"
"""A framework run (a LangGraph stream) whose task was cancelled."""
RUN_END_INTERRUPTED: Final = "interrupted"
"""A run a framework paused for human input (a LangGraph interrupt); resuming it is a new run, linked to this one."""

TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"
ERROR_TYPE_OTHER: Final = "_OTHER"
ERROR_TYPE_TOOL_ERROR: Final = "tool_error"
"""``error.type`` of a tool call whose result reports a failure although nothing was raised."""
CONTENT_EVENT_NAME: Final = "gen_ai.client.inference.operation.details"
"""Span event that carries captured content in the ``EVENT_ONLY`` and ``SPAN_AND_EVENT`` modes."""

# --- gen_ai.provider.name values (the conventions' well-known names) ------------------------------------------------
PROVIDER_GCP_GEMINI: Final = _gen_ai.GenAiProviderNameValues.GCP_GEMINI.value
PROVIDER_GCP_VERTEX_AI: Final = _gen_ai.GenAiProviderNameValues.GCP_VERTEX_AI.value
PROVIDER_AWS_BEDROCK: Final = _gen_ai.GenAiProviderNameValues.AWS_BEDROCK.value
PROVIDER_AZURE_AI_OPENAI: Final = _gen_ai.GenAiProviderNameValues.AZURE_AI_OPENAI.value
PROVIDER_GROQ: Final = _gen_ai.GenAiProviderNameValues.GROQ.value
PROVIDER_DEEPSEEK: Final = _gen_ai.GenAiProviderNameValues.DEEPSEEK.value
PROVIDER_MISTRAL_AI: Final = _gen_ai.GenAiProviderNameValues.MISTRAL_AI.value
PROVIDER_X_AI: Final = _gen_ai.GenAiProviderNameValues.X_AI.value
PROVIDER_PERPLEXITY: Final = _gen_ai.GenAiProviderNameValues.PERPLEXITY.value

# --- agentperf attributes (no convention covers these) -------------------------------------------------------------
AGENTPERF_RUN_RESUMES: Final = "agentperf.run.resumes"
"""Link attribute (true) on the link from a resumed run to the run that was interrupted."""
AGENTPERF_NODE_NAME: Final = "agentperf.node.name"
"""Graph node span attribute: the node's name in its graph."""
AGENTPERF_NODE_STEP: Final = "agentperf.node.step"
"""Graph node span attribute: the graph's step number in which the node ran (LangGraph's ``langgraph_step``)."""
AGENTPERF_NODE_TYPE: Final = "agentperf.node.type"
"""Graph node span attribute: ``tool`` (the node executed tools), ``model`` (it called an LLM and no tool) or
``function`` (neither)."""
AGENTPERF_NODE_INTERRUPTED: Final = "agentperf.node.interrupted"
"""Graph node span attribute: true when the node paused the graph for human input (``interrupt()``)."""
AGENTPERF_GUARDRAIL_NAME: Final = "agentperf.guardrail.name"
"""Guardrail span attribute: the guardrail's name."""
AGENTPERF_GUARDRAIL_TRIGGERED: Final = "agentperf.guardrail.triggered"
"""Guardrail span attribute: whether the guardrail tripped (stopped the run)."""
NODE_TYPE_TOOL: Final = "tool"
NODE_TYPE_MODEL: Final = "model"
NODE_TYPE_FUNCTION: Final = "function"
AGENTPERF_RETRY_COUNT: Final = "agentperf.retry.count"
"""Span attribute: retries made while this span was current, by any source (absent when there were none)."""
AGENTPERF_RETRY_BACKOFF_TIME: Final = "agentperf.retry.backoff_time"
"""Span attribute: seconds this operation spent waiting between retries, apart from time spent in requests."""
AGENTPERF_RETRY_ATTEMPT: Final = "agentperf.retry.attempt"
"""Retry event and metric attribute: the number of the retry, 1 for the first one."""
AGENTPERF_RETRY_DELAY: Final = "agentperf.retry.delay"
"""Retry event attribute: seconds waited before this retry."""
AGENTPERF_RETRY_SOURCE: Final = "agentperf.retry.source"
"""Retry metric attribute: what retried (``openai`` for the openai SDK's own retry loop, ``tenacity``, ...)."""
AGENTPERF_USAGE_TOOL_USE_PROMPT_TOKENS: Final = "agentperf.usage.tool_use_prompt_tokens"
"""Span attribute (Google Gen AI): prompt tokens of built-in tool results (Google Search, code execution), also
counted in ``gen_ai.usage.input_tokens``."""
AGENTPERF_RETRY_EVENT: Final = "agentperf.retry"
"""Span event recorded for each retry."""
AGENTPERF_FALLBACK_EVENT: Final = "agentperf.fallback"
"""Span event (LiteLLM Router): the call moves on to a fallback model, named by ``gen_ai.request.model`` on the
event; the span's ``gen_ai.response.model`` names the model that answered. The GenAI conventions name no fallback."""
AGENTPERF_STREAM_CHUNKS: Final = "agentperf.stream.chunk_count"
"""Span attribute on streams: how many output chunks the caller received."""
AGENTPERF_STREAM_END: Final = "agentperf.stream.end"
"""Span attribute on streams: how the stream ended: ``completed``, ``closed`` (by the caller before its end),
``abandoned`` (garbage-collected before its end) or ``error``."""

# --- metrics -------------------------------------------------------------------------------------------------------
GEN_AI_CLIENT_TOKEN_USAGE: Final = _gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE
GEN_AI_CLIENT_OPERATION_DURATION: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION
GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK
GEN_AI_CLIENT_TIME_PER_OUTPUT_CHUNK: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK
GEN_AI_CLIENT_CACHE_READ_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
"""Counter of prompt tokens served from the provider's prompt cache (GenAI conventions' draft name)."""
GEN_AI_CLIENT_CACHE_WRITE_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
"""Counter of prompt tokens written to the provider's prompt cache (GenAI conventions' draft name)."""
AGENTPERF_RETRIES: Final = "agentperf.retries"
"""Counter of retries, by source, error type and attempt number."""
AGENTPERF_RETRY_BACKOFF_DURATION: Final = "agentperf.retry.backoff.duration"
"""Histogram of the seconds waited before each retry."""

AGENTPERF_DEFERRED_POINTS_DROPPED: Final = "agentperf.deferred_points.dropped"
"""Counter of metric points dropped because the queue of points recorded off the caller's path (a stream's chunk
gaps, recorded at the next collection) was full."""

UNIT_SECONDS: Final = "s"
UNIT_POINTS: Final = "{point}"
UNIT_TOKENS: Final = "{token}"
UNIT_RETRIES: Final = "{retry}"

TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
CHUNK_BUCKETS: Final = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
)  # fmt: skip
"""Finer than DURATION_BUCKETS at the low end, where gaps between stream chunks lie."""

# --- application caches and retry libraries ------------------------------------------------------------------------
AGENTPERF_CACHE_REQUESTS: Final = "agentperf.cache.requests"
"""Counter of cache lookups, by cache name, system and result (one per key of a multi-key lookup)."""
AGENTPERF_CACHE_LOOKUP_DURATION: Final = "agentperf.cache.lookup.duration"
"""Histogram of the seconds one lookup call took (one point per call, whatever its number of keys)."""
AGENTPERF_CACHE_RESULT: Final = "agentperf.cache.result"
"""Cache metric attribute: ``hit`` or ``miss``."""
AGENTPERF_CACHE_NAME: Final = "agentperf.cache.name"
"""Cache metric attribute: which cache (a name given to it, else its class or function name)."""
AGENTPERF_CACHE_SYSTEM: Final = "agentperf.cache.system"
"""Cache metric attribute: the library (``cachetools``, ``functools``, ``redis``, ``diskcache``)."""
AGENTPERF_CACHE_HITS: Final = "agentperf.cache.hits"
"""Span attribute: cache hits seen while the span was current."""
AGENTPERF_CACHE_MISSES: Final = "agentperf.cache.misses"
"""Span attribute: cache misses seen while the span was current."""
CACHE_RESULT_HIT: Final = "hit"
CACHE_RESULT_MISS: Final = "miss"
RETRY_ERROR_RESULT: Final = "result"
"""``error.type`` of a retry made because of the returned value (a predicate), not an exception."""
RETRY_SOURCE_TENACITY: Final = "tenacity"
RETRY_SOURCE_BACKOFF: Final = "backoff"
RETRY_SOURCE_GOOGLE_GENAI: Final = "google_genai"
"""The Google Gen AI SDK's own retries (``HttpRetryOptions``)."""
RETRY_SOURCE_BOTOCORE: Final = "botocore"
"""botocore's own retries (legacy, standard and adaptive modes)."""
CACHE_SYSTEM_LITELLM: Final = "litellm"
"""``agentperf.cache.system`` of LiteLLM's response cache (``litellm.cache = litellm.Cache(...)``)."""
RETRY_SOURCE_LITELLM: Final = "litellm"
"""LiteLLM's own retries: ``num_retries`` of ``completion()``, and the Router's retries and fallbacks."""
UNIT_REQUESTS: Final = "{request}"
CACHE_LOOKUP_BUCKETS: Final = (
    0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
"""From 1 µs (an in-process lookup) through tens of µs (a SQLite-backed diskcache) to the 0.1-10 ms of a Redis round
trip, and a tail up to one second for a Redis server under load or far away."""

# --- resource usage (what the process conventions do not cover) ----------------------------------------------------
AGENTPERF_PROCESS_MEMORY_PEAK: Final = "agentperf.process.memory.peak"
"""Gauge, bytes: the process's peak resident set size since it started (``getrusage`` ``ru_maxrss``)."""
AGENTPERF_CPYTHON_GC_PAUSE_TIME: Final = "agentperf.cpython.gc.pause.time"
"""Counter, seconds: total time spent in garbage collections, measured through ``gc.callbacks``."""

# --- cost (the GenAI conventions' cost proposal, semantic-conventions-genai #443) ------------------------------------
GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
"""Span attribute (double): what the call cost, computed from its token counts and an offline price table."""
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
"""Span attribute: ISO 4217 code of ``gen_ai.usage.cost.amount``; always ``USD`` here."""
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"
"""Span attribute: ``local`` (computed by this package) or ``provider`` (reported in the response)."""
COST_CURRENCY_USD: Final = "USD"
COST_SOURCE_LOCAL: Final = "local"
AGENTPERF_CLIENT_COST: Final = "agentperf.client.cost"
"""Counter (observed), USD: the cost of LLM calls, with the attributes of their duration metric (the cost proposal
names no metric yet). Calls of a model that is in no price table add nothing."""
AGENTPERF_CLIENT_COST_CACHE_SAVINGS: Final = "agentperf.client.cost.cache_savings"
"""Counter (observed), USD: what the prompt-cache reads of LLM calls saved,
``cache_read_tokens x (input - cache_read price)``; the premium paid for cache writes is not subtracted."""
UNIT_USD: Final = "{USD}"
"""Currency as a UCUM annotation, so that Prometheus names stay ``agentperf_client_cost_total``."""

# --- rate limits (read from the provider's response headers) -------------------------------------------------------
RATE_LIMIT_KINDS: Final = ("requests", "tokens", "input_tokens", "output_tokens")
"""What a provider limits: OpenAI reports ``requests`` and ``tokens``; Anthropic all four."""
AGENTPERF_RATE_LIMIT_PREFIX: Final = "agentperf.rate_limit."
"""Span attributes ``agentperf.rate_limit.<kind>.limit`` (int), ``.remaining`` (int) and ``.reset`` (seconds until
the limit resets, float), for each kind of RATE_LIMIT_KINDS the response reported."""
AGENTPERF_RATE_LIMIT_RETRY_AFTER: Final = "agentperf.rate_limit.retry_after"
"""Span attribute: seconds the provider asked the client to wait (``retry-after-ms`` or ``retry-after``)."""
AGENTPERF_RATE_LIMIT_KIND: Final = "agentperf.rate_limit.kind"
"""Metric attribute: one of RATE_LIMIT_KINDS."""
AGENTPERF_RATE_LIMIT_HEADROOM: Final = "agentperf.rate_limit.headroom"
"""Gauge, ratio 0-1: ``remaining / limit`` of the last response, by provider, request model and kind. A ratio (not
a count) so that one threshold fits every kind and tier; the last value stays until the process ends."""
AGENTPERF_RATE_LIMIT_REJECTIONS: Final = "agentperf.rate_limit.rejections"
"""Counter of HTTP 429 responses, by provider and request model (each attempt of a retried call counts)."""
AGENTPERF_RATE_LIMIT_RETRY_AFTER_DURATION: Final = "agentperf.rate_limit.retry_after.duration"
"""Histogram, seconds: the wait a 429 response asked for, by provider and request model."""
RETRY_AFTER_BUCKETS: Final = (0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
"""From the milliseconds of ``retry-after-ms`` to the minutes of a per-minute token limit."""
UNIT_RATIO: Final = "1"
UNIT_RESPONSES: Final = "{response}"

CPU_MODE: Final = _cpu.CPU_MODE
PROCESS_CONTEXT_SWITCH_TYPE: Final = _process.PROCESS_CONTEXT_SWITCH_TYPE
PROCESS_PAGING_FAULT_TYPE: Final = _process.PROCESS_PAGING_FAULT_TYPE
CPYTHON_GC_GENERATION: Final = _cpython.CPYTHON_GC_GENERATION
SYSTEM_MEMORY_STATE: Final = _system.SYSTEM_MEMORY_STATE
SYSTEM_CPU_UTILIZATION: Final = _system_metrics.SYSTEM_CPU_UTILIZATION
SYSTEM_MEMORY_USAGE: Final = _system_metrics.SYSTEM_MEMORY_USAGE
SYSTEM_MEMORY_UTILIZATION: Final = _system_metrics.SYSTEM_MEMORY_UTILIZATION
HW_ID: Final = _hw.HW_ID
HW_TYPE: Final = _hw.HW_TYPE
HW_GPU_UTILIZATION: Final = _hw_metrics.HW_GPU_UTILIZATION
HW_GPU_MEMORY_USAGE: Final = _hw_metrics.HW_GPU_MEMORY_USAGE
HW_GPU_MEMORY_LIMIT: Final = _hw_metrics.HW_GPU_MEMORY_LIMIT
