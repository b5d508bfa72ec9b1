"""What a provider module supplies to the LLM core: its settings, and one operation object per instrumented method.

An operation reads requests, responses and stream chunks into an :class:`LLMInvocation`; it holds no telemetry code.
:class:`SDKClientOperation` holds what every operation of an httpx-based SDK client shares.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from otel_agentperf import semconv
from otel_agentperf._config import EVENT_ONLY, NO_CONTENT, SPAN_AND_EVENT, SPAN_ONLY
from otel_agentperf.instrumentation._attribute_sets import Attributes, SamplingAttributes
from otel_agentperf.instrumentation._values import as_int, as_str, field, put

if TYPE_CHECKING:
    from otel_agentperf.instrumentation._llm import LLMInvocation

_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class LLMSettings:
    """Settings resolved once at ``instrument()`` time and shared by every wrapper of an instrumentor."""

    capture_mode: str = NO_CONTENT
    content_max_length: int = 8192
    stream_include_usage: bool = False
    chunk_gaps: bool = True
    """Whether streams record ``time_per_output_chunk`` (one point per output chunk after the first)."""
    capture_content: bool = dataclasses.field(init=False)
    """Whether any content is captured (derived from ``capture_mode``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "capture_content", self.capture_mode != NO_CONTENT)

    @property
    def capture_on_span(self) -> bool:
        """Whether captured content goes to span attributes."""
        return self.capture_mode in (SPAN_ONLY, SPAN_AND_EVENT)

    @property
    def capture_in_event(self) -> bool:
        """Whether captured content goes to a span event."""
        return self.capture_mode in (EVENT_ONLY, SPAN_AND_EVENT)


class LLMOperation(Protocol):
    """What a provider module tells the core about one instrumented method."""

    name: str
    """``gen_ai.operation.name``: ``chat``, ``embeddings``, ..."""

    def sampling_attributes(self, instance: Any, kwargs: Mapping[str, Any]) -> Attributes:
        """Operation, provider, request model and server address/port: given at span start and on every metric."""

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        """Further request attributes (temperature, max tokens, ...); called only for recording spans."""

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Prompt content attributes (JSON-serialisable values); called only when content capture is on."""

    def is_stream(self, kwargs: Mapping[str, Any], result: object) -> bool:
        """Whether ``result`` is a stream to wrap."""

    def read_response(self, invocation: LLMInvocation, response: object) -> None:
        """Fill ``invocation`` from a complete response."""

    def read_chunk(self, invocation: LLMInvocation, chunk: object) -> bool:
        """Fill ``invocation`` from one stream chunk; return whether it carried output."""


class SDKClientOperation:
    """The defaults of an operation on a resource of an httpx-based SDK client (``instance._client.base_url``).

    Subclasses set ``name`` and ``provider`` and override the readers they need.
    """

    name = "chat"
    provider = ""

    def __init__(self, stream_types: tuple[type, ...]) -> None:
        self._stream_types = stream_types
        self._sampling = client_sampling_attributes(self.name, self.provider)

    def sampling_attributes(self, instance: Any, kwargs: Mapping[str, Any]) -> Attributes:
        """Built once per client and model (see :class:`SamplingAttributes`)."""
        return self._sampling.get(getattr(getattr(instance, "_client", None), "base_url", None), kwargs.get("model"))

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        """No request attributes beyond the sampling ones."""
        return {}

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """No prompt content."""
        return {}

    def is_stream(self, kwargs: Mapping[str, Any], result: object) -> bool:
        """Whether ``result`` is one of the SDK's stream classes."""
        return isinstance(result, self._stream_types)

    def read_response(self, invocation: LLMInvocation, response: object) -> None:
        """Read the response id and model."""
        invocation.response_id = as_str(getattr(response, "id", None))
        invocation.response_model = as_str(getattr(response, "model", None))

    def read_chunk(self, invocation: LLMInvocation, chunk: object) -> bool:
        """No chunk carries output."""
        return False


def client_sampling_attributes(operation: str, provider: str) -> SamplingAttributes:
    """A cache of the sampling attributes of calls made by SDK clients whose ``base_url`` is an httpx-style URL."""

    def build(url: object, model: object) -> Attributes:
        return client_attributes(operation, provider, model, url)

    return SamplingAttributes(build)


def client_attributes(operation: str, provider: str, model: object, url: object) -> Attributes:
    """Operation, provider, request model, and server address and port from an httpx-style ``url``."""
    attributes: Attributes = {semconv.GEN_AI_OPERATION_NAME: operation, semconv.GEN_AI_PROVIDER_NAME: provider}
    put(attributes, semconv.GEN_AI_REQUEST_MODEL, as_str(model))
    host = as_str(field(url, "host"))
    if host is not None:
        attributes[semconv.SERVER_ADDRESS] = host
        port = as_int(field(url, "port"))
        attributes[semconv.SERVER_PORT] = port if port is not None else _DEFAULT_PORTS.get(field(url, "scheme"), 443)
    return attributes
