"""Defensive readers for provider payloads: a field of the wrong type or shape reads as ``None``, never raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue


def field(obj: object, name: str) -> Any:
    """``obj.name`` or ``obj[name]``; ``None`` when absent."""
    if type(obj) is dict:
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None and obj is not None and isinstance(obj, Mapping):
        return obj.get(name)
    return value


def as_int(value: object) -> int | None:
    """``value`` if it is a non-negative int (not a bool), else ``None``."""
    return value if type(value) is int and value >= 0 else None


def as_number(value: object) -> float | int | None:
    """``value`` if it is an int or float (not a bool), else ``None``."""
    return value if type(value) in (int, float) else None  # type: ignore[return-value]


def as_str(value: object) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if type(value) is str and value else None


def as_str_list(value: object) -> list[str] | None:
    """A string or a list of strings as a list of strings, else ``None``."""
    if type(value) is str:
        return [value]
    if isinstance(value, (list, tuple)) and value and all(type(item) is str for item in value):
        return list(value)
    return None


def http_status(error: BaseException) -> int | None:
    """The HTTP status code an SDK's exception carries (``status_code``, or ``code`` as google-genai has it)."""
    for name in ("status_code", "code"):
        value = getattr(error, name, None)
        if type(value) is int and 100 <= value < 600:
            return value
    return None


def put(attributes: dict[str, AttributeValue], key: str, value: AttributeValue | None) -> None:
    """Set ``key`` only when ``value`` is not ``None``."""
    if value is not None:
        attributes[key] = value


_FORMAT_OUTPUT_TYPES = {"text": "text", "json_object": "json", "json_schema": "json"}


def output_type(response_format: object) -> str | None:
    """``gen_ai.output.type`` of a requested format: a class (structured output: ``json``) or a ``{"type": ...}``."""
    if isinstance(response_format, type):
        return "json"
    format_type = field(response_format, "type")
    return _FORMAT_OUTPUT_TYPES.get(format_type) if type(format_type) is str else None


def with_extra_body(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's parameters: ``kwargs`` with the entries of its ``extra_body`` over them, as the SDKs send them."""
    extra = kwargs.get("extra_body")
    if not extra or not isinstance(extra, Mapping):
        return kwargs
    return {**kwargs, **extra}
