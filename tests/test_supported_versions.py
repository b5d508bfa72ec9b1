"""The supported SDK versions: an installed version outside the range is skipped with one WARNING that says why."""

from __future__ import annotations

import logging
from importlib.metadata import version

import anthropic
import openai
import pytest

from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from tests.anthropic_tests.test_messages import REQUEST, _client
from tests.openai_tests.conftest import USER_MESSAGES, make_client

PATCHING_LOGGER = "otel_agentperf.core.patching"


@pytest.mark.parametrize("skip_dep_check", [False, True], ids=["by-hand", "auto-loader"])
def test_unsupported_version_logs_one_warning(instrument, span_exporter, monkeypatch, caplog, skip_dep_check):
    """By hand and as opentelemetry-instrument loads it (skip_dep_check): one WARNING naming both versions."""
    monkeypatch.setattr(OpenAIInstrumentor, "_dependencies", ("openai >= 99",))
    with caplog.at_level(logging.DEBUG):
        instrument(OpenAIInstrumentor, skip_dep_check=skip_dep_check)
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert [record.name for record in warnings] == [PATCHING_LOGGER]
    message = warnings[0].getMessage()
    assert f"openai {version('openai')} is installed" in message
    assert "openai >= 99" in message
    make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    assert span_exporter.get_finished_spans() == ()


def test_missing_library_is_skipped_quietly(instrument, monkeypatch, caplog):
    """A library that is not installed: nothing above DEBUG."""
    monkeypatch.setattr(AnthropicInstrumentor, "_dependencies", ("anthropic-not-installed >= 1",))
    with caplog.at_level(logging.DEBUG):
        instrument(AnthropicInstrumentor)
    assert [record for record in caplog.records if record.levelno >= logging.INFO] == []


def test_installed_majors_are_supported(instrument, span_exporter):
    """The installed SDK majors are within the declared ranges (each CI environment runs this with its majors)."""
    assert openai.__version__ == version("openai")
    assert anthropic.__version__ == version("anthropic")
    instrument(OpenAIInstrumentor)
    instrument(AnthropicInstrumentor)
    make_client().chat.completions.create(model="gpt-4o-mini", messages=USER_MESSAGES)
    _client().messages.create(**REQUEST)
    assert sorted(span.attributes["gen_ai.provider.name"] for span in span_exporter.get_finished_spans()) == [
        "anthropic",
        "openai",
    ]
