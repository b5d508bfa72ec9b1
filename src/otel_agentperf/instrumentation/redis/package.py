"""The library and versions the Redis cache instrumentor supports."""

_instruments = ("redis >= 5.0",)
