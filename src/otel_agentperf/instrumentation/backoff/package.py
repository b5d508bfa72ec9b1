"""The library and versions the backoff instrumentor supports."""

_instruments = ("backoff >= 2.0",)
