"""Auto-instrumentors, one subpackage per instrumented library.

===================  ===============================================================  ================
entry point          instrumentor                                                     library
===================  ===============================================================  ================
agentperf_openai     ``otel_agentperf.instrumentation.openai.OpenAIInstrumentor``       openai >= 3.0
agentperf_anthropic  ``otel_agentperf.instrumentation.anthropic.AnthropicInstrumentor``  anthropic >= 2.0
===================  ===============================================================  ================

This package imports nothing: import an instrumentor from its subpackage.
"""
