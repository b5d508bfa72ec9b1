"""The library and versions the LiteLLM instrumentor supports."""

_instruments = ("litellm >= 1.110",)
