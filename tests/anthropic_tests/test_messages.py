"""Anthropic specifics: token semantics, the messages.stream() helper, and the SDK's own span nested under ours."""

from __future__ import annotations

import asyncio
import gc
import inspect

import anthropic
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode
from pydantic import BaseModel

from otel_agentperf.core.streams import finish_abandoned
from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from tests.helpers import ANTHROPIC_HTTP, fake_handler, one_span, points
from tests.llm_drivers import API_KEY, PROMPT

MODEL = "claude-demo"
REQUEST = {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": PROMPT}]}


SDK_SPANS = "open_telemetry" in inspect.signature(anthropic.Anthropic.__init__).parameters
"""Whether the installed major emits spans of its own (1.x and later; 0.x has no ``open_telemetry`` option)."""
needs_sdk_spans = pytest.mark.skipif(not SDK_SPANS, reason="this anthropic major emits no spans of its own")


def _without_sdk_span_option(options: dict) -> dict:
    if not SDK_SPANS and options.get("open_telemetry") is False:
        return {key: value for key, value in options.items() if key != "open_telemetry"}
    return options


def _client(handler=None, **options) -> anthropic.Anthropic:
    options = _without_sdk_span_option(options)
    http = ANTHROPIC_HTTP.Client(transport=ANTHROPIC_HTTP.MockTransport(handler or fake_handler()))
    return anthropic.Anthropic(api_key=API_KEY, base_url="http://llm.test", http_client=http, **options)


def _async_client(**options) -> anthropic.AsyncAnthropic:
    options = _without_sdk_span_option(options)
    http = ANTHROPIC_HTTP.AsyncClient(transport=ANTHROPIC_HTTP.MockTransport(fake_handler()))
    return anthropic.AsyncAnthropic(api_key=API_KEY, base_url="http://llm.test", http_client=http, **options)


@pytest.fixture
def instrumented(instrument):
    return lambda **kwargs: instrument(AnthropicInstrumentor, **kwargs)


def test_input_tokens_include_cache_reads_and_writes(instrumented, span_exporter, metric_reader):
    """input_tokens counts every prompt token; cache reads and writes are attributes and counters of their own."""
    instrumented()
    usage = _client().messages.create(**REQUEST, stop_sequences=["###"]).usage
    span = one_span(span_exporter)
    assert usage.cache_read_input_tokens > 0 and usage.cache_creation_input_tokens > 0
    total = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    assert span.attributes["gen_ai.usage.input_tokens"] == total
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == usage.cache_read_input_tokens
    assert span.attributes["gen_ai.usage.cache_creation.input_tokens"] == usage.cache_creation_input_tokens
    assert span.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert span.attributes["gen_ai.request.stop_sequences"] == ("###",)
    assert span.attributes["gen_ai.request.max_tokens"] == 256
    (read,) = points(metric_reader, "gen_ai.client.inference.usage.cache_read.input_tokens")
    (write,) = points(metric_reader, "gen_ai.client.inference.usage.cache_write.input_tokens")
    assert (read.value, write.value) == (usage.cache_read_input_tokens, usage.cache_creation_input_tokens)


def test_stream_helper_text_stream_and_final_message(instrumented, span_exporter, metric_reader):
    """messages.stream(): one span from entering the with block to the end of the stream, with usage."""
    instrumented()
    with _client().messages.stream(**REQUEST) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text
    span = one_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["agentperf.stream.end"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert span.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert points(metric_reader, "gen_ai.client.operation.time_to_first_chunk")[0].count == 1


def test_stream_helper_early_exit(instrumented, span_exporter):
    """Leaving the with block after one event ends the span as closed, without invented output tokens."""
    instrumented()
    with _client().messages.stream(**REQUEST) as stream:
        next(iter(stream))
    span = one_span(span_exporter)
    assert span.attributes["agentperf.stream.end"] == "closed"
    assert "gen_ai.usage.output_tokens" not in span.attributes


def test_stream_helper_not_entered_sends_nothing(instrumented, span_exporter):
    """A stream manager that is never entered makes no request and no span."""
    instrumented()
    manager = _client().messages.stream(**REQUEST)
    del manager
    gc.collect()
    finish_abandoned()
    assert not span_exporter.get_finished_spans()


async def test_async_stream_helper(instrumented, span_exporter):
    """The async messages.stream() helper is traced the same way."""
    instrumented()
    async with _async_client().messages.stream(**REQUEST) as stream:
        final = await stream.get_final_message()
    span = one_span(span_exporter)
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert span.attributes["agentperf.stream.end"] == "completed"


def test_stream_helper_request_failure_ends_span(instrumented, span_exporter):
    """A failing request inside messages.stream() raises the SDK's error and ends the span in ERROR."""
    instrumented()
    with pytest.raises(anthropic.InternalServerError):
        with _client(max_retries=0).messages.stream(**REQUEST, extra_headers={"x-fake-fault": "always:500"}):
            pass
    span = one_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR


@needs_sdk_spans
def test_sdk_native_span_is_a_child_never_a_sibling(instrumented, tracer_provider, span_exporter):
    """The SDK's own span lands under ours: one GenAI span per call at the top level."""
    instrumented()
    client = _client(open_telemetry={"tracer_provider": tracer_provider})
    client.messages.create(**REQUEST)
    spans = {span.instrumentation_scope.name: span for span in span_exporter.get_finished_spans()}
    ours = spans["otel_agentperf.instrumentation.anthropic"]
    native = spans["com.anthropic.sdk.python"]
    assert ours.parent is None
    assert native.parent.span_id == ours.context.span_id
    assert native.context.trace_id == ours.context.trace_id


@needs_sdk_spans
def test_sdk_native_stream_span_is_a_child(instrumented, tracer_provider, span_exporter):
    """For streams too, the SDK's span is our span's child."""
    instrumented()
    client = _client(open_telemetry={"tracer_provider": tracer_provider})
    with client.messages.stream(**REQUEST) as stream:
        stream.until_done()
    spans = {span.instrumentation_scope.name: span for span in span_exporter.get_finished_spans()}
    assert (
        spans["com.anthropic.sdk.python"].parent.span_id
        == spans["otel_agentperf.instrumentation.anthropic"].context.span_id
    )


def test_concurrent_async_calls_keep_their_own_spans(instrumented, span_exporter):
    """Concurrent calls in one event loop do not share state."""
    instrumented()

    async def run():
        client = _async_client()
        return await asyncio.gather(*(client.messages.create(**REQUEST) for _ in range(10)))

    asyncio.run(run())
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 10
    assert all(span.parent is None for span in spans)
    assert len({span.context.span_id for span in spans}) == 10


class Verdict(BaseModel):
    label: str
    score: float


def test_parse_is_one_chat_span_with_json_output(instrumented, span_exporter):
    """messages.parse() (structured output, not routed through create) gives one chat span with output type json."""
    instrumented()
    client = _client(open_telemetry=False)
    with suppress_instrumentation():
        bare = client.messages.parse(**REQUEST, output_format=Verdict)
    parsed = client.messages.parse(**REQUEST, output_format=Verdict)
    assert parsed.parsed_output == bare.parsed_output == Verdict(label="fake", score=1.5)
    span = one_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.output_tokens"] == parsed.usage.output_tokens


async def test_async_parse(instrumented, span_exporter):
    """The async messages.parse() is traced the same way."""
    instrumented()
    parsed = await _async_client(open_telemetry=False).messages.parse(**REQUEST, output_format=Verdict)
    assert parsed.parsed_output.label == "fake"
    assert one_span(span_exporter).attributes["gen_ai.output.type"] == "json"
