"""The library and versions the OpenAI Agents SDK instrumentor supports."""

_instruments = ("openai-agents >= 0.3",)
