"""``make demo``: record the research agent with ``agentperf record`` and read it with ``agentperf report``, offline.

1. start the fake OpenAI-compatible service (``llm_server.py``) on a free loopback port;
2. ``agentperf record -o demo-run.jsonl -- python agent.py --runs 5``: the agent runs under auto-instrumentation and
   its spans and metrics land in an OTLP JSON lines file (with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, your collector
   receives them too);
3. ``agentperf report demo-run.jsonl``: the performance report, with recommendations.

Exits with the agent's status when it fails, else with the report's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llm_server import serve

HERE = Path(__file__).resolve().parent
AGENT = HERE / "agent.py"
GRAPH_AGENT = HERE / "graph_agent.py"
"""``--graph``: the same agent built with LangChain's ``create_agent`` (LangGraph), traced with no code at all."""
RUNS = 5
TIMEOUT_S = 180


def agentperf(*arguments: str, env: dict[str, str]) -> int:
    """Run one ``agentperf`` command with the Python that runs this script, showing it as a user would type it."""
    print(f"\n$ agentperf {' '.join(arguments)}\n", flush=True)
    command = [sys.executable, "-m", "otel_agentperf.cli", *arguments]
    try:
        return subprocess.run(command, env=env, timeout=TIMEOUT_S, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"agentperf {arguments[0]} did not finish within {TIMEOUT_S} s", file=sys.stderr)
        return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", default="demo-run.jsonl", help="the OTLP JSON lines file to write")
    parser.add_argument("--graph", action="store_true", help="record the LangGraph agent (needs the langchain extras)")
    options = parser.parse_args()
    output = os.path.relpath(Path(options.output).resolve())
    agent = [os.path.relpath(GRAPH_AGENT)] if options.graph else [os.path.relpath(AGENT), "--runs", str(RUNS)]
    llm = serve(port=0, chunk_delay=0.01)
    show_error = llm.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no news
            show_error(request, client_address)

    llm.handle_error = handle_error  # type: ignore[method-assign]
    base_url = f"http://127.0.0.1:{llm.server_address[1]}/v1"
    print(f"fake LLM service: {base_url}")
    env = dict(os.environ, OPENAI_BASE_URL=base_url, OPENAI_API_KEY="demo-key-not-secret")
    env.setdefault("OTEL_SERVICE_NAME", "agentperf-demo")
    try:
        status = agentperf("record", "-o", output, "--", "python", *agent, env=env)
        if status != 0:
            print(f"\nagent failed with exit status {status}", file=sys.stderr)
            return status
        return agentperf("report", output, env=env)
    finally:
        llm.shutdown()


if __name__ == "__main__":
    sys.exit(main())
