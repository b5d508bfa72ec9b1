"""The library and versions the Google Gen AI instrumentor supports."""

_instruments = ("google-genai >= 2.0",)
