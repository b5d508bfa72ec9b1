"""The library and versions the Anthropic instrumentor supports."""

_instruments = ("anthropic >= 2.0",)
