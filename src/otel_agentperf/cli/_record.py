"""``agentperf record``: run a command under auto-instrumentation and write its telemetry to an OTLP JSON file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

from otel_agentperf.cli._receiver import Counts, Destination, Receiver

SIGNALS = ("TRACES", "METRICS", "LOGS")
SIGINT_GRACE_S = 1.0
"""After Ctrl-C, how long the command has to stop by itself (the terminal sent it the same signal) before we pass
the signal on: a second SIGINT would interrupt its telemetry's final flush."""
STOP_GRACE_S = 10.0
"""After Ctrl-C, how long the command has to finish its shutdown before it is terminated (and killed after twice)."""
SETTINGS = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "none",
}
DEFAULTS = {
    "OTEL_BSP_SCHEDULE_DELAY": "500",  # spans reach the status line within half a second
    "OTEL_METRIC_EXPORT_INTERVAL": "5000",
}


def user_destinations(environ: dict[str, str]) -> list[Destination]:
    """Where the user's own settings send traces and metrics, if they set an OTLP endpoint."""
    found = []
    headers = _headers(environ.get("OTEL_EXPORTER_OTLP_HEADERS", ""))
    for signal_name, path in (("TRACES", "v1/traces"), ("METRICS", "v1/metrics")):
        own = environ.get(f"OTEL_EXPORTER_OTLP_{signal_name}_ENDPOINT")
        base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not own and not base:
            continue
        protocol = (
            environ.get(f"OTEL_EXPORTER_OTLP_{signal_name}_PROTOCOL")
            or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "grpc"
        )
        if protocol == "grpc":
            endpoint = own or base or ""
        else:
            endpoint = own or f"{(base or '').rstrip('/')}/{path}"
        signal_headers = {**headers, **_headers(environ.get(f"OTEL_EXPORTER_OTLP_{signal_name}_HEADERS", ""))}
        found.append(Destination(signal_name.lower(), protocol, endpoint, signal_headers))
    return found


def _headers(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {unquote(key.strip()).lower(): unquote(value.strip()) for key, value in pairs}


def child_environment(environ: dict[str, str], receiver_endpoint: str, command: Sequence[str]) -> dict[str, str]:
    """The command's environment: every signal to our receiver over OTLP/HTTP, the rest as the user set it."""
    env = dict(environ)
    for signal_name in SIGNALS:
        for suffix in ("ENDPOINT", "PROTOCOL", "HEADERS", "COMPRESSION"):
            env.pop(f"OTEL_EXPORTER_OTLP_{signal_name}_{suffix}", None)
    for suffix in ("HEADERS", "COMPRESSION"):
        env.pop(f"OTEL_EXPORTER_OTLP_{suffix}", None)
    env.update(SETTINGS)
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver_endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf")
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    env.setdefault("OTEL_SERVICE_NAME", Path(command[-1] if command else "program").stem or "program")
    return env


def instrumented(command: Sequence[str]) -> list[str]:
    """``opentelemetry-instrument COMMAND``; ``python`` means the Python that runs agentperf."""
    program = list(command)
    if program and program[0] in ("python", "python3"):
        program[0] = sys.executable
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    if launcher.is_file():
        return [str(launcher), *program]
    found = shutil.which("opentelemetry-instrument")
    if found:
        return [found, *program]
    return [sys.executable, "-c", "from opentelemetry.instrumentation.auto_instrumentation import run; run()", *program]


def status_line(counts: Counts, elapsed: float) -> str:
    """``recording: runs 3 · LLM calls 21 · tokens 12,345 · errors 0 · 4.2 s`` (fits 80 columns)."""
    return (
        f"recording: runs {counts.runs} · LLM calls {counts.llm_calls} · tokens {counts.tokens:,} · "
        f"errors {counts.errors} · {elapsed:.1f} s"
    )


def record(output: Path, command: Sequence[str], *, quiet: bool = False) -> int:
    """Run ``command`` instrumented, write what it exports to ``output``; return its exit status (128+N: signal N)."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    console = Console(stderr=True)
    live_display = console.is_terminal and not quiet
    with output.open("w", encoding="utf-8") as handle:
        receiver = Receiver(handle, user_destinations(dict(os.environ))).start()
        env = child_environment(dict(os.environ), receiver.endpoint, command)
        started = time.monotonic()
        interrupted: list[float] = []
        previous = signal.signal(signal.SIGINT, lambda number, frame: interrupted.append(time.monotonic()))
        try:
            if live_display:
                env.setdefault("PYTHONUNBUFFERED", "1")
                with Live(console=console, transient=True, refresh_per_second=4, redirect_stdout=True) as live:
                    child = _start(command, env, piped=True)
                    code = _wait(
                        child, interrupted, lambda: live.update(Text(status_line(receiver.counts, _since(started))))
                    )
            else:
                child = _start(command, env, piped=False)
                code = _wait(child, interrupted, lambda: None)
        finally:
            signal.signal(signal.SIGINT, previous)
            receiver.stop()
    counts = receiver.counts
    if not quiet:
        console.print(status_line(counts, _since(started)).replace("recording:", "recorded:"), highlight=False)
        interruption = " (interrupted)" if interrupted else ""
        console.print(
            f"wrote {counts.requests} OTLP requests ({counts.spans:,} spans) to {output}{interruption}", highlight=False
        )
        if counts.requests == 0:
            console.print(
                "[yellow]nothing arrived[/yellow]: is the command a Python program with otel-agentperf and "
                "opentelemetry-distro installed? `agentperf doctor` checks the setup."
            )
    return code


def _since(started: float) -> float:
    return time.monotonic() - started


def _start(command: Sequence[str], env: dict[str, str], *, piped: bool) -> subprocess.Popen[bytes]:
    if not piped:
        return subprocess.Popen(instrumented(command), env=env)
    child = subprocess.Popen(instrumented(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for stream, target in ((child.stdout, sys.stdout), (child.stderr, sys.stderr)):
        threading.Thread(target=_copy, args=(stream, target), daemon=True).start()
    return child


def _copy(source: IO[bytes] | None, target: Any) -> None:
    if source is None:
        return
    for line in iter(source.readline, b""):
        target.write(line.decode(errors="replace"))
        target.flush()


def _wait(child: subprocess.Popen[bytes], interrupted: list[float], tick: Any) -> int:
    """Wait for the command; after Ctrl-C pass SIGINT on, then SIGTERM, then SIGKILL if it will not stop."""
    escalation = [(SIGINT_GRACE_S, signal.SIGINT), (STOP_GRACE_S, signal.SIGTERM), (2 * STOP_GRACE_S, signal.SIGKILL)]
    while True:
        try:
            code = child.wait(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            tick()
        if interrupted and escalation and time.monotonic() - interrupted[0] >= escalation[0][0]:
            child.send_signal(escalation.pop(0)[1])
    return 128 - code if code < 0 else code
