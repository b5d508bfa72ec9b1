"""The library and versions the OpenAI instrumentor supports."""

_instruments = ("openai >= 3.0",)
