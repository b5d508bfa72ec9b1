"""Hypothesis profiles: ``quick`` (the default, in CI) and ``long`` (``make reliability``, 10,000 examples a test)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    "derandomize": False,
}
settings.register_profile("quick", max_examples=40, **_COMMON)
settings.register_profile("long", max_examples=10_000, **_COMMON)
settings.load_profile("quick")
