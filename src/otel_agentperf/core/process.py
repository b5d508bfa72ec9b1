"""Facts about the current process that several modules read."""

from __future__ import annotations

import sys


def peak_rss() -> int | None:
    """The process's peak resident set size in bytes, or ``None`` where ``getrusage`` is missing (Windows)."""
    try:
        import resource  # noqa: PLC0415 - not on Windows
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # bytes on macOS, KiB elsewhere
