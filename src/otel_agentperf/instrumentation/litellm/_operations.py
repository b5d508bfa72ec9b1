"""How LiteLLM's calls map onto GenAI telemetry: one :class:`LLMOperation` per API, for any provider.

LiteLLM answers every provider in the OpenAI shapes (``ModelResponse``, ``ModelResponseStream`` chunks,
``EmbeddingResponse``), so one set of readers serves them all. The provider is known per call, from the model prefix
(``gemini/...``) or LiteLLM's model catalogue: :func:`provider_name` maps LiteLLM's provider names to the
conventions' where they have one.

Readers are defensive: a field that is missing, ``None`` or of an unexpected type is left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core import chat_messages, embeddings
from otel_agentperf.core.attribute_sets import Attributes
from otel_agentperf.core.provider import ClientOperation, LLMResult, client_attributes
from otel_agentperf.core.values import as_int, as_str, as_str_list, field, output_type, put

UNRESOLVED = "litellm"
"""``gen_ai.provider.name`` of a model LiteLLM cannot place (the call then fails with LiteLLM's own error)."""

_CONVENTION_NAMES = {
    "gemini": semconv.PROVIDER_GCP_GEMINI,
    "vertex_ai": semconv.PROVIDER_GCP_VERTEX_AI,
    "vertex_ai_beta": semconv.PROVIDER_GCP_VERTEX_AI,
    "bedrock": semconv.PROVIDER_AWS_BEDROCK,
    "azure": semconv.PROVIDER_AZURE_AI_OPENAI,
    "azure_text": semconv.PROVIDER_AZURE_AI_OPENAI,
    "azure_ai": "azure.ai.inference",
    "mistral": semconv.PROVIDER_MISTRAL_AI,
    "xai": semconv.PROVIDER_X_AI,
    "watsonx": "ibm.watsonx.ai",
    "text-completion-openai": "openai",
}
"""LiteLLM provider names that differ from the conventions' (the others are the same or have none there)."""

_NUMERIC_PARAMETERS = (
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", semconv.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", semconv.GEN_AI_REQUEST_SEED),
)
_MAX_ENTRIES = 256
_HEADER_PREFIX = "llm_provider-"

GroupProviders = Callable[[Any, object], object]
"""The LiteLLM provider names of a Router's model group (``None`` for a name that is no group)."""
Resolve = Callable[..., Any]
"""``litellm.get_llm_provider``: ``(model, custom_llm_provider=, api_base=)`` -> ``(model, provider, key, base)``."""


def provider_name(litellm_provider: object) -> str:
    """The conventions' name for a LiteLLM provider name (LiteLLM's own name where the conventions have none)."""
    if not isinstance(litellm_provider, str) or not litellm_provider:
        return UNRESOLVED
    return _CONVENTION_NAMES.get(litellm_provider, litellm_provider)


class _LiteLLMOperation(ClientOperation):
    """What LiteLLM's APIs share: the provider and server from the call's model and ``api_base``."""

    def __init__(self, stream_types: tuple[type, ...], resolve: Resolve) -> None:
        super().__init__(stream_types)
        self._resolve = resolve
        self._entries: dict[tuple[object, ...], Attributes] = {}

    def sampling_attributes(self, instance: Any, kwargs: Mapping[str, Any]) -> Attributes:
        """Built once per model, ``custom_llm_provider`` and ``api_base`` (LiteLLM's resolution is not free)."""
        key = (kwargs.get("model"), kwargs.get("custom_llm_provider"), kwargs.get("api_base") or kwargs.get("base_url"))
        try:
            attributes = self._entries.get(key)
        except TypeError:  # an unhashable value: resolve every time
            return self._build(*key)
        if attributes is None:
            attributes = self._build(*key)
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = attributes
        return attributes

    def _build(self, model: object, custom_provider: object, api_base: object) -> Attributes:
        litellm_provider: object = custom_provider
        try:
            _, litellm_provider, _, resolved_base = self._resolve(
                model, custom_llm_provider=custom_provider, api_base=api_base
            )
        except Exception:  # noqa: BLE001 - a model LiteLLM cannot place: the call raises LiteLLM's error itself
            resolved_base = None
        url = api_base if isinstance(api_base, str) else resolved_base if isinstance(resolved_base, str) else None
        return client_attributes(self.name, provider_name(litellm_provider), model, url)

    def response_headers(self, response: object) -> dict[str, str] | None:
        """The provider's rate-limit and retry-after headers that LiteLLM kept on a response or an error.

        A response has them in ``_hidden_params`` (prefix removed), an error in ``litellm_response_headers``.
        """
        headers = field(field(response, "_hidden_params"), "additional_headers")
        if not isinstance(headers, Mapping):
            headers = getattr(response, "litellm_response_headers", None) if isinstance(response, Exception) else None
        if not isinstance(headers, Mapping):
            return None
        return {
            name.removeprefix(_HEADER_PREFIX): str(value)
            for name, value in headers.items()
            if isinstance(name, str) and ("ratelimit" in name or "retry-after" in name)
        }


class Completion(_LiteLLMOperation):
    """``litellm.completion`` / ``acompletion``."""

    name = "chat"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        attributes: Attributes = {}
        for name, key in _NUMERIC_PARAMETERS:
            value = kwargs.get(name)
            if value is not None and type(value) in (int, float):
                attributes[key] = value
        for name in ("max_completion_tokens", "max_tokens"):
            if kwargs.get(name) is not None:
                put(attributes, semconv.GEN_AI_REQUEST_MAX_TOKENS, as_int(kwargs[name]))
        if kwargs.get("stop") is not None:
            put(attributes, semconv.GEN_AI_REQUEST_STOP_SEQUENCES, as_str_list(kwargs["stop"]))
        choices = as_int(kwargs.get("n"))
        if choices is not None and choices != 1:
            attributes[semconv.GEN_AI_REQUEST_CHOICE_COUNT] = choices
        if kwargs.get("response_format") is not None:
            put(attributes, semconv.GEN_AI_OUTPUT_TYPE, output_type(kwargs["response_format"]))
        if kwargs.get("stream") is True:
            attributes[semconv.GEN_AI_REQUEST_STREAM] = True
        return attributes

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        messages = chat_messages.chat_input(kwargs.get("messages"))
        return {} if messages is None else {semconv.GEN_AI_INPUT_MESSAGES: messages}

    def read_response(self, result: LLMResult, response: object) -> None:
        result.response_id = as_str(getattr(response, "id", None))
        result.response_model = as_str(getattr(response, "model", None))
        choices = getattr(response, "choices", None)
        if type(choices) is list:
            reasons = [reason for choice in choices if type(reason := getattr(choice, "finish_reason", None)) is str]
            result.finish_reasons = reasons or None
            if result.capture_content:
                result.output_messages = chat_messages.chat_output(choices)
        _read_usage(result, getattr(response, "usage", None))

    def read_chunk(self, result: LLMResult, chunk: object) -> bool:
        # Runs for every chunk: plain getattr (a chunk of another shape reads as empty), no helper calls.
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            _read_usage(result, usage)
        if result.response_id is None:
            result.response_id = as_str(getattr(chunk, "id", None))
            result.response_model = as_str(getattr(chunk, "model", None))
        choices = getattr(chunk, "choices", None)
        if not choices or type(choices) is not list:
            return False
        for choice in choices:
            reason = getattr(choice, "finish_reason", None)
            if type(reason) is str:
                if result.finish_reasons is None:
                    result.finish_reasons = [reason]
                else:
                    result.finish_reasons.append(reason)
        if result.capture_content:
            chat_messages.accumulate_chat_chunk(result, choices)
        return True


class Embedding(_LiteLLMOperation):
    """``litellm.embedding`` / ``aembedding``."""

    name = "embeddings"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        return embeddings.request_attributes(kwargs)

    def read_response(self, result: LLMResult, response: object) -> None:
        embeddings.read_response(result, response)


class _Routed(_LiteLLMOperation):
    """A Router call: the request model names a model group; the provider is its deployments' if they share one."""

    def __init__(self, stream_types: tuple[type, ...], resolve: Resolve, group_providers: GroupProviders) -> None:
        super().__init__(stream_types, resolve)
        self._group_providers = group_providers
        self._groups: dict[tuple[object, str], Attributes] = {}

    def sampling_attributes(self, instance: Any, kwargs: Mapping[str, Any]) -> Attributes:
        model = kwargs.get("model")
        providers = self._group_providers(instance, model)
        if not isinstance(providers, list | tuple) or len(set(providers)) != 1:
            # No such group (a model name the Router passes through), or a group that mixes providers.
            return super().sampling_attributes(instance, kwargs)
        key = (model if isinstance(model, str) else None, provider_name(providers[0]))
        attributes = self._groups.get(key)
        if attributes is None:
            if len(self._groups) >= _MAX_ENTRIES:
                self._groups.clear()
            self._groups[key] = attributes = client_attributes(self.name, key[1], key[0], None)
        return attributes


class RouterCompletion(_Routed, Completion):
    """``Router.completion`` / ``acompletion``: the span of the whole routed call, retries and fallbacks included."""


class RouterEmbedding(_Routed, Embedding):
    """``Router.embedding`` / ``aembedding``."""


def _read_usage(result: LLMResult, usage: object) -> None:
    if usage is None:
        return
    result.input_tokens = as_int(getattr(usage, "prompt_tokens", None))
    result.output_tokens = as_int(getattr(usage, "completion_tokens", None))
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    if prompt_details is not None:
        result.cache_read_tokens = as_int(getattr(prompt_details, "cached_tokens", None))
    write = as_int(getattr(usage, "cache_creation_input_tokens", None))
    if write is None and prompt_details is not None:
        write = as_int(getattr(prompt_details, "cache_creation_tokens", None))
    result.cache_write_tokens = write
    completion_details = getattr(usage, "completion_tokens_details", None)
    if completion_details is not None:
        result.reasoning_tokens = as_int(getattr(completion_details, "reasoning_tokens", None))
