"""The library and versions the OpenAI instrumentor supports."""

_instruments = ("openai >= 2.0, < 4",)
