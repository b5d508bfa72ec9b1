"""Readers for the cache metrics."""

from __future__ import annotations

from collections import Counter

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.helpers import points

_KEYS = ("agentperf.cache.name", "agentperf.cache.system", "agentperf.cache.result")


def lookups(reader: InMemoryMetricReader) -> Counter[tuple[str, str, str]]:
    """``agentperf.cache.requests`` as {(cache name, system, result): count}."""
    found: Counter[tuple[str, str, str]] = Counter()
    for point in points(reader, "agentperf.cache.requests"):
        found[tuple(point.attributes[key] for key in _KEYS)] += point.value
    return found


def duration_count(reader: InMemoryMetricReader) -> int:
    """How many lookups ``agentperf.cache.lookup.duration`` recorded."""
    return sum(point.count for point in points(reader, "agentperf.cache.lookup.duration"))
