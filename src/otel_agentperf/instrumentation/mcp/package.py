"""The library and versions the MCP client instrumentor supports."""

_instruments = ("mcp >= 2.0",)
