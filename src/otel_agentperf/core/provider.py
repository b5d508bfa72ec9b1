"""The provider contract: what an LLM provider adapter supplies to the LLM core, and what it gets back.

An adapter (``instrumentation/<provider>/``) describes each instrumented method with one :class:`LLMOperation`:

- ``name``: ``gen_ai.operation.name`` (``chat``, ``embeddings``, ...);
- :meth:`~LLMOperation.sampling_attributes`: operation, provider, request model, server address and port, given at
  span start (samplers see them) and on every metric point;
- :meth:`~LLMOperation.request_attributes`: the other request attributes, read only for recording spans;
- :meth:`~LLMOperation.input_content`: prompt content, read only when content capture is on;
- :meth:`~LLMOperation.is_stream`, :meth:`~LLMOperation.read_response`, :meth:`~LLMOperation.read_chunk`: fill the
  typed :class:`LLMResult` from a complete response or from each stream chunk. Readers write results, never
  telemetry, and must not raise on unexpected shapes (``core.values`` has defensive readers);
- :meth:`~LLMOperation.response_headers` and :meth:`~LLMOperation.error_status`: the HTTP headers of a returned
  response or a raised error, and an error's status code. The core reads the rate-limit headers from them
  (``core.rate_limits``: headroom, 429s) and prices the call from the typed result's tokens (``core.pricing``).

:class:`ClientOperation` holds the defaults for Stainless-style SDK clients (openai, anthropic): the resource's
``instance._client.base_url`` names the server, the provider is fixed, and the client's
``_sleep_for_retry`` is where retries wait (:data:`STAINLESS_RETRY_SLEEPS`, patched with
``core.retries.sdk_sleep_wrappers``), and ``_process_response`` is where every successful response passes
(:data:`STAINLESS_RESPONSE_HOOKS`, patched with ``core.llm_wrappers.sdk_response_wrappers``, which hands its headers to
the call). Clients built otherwise override the hooks:

- :meth:`ClientOperation.provider_name` for a provider known only per call (LiteLLM routes by model prefix);
- :meth:`ClientOperation.server_url` for clients without ``_client.base_url`` (google-genai, boto3/Bedrock): return
  the endpoint URL string the client keeps (the same object on every call: the attributes are cached per object), an
  object with ``host``/``port``/``scheme``, or ``None``;
- :meth:`ClientOperation.response_headers` / :meth:`ClientOperation.error_status` for responses and errors that are
  not httpx-shaped (google-genai: ``sdk_http_response.headers``; boto3: ``ResponseMetadata.HTTPHeaders``);
- retries: a client without ``_sleep_for_retry`` patches the function its retry loop waits in with
  ``sdk_sleep_wrappers`` if it has one; a loop that calls one method per attempt and hides its waits (google-genai's
  tenacity loop) is wrapped with ``core.retries.attempt_loop_wrappers``, which also keeps the retry-library
  instrumentors from counting those retries again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from otel_agentperf import semconv
from otel_agentperf.core.attribute_sets import Attributes, SamplingAttributes
from otel_agentperf.core.values import as_int, as_str, field, http_status, put

_DEFAULT_PORTS = {"https": 443, "http": 80}

STAINLESS_RETRY_SLEEPS: Final = ("SyncAPIClient._sleep_for_retry", "AsyncAPIClient._sleep_for_retry")
"""Where a Stainless-style client (in its ``<package>._base_client`` module) waits before each retry."""

STAINLESS_RESPONSE_HOOKS: Final = ("SyncAPIClient._process_response", "AsyncAPIClient._process_response")
"""Where a Stainless-style client turns every successful HTTP response (plain, streamed, raw) into its result;
patched with ``core.llm_wrappers.sdk_response_wrappers`` so that the call reads the response's rate-limit headers."""
STAINLESS_REQUESTS: Final = ("SyncAPIClient.request", "AsyncAPIClient.request")
"""The client method every API call of a Stainless-style client goes through (``<package>._base_client``).

A raw-response call (``with_raw_response``, ``with_streaming_response``) is traced there: the resource method those
forms call is bound once per client, on first use, so a patch of the resource method may never see it.
"""

STAINLESS_RAW_HEADER: Final = "X-Stainless-Raw-Response"
"""The request header a Stainless-style client sets on a raw-response call (``true``, ``raw`` or ``stream``)."""


class LLMResult:
    """What the provider's readers found in a response or a stream: typed slots, ``None`` until read."""

    __slots__ = (
        "capture_content",
        "response_id",
        "response_model",
        "finish_reasons",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "extra_attributes",
        "output_messages",
    )

    def __init__(self, capture_content: bool = False) -> None:
        self.capture_content = capture_content
        """Whether readers should collect output content (``output_messages``)."""
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: list[str] | None = None
        self.input_tokens: int | None = None
        """Every prompt token, cached ones included (the GenAI conventions' meaning)."""
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_write_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.extra_attributes: Attributes | None = None
        self.output_messages: list[dict[str, Any]] | None = None
        """Output messages in the conventions' shape; collected only when ``capture_content`` is set."""

    def add_attributes(self, attributes: Attributes) -> None:
        """Keep provider-specific response attributes for the span."""
        if self.extra_attributes is None:
            self.extra_attributes = {}
        self.extra_attributes.update(attributes)


class LLMOperation(Protocol):
    """What a provider adapter tells the core about one instrumented method (see the module docstring)."""

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

    def read_response(self, result: LLMResult, response: object) -> None:
        """Fill ``result`` from a complete response."""

    def read_chunk(self, result: LLMResult, chunk: object) -> bool:
        """Fill ``result`` from one stream chunk; return whether it carried output (counts as an output chunk)."""

    def response_headers(self, response: object) -> object | None:
        """The HTTP headers of what the client returned or raised (``httpx.Headers`` or a mapping), or ``None``.

        The core reads only the rate-limit headers of ``core.rate_limits`` from them, never any other.
        """

    def error_status(self, error: BaseException) -> int | None:
        """The HTTP status code of an exception the client raised (429 counts as a rate-limit rejection)."""


class ClientOperation:
    """The defaults of an operation on a resource of a Stainless-style SDK client; adapters subclass it.

    Subclasses set ``name`` and ``provider`` and override the readers they need, and the hooks
    :meth:`provider_name` and :meth:`server_url` when their client is built otherwise.
    """

    name = "chat"
    provider = ""

    def __init__(self, stream_types: tuple[type, ...]) -> None:
        self._stream_types = stream_types
        self._sampling = SamplingAttributes(self._build_sampling)
        cls = type(self)
        self._default_hooks = (
            cls.provider_name is ClientOperation.provider_name and cls.server_url is ClientOperation.server_url
        )

    def provider_name(self, instance: Any, kwargs: Mapping[str, Any]) -> str:
        """``gen_ai.provider.name`` of this call: ``provider`` unless the client decides it per call."""
        return self.provider

    def server_url(self, instance: Any) -> object:
        """The URL the client sends to (``host``, ``port``, ``scheme``): ``instance._client.base_url`` by default."""
        return getattr(getattr(instance, "_client", None), "base_url", None)

    def sampling_attributes(self, instance: Any, kwargs: Mapping[str, Any]) -> Attributes:
        """Built once per server, model and provider (see :class:`SamplingAttributes`)."""
        if self._default_hooks:  # every call goes through here: skip two hook calls when they are the defaults
            url = getattr(getattr(instance, "_client", None), "base_url", None)
            return self._sampling.get(url, kwargs.get("model"), self.provider)
        return self._sampling.get(self.server_url(instance), kwargs.get("model"), self.provider_name(instance, kwargs))

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        """No request attributes beyond the sampling ones."""
        return {}

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """No prompt content."""
        return {}

    def is_stream(self, kwargs: Mapping[str, Any], result: object) -> bool:
        """Whether ``result`` is one of the SDK's stream classes."""
        return isinstance(result, self._stream_types)

    def read_response(self, result: LLMResult, response: object) -> None:
        """Read the response id and model."""
        result.response_id = as_str(getattr(response, "id", None))
        result.response_model = as_str(getattr(response, "model", None))

    def read_chunk(self, result: LLMResult, chunk: object) -> bool:
        """No chunk carries output."""
        return False

    def response_headers(self, response: object) -> object | None:
        """``.headers`` of a raw response, else ``.response.headers`` of a stream or an HTTP error.

        A parsed response has no headers: a Stainless client hands them over in ``_process_response``
        (:data:`STAINLESS_RESPONSE_HOOKS`), before this is asked.
        """
        headers = getattr(response, "headers", None)
        if headers is None:
            headers = getattr(getattr(response, "response", None), "headers", None)
        return headers

    def error_status(self, error: BaseException) -> int | None:
        """The HTTP status of ``error`` (``status_code`` of the SDKs' ``APIStatusError``, google-genai's ``code``)."""
        return http_status(error)

    def _build_sampling(self, url: object, model: object, provider: str) -> Attributes:
        return client_attributes(self.name, provider, model, url)


def client_attributes(operation: str, provider: str, model: object, url: object) -> Attributes:
    """Operation, provider, request model, and server address and port from an httpx-style ``url`` or a string."""
    if isinstance(url, str):
        url = urlsplit(url)
    attributes: Attributes = {semconv.GEN_AI_OPERATION_NAME: operation, semconv.GEN_AI_PROVIDER_NAME: provider}
    put(attributes, semconv.GEN_AI_REQUEST_MODEL, as_str(model))
    host = as_str(field(url, "host")) or as_str(field(url, "hostname"))
    if host is not None:
        attributes[semconv.SERVER_ADDRESS] = host
        port = as_int(field(url, "port"))
        attributes[semconv.SERVER_PORT] = port if port is not None else _DEFAULT_PORTS.get(field(url, "scheme"), 443)
    return attributes
