"""How the OpenAI methods map onto GenAI telemetry: one :class:`LLMOperation` per API.

Readers are defensive: a field that is missing, ``None`` or of an unexpected type is left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

from otel_agentperf import semconv
from otel_agentperf.core import embeddings
from otel_agentperf.core.attribute_sets import Attributes
from otel_agentperf.core.provider import ClientOperation, LLMResult, client_attributes
from otel_agentperf.core.values import as_int, as_str, as_str_list, field, output_type, put, with_extra_body
from otel_agentperf.instrumentation.openai import _content
from otel_agentperf.instrumentation.openai._providers import provider_for_host

PROVIDER = "openai"

_NUMERIC_PARAMETERS = (
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", semconv.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", semconv.GEN_AI_REQUEST_SEED),
)
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


class _OpenAIOperation(ClientOperation):
    """What the three OpenAI APIs share: the provider and the ``openai.api.type`` attribute."""

    provider = PROVIDER
    api_type: str | None = None

    def __init__(self, stream_types: tuple[type, ...], provider: str = PROVIDER) -> None:
        super().__init__(stream_types)
        self.provider = provider
        """The name of a server that is not a known service (``provider_name`` setting)."""

    def _build_sampling(self, url: object, model: object, provider: str) -> Attributes:
        # Built once per client base URL: naming the provider from the host costs nothing per call.
        return client_attributes(self.name, provider_for_host(field(url, "host"), provider), model, url)

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        attributes: Attributes = {}
        put(attributes, semconv.OPENAI_API_TYPE, self.api_type)
        return attributes


class ChatCompletions(_OpenAIOperation):
    """``chat.completions.create``."""

    api_type = "chat_completions"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        # Runs on every recorded call: a parameter the call does not set costs one dict lookup, no helper call.
        if kwargs.get("extra_body") is not None:
            kwargs = with_extra_body(kwargs)
        attributes: Attributes = {semconv.OPENAI_API_TYPE: "chat_completions"}
        _common_parameters(attributes, kwargs)
        for name in ("max_completion_tokens", "max_tokens"):
            if kwargs.get(name) is not None:
                put(attributes, semconv.GEN_AI_REQUEST_MAX_TOKENS, as_int(kwargs[name]))
        if kwargs.get("stop") is not None:
            put(attributes, semconv.GEN_AI_REQUEST_STOP_SEQUENCES, as_str_list(kwargs["stop"]))
        if kwargs.get("n") is not None:
            choices = as_int(kwargs["n"])
            if choices is not None and choices != 1:
                attributes[semconv.GEN_AI_REQUEST_CHOICE_COUNT] = choices
        if kwargs.get("response_format") is not None:
            put(attributes, semconv.GEN_AI_OUTPUT_TYPE, output_type(kwargs["response_format"]))
        return attributes

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        messages = _content.chat_input(kwargs.get("messages"))
        return {} if messages is None else {semconv.GEN_AI_INPUT_MESSAGES: messages}

    def read_response(self, invocation: LLMResult, response: object) -> None:
        invocation.response_id = as_str(getattr(response, "id", None))
        invocation.response_model = as_str(getattr(response, "model", None))
        choices = getattr(response, "choices", None)
        if type(choices) is list:
            reasons = [reason for choice in choices if type(reason := getattr(choice, "finish_reason", None)) is str]
            invocation.finish_reasons = reasons or None
            if invocation.capture_content:
                invocation.output_messages = _content.chat_output(choices)
        _read_chat_usage(invocation, getattr(response, "usage", None))
        _read_chat_extras(invocation, response)

    def read_chunk(self, invocation: LLMResult, chunk: object) -> bool:
        # Runs for every chunk: plain getattr (a chunk of another shape reads as empty), no helper calls.
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            _read_chat_usage(invocation, usage)
        if invocation.response_id is None:
            invocation.response_id = as_str(getattr(chunk, "id", None))
            invocation.response_model = as_str(getattr(chunk, "model", None))
            _read_chat_extras(invocation, chunk)
        choices = getattr(chunk, "choices", None)
        if not choices or type(choices) is not list:
            return False
        for choice in choices:
            reason = getattr(choice, "finish_reason", None)
            if reason is not None:
                _add_finish_reason(invocation, reason)
        if invocation.capture_content:
            _content.accumulate_chat_chunk(invocation, choices)
        return True


class Responses(_OpenAIOperation):
    """``responses.create``."""

    api_type = "responses"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        kwargs = with_extra_body(kwargs)
        attributes = super().request_attributes(kwargs)
        _common_parameters(attributes, kwargs)
        put(attributes, semconv.GEN_AI_REQUEST_MAX_TOKENS, as_int(kwargs.get("max_output_tokens")))
        text_format = kwargs.get("text_format")
        put(attributes, semconv.GEN_AI_OUTPUT_TYPE, output_type(text_format or field(kwargs.get("text"), "format")))
        return attributes

    def input_content(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return _content.responses_input(kwargs.get("input"), kwargs.get("instructions"))

    def read_response(self, invocation: LLMResult, response: object) -> None:
        super().read_response(invocation, response)
        output = field(response, "output")
        invocation.finish_reasons = _responses_finish_reasons(response, output)
        usage = field(response, "usage")
        invocation.input_tokens = as_int(field(usage, "input_tokens"))
        invocation.output_tokens = as_int(field(usage, "output_tokens"))
        input_details = field(usage, "input_tokens_details")
        invocation.cache_read_tokens = as_int(field(input_details, "cached_tokens"))
        invocation.cache_write_tokens = as_int(field(input_details, "cache_write_tokens"))
        invocation.reasoning_tokens = as_int(field(field(usage, "output_tokens_details"), "reasoning_tokens"))
        put_tier = as_str(field(response, "service_tier"))
        if put_tier is not None:
            invocation.add_attributes({semconv.OPENAI_RESPONSE_SERVICE_TIER: put_tier})
        if invocation.capture_content and isinstance(output, list):
            invocation.output_messages = _content.responses_output(output)

    def read_chunk(self, invocation: LLMResult, chunk: object) -> bool:
        event_type = getattr(chunk, "type", None)
        if type(event_type) is not str:
            return False
        if event_type.endswith(".delta"):
            return True
        response = field(chunk, "response")
        if response is not None:
            if event_type in ("response.completed", "response.incomplete", "response.failed"):
                self.read_response(invocation, response)
            elif invocation.response_id is None:
                invocation.response_id = as_str(field(response, "id"))
                invocation.response_model = as_str(field(response, "model"))
        return False


class Embeddings(_OpenAIOperation):
    """``embeddings.create``."""

    name = "embeddings"

    def request_attributes(self, kwargs: Mapping[str, Any]) -> Attributes:
        return embeddings.request_attributes(kwargs)

    def read_response(self, invocation: LLMResult, response: object) -> None:
        embeddings.read_response(invocation, response)


def _common_parameters(attributes: dict[str, AttributeValue], kwargs: Mapping[str, Any]) -> None:
    for name, key in _NUMERIC_PARAMETERS:
        value = kwargs.get(name)
        if value is not None and type(value) in (int, float):
            attributes[key] = value
    if kwargs.get("service_tier") is not None:
        put(attributes, semconv.OPENAI_REQUEST_SERVICE_TIER, as_str(kwargs["service_tier"]))
    if kwargs.get("stream") is True:
        attributes[semconv.GEN_AI_REQUEST_STREAM] = True


def _read_chat_usage(invocation: LLMResult, usage: object) -> None:
    if usage is None:
        return
    invocation.input_tokens = as_int(getattr(usage, "prompt_tokens", None))
    invocation.output_tokens = as_int(getattr(usage, "completion_tokens", None))
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    if prompt_details is not None:
        invocation.cache_read_tokens = as_int(getattr(prompt_details, "cached_tokens", None))
        invocation.cache_write_tokens = as_int(getattr(prompt_details, "cache_write_tokens", None))
    completion_details = getattr(usage, "completion_tokens_details", None)
    if completion_details is not None:
        invocation.reasoning_tokens = as_int(getattr(completion_details, "reasoning_tokens", None))


def _read_chat_extras(invocation: LLMResult, response: object) -> None:
    fingerprint = getattr(response, "system_fingerprint", None)
    tier = getattr(response, "service_tier", None)
    if fingerprint is not None or tier is not None:
        fingerprint, tier = as_str(fingerprint), as_str(tier)
        extras: Attributes = {}
        put(extras, semconv.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, fingerprint)
        put(extras, semconv.OPENAI_RESPONSE_SERVICE_TIER, tier)
        invocation.add_attributes(extras)


def _add_finish_reason(invocation: LLMResult, reason: object) -> None:
    if type(reason) is not str:
        return
    if invocation.finish_reasons is None:
        invocation.finish_reasons = [reason]
    else:
        invocation.finish_reasons.append(reason)


def _responses_finish_reasons(response: object, output: object) -> list[str] | None:
    status = field(response, "status")
    if status == "incomplete":
        reason = field(field(response, "incomplete_details"), "reason")
        return [_INCOMPLETE_REASONS.get(reason, "length") if type(reason) is str else "length"]
    if status == "failed":
        return ["error"]
    if status != "completed":
        return None
    if isinstance(output, list) and any(field(item, "type") == "function_call" for item in output):
        return ["tool_call"]
    return ["stop"]
