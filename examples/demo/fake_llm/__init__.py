"""Routes of the fake LLM service for providers beyond OpenAI and Anthropic, in their real wire formats.

- Google Gen AI (Gemini API and Vertex AI paths): ``models/{model}:generateContent``,
  ``:streamGenerateContent?alt=sse``, ``:embedContent``, ``:batchEmbedContents``;
- Amazon Bedrock Runtime: ``/model/{modelId}/converse``, ``/converse-stream``, ``/invoke`` and
  ``/invoke-with-response-stream`` (AWS event-stream framing), for the Anthropic and Amazon model families.

``route()`` answers a request on one of these paths, or returns ``None`` for ``llm_server.respond`` to go on.
"""

from __future__ import annotations

from fake_llm import bedrock, gemini
from fake_llm.common import Headers, Reply


def route(path: str, headers: Headers, body: bytes, chunk_delay: float = 0.0) -> Reply | None:
    """The reply to a POST on a Gemini or Bedrock path (``headers`` in lower case), else ``None``."""
    for provider in (gemini, bedrock):
        target = provider.match(path)
        if target is not None:
            return provider.respond(target, headers, body, chunk_delay)
    return None


__all__ = ["Headers", "Reply", "route"]
