"""The demo trace in Jaeger's UI, shot with headless Chromium: ``python -m tests.backend_tests.screenshot_jaeger OUT``.

The demo agent exports to the agent-side collector (``otelcol-agent.yaml``), which forwards to the single-machine
collector (``otelcol-local.yaml``), which exports to Jaeger v2. Needs the engines (``make engines``), Debian's
``chromium``, and a built Jaeger UI in ``JAEGER_UI`` (Jaeger's Go module ships without its UI: build jaeger-ui
v1.74.0 with ``npm ci && npm run build`` and point ``JAEGER_UI`` at ``packages/jaeger-ui/build``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.backend_tests import backends, engines


def main(out: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed: apt-get install -y chromium")
    ui = Path(os.environ.get("JAEGER_UI", ""))
    if not (ui / "index.html").exists():
        sys.exit("JAEGER_UI must name a built Jaeger UI (a folder with index.html); see this module's docstring")
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        with (
            engines.jaeger(directory / "jaeger.log", ui_assets=ui) as jaeger,
            engines.recording_store() as tempo,
            engines.collector(
                engines.CONFIG / "otelcol-local.yaml",
                {"JAEGER_ENDPOINT": jaeger.otlp_endpoint, "TEMPO_ENDPOINT": tempo.endpoint},
                directory / "local.log",
            ) as local,
            engines.collector(
                engines.CONFIG / "otelcol-agent.yaml", {"GATEWAY_ENDPOINT": local.grpc_endpoint}, directory / "a.log"
            ) as agent,
        ):
            done = backends.run_demo_agent(f"http://{agent.grpc_endpoint}")
            if done.returncode != 0:
                sys.exit(done.stderr)
            deadline = time.monotonic() + 30
            while not (traces := jaeger.traces("agentperf-e2e")) and time.monotonic() < deadline:
                time.sleep(0.5)
            if not traces:
                sys.exit("the demo trace did not reach Jaeger")
            time.sleep(2)
            url = f"{jaeger.url}/trace/{traces[0]['traceID']}?uiEmbed=v0"
            command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
            command += ["--window-size=1600,450", "--virtual-time-budget=15000", f"--screenshot={out.resolve()}", url]
            subprocess.run(command, check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
