"""The distribution's version, also used as the instrumentation-scope version."""

__version__ = "0.1.0"
