"""The one content policy: whether prompts, completions, tool arguments and results are recorded, and how.

Content is recorded only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` (or the ``capture_content``
keyword argument) asks for it. The mode is read once, when an instrumentor is set up or a tool is declared, never
per call. A captured string is cut to ``OTEL_AGENTPERF_CONTENT_MAX_LENGTH`` characters; any other value is written
as JSON with each text in it cut to that length, so what is recorded is always valid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from otel_agentperf import environment_variables as env
from otel_agentperf.core.settings import EVENT_ONLY, NO_CONTENT, SPAN_AND_EVENT, SPAN_ONLY, read_capture_mode, read_int

DEFAULT_MAX_LENGTH: Final = 8192
"""Characters kept of each captured text unless ``OTEL_AGENTPERF_CONTENT_MAX_LENGTH`` says otherwise."""


@dataclass(frozen=True, slots=True)
class ContentPolicy:
    """Whether content is captured, where it goes, and how long each text may be."""

    mode: str = NO_CONTENT
    max_length: int = DEFAULT_MAX_LENGTH

    @classmethod
    def resolve(cls, kwargs: Mapping[str, Any]) -> ContentPolicy:
        """The policy from ``capture_content`` / ``content_max_length`` keyword arguments, else the variables."""
        return cls(
            mode=read_capture_mode(
                env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "capture_content", kwargs.get("capture_content")
            ),
            max_length=read_int(
                env.OTEL_AGENTPERF_CONTENT_MAX_LENGTH,
                "content_max_length",
                kwargs.get("content_max_length"),
                DEFAULT_MAX_LENGTH,
                1,
            ),
        )

    @property
    def capture(self) -> bool:
        """Whether any content is captured."""
        return self.mode != NO_CONTENT

    @property
    def on_span(self) -> bool:
        """Whether captured content goes to span attributes."""
        return self.mode in (SPAN_ONLY, SPAN_AND_EVENT)

    @property
    def in_event(self) -> bool:
        """Whether captured content goes to a span event."""
        return self.mode in (EVENT_ONLY, SPAN_AND_EVENT)

    def serialise(self, value: Any) -> str:
        """``value`` as recorded: a string cut to the limit, anything else JSON with each text in it cut.

        A value JSON cannot take (keys that are tuples, a circular reference) is recorded as its ``repr``, cut.
        """
        if isinstance(value, str):
            return value[: self.max_length]
        try:
            return json.dumps(_cut_texts(value, self.max_length), ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            return repr(value)[: self.max_length]


def _cut_texts(value: Any, limit: int) -> Any:
    """``value`` with every string longer than ``limit`` cut to it."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit]
    if isinstance(value, dict):
        return {key: _cut_texts(item, limit) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cut_texts(item, limit) for item in value]
    return value
