"""The demo's agent built with a framework: LangChain's ``create_agent`` (a LangGraph graph), with no telemetry code.

Run it under ``opentelemetry-instrument`` with the fake LLM service (``run_demo.py --graph`` does both)::

    OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=... opentelemetry-instrument python graph_agent.py

With zero code, the graph invocation is an ``invoke_agent research-graph`` run with its summary, each node a
``node {name}`` span, the model's calls ``chat`` spans and the tool an ``execute_tool`` span under their nodes.
"""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

AGENT_NAME = "research-graph"
QUESTION = "What changed in the latest release of the OpenTelemetry GenAI semantic conventions?"


@tool
def search_docs(query: str) -> str:
    """Search the documentation index and return the most relevant passages."""
    return f"Release notes for {query!r}: agent spans, workflow spans and agent metrics were added."


def main() -> None:
    model = ChatOpenAI(model="gpt-4o-mini", max_retries=2)  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
    agent = create_agent(model, [search_docs], name=AGENT_NAME, system_prompt="Answer with the tool's facts.")
    result = agent.invoke({"messages": [("user", QUESTION)]})
    print(f"{AGENT_NAME}: {result['messages'][-1].content[:80]}")
    print(f"{AGENT_NAME}: done")


if __name__ == "__main__":
    main()
