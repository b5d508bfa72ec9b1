"""The alert rules and the dashboard against a real Prometheus scraping a real instrumented workload.

promtool checks and unit-tests the alert rules; Prometheus scrapes the workload (tests/backend_tests/workload.py);
every PromQL expression of the rules and the dashboard must parse, and every dashboard panel must return data.
Prometheus and promtool come from Debian's ``prometheus`` package (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "collector-config"
PROMETHEUS_DIR = CONFIG / "prometheus"
DASHBOARD = CONFIG / "grafana" / "dashboards" / "agent-performance.json"

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="Debian's prometheus package is not installed (.ci/run installs it)",
)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _query(base: str, expression: str) -> dict[str, Any]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    try:
        return _get(url)  # type: ignore[no-any-return]
    except urllib.error.HTTPError as error:  # 400 for a bad expression: return Prometheus' own answer
        return json.load(error)  # type: ignore[no-any-return]


def _dashboard_expressions() -> dict[str, str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        panel["title"]: target["expr"].replace("$__rate_interval", "1m")
        for panel in panels
        for target in panel["targets"]
    }


def _rule_expressions() -> dict[str, str]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prometheus scraping the workload every second; its base URL once the workload's metrics are in."""
    directory = tmp_path_factory.mktemp("prometheus")
    app_port, prometheus_port = free_port(), free_port()
    workload = subprocess.Popen([sys.executable, str(Path(__file__).with_name("workload.py")), str(app_port)])
    config = directory / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: agent, static_configs: [{{targets: ['127.0.0.1:{app_port}']}}]}}]\n"
    )
    server = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{prometheus_port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                samples = _query(base, "count(rate(gen_ai_client_operation_duration_seconds_count[1m]) > 0)")
                if samples["data"]["result"]:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("Prometheus never scraped the workload's LLM metrics")
        time.sleep(3)  # a few more scrapes, so that every rate() has two samples
        yield base
    finally:
        for process in (server, workload):
            process.terminate()
            process.wait(timeout=10)


@needs_prometheus
def test_promtool_checks_and_unit_tests_the_rules():
    """promtool check rules and promtool test rules both pass."""
    check = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=PROMETHEUS_DIR, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS_DIR, capture_output=True)
    assert test.returncode == 0, test.stdout + test.stderr


@needs_prometheus
def test_every_expression_parses(prometheus):
    """Every alert and dashboard expression is valid PromQL for a real Prometheus."""
    expressions = {**_rule_expressions(), **_dashboard_expressions()}
    assert len(expressions) >= 20
    failures = {name: _query(prometheus, expr).get("error") for name, expr in expressions.items()}
    assert {name: error for name, error in failures.items() if error} == {}


@needs_prometheus
def test_every_dashboard_panel_returns_data(prometheus):
    """Each panel's query returns at least one series from the instrumented workload (within a minute of scrapes)."""
    expressions = _dashboard_expressions()
    deadline = time.monotonic() + 60
    while True:
        empty = [title for title, expr in expressions.items() if not _query(prometheus, expr)["data"]["result"]]
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(1)  # a loaded machine may not have scraped every series twice yet
    assert empty == []
