"""The library and versions the cachetools instrumentor supports."""

_instruments = ("cachetools >= 5.0",)
