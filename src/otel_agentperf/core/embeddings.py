"""Embeddings requests and responses of the OpenAI shape, which LiteLLM also speaks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otel_agentperf import semconv
from otel_agentperf.core.attribute_sets import Attributes
from otel_agentperf.core.provider import LLMResult
from otel_agentperf.core.values import as_int, as_str, field, put


def request_attributes(kwargs: Mapping[str, Any]) -> Attributes:
    """``encoding_format`` and ``dimensions`` of an embeddings request."""
    attributes: Attributes = {}
    encoding = as_str(kwargs.get("encoding_format"))
    if encoding is not None:
        attributes[semconv.GEN_AI_REQUEST_ENCODING_FORMATS] = [encoding]
    put(attributes, semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, as_int(kwargs.get("dimensions")))
    return attributes


def read_response(result: LLMResult, response: object) -> None:
    """The model, the prompt tokens and the dimension count of the first vector."""
    result.response_model = as_str(field(response, "model"))
    result.input_tokens = as_int(field(field(response, "usage"), "prompt_tokens"))
    data = field(response, "data")
    if isinstance(data, list) and data:
        vector = field(data[0], "embedding")
        if isinstance(vector, list):
            result.add_attributes({semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector)})
