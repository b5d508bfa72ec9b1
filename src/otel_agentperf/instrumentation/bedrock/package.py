"""The library and versions the Bedrock Runtime instrumentor supports."""

_instruments = ("botocore >= 1.40",)
