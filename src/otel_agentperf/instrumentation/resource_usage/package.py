"""The resource-usage gauges need only psutil, a dependency of this package."""

_instruments: tuple[str, ...] = ()
