"""The LiteLLM instrumentor over the fake LLM service: every provider prefix, the Router, LiteLLM's retries, and one
counted call per LiteLLM call when the SDK underneath is instrumented too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor
from otel_agentperf.instrumentation.litellm._operations import Completion, provider_name
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor
from tests.helpers import points
from tests.litellm_tests.conftest import MESSAGES, OFFLINE, PROVIDERS, fault, litellm, provider_kwargs

ROOT = Path(__file__).resolve().parents[2]

CONVENTION_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "bedrock": "aws.bedrock"}


def _count(reader: Any, name: str) -> float:
    return sum(point.count if hasattr(point, "count") else point.value for point in points(reader, name))


def _spans(exporter: Any) -> dict[str, Any]:
    return {span.name: span for span in exporter.get_finished_spans()}


@pytest.mark.parametrize("prefix", PROVIDERS)
def test_each_provider_prefix(prefix, fake_llm_url, instrument, span_exporter, metric_reader):
    """One span per call, named by the model as written, with the provider in the conventions' words."""
    instrument(LiteLLMInstrumentor)
    kwargs = provider_kwargs(fake_llm_url)[prefix]
    response = litellm.completion(messages=MESSAGES, **kwargs)
    (span,) = span_exporter.get_finished_spans()
    assert span.name == f"chat {kwargs['model']}"
    assert span.attributes["gen_ai.provider.name"] == CONVENTION_NAMES[prefix]
    assert span.attributes["gen_ai.request.model"] == kwargs["model"]
    assert span.attributes["gen_ai.response.model"] == response.model
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 128
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert _count(metric_reader, "gen_ai.client.inference.usage.cache_read.input_tokens") == 128
    if prefix in ("anthropic", "bedrock"):  # the fake writes to the prompt cache for these two
        assert span.attributes["gen_ai.usage.cache_creation.input_tokens"] == 64
        assert _count(metric_reader, "gen_ai.client.inference.usage.cache_write.input_tokens") == 64


@pytest.mark.parametrize("prefix", PROVIDERS)
async def test_each_provider_async_stream(prefix, fake_llm_url, instrument, span_exporter, metric_reader):
    """An async stream of every provider ends its span once, with time to first chunk and the chunk gaps."""
    instrument(LiteLLMInstrumentor)
    kwargs = provider_kwargs(fake_llm_url)[prefix]
    stream = await litellm.acompletion(messages=MESSAGES, stream=True, stream_options={"include_usage": True}, **kwargs)
    chunks = [chunk async for chunk in stream]
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
    assert span.attributes["gen_ai.provider.name"] == CONVENTION_NAMES[prefix]
    assert points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")[0].count == 1
    assert _count(metric_reader, "gen_ai.client.operation.time_per_output_chunk") >= len(chunks) - 3


async def test_completion_asked_for_its_async_form(fake_llm_url, instrument, span_exporter):
    """``completion(acompletion=True)`` returns a coroutine: the span lasts until it is awaited, with its usage."""
    instrument(LiteLLMInstrumentor)
    response = await litellm.completion(messages=MESSAGES, acompletion=True, **provider_kwargs(fake_llm_url)["gemini"])
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens


async def test_async_stream_closed_with_aclose(fake_llm_url, instrument, span_exporter):
    """``aclose()`` and ``close()`` of LiteLLM's stream both end the span once, as closed."""
    instrument(LiteLLMInstrumentor)
    kwargs = provider_kwargs(fake_llm_url)["openai"]
    stream = await litellm.acompletion(messages=MESSAGES, stream=True, **kwargs)
    await anext(aiter(stream))
    await stream.aclose()
    stream.close()
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.stream.end"] == "closed"


@pytest.mark.parametrize("model", ["openai/text-embedding-3-small", "gemini/gemini-embedding-001"])
async def test_embeddings(model, fake_llm_url, instrument, span_exporter):
    instrument(LiteLLMInstrumentor)
    options = provider_kwargs(fake_llm_url)[model.split("/", 1)[0]]
    options = {key: value for key, value in options.items() if key != "model"}
    litellm.embedding(model=model, input=["one", "two"], **options)
    await litellm.aembedding(model=model, input=["one", "two"], **options)
    spans = span_exporter.get_finished_spans()
    assert [span.name for span in spans] == [f"embeddings {model}"] * 2
    assert all(span.attributes["gen_ai.usage.input_tokens"] > 0 for span in spans)


def test_num_retries_are_litellm_retries_not_tenacity_ones(fake_llm_url, instrument, span_exporter, metric_reader):
    """``num_retries`` retries through tenacity: counted once, as LiteLLM's, with the tenacity instrumentor on."""
    instrument(LiteLLMInstrumentor)
    instrument(TenacityInstrumentor)
    kwargs = provider_kwargs(fake_llm_url)["anthropic"]
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(messages=MESSAGES, num_retries=2, **kwargs, **fault("always:500"))
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.retry.count"] == 2
    assert [
        event.attributes["agentperf.retry.attempt"] for event in span.events if event.name == "agentperf.retry"
    ] == [
        1,
        2,
    ]
    assert {
        point.attributes["agentperf.retry.source"]: point.value for point in points(metric_reader, "agentperf.retries")
    } == {"litellm": 2}


def _router(fake_llm_url: str) -> Any:
    kwargs = provider_kwargs(fake_llm_url)
    primary = {**kwargs["openai"], "max_retries": 0, "extra_headers": {"x-fake-fault": "always:500"}}
    return litellm.Router(
        model_list=[
            {"model_name": "primary", "litellm_params": primary},
            {"model_name": "backup", "litellm_params": kwargs["gemini"]},
        ],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=1,
        retry_after=0,
    )


async def test_router_retry_and_fallback(
    fake_llm_url, instrument, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """A Router call is one counted call: its span shows the retry, the fallback and the model that answered; each
    attempt is a child span that the metrics and the run summary do not count again."""
    instrument(LiteLLMInstrumentor)
    router = _router(fake_llm_url)
    with agent_run("routed", tracer_provider=tracer_provider, meter_provider=meter_provider) as run:
        response = await router.acompletion(model="primary", messages=MESSAGES)
    spans = _spans(span_exporter)
    routed = spans["chat primary"]
    assert routed.attributes["gen_ai.provider.name"] == "openai"  # the group's provider
    assert routed.attributes["gen_ai.response.model"] == response.model == "gemini-2.5-flash-001"
    assert routed.attributes["agentperf.retry.count"] == 2  # the same deployment once, then the fallback
    assert [event.name for event in routed.events] == ["agentperf.retry", "agentperf.retry", "agentperf.fallback"]
    assert routed.events[2].attributes["gen_ai.request.model"] == "gemini/gemini-2.5-flash"
    attempts = [
        span
        for span in span_exporter.get_finished_spans()
        if span.parent and span.parent.span_id == routed.context.span_id
    ]
    assert [span.name for span in attempts] == ["chat openai/gpt-4o-mini"] * 2 + ["chat gemini/gemini-2.5-flash"]
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == "primary"
    assert _count(metric_reader, "agentperf.retries") == 2
    assert run.summary.llm_calls == 1 and run.summary.retries == 2
    assert run.summary.input_tokens == response.usage.prompt_tokens


def test_router_sync_retry(fake_llm_url, instrument, span_exporter, metric_reader):
    instrument(LiteLLMInstrumentor)
    deployment = provider_kwargs(fake_llm_url)["bedrock"]
    router = litellm.Router(
        model_list=[{"model_name": "chat", "litellm_params": deployment}], num_retries=2, retry_after=0
    )
    router.completion(model="chat", messages=MESSAGES, **fault("retry-once:500"))
    routed = _spans(span_exporter)["chat chat"]
    assert routed.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert routed.attributes["agentperf.retry.count"] == 1
    assert _count(metric_reader, "gen_ai.client.operation.duration") == 1


def test_router_stream(fake_llm_url, instrument, span_exporter, metric_reader):
    """A routed stream ends the Router's span once, completed, and counts one call with its time to first chunk."""
    instrument(LiteLLMInstrumentor)
    router = litellm.Router(
        model_list=[{"model_name": "chat", "litellm_params": provider_kwargs(fake_llm_url)["anthropic"]}]
    )
    chunks = list(router.completion(model="chat", messages=MESSAGES, stream=True))
    spans = _spans(span_exporter)
    routed, attempt = spans["chat chat"], spans["chat anthropic/claude-sonnet-4-5"]
    assert attempt.parent.span_id == routed.context.span_id
    assert routed.attributes["agentperf.stream.end"] == "completed"
    assert routed.attributes["agentperf.stream.chunk_count"] == len([chunk for chunk in chunks if chunk.choices])
    assert _count(metric_reader, "gen_ai.client.operation.duration") == 1
    assert _count(metric_reader, "gen_ai.client.operation.time_to_first_chunk") == 1


@pytest.fixture
def both(instrument):
    instrument(OpenAIInstrumentor)
    instrument(LiteLLMInstrumentor)


def test_openai_sdk_underneath_is_one_counted_call(
    both, fake_llm_url, tracer_provider, meter_provider, span_exporter, metric_reader
):
    """LiteLLM's openai/ embeddings go through the instrumented openai SDK: its span is a child of LiteLLM's, and the
    metrics and the run summary count the call once. The SDK's retry inside counts once too."""
    options = {key: value for key, value in provider_kwargs(fake_llm_url)["openai"].items() if key != "model"}
    with agent_run("embed", tracer_provider=tracer_provider, meter_provider=meter_provider) as run:
        response = litellm.embedding(
            model="openai/text-embedding-3-small", input=["one"], max_retries=1, **options, **fault("retry-once:500")
        )
    spans = _spans(span_exporter)
    outer, inner = spans["embeddings openai/text-embedding-3-small"], spans["embeddings text-embedding-3-small"]
    assert inner.parent.span_id == outer.context.span_id
    assert [event.name for event in inner.events] == ["agentperf.retry"]
    assert outer.attributes["agentperf.retry.count"] == inner.attributes["agentperf.retry.count"] == 1
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == "openai/text-embedding-3-small"
    (tokens,) = points(metric_reader, "gen_ai.client.token.usage")
    assert tokens.count == 1 and tokens.sum == response.usage.prompt_tokens
    (retries,) = points(metric_reader, "agentperf.retries")
    assert retries.value == 1 and retries.attributes["agentperf.retry.source"] == "openai"
    assert retries.attributes["gen_ai.request.model"] == "openai/text-embedding-3-small"  # as the duration's
    assert run.summary.llm_calls == 1 and run.summary.retries == 1
    assert run.summary.input_tokens == response.usage.prompt_tokens


def test_openai_sdk_underneath_chat(both, fake_llm_url, span_exporter, metric_reader):
    """LiteLLM's openai/ chat posts through the openai client's raw-response path, which the openai instrumentor
    traces: a child span, one counted call, one retry."""
    kwargs = {**provider_kwargs(fake_llm_url)["openai"], "max_retries": 1}
    litellm.completion(messages=MESSAGES, **kwargs, **fault("retry-once:500"))
    spans = _spans(span_exporter)
    outer, inner = spans["chat openai/gpt-4o-mini"], spans["chat gpt-4o-mini"]
    assert inner.parent.span_id == outer.context.span_id
    assert outer.attributes["agentperf.retry.count"] == 1
    (duration,) = points(metric_reader, "gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == "openai/gpt-4o-mini"
    assert _count(metric_reader, "gen_ai.client.inference.usage.cache_read.input_tokens") == 128
    assert _count(metric_reader, "agentperf.retries") == 1


def test_from_import_after_instrument_is_seen(fake_llm_url, instrument, span_exporter):
    instrument(LiteLLMInstrumentor)
    from litellm import completion  # noqa: PLC0415 - imported after instrument(), as a program may

    completion(messages=MESSAGES, **provider_kwargs(fake_llm_url)["gemini"])
    assert len(span_exporter.get_finished_spans()) == 1


@pytest.mark.parametrize(
    ("litellm_name", "convention_name"),
    [("gemini", "gcp.gemini"), ("vertex_ai", "gcp.vertex_ai"), ("bedrock", "aws.bedrock"), ("azure", "azure.ai.openai"),
     ("mistral", "mistral_ai"), ("xai", "x_ai"), ("openai", "openai"), ("groq", "groq"), ("ollama", "ollama"),
     (None, "litellm")],
)  # fmt: skip
def test_provider_names(litellm_name, convention_name):
    assert provider_name(litellm_name) == convention_name


def test_rate_limit_headers_and_error_status():
    """The hooks for rate-limit telemetry: LiteLLM's copies of the provider's headers, and its error's status."""
    response = litellm.ModelResponse()
    response._hidden_params = {
        "additional_headers": {
            "llm_provider-x-ratelimit-remaining-requests": "99",
            "llm_provider-retry-after": "2",
            "llm_provider-content-type": "application/json",
        }
    }
    operation = Completion((), litellm.get_llm_provider)
    assert operation.response_headers(response) == {"x-ratelimit-remaining-requests": "99", "retry-after": "2"}
    assert operation.error_status(litellm.RateLimitError("slow", "openai", "gpt-4o")) == 429


_LAZY_PROBE = """
import sys
from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor
LiteLLMInstrumentor().instrument()
imported_by_instrument = "litellm" in sys.modules
import litellm
print(imported_by_instrument, type(litellm.completion).__name__)
"""


def test_instrument_does_not_import_litellm():
    """instrument() leaves LiteLLM (and its cost-map fetch) alone until the program imports it, then patches it."""
    env = {**os.environ, **OFFLINE}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_LAZY_PROBE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.split() == ["False", "FunctionWrapper"]


def test_spans_hold_no_key(fake_llm_url, instrument, span_exporter):
    instrument(LiteLLMInstrumentor, capture_content=True)
    litellm.completion(messages=MESSAGES, **provider_kwargs(fake_llm_url)["anthropic"])
    (span,) = span_exporter.get_finished_spans()
    exported = json.dumps({key: str(value) for key, value in span.attributes.items()})
    assert "litellm-test-secret" not in exported
    assert "Which city" in exported


@pytest.fixture
def response_cache():
    litellm.cache = litellm.Cache(type="local")
    yield litellm.cache
    litellm.cache = None


async def test_response_cache_lookups(response_cache, fake_llm_url, instrument, span_exporter, metric_reader):
    """LiteLLM's response cache counts in the application-cache metrics, on the LLM call's span too.

    A call through ``litellm.completion`` makes the miss. LiteLLM 1.110 cannot serve a hit without its proxy's
    dependencies (fastapi, soundfile, ...), which it imports on every cache hit: the hits are read from the cache
    itself, as LiteLLM reads it, with the call's arguments.
    """
    instrument(LiteLLMInstrumentor)
    kwargs = {**provider_kwargs(fake_llm_url)["gemini"], "messages": MESSAGES, "caching": True}
    response = litellm.completion(**kwargs)
    assert response_cache.get_cache(**kwargs)["choices"][0]["message"]["content"] == response.choices[0].message.content
    assert await response_cache.async_get_cache(**kwargs) is not None
    assert response_cache.get_cache(**{**kwargs, "messages": [{"role": "user", "content": "other"}]}) is None
    requests = {
        point.attributes["agentperf.cache.result"]: point.value
        for point in points(metric_reader, "agentperf.cache.requests")
        if point.attributes["agentperf.cache.system"] == "litellm"
    }
    assert requests == {"miss": 2, "hit": 2}
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["agentperf.cache.misses"] == 1
