"""The fleet: agent processes → two agent-side collectors → two gateway replicas (otelcol-gateway.yaml) → Jaeger.

Each agent process sends the spans of every trace alternately to the two agent-side collectors (otelcol-agent.yaml),
one per gateway, so every trace enters the fleet through both gateways. The gateways route spans by trace ID to the
replica that tail-samples the trace (the loadbalancing exporter) and export what they keep to Jaeger and to a
recording OTLP store of their own (the Tempo endpoint), which tells which replica decided each trace.

The gateway config runs as shipped except for where things listen (``--set``) and its resolver: the shipped config
resolves the replicas through DNS (a headless service), which loopback cannot offer for two replicas, so the test
names them in a static resolver. Sampling is checked over a few hundred runs: every trace with an error, a retry
(SDK or tenacity) or a run over 30 s is kept whole; ordinary ones at 10 %, within a binomial bound.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.backend_tests import engines
from tests.helpers import free_port

pytestmark = engines.needs_engines
SERVICE = "agentperf-fleet"
AGENT = Path(__file__).with_name("fleet_agent.py")
GATEWAY = engines.CONFIG / "otelcol-gateway.yaml"
ORDINARY_RUNS = 300
KEPT_RUNS = {"error": 20, "sdk_retry": 20, "tenacity_retry": 20, "slow": 3}
SAMPLED_PERCENT = 10
# Ordinary runs kept: binomial(300, 0.1), mean 30, standard deviation 5.2; 3.3 deviations either side (13 to 47
# runs) bound a false failure at about 1 in 1000.
TOLERANCE_DEVIATIONS = 3.3


def gateway_config(directory: Path, sampling_endpoints: list[str]) -> Path:
    """The shipped gateway config with the replicas named in a static resolver instead of DNS."""
    config = yaml.safe_load(GATEWAY.read_text())
    resolver = config["exporters"]["loadbalancing"]["resolver"]
    assert set(resolver) == {"dns"}
    config["exporters"]["loadbalancing"]["resolver"] = {"static": {"hostnames": sampling_endpoints}}
    path = directory / "otelcol-gateway-static.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Gateway:
    name: str
    config: Path
    env: dict[str, str]
    settings: dict[str, str]
    ports: engines.Ports
    log: Path
    store: engines.RecordingStore


@dataclass
class Fleet:
    jaeger: engines.Jaeger
    gateways: list[Gateway]
    agent_endpoints: list[str]
    running: dict[str, engines.Collector]
    stack: ExitStack

    def start_gateway(self, gateway: Gateway) -> None:
        self.running[gateway.name] = self.stack.enter_context(
            engines.collector(gateway.config, gateway.env, gateway.log, gateway.settings, gateway.ports)
        )


@contextmanager
def fleet(directory: Path) -> Iterator[Fleet]:
    """Jaeger, two gateway replicas (each with its recording store) and two agent-side collectors."""
    with ExitStack() as stack:
        jaeger = stack.enter_context(engines.jaeger(directory / "jaeger.log"))
        sampling = [f"127.0.0.1:{free_port()}" for _ in range(2)]
        config = gateway_config(directory, sampling)
        gateways = []
        for name, endpoint in zip("ab", sampling, strict=True):
            store = stack.enter_context(engines.recording_store())
            gateways.append(
                Gateway(
                    name,
                    config,
                    {"JAEGER_ENDPOINT": jaeger.otlp_endpoint, "TEMPO_ENDPOINT": store.endpoint},
                    {"receivers::otlp/sampling::protocols::grpc::endpoint": endpoint},
                    engines.Ports.free(),
                    directory / f"gateway-{name}.log",
                    store,
                )
            )
        running: dict[str, engines.Collector] = {}
        result = Fleet(jaeger, gateways, [], running, stack)
        for gateway in gateways:
            result.start_gateway(gateway)
        for gateway in gateways:
            agent = stack.enter_context(
                engines.collector(
                    engines.CONFIG / "otelcol-agent.yaml",
                    {"GATEWAY_ENDPOINT": running[gateway.name].grpc_endpoint},
                    directory / f"agent-collector-{gateway.name}.log",
                )
            )
            result.agent_endpoints.append(agent.grpc_endpoint)
        yield result


def start_agents(fleet: Fleet, plans: list[list[str]], directory: Path, pause: float = 0.0) -> list[subprocess.Popen]:
    processes = []
    for number, plan in enumerate(plans):
        (directory / f"plan-{number}.json").write_text(json.dumps(plan))
        command = [
            sys.executable,
            str(AGENT),
            str(directory / f"plan-{number}.json"),
            str(directory / f"runs-{number}.json"),
        ]
        processes.append(subprocess.Popen([*command, *fleet.agent_endpoints, str(pause)]))
    return processes


def finish_agents(processes: list[subprocess.Popen], directory: Path) -> list[dict[str, Any]]:
    for process in processes:
        assert process.wait(timeout=240) == 0
    return [
        run for number in range(len(processes)) for run in json.loads((directory / f"runs-{number}.json").read_text())
    ]


def settled_traces(
    jaeger: engines.Jaeger, expected_at_least: int, quiet: float, timeout: float
) -> list[dict[str, Any]]:
    """Jaeger's traces of the fleet once their number has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last: tuple[int, int] = (-1, -1)
    since = time.monotonic()
    while time.monotonic() < deadline:
        traces = jaeger.traces(SERVICE, limit=10000)
        count = (len(traces), sum(len(trace["spans"]) for trace in traces))
        if count != last:
            last, since = count, time.monotonic()
        elif count[0] >= expected_at_least and time.monotonic() - since >= quiet:
            return traces
        time.sleep(1)
    raise AssertionError(f"Jaeger's trace count did not settle: {last}")


@dataclass
class Outcome:
    runs: list[dict[str, Any]]
    jaeger: list[tuple[str, str]]
    stores: dict[str, list[tuple[str, str]]]

    def kept(self) -> set[str]:
        return {trace_id for trace_id, _ in self.jaeger}


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """A few hundred runs of every kind through the fleet, and what Jaeger and each gateway's store received."""
    directory = tmp_path_factory.mktemp("fleet")
    kinds = ["ordinary"] * ORDINARY_RUNS + [kind for kind, count in KEPT_RUNS.items() for _ in range(count)]
    random.Random(7).shuffle(kinds)
    plans = [kinds[number::3] for number in range(3)]
    with fleet(directory) as running:
        processes = start_agents(running, plans, directory)
        runs = finish_agents(processes, directory)
        must_keep = sum(KEPT_RUNS.values())
        traces = settled_traces(running.jaeger, must_keep, quiet=6, timeout=120)
        stores = {gateway.name: gateway.store.span_ids() for gateway in running.gateways}
    return Outcome(runs, engines.jaeger_span_ids(traces), stores)


def test_every_trace_with_an_error_a_retry_or_a_slow_run_is_kept(sampled: Outcome):
    """Errors, SDK retries, tenacity retries (events only) and runs over 30 s: all kept."""
    missing = Counter(
        run["kind"] for run in sampled.runs if run["kind"] != "ordinary" and run["trace_id"] not in sampled.kept()
    )
    assert missing == Counter()


def test_ordinary_traces_are_kept_at_the_configured_rate(sampled: Outcome):
    """Ordinary runs are kept at 10 %, within 3.3 binomial standard deviations."""
    ordinary = [run for run in sampled.runs if run["kind"] == "ordinary"]
    kept = sum(run["trace_id"] in sampled.kept() for run in ordinary)
    mean = len(ordinary) * SAMPLED_PERCENT / 100
    spread = TOLERANCE_DEVIATIONS * math.sqrt(mean * (1 - SAMPLED_PERCENT / 100))
    assert len(ordinary) == ORDINARY_RUNS
    assert mean - spread <= kept <= mean + spread, f"{kept} of {len(ordinary)} ordinary runs kept"


def test_kept_traces_are_whole_and_never_duplicated(sampled: Outcome):
    """Every kept trace has all the spans its agent ended, each exactly once."""
    assert len(sampled.jaeger) == len(set(sampled.jaeger))
    by_trace = {run["trace_id"]: sorted(run["spans"]) for run in sampled.runs}
    in_jaeger: dict[str, list[str]] = {}
    for trace_id, span_id in sampled.jaeger:
        in_jaeger.setdefault(trace_id, []).append(span_id)
    assert {trace_id: sorted(spans) for trace_id, spans in in_jaeger.items()} == {
        trace_id: by_trace[trace_id] for trace_id in in_jaeger
    }


def test_each_trace_is_decided_by_one_gateway(sampled: Outcome):
    """Spans enter through both gateways, yet every kept trace is exported whole by exactly one replica."""
    assert min(len(run["spans"]) for run in sampled.runs) >= 4  # spans alternate between the agent collectors
    owners: dict[str, set[str]] = {}
    for name, spans in sampled.stores.items():
        assert len(spans) == len(set(spans))
        for trace_id, _ in spans:
            owners.setdefault(trace_id, set()).add(name)
    assert {trace_id: names for trace_id, names in owners.items() if len(names) > 1} == {}
    assert sorted(span for spans in sampled.stores.values() for span in spans) == sorted(sampled.jaeger)
    per_gateway = Counter(next(iter(names)) for names in owners.values())
    assert min(per_gateway.values()) >= 0.25 * len(owners), per_gateway


KILLED_AFTER_TRACES = 40
DOWN_FOR = 3.0


def test_a_gateway_killed_mid_run(tmp_path: Path):
    """Kill one replica (SIGKILL) once 40 traces are in Jaeger, while agents run, and restart it 3 s later on the
    same ports; every run is an error run, so every trace should be kept. Traces exported before the kill stay whole,
    runs begun 5 s after the restart arrive whole, and nothing is duplicated; what was lost in between is printed."""
    kinds = ["error"] * 150
    with fleet(tmp_path) as running:
        started = time.time()
        processes = start_agents(running, [kinds, kinds], tmp_path, pause=0.1)
        deadline = time.monotonic() + 120
        while len(running.jaeger.traces(SERVICE)) < KILLED_AFTER_TRACES and time.monotonic() < deadline:
            time.sleep(0.2)
        victim = running.gateways[1]
        running.running[victim.name].process.kill()
        killed = time.time()
        exported_before = {trace["traceID"].rjust(32, "0") for trace in running.jaeger.traces(SERVICE)}
        time.sleep(DOWN_FOR)
        running.start_gateway(victim)
        restarted = time.time()
        runs = finish_agents(processes, tmp_path)
        traces = settled_traces(running.jaeger, 1, quiet=10, timeout=150)
    in_jaeger = engines.jaeger_span_ids(traces)
    assert len(in_jaeger) == len(set(in_jaeger))
    spans_of: dict[str, set[str]] = {}
    for trace_id, span_id in in_jaeger:
        spans_of.setdefault(trace_id, set()).add(span_id)

    def outcome(run: dict[str, Any]) -> str:
        found = spans_of.get(run["trace_id"], set())
        return "whole" if found == set(run["spans"]) else ("partial" if found else "lost")

    before = [outcome(run) for run in runs if run["trace_id"] in exported_before]
    around = Counter(
        outcome(run) for run in runs if run["trace_id"] not in exported_before and run["started"] < restarted + 5
    )
    after = [outcome(run) for run in runs if run["started"] >= restarted + 5]
    report = {
        "runs": len(runs),
        "seconds": round(time.time() - started),
        "in_jaeger_at_the_kill": Counter(before),
        "around_the_kill": around,
        "begun_5s_after_restart": Counter(after),
        "not_whole_ended_seconds_before_kill": sorted(
            round(killed - run["ended"], 1) for run in runs if outcome(run) != "whole"
        ),
    }
    print(json.dumps(report))
    assert before and set(before) == {"whole"}
    assert after and set(after) == {"whole"}
