"""Run ``agentperf`` as a user does: a subprocess of the test's Python, against the fake LLM service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo"
TIMEOUT_S = 120


def agentperf_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "otel_agentperf.cli", *arguments]


def agentperf(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agentperf_command(*arguments),
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=ROOT,
    )


def clean_env(**settings: str) -> dict[str, str]:
    """The test's environment without OTEL_* settings from the shell (strict mode stays on)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") or k == "OTEL_AGENTPERF_STRICT"}
    env.update(settings)
    return env


@contextmanager
def llm_service(chunk_delay: float = 0.0) -> Iterator[str]:
    """The fake LLM service on a free loopback port; yields its OpenAI base URL."""
    from llm_server import serve  # examples/demo is on the path (tests/conftest.py)

    server = serve(port=0, chunk_delay=chunk_delay)
    show_error = server.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up is no news
            show_error(request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def spans_in(path: Path) -> list[dict[str, Any]]:
    """Every span of an OTLP JSON lines file, read with nothing but json, attributes as a plain dict."""
    found = []
    for line in path.read_text().splitlines():
        for resource_spans in json.loads(line).get("resourceSpans", ()):
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    attributes = {}
                    for item in span.get("attributes", ()):
                        (value,) = item["value"].values()
                        attributes[item["key"]] = int(value) if "intValue" in item["value"] else value
                    found.append({**span, "attributes": attributes})
    return found
