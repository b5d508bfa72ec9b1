"""The library and versions the Anthropic instrumentor supports."""

_instruments = ("anthropic >= 0.120, < 3",)
