"""Settings that every LLM instrumentor reads the same way."""

from __future__ import annotations

from typing import Any

from otel_agentperf import environment_variables as env
from otel_agentperf._config import read_bool, read_capture_mode, read_int
from otel_agentperf.instrumentation._operation import LLMSettings


def resolve_llm_settings(kwargs: dict[str, Any], **provider_settings: Any) -> LLMSettings:
    """The shared LLM settings from keyword arguments, then environment variables, then defaults."""
    return LLMSettings(
        capture_mode=read_capture_mode(
            env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "capture_content", kwargs.get("capture_content")
        ),
        content_max_length=read_int(
            env.OTEL_AGENTPERF_CONTENT_MAX_LENGTH, "content_max_length", kwargs.get("content_max_length"), 8192, 1
        ),
        chunk_gaps=read_bool(env.OTEL_AGENTPERF_CHUNK_GAPS, "chunk_gaps", kwargs.get("chunk_gaps"), True),
        **provider_settings,
    )
