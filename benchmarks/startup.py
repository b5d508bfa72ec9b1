"""Start-up cost of zero-code instrumentation: ``python -c pass`` under ``opentelemetry-instrument``.

Variants, run interleaved in the same session (one process each, ``ROUNDS`` rounds, median wall time):

- ``bare``: ``python -c pass``;
- ``otel``: ``opentelemetry-instrument python -c pass`` with every ``agentperf_*`` instrumentor disabled
  (``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``): the baseline of the package's own cost;
- ``agentperf``: the same with every ``agentperf_*`` instrumentor enabled;
- ``import openai`` / ``anthropic`` / ``mcp`` / ``langchain_core``: what one installed library costs when it is
  imported at start-up, which instrumenting no longer does for a program that does not import it.

Prints milliseconds, the ratio ``agentperf / otel``, and which of those libraries were loaded under ``agentperf``.
Exporters are off (``OTEL_*_EXPORTER=none``). Run ``python benchmarks/startup.py [rounds]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
PYTHON = sys.executable
INSTRUMENT = str(Path(PYTHON).with_name("opentelemetry-instrument"))
QUIET = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
OURS = sorted(ep.name for ep in entry_points(group="opentelemetry_instrumentor") if ep.name.startswith("agentperf_"))
LIBRARIES = ("openai", "anthropic", "mcp", "langchain_core")
LOADED = f"import sys; print(*[name for name in {LIBRARIES!r} if name in sys.modules])"

VARIANTS: dict[str, tuple[list[str], dict[str, str]]] = {
    "bare": ([PYTHON, "-c", "pass"], {}),
    "otel": ([INSTRUMENT, PYTHON, "-c", "pass"], {**QUIET, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ",".join(OURS)}),
    "agentperf": ([INSTRUMENT, PYTHON, "-c", "pass"], QUIET),
    "import openai": ([PYTHON, "-c", "import openai"], {}),
    "import anthropic": ([PYTHON, "-c", "import anthropic"], {}),
    "import mcp": ([PYTHON, "-c", "import mcp.client.session"], {}),
    "import langchain_core": ([PYTHON, "-c", "import langchain_core.tools.base"], {}),
}


def run_ms(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - started) * 1e3


def main() -> None:
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(ROUNDS):
        for name, (command, env) in VARIANTS.items():
            times[name].append(run_ms(command, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:>22}: {value:7.1f} ms")
    print(f"{'agentperf / otel':>22}: {medians['agentperf'] / medians['otel']:7.2f}")
    loaded = subprocess.run([INSTRUMENT, PYTHON, "-c", LOADED], env={**os.environ, **QUIET}, capture_output=True)
    names = loaded.stdout.decode().split() or ["none of " + ", ".join(LIBRARIES)]
    print(f"{'loaded at start-up':>22}: {' '.join(names)}  ({len(OURS)} agentperf instrumentors)")


if __name__ == "__main__":
    main()
