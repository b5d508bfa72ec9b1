"""Typed readers for settings: keyword argument > environment variable > default.

The rules follow the OpenTelemetry environment-variable specification: an empty value is unset, a boolean is true only
for a case-insensitive ``true``, and a value that cannot be parsed logs a warning that names the variable and falls back
to the default. A keyword argument of the wrong type or value raises :class:`ConfigurationError` at once, naming it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection

from otel_agentperf.exceptions import ConfigurationError

_logger = logging.getLogger(__name__)

NO_CONTENT = "NO_CONTENT"
SPAN_ONLY = "SPAN_ONLY"
EVENT_ONLY = "EVENT_ONLY"
SPAN_AND_EVENT = "SPAN_AND_EVENT"
CAPTURE_MODES = (NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT)


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def read_bool(env: str, kwarg: str, value: object, default: bool) -> bool:
    """Resolve a boolean setting from ``value`` (the keyword argument, ``None`` if not given) or ``env``."""
    if value is not None:
        if not isinstance(value, bool):
            raise ConfigurationError(f"Expected {kwarg} to be True or False, got {value!r}")
        return value
    text = _env(env)
    if text is None:
        return default
    if text.lower() == "true":
        return True
    if text.lower() != "false":
        _logger.warning("%s=%r is neither 'true' nor 'false'; using false", env, text)
    return False


def read_int(env: str, kwarg: str, value: object, default: int, minimum: int = 0) -> int:
    """Resolve an integer setting that must be at least ``minimum``."""
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigurationError(f"Expected {kwarg} to be an integer >= {minimum}, got {value!r}")
        return value
    text = _env(env)
    if text is None:
        return default
    try:
        parsed = int(text)
    except ValueError:
        parsed = minimum - 1
    if parsed < minimum:
        _logger.warning("%s=%r is not an integer >= %d; using %d", env, text, minimum, default)
        return default
    return parsed


def read_str(env: str, kwarg: str, value: object, default: str) -> str:
    """Resolve a non-empty string setting."""
    if value is not None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"Expected {kwarg} to be a non-empty string, got {value!r}")
        return value.strip()
    return _env(env) or default


def read_choice(env: str, kwarg: str, value: object, choices: Collection[str], default: str) -> str:
    """Resolve a setting that is one of ``choices`` (matched case-insensitively, returned upper-case)."""
    if value is not None:
        if not isinstance(value, str) or value.upper() not in choices:
            raise ConfigurationError(f"Expected {kwarg} to be one of {sorted(choices)}, got {value!r}")
        return value.upper()
    text = _env(env)
    if text is None:
        return default
    if text.upper() not in choices:
        _logger.warning("%s=%r is not one of %s; using %s", env, text, sorted(choices), default)
        return default
    return text.upper()


def read_capture_mode(env: str, kwarg: str, value: object) -> str:
    """Resolve the content-capture mode; the older boolean form (``true``/``false``, or a bool) is accepted."""
    if isinstance(value, bool):
        return SPAN_ONLY if value else NO_CONTENT
    if value is None:
        legacy = (_env(env) or "").lower()
        if legacy in ("true", "false"):
            return SPAN_ONLY if legacy == "true" else NO_CONTENT
    return read_choice(env, kwarg, value, CAPTURE_MODES, NO_CONTENT)
