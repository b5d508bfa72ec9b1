"""The core that every integration is built on; adapters under ``otel_agentperf.instrumentation`` hold the rest.

==================  ==================================================================================================
module              what it holds
==================  ==================================================================================================
``lifecycle``       the one span lifecycle (:class:`~lifecycle.Operation`) and the one ``error.type`` function
``content``         the one content policy (capture mode read once, each text cut, valid JSON always)
``instruments``     the one instrument factory (per meter: names, units, descriptions, buckets; observables)
``tally``           the per-run tally every integration feeds (``agent_run()`` reads it)
``guard``           the error reporter that keeps telemetry failures out of the user's program
``settings``        typed readers for keyword arguments and environment variables
``patching``        the instrumentor base class: dependency check, owned patches, exact restore
``decorate``        decorators for sync, async and generator functions (``@tool``, ``@agent``)
``provider``        the provider contract: ``LLMOperation``, the typed ``LLMResult``, Stainless-style defaults
``llm``             an LLM call's lifecycle (span, metrics, stream chunk gaps, run tally) and its settings
``llm_wrappers``    the guarded three-phase wrappers of LLM methods; ``streams``: the stream proxies
``attribute_sets``  attribute sets built once per client and model
``tool_execution``  a tool call's lifecycle; ``retries``: retry recording and the SDK retry hook
``caches``          cache-lookup recording; ``values``: defensive readers of payloads; ``process``: process facts
==================  ==================================================================================================

Nothing here imports an instrumented library. Public modules (``runs``, ``tools``, ``sdk``) build on these modules
only, never on an adapter.
"""
