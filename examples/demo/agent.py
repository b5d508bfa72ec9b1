"""A small "research agent" that talks to an OpenAI-compatible service through the real openai SDK.

The program knows nothing about OpenTelemetry exporters: run it under ``opentelemetry-instrument`` and
otel_agentperf's instrumentor (entry point ``agentperf_openai``) turns every LLM call into a span and metrics::

    OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=... opentelemetry-instrument python agent.py

The only telemetry code here is otel_agentperf's ``agent_run`` around the whole run (an ``invoke_agent`` span that
ends with the run's performance summary), its ``@tool`` on the tool functions, and a name for the search cache.
``run_demo.py`` starts a fake LLM service and runs this file for you.

``--runs N`` answers N questions in a row, as a service would: the search tool's cachetools cache then hits (every
run searches the same index), and from the second run on the agent re-reads the release notes from a flaky source,
which tenacity retries: app caches and a retry library show up next to the LLM calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import cachetools
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

from otel_agentperf import agent_run, tool
from otel_agentperf.instrumentation.cachetools import name_cache

AGENT_NAME = "research-agent"
CHAT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
QUESTION = "What changed in the latest release of the OpenTelemetry GenAI semantic conventions?"
QUESTIONS = (
    QUESTION,
    "Which attributes carry prompt-cache token counts?",
    "How should an agent's tool calls be named in traces?",
)
SEARCH_CACHE = name_cache(cachetools.TTLCache(maxsize=256, ttl=600), "docs-search")

# A long, stable system prompt: the part of every request that a provider's prompt cache can serve.
SYSTEM_PROMPT = (
    "You are a meticulous research assistant. Break the user's question into steps, call the tools you are given "
    "when you need facts, and cite what the tools returned. Prefer primary sources such as specifications, release "
    "notes and changelogs over blog posts. When sources disagree, say so and explain which one you trust and why. "
    "Keep answers short: a one-sentence summary first, then at most five bullet points, each with its source. "
    "Never invent version numbers, dates or names; if a tool did not return them, say that you do not know. "
    "If the question is ambiguous, state the interpretation you chose before answering. Use plain language, avoid "
    "jargon unless the user used it first, and define every acronym the first time it appears in the answer."
)

SEARCH_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "description": "Search the documentation index and return the most relevant passages.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to search for."}},
            "required": ["query"],
        },
    },
}


@tool
@cachetools.cached(SEARCH_CACHE)
def search_docs(query: str) -> str:
    """The agent's tool: a plain Python function (a real agent would query an index or the web), cached."""
    passages = [
        f"[spec] GenAI conventions: spans are named '{{operation}} {{model}}'; results for {query!r}.",
        "[changelog] Added gen_ai.provider.name and prompt-cache token attributes.",
    ]
    return "\n".join(passages)


class FlakySource:
    """A release-notes source that drops the first connection of every read, as a busy server does."""

    def __init__(self) -> None:
        self.attempts = 0

    @retry(retry=retry_if_exception_type(ConnectionError), stop=stop_after_attempt(3), wait=wait_fixed(0.05))
    def read(self) -> str:
        self.attempts += 1
        if self.attempts % 2:
            raise ConnectionError("connection reset by the release-notes server")
        return "[release notes] gen_ai.provider.name replaces gen_ai.system."


@tool
def fetch_release_notes() -> str:
    """Re-read the release notes (tenacity retries the flaky source)."""
    return FlakySource().read()


def plan(client: OpenAI, messages: list[ChatCompletionMessageParam]) -> list[ChatCompletionMessageFunctionToolCall]:
    """Step 1: ask the model what to do; it answers with tool calls."""
    response = client.chat.completions.create(model=CHAT_MODEL, messages=messages, tools=[SEARCH_TOOL], temperature=0.2)
    calls = [call for call in response.choices[0].message.tool_calls or [] if call.type == "function"]
    requested: list[ChatCompletionMessageFunctionToolCallParam] = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments},
        }
        for call in calls
    ]
    messages.append({"role": "assistant", "tool_calls": requested})
    return calls


def run_tools(calls: list[ChatCompletionMessageFunctionToolCall], messages: list[ChatCompletionMessageParam]) -> None:
    """Step 2: run each requested tool locally and hand the results back as tool messages."""
    for call in calls:
        arguments = json.loads(call.function.arguments)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": search_docs(**arguments)})


def reason(client: OpenAI, messages: list[ChatCompletionMessageParam]) -> str:
    """Step 3: let the model read the tool results. The service rate-limits this call once (the SDK retries) and
    reports how little of its token limit is left."""
    response = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=messages,
        extra_headers={"x-fake-fault": "retry-once:429", "x-fake-rate-limits": "low"},
    )
    return response.choices[0].message.content or ""


def answer(client: OpenAI, messages: list[ChatCompletionMessageParam]) -> str:
    """Step 4: stream the final answer to the user, asking for token usage at the end of the stream."""
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[*messages, {"role": "user", "content": "Now write the final answer."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts: list[str] = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


def remember(client: OpenAI, texts: list[str]) -> int:
    """Step 5: embed the exchange for the agent's long-term memory; returns the vector size."""
    response = client.embeddings.create(model=EMBEDDING_MODEL, input=texts)
    return len(response.data[0].embedding)


def summarise(client: OpenAI, text: str) -> str:
    """Step 6: a one-line title for the conversation, through the Responses API."""
    response = client.responses.create(model=CHAT_MODEL, input=f"Give a short title for: {text}")
    return response.output_text


async def critique(text: str) -> str:
    """Step 7: an async self-check, as agents do when they run several checks concurrently."""
    async with AsyncOpenAI() as client:
        response = await client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": f"Is this answer well sourced? {text}"}],
            max_tokens=64,
        )
    return response.choices[0].message.content or ""


def run_agent(question: str, recheck: bool = False) -> str:
    """One agent invocation: every LLM call below becomes a child span of ``invoke_agent research-agent``."""
    with agent_run(AGENT_NAME) as run, OpenAI() as client:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ]
        calls = plan(client, messages)
        print(f"  plan       -> {len(calls)} tool call(s): {', '.join(call.function.name for call in calls)}")
        run_tools(calls, messages)
        print(f"  tools      -> {len(calls)} result(s)")
        if recheck:
            messages.append({"role": "user", "content": fetch_release_notes()})
            print("  recheck    -> release notes read again (after one tenacity retry)")
        notes = reason(client, messages)
        print(f"  reason     -> {len(notes.split())} words (after one rate-limit retry)")
        final = answer(client, messages)
        print(f"  answer     -> {len(final.split())} words, streamed")
        dimensions = remember(client, [question, final])
        print(f"  remember   -> 2 embeddings of {dimensions} dimensions")
        title = summarise(client, final)
        print(f"  summarise  -> {title[:60]!r}")
        verdict = asyncio.run(critique(final))
        print(f"  critique   -> {len(verdict.split())} words (async client)")
    summary = run.summary
    if summary is not None:
        print(
            f"  summary    -> {summary.llm_calls} LLM calls, {summary.input_tokens} tokens in,"
            f" {summary.tool_calls} tool call(s), {summary.retries} retry, {summary.duration:.2f} s"
        )
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description="A research agent over an OpenAI-compatible service.")
    parser.add_argument("--runs", type=int, default=1, help="how many questions to answer, one agent run each")
    runs = parser.parse_args().runs
    for number in range(runs):
        question = QUESTIONS[number % len(QUESTIONS)]
        print(f"{AGENT_NAME}: {question}")
        final = run_agent(question, recheck=number > 0)
        print(f"{AGENT_NAME}: done ({len(final)} characters)")


if __name__ == "__main__":
    main()
