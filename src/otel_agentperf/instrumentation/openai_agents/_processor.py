"""Adding and removing the trace processor: the SDK's processor list, reached through its public setup."""

from __future__ import annotations

from typing import Any, TypeVar

from agents.tracing import TracingProcessor, add_trace_processor, get_trace_provider

_P = TypeVar("_P")


def add(processor: _P) -> _P:
    """Register ``processor`` (duck-typed to the SDK's interface) next to the SDK's own processors."""
    TracingProcessor.register(type(processor))
    add_trace_processor(processor)  # type: ignore[arg-type]
    return processor


def remove(processor: Any) -> None:
    """Disable ``processor`` and take it off the SDK's list (the SDK has no public removal)."""
    processor.enabled = False
    multi = getattr(get_trace_provider(), "_multi_processor", None)
    processors = getattr(multi, "_processors", None)
    if isinstance(processors, tuple) and processor in processors:
        multi._processors = tuple(item for item in processors if item is not processor)  # type: ignore[union-attr]  # noqa: SLF001
