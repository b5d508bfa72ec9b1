"""The collector configurations and the compose stack are consistent: what a pipeline names is defined, files exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[2] / "collector-config"
COLLECTORS = ["otelcol-agent.yaml", "otelcol-gateway.yaml", "otelcol-local.yaml"]


@pytest.mark.parametrize("name", COLLECTORS)
def test_every_pipeline_component_is_defined(name):
    """Each receiver, processor and exporter a pipeline uses is configured; memory_limiter runs first."""
    config = yaml.safe_load((CONFIG / name).read_text())
    pipelines = config["service"]["pipelines"]
    assert pipelines
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"{component} is not defined under {kind}"
        assert pipeline["processors"][0] == "memory_limiter"
    for extension in config["service"].get("extensions", []):
        assert extension in config["extensions"]


def test_gateway_samples_after_routing_by_trace_id():
    """Tier 1 routes by trace ID to the sampling receiver of tier 2, which tail-samples and exports traces."""
    config = yaml.safe_load((CONFIG / "otelcol-gateway.yaml").read_text())
    pipelines = config["service"]["pipelines"]
    assert config["exporters"]["loadbalancing"]["routing_key"] == "traceID"
    port = str(config["exporters"]["loadbalancing"]["resolver"]["dns"]["port"])
    assert config["receivers"]["otlp/sampling"]["protocols"]["grpc"]["endpoint"].endswith(f":{port}")
    assert pipelines["traces/route"]["exporters"] == ["loadbalancing"]
    assert "tail_sampling" in pipelines["traces/sample"]["processors"]
    policies = {policy["type"] for policy in config["processors"]["tail_sampling"]["policies"]}
    assert {"status_code", "numeric_attribute", "and", "probabilistic"} <= policies


def test_agent_collector_listens_on_loopback_only():
    """The agent-side collector binds 127.0.0.1: it is not an open relay."""
    protocols = yaml.safe_load((CONFIG / "otelcol-agent.yaml").read_text())["receivers"]["otlp"]["protocols"]
    assert all(protocol["endpoint"].startswith("127.0.0.1:") for protocol in protocols.values())


def test_compose_mounts_files_that_exist():
    """Every file or folder the compose stack mounts is in the repository."""
    compose = yaml.safe_load((CONFIG / "docker-compose.yaml").read_text())
    mounts = [volume.split(":")[0] for service in compose["services"].values() for volume in service.get("volumes", [])]
    assert mounts
    for mount in mounts:
        assert (CONFIG / mount).exists(), mount


def test_laptop_stack_keeps_every_trace():
    """The compose stack runs the single-machine config: no sampling, a batch timeout of a second or less."""
    compose = yaml.safe_load((CONFIG / "docker-compose.yaml").read_text())
    mounted = [volume.split(":")[0] for volume in compose["services"]["collector"]["volumes"]]
    assert mounted == ["./otelcol-local.yaml"]
    config = yaml.safe_load((CONFIG / "otelcol-local.yaml").read_text())
    processors = {
        name.split("/")[0] for pipeline in config["service"]["pipelines"].values() for name in pipeline["processors"]
    }
    assert processors.isdisjoint({"tail_sampling", "probabilistic_sampler"})
    assert config["processors"]["batch"]["timeout"] in ("1s", "500ms", "200ms")


def test_gateway_waits_for_whole_traces():
    """Decided soon after the root arrives, but only after spans batched elsewhere are in; late spans follow the
    decision; decision_wait is at least twice the slow-run threshold."""
    sampling = yaml.safe_load((CONFIG / "otelcol-gateway.yaml").read_text())["processors"]["tail_sampling"]
    seconds = {key: float(sampling[key].rstrip("s")) for key in ("decision_wait", "decision_wait_after_root_received")}
    agent_batch = yaml.safe_load((CONFIG / "otelcol-agent.yaml").read_text())["processors"]["batch"]["timeout"]
    assert seconds["decision_wait_after_root_received"] > float(agent_batch.rstrip("s"))
    slow = next(policy for policy in sampling["policies"] if policy["name"] == "keep-slow-agent-runs")
    threshold = slow["and"]["and_sub_policy"][1]["latency"]["threshold_ms"] / 1000
    assert seconds["decision_wait"] >= 2 * threshold
    assert sampling["decision_cache"]["sampled_cache_size"] >= 10 * sampling["num_traces"]
