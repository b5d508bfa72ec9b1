"""The demo trace in Phoenix, shot with headless Chromium: ``python -m tests.backend_tests.screenshot OUT``.

Needs ``.venv-backends`` (``make test`` creates it) and Debian's ``chromium``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.backend_tests import backends


def main(out: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as directory:
        with backends.phoenix(Path(directory)) as phoenix, backends.rotel(phoenix.url, Path(directory) / "r.log") as e:
            done = backends.run_demo_agent(e)
            if done.returncode != 0:
                sys.exit(done.stderr)
            time.sleep(3)
            with urllib.request.urlopen(f"{phoenix.url}/v1/projects/default/spans?limit=1", timeout=5) as response:
                trace_id = json.load(response)["data"][0]["context"]["trace_id"]
            with urllib.request.urlopen(f"{phoenix.url}/v1/projects", timeout=5) as response:
                project = json.load(response)["data"][0]["id"]
            url = f"{phoenix.url}/projects/{project}/traces/{trace_id}"
            command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
            command += ["--window-size=1600,1000", "--virtual-time-budget=10000", f"--screenshot={out.resolve()}", url]
            subprocess.run(command, check=True, capture_output=True, timeout=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
