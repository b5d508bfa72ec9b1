"""The library and versions the tenacity instrumentor supports."""

_instruments = ("tenacity >= 8.3",)
