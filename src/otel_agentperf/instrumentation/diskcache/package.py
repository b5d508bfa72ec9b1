"""The library and versions the diskcache instrumentor supports."""

_instruments = ("diskcache >= 5.0",)
