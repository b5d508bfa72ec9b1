"""Settings follow the OpenTelemetry environment-variable rules; bad keyword arguments fail at setup."""

from __future__ import annotations

import logging

import pytest

from otel_agentperf import ConfigurationError
from otel_agentperf.core.settings import read_bool, read_capture_mode, read_int
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor

VAR = "OTEL_AGENTPERF_TEST_SETTING"


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("TRUE", True), ("false", False), ("", False)])
def test_booleans_are_true_only_for_true(monkeypatch, text, expected):
    monkeypatch.setenv(VAR, text)
    assert read_bool(VAR, "setting", None, False) is expected


def test_unparsable_boolean_warns_and_is_false(monkeypatch, caplog):
    monkeypatch.setenv(VAR, "yes")
    with caplog.at_level(logging.WARNING):
        assert read_bool(VAR, "setting", None, True) is False
    assert VAR in caplog.text


def test_keyword_argument_beats_environment(monkeypatch):
    monkeypatch.setenv(VAR, "false")
    assert read_bool(VAR, "setting", True, False) is True


def test_invalid_integer_warns_and_uses_default(monkeypatch, caplog):
    monkeypatch.setenv(VAR, "-3")
    with caplog.at_level(logging.WARNING):
        assert read_int(VAR, "setting", None, 8192, minimum=1) == 8192
    assert f"{VAR}='-3'" in caplog.text


@pytest.mark.parametrize(
    ("text", "mode"),
    [("true", "SPAN_ONLY"), ("false", "NO_CONTENT"), ("span_and_event", "SPAN_AND_EVENT"), ("", "NO_CONTENT")],
)
def test_capture_mode_accepts_modes_and_the_boolean_form(monkeypatch, text, mode):
    monkeypatch.setenv(VAR, text)
    assert read_capture_mode(VAR, "capture_content", None) == mode


def test_unknown_capture_mode_warns_and_captures_nothing(monkeypatch, caplog):
    monkeypatch.setenv(VAR, "EVERYTHING")
    with caplog.at_level(logging.WARNING):
        assert read_capture_mode(VAR, "capture_content", None) == "NO_CONTENT"
    assert VAR in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capture_content": "ALL"}, "capture_content"),
        ({"content_max_length": 0}, "content_max_length"),
        ({"stream_include_usage": "yes"}, "stream_include_usage"),
        ({"prices": 42}, "prices"),
        ({"prices": "/nonexistent/prices.json"}, "prices"),
    ],
)
def test_bad_keyword_arguments_fail_at_instrument_time(instrument, kwargs, message):
    """A wrong keyword argument raises ConfigurationError naming it, and nothing is patched."""
    import openai.resources.chat.completions as completions

    before = completions.Completions.__dict__["create"]
    with pytest.raises(ConfigurationError, match=message):
        instrument(OpenAIInstrumentor, **kwargs)
    assert completions.Completions.__dict__["create"] is before
