"""LangChain chat models (ChatOpenAI, ChatAnthropic) over the fake LLM service: tokens, model, finish reasons, runs.

langchain-openai calls ``with_raw_response.create()`` and then ``parse()``: these tests hold the raw-response path to
what a plain call records, through the framework as people use it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from otel_agentperf import agent_run
from otel_agentperf.instrumentation.anthropic import AnthropicInstrumentor
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor

langchain_openai = pytest.importorskip("langchain_openai")
langchain_anthropic = pytest.importorskip("langchain_anthropic")


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    from llm_server import serve  # examples/demo, on the path in tests (conftest)

    server = serve(port=0)
    show_error = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up when they close early
            show_error(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def chat_model(provider: str, url: str) -> Any:
    if provider == "openai":
        return langchain_openai.ChatOpenAI(
            model="gpt-4o-mini", base_url=f"{url}/v1", api_key="sk-test", max_retries=0, stream_usage=True
        )
    return langchain_anthropic.ChatAnthropic(
        model="claude-demo", base_url=url, api_key="sk-ant-test", max_retries=0, max_tokens=256
    )


INSTRUMENTORS = {"openai": OpenAIInstrumentor, "anthropic": AnthropicInstrumentor}
FINISH_REASON_KEY = {"openai": "finish_reason", "anthropic": "stop_reason"}


def check(provider: str, message: Any, run: Any, span_exporter: Any) -> None:
    (span,) = [span for span in span_exporter.get_finished_spans() if span.name.startswith("chat ")]
    usage = message.usage_metadata
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert span.attributes["gen_ai.usage.input_tokens"] == usage["input_tokens"]
    assert span.attributes["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert span.attributes["gen_ai.response.model"] == message.response_metadata["model_name"]
    reason = message.response_metadata[FINISH_REASON_KEY[provider]]
    assert span.attributes["gen_ai.response.finish_reasons"] == (reason,)
    assert run.summary.llm_calls == 1
    assert run.summary.input_tokens == usage["input_tokens"]
    assert run.summary.output_tokens == usage["output_tokens"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_chat_model_calls_record_tokens(
    instrument, tracer_provider, meter_provider, span_exporter, llm_url, provider, mode
):
    instrument(INSTRUMENTORS[provider])
    model = chat_model(provider, llm_url)
    with agent_run("langchain-agent", tracer_provider=tracer_provider, meter_provider=meter_provider) as run:
        if mode == "invoke":
            message = model.invoke("What is the weather in Paris?")
        else:
            chunks = list(model.stream("What is the weather in Paris?"))
            message = chunks[0]
            for chunk in chunks[1:]:
                message = message + chunk
    if mode == "stream":
        (span,) = [span for span in span_exporter.get_finished_spans() if span.name.startswith("chat ")]
        assert span.attributes["agentperf.stream.chunk_count"] > 1
        assert span.attributes["agentperf.stream.end"] == "completed"
    check(provider, message, run, span_exporter)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_chat_model_ainvoke_records_tokens(
    instrument, tracer_provider, meter_provider, span_exporter, llm_url, provider
):
    instrument(INSTRUMENTORS[provider])
    model = chat_model(provider, llm_url)
    async with agent_run("langchain-agent", tracer_provider=tracer_provider, meter_provider=meter_provider) as run:
        message = await model.ainvoke("What is the weather in Paris?")
    check(provider, message, run, span_exporter)
