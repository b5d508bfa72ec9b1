"""Adapters, one subpackage per instrumented library; each holds only what is specific to its library.

The shared machinery (span lifecycle, content policy, instruments, run tally, patching) is in ``otel_agentperf.core``.
``CONTRIBUTING.md`` has the recipe for adding one.

========================  ==============================================================  =====================
entry point               instrumentor (``otel_agentperf.instrumentation.…``)             library
========================  ==============================================================  =====================
agentperf_openai          ``openai.OpenAIInstrumentor``                                   openai >= 2.0, < 4
agentperf_anthropic       ``anthropic.AnthropicInstrumentor``                             anthropic >= 0.120, < 3
agentperf_google_genai    ``google_genai.GoogleGenAIInstrumentor``                        google-genai >= 2.0
agentperf_bedrock         ``bedrock.BedrockInstrumentor``                                 botocore >= 1.40
agentperf_litellm         ``litellm.LiteLLMInstrumentor`` (every provider, Router)        litellm >= 1.110
agentperf_mcp             ``mcp.MCPInstrumentor``                                         mcp >= 2.0
agentperf_langchain       ``langchain.LangChainToolsInstrumentor`` (tools, LangGraph)     langchain-core >= 0.3
agentperf_openai_agents   ``openai_agents.OpenAIAgentsInstrumentor``                      openai-agents >= 0.3
agentperf_cachetools      ``cachetools.CachetoolsInstrumentor``                           cachetools >= 5.0
agentperf_redis           ``redis.RedisCacheInstrumentor``                                redis >= 5.0
agentperf_diskcache       ``diskcache.DiskcacheInstrumentor``                             diskcache >= 5.0
agentperf_tenacity        ``tenacity.TenacityInstrumentor``                               tenacity >= 8.3
agentperf_backoff         ``backoff.BackoffInstrumentor``                                 backoff >= 2.0
agentperf_resource_usage  ``resource_usage.ResourceUsageInstrumentor``                    (psutil)
(none: opt-in)            ``functools_cache.instrument_cache``                            functools
========================  ==============================================================  =====================

This package imports nothing: import an instrumentor from its subpackage.
"""
