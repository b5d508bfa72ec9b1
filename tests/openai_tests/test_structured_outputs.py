"""Structured outputs: ``chat.completions.parse`` and ``responses.parse``, which do not go through ``create``."""

from __future__ import annotations

from opentelemetry.instrumentation.utils import suppress_instrumentation
from pydantic import BaseModel

from tests.helpers import one_span, points


class Forecast(BaseModel):
    city: str
    days: int
    rain: list[bool]


MESSAGES = [{"role": "user", "content": "Forecast for Lyon"}]


def test_chat_parse_is_one_chat_span_with_json_output(instrumented, client, span_exporter, metric_reader):
    """parse() gives one chat span (output type json, usage, finish reason) and the same parsed value as bare."""
    instrumented()
    with suppress_instrumentation():
        bare = client.chat.completions.parse(model="gpt-5", messages=MESSAGES, response_format=Forecast)
    assert not span_exporter.get_finished_spans()
    completion = client.chat.completions.parse(model="gpt-5", messages=MESSAGES, response_format=Forecast)
    assert (
        completion.choices[0].message.parsed
        == bare.choices[0].message.parsed
        == Forecast(city="fake", days=1, rain=[True])
    )
    span = one_span(span_exporter)
    assert span.name == "chat gpt-5"
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    durations = points(metric_reader, "gen_ai.client.operation.duration")
    assert [point.count for point in durations] == [1]


async def test_async_chat_parse(instrumented, async_client, span_exporter):
    """The async resource's parse() is traced the same way."""
    instrumented()
    completion = await async_client.chat.completions.parse(model="gpt-5", messages=MESSAGES, response_format=Forecast)
    assert completion.choices[0].message.parsed.city == "fake"
    span = one_span(span_exporter)
    assert span.name == "chat gpt-5" and span.attributes["gen_ai.output.type"] == "json"


def test_responses_parse(instrumented, client, span_exporter):
    """responses.parse() with a text_format class: one responses span with output type json and usage."""
    instrumented()
    response = client.responses.parse(model="gpt-5", input="Forecast for Lyon", text_format=Forecast)
    assert response.output_parsed == Forecast(city="fake", days=1, rain=[True])
    span = one_span(span_exporter)
    assert span.attributes["gen_ai.operation.name"] == "chat"
    assert span.attributes["openai.api.type"] == "responses"
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.output_tokens"] == response.usage.output_tokens


async def test_async_responses_parse(instrumented, async_client, span_exporter):
    """The async responses.parse() is traced too."""
    instrumented()
    response = await async_client.responses.parse(model="gpt-5", input="Forecast", text_format=Forecast)
    assert response.output_parsed.days == 1
    assert one_span(span_exporter).attributes["gen_ai.output.type"] == "json"


def test_json_schema_format_on_create_is_json_output(instrumented, client, span_exporter):
    """A json_schema text format passed to responses.create also reads as output type json."""
    instrumented()
    text = {"format": {"type": "json_schema", "name": "forecast", "schema": Forecast.model_json_schema()}}
    client.responses.create(model="gpt-5", input="Forecast", text=text)
    assert one_span(span_exporter).attributes["gen_ai.output.type"] == "json"
