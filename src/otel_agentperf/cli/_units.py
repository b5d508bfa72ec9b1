"""Numbers for people: ``173 MiB``, ``1.24 s``, ``850 ms``, ``12,345``, ``42.0%``, ``$0.0123``.

Only the command line's output is formatted; the OTLP data keeps its base units.
"""

from __future__ import annotations

import math

_BINARY_PREFIXES = ("B", "KiB", "MiB", "GiB", "TiB")


def seconds(value: float | None) -> str:
    """A duration with a unit that keeps about three significant digits."""
    if value is None:
        return "-"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f} s"
    if size >= 1:
        return f"{value:.2f} s"
    if size >= 0.001:
        return f"{value * 1e3:.0f} ms" if size >= 0.1 else f"{value * 1e3:.1f} ms"
    if size == 0:
        return "0 s"
    return f"{value * 1e6:.0f} µs"


def data_size(value: float | None) -> str:
    """Bytes in binary units: ``173 MiB``."""
    if value is None:
        return "-"
    size = float(value)
    for prefix in _BINARY_PREFIXES:
        if abs(size) < 1024 or prefix == _BINARY_PREFIXES[-1]:
            return f"{size:.0f} {prefix}" if prefix == "B" or abs(size) >= 100 else f"{size:.1f} {prefix}"
        size /= 1024
    raise AssertionError("unreachable")


def count(value: float | None) -> str:
    """An integer count with thousands separators."""
    return "-" if value is None else f"{value:,.0f}"


def ratio(value: float | None) -> str:
    """A share as a percentage."""
    return "-" if value is None else f"{value:.1%}"


def money(value: float | None) -> str:
    """US dollars, with more digits for small amounts."""
    if value is None:
        return "-"
    if abs(value) >= 10:
        return f"${value:,.2f}"
    if value == 0 or abs(value) >= 0.001:
        return f"${value:.4f}"
    return f"${value:.{min(1 - math.floor(math.log10(abs(value))), 10)}f}"  # two significant digits: $0.000038


def rate(value: float | None, unit: str) -> str:
    """A rate such as tokens per second."""
    return "-" if value is None else f"{value:,.0f} {unit}"
