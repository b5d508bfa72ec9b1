"""Attribute sets built once and reused: a client's calls share the same sampling and metric attributes.

Every call of one client with one model starts its span with the same five attributes and records its metrics with
the same few attribute sets, so they are built on the first call and looked up afterwards. The sets are read-only
once built (the SDK copies what it keeps). Entries are keyed by object identity and checked against the object they
were built from, so a recycled ``id()`` can never return a stale set; the caches are cleared when they grow past a
bound, which only happens with many clients or models.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv

Attributes = dict[str, AttributeValue]

_MAX_ENTRIES = 512


class SamplingAttributes:
    """The span-start (and base metric) attributes per (client base URL, model, provider)."""

    __slots__ = ("_build", "_entries")

    def __init__(self, build: Callable[[object, object, str], Attributes]) -> None:
        self._build = build
        self._entries: dict[tuple[int, object, str], tuple[object, Attributes]] = {}

    def get(self, url: object, model: object, provider: str) -> Attributes:
        """The attributes of a call to ``url`` with ``model``, built by ``build(url, model, provider)`` once."""
        key = (id(url), model if type(model) is str else None, provider)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is url:
            return entry[1]
        attributes = self._build(url, model, provider)
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (url, attributes)
        return attributes


class MetricAttributes:
    """The metric attribute sets of a successful call: duration, input tokens, output tokens."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str | None], tuple[Attributes, tuple[Attributes, Attributes, Attributes]]] = {}

    def get(self, base: Attributes, response_model: str | None) -> tuple[Attributes, Attributes, Attributes]:
        """(duration, input tokens, output tokens) attribute sets for ``base`` plus the response model."""
        key = (id(base), response_model)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is base:
            return entry[1]
        sets = derive(base, response_model, None)
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (base, sets)
        return sets


def derive(base: Attributes, response_model: str | None, error_type: str | None) -> tuple[Any, Any, Any]:
    """Build the (duration, input tokens, output tokens) attribute sets."""
    attributes = dict(base)
    if response_model is not None:
        attributes[semconv.GEN_AI_RESPONSE_MODEL] = response_model
    if error_type is not None:
        attributes[semconv.ERROR_TYPE] = error_type
    return (
        attributes,
        {**attributes, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_INPUT},
        {**attributes, semconv.GEN_AI_TOKEN_TYPE: semconv.TOKEN_TYPE_OUTPUT},
    )
