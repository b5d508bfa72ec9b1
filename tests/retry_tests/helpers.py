"""Readers for the retry metrics and events, and a flaky callable to retry."""

from __future__ import annotations

from collections import Counter

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.helpers import points


def retries(reader: InMemoryMetricReader) -> Counter[tuple[str, str]]:
    """``agentperf.retries`` as {(source, error.type): count}."""
    found: Counter[tuple[str, str]] = Counter()
    for point in points(reader, "agentperf.retries"):
        attributes = point.attributes
        assert "agentperf.retry.attempt" not in attributes  # a per-call number: on the span event only
        key = (attributes["agentperf.retry.source"], attributes["error.type"])
        found[key] += point.value
    return found


def backoff_sum(reader: InMemoryMetricReader) -> float:
    """Total seconds recorded in ``agentperf.retry.backoff.duration``."""
    return sum(point.sum for point in points(reader, "agentperf.retry.backoff.duration"))


class Flaky:
    """Fails with ``error`` the first ``failures`` calls, then returns ``"ok"``."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.__name__ = "flaky"  # backoff logs the name of what it retries

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "ok"
