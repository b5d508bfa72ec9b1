"""The offline price table and the cost of a call: exact figures, model-name matching, the user's table."""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_agentperf import semconv
from otel_agentperf.core.instruments import instruments as instruments_of
from otel_agentperf.core.pricing import CallCost, CostInstruments, bundled_prices, resolve_prices
from otel_agentperf.environment_variables import OTEL_AGENTPERF_PRICES
from otel_agentperf.exceptions import ConfigurationError
from tests.helpers import points

PRICES_JSON = Path(__file__).resolve().parents[1] / "src" / "otel_agentperf" / "prices.json"


@pytest.fixture(scope="module")
def table():
    return bundled_prices()


def write_table(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"prices": rows}))
    return path


def test_every_bundled_price_is_dated_and_sourced():
    rows = json.loads(PRICES_JSON.read_text())["prices"]
    providers = {row["provider"] for row in rows}
    assert providers == {"openai", "anthropic", "gcp.gemini", "aws.bedrock"}
    for row in rows:
        date.fromisoformat(row["as_of"])
        assert re.match(r"https://\S+$", row["source"]), row
        assert all(re.match(r"https://\S+$", url) for url in row.get("via", [])), row
    assert len(bundled_prices()) == len(rows)


def test_openai_input_includes_its_cached_tokens(table):
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million tokens
    cost = table.cost("openai", "gpt-4o-mini", input_tokens=1000, output_tokens=200, cache_read_tokens=400)
    assert cost is not None
    assert cost.amount == pytest.approx((600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6)
    assert cost.cache_savings == pytest.approx(400 * (0.15 - 0.075) / 1e6)


def test_anthropic_input_excludes_cache_reads_and_writes(table):
    # claude-sonnet-4: $3 input, $0.30 cache read, $3.75 cache write, $15 output per million tokens
    expected = (100 * 3 + 1000 * 0.3 + 500 * 3.75 + 50 * 15) / 1e6
    cost = table.cost(
        "anthropic", "claude-sonnet-4-20250514", input_tokens=100, output_tokens=50, cache_read_tokens=1000,
        cache_write_tokens=500,
    )  # fmt: skip
    assert cost is not None
    assert cost.amount == pytest.approx(expected)
    assert cost.cache_savings == pytest.approx(1000 * (3 - 0.3) / 1e6)


def test_span_counts_that_include_the_cache_give_the_same_cost(table):
    """A span's gen_ai.usage.input_tokens counts every prompt token, whatever the provider."""
    raw = table.cost(
        "anthropic", "claude-sonnet-4", input_tokens=100, output_tokens=50, cache_read_tokens=1000,
        cache_write_tokens=500,
    )  # fmt: skip
    normalized = table.cost(
        "anthropic", "claude-sonnet-4", input_tokens=1600, output_tokens=50, cache_read_tokens=1000,
        cache_write_tokens=500, input_includes_cache=True,
    )  # fmt: skip
    assert normalized == raw


@pytest.mark.parametrize(
    ("provider", "model", "family_input_price"),
    [
        ("openai", "gpt-4o-mini-2024-07-18", 0.15),
        ("openai", "gpt-4o-2024-08-06", 2.5),
        ("openai", "gpt-4o-2024-05-13", 5.0),  # a snapshot listed on its own keeps its own price
        ("anthropic", "claude-opus-4-1-20250805", 15.0),
        ("anthropic", "claude-3-5-haiku-20241022", 0.8),
        ("gcp.gemini", "models/gemini-2.5-flash", 0.3),
        ("gcp.gemini", "gemini-2.5-flash-001", 0.3),  # a versioned model (Vertex AI's names)
        ("anthropic", "claude-sonnet-4-5-20250929", 3.0),
        ("anthropic", "claude-haiku-4-5", 1.0),
        ("openai", "gpt-4o-mini-0718", 0.15),  # a month-day snapshot
        ("aws.bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", 3.0),
        ("aws.bedrock", "global.anthropic.claude-opus-4-20250514-v1:0", 15.0),
        ("aws.bedrock", "anthropic.claude-3-haiku-20240307-v1:0", 0.25),
        ("aws.bedrock", "amazon.nova-pro-v1:0", 0.8),
        ("aws.bedrock", "apac.amazon.nova-lite-v1:0", 0.06),
        ("aws.bedrock", "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0", 0.035),
    ],
)
def test_models_match_the_names_providers_return(table, provider, model, family_input_price):
    price = table.price(provider, model)
    assert price is not None
    assert price.input == family_input_price


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-sonnet-4-7-20270101"),  # a newer model is not its predecessor
        ("openai", "gpt-4o-mini-audio-preview"),
        ("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123"),  # fine-tuned models have prices of their own
        ("openai", "claude-sonnet-4"),  # another provider's model
        ("aws.bedrock", "meta.llama3-70b-instruct-v1:0"),
    ],
)
def test_unlisted_models_get_no_price(table, provider, model):
    assert table.price(provider, model) is None
    assert table.cost(provider, model, input_tokens=10, output_tokens=10) is None


def test_an_unknown_model_logs_one_info_line_saying_how_to_add_it(caplog):
    table = bundled_prices()
    with caplog.at_level(logging.INFO, logger="otel_agentperf.core.pricing"):
        for _ in range(3):
            table.cost("openai", "gpt-9-turbo", input_tokens=1, output_tokens=1)
        table.cost("openai", "gpt-4o", input_tokens=1, output_tokens=1)
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.INFO
    assert "gpt-9-turbo" in caplog.text
    assert OTEL_AGENTPERF_PRICES in caplog.text


def test_cached_tokens_without_a_cache_price_give_no_cost(table):
    assert table.cost("aws.bedrock", "amazon.nova-pro-v1:0", input_tokens=10, output_tokens=5) is not None
    assert (
        table.cost("aws.bedrock", "amazon.nova-pro-v1:0", input_tokens=10, output_tokens=5, cache_read_tokens=4) is None
    )
    assert table.cost("openai", "gpt-4o", input_tokens=10, output_tokens=5, cache_write_tokens=4) is None


def test_cost_attributes_follow_the_cost_proposal():
    assert CallCost(0.25, 0.0).attributes() == {
        "gen_ai.usage.cost.amount": 0.25,
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
    }


def test_a_user_table_overrides_and_extends_the_bundled_one(tmp_path):
    path = write_table(
        tmp_path / "prices.json",
        [
            {"provider": "openai", "model": "gpt-4o-mini", "input": 1, "output": 2, "cache_read": 0.5},
            {"provider": "acme", "model": "rocket-1", "input": 10, "output": 20},
        ],
    )
    table = resolve_prices(str(path))
    assert table.cost("openai", "gpt-4o-mini-2024-07-18", input_tokens=1_000_000, output_tokens=0) == CallCost(1.0, 0.0)
    assert table.cost("acme", "rocket-1", input_tokens=0, output_tokens=1_000_000) == CallCost(20.0, 0.0)
    assert table.price("anthropic", "claude-3-haiku") == bundled_prices().price("anthropic", "claude-3-haiku")


def test_the_keyword_wins_over_the_environment_variable(tmp_path, monkeypatch):
    from_env = write_table(tmp_path / "env.json", [{"provider": "acme", "model": "m", "input": 1, "output": 1}])
    from_kwarg = write_table(tmp_path / "kw.json", [{"provider": "acme", "model": "m", "input": 7, "output": 1}])
    monkeypatch.setenv(OTEL_AGENTPERF_PRICES, str(from_env))
    assert resolve_prices().price("acme", "m").input == 1
    assert resolve_prices(from_kwarg).price("acme", "m").input == 7


def test_without_a_user_table_the_bundled_one_is_used(monkeypatch):
    monkeypatch.setenv(OTEL_AGENTPERF_PRICES, "  ")
    assert resolve_prices().price("acme", "m") is None
    assert len(resolve_prices()) == len(bundled_prices())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        ('{"prices": {}}', "list under 'prices'"),
        ('{"prices": [{"provider": "acme", "input": 1, "output": 1}]}', "'provider' and 'model'"),
        ('{"prices": [{"provider": "acme", "model": "m", "input": 1}]}', "'output' is required"),
        ('{"prices": [{"provider": "acme", "model": "m", "input": -1, "output": 1}]}', "'input' must be a number"),
        ('{"prices": [{"provider": "acme", "model": "m", "input": true, "output": 1}]}', "'input' must be a number"),
        ('{"prices": [{"provider": "acme", "model": "m", "input": "1", "output": 1}]}', "'input' must be a number"),
        ('{"prices": [{"provider": "acme", "model": "m", "input": 1, "output": 1, "as_of": 2026}]}', "'as_of'"),
    ],
)
def test_a_bad_user_table_is_a_configuration_error_naming_the_setting(tmp_path, monkeypatch, content, message):
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message) as raised:
        resolve_prices(str(path))
    assert "prices" in str(raised.value)


def test_a_bad_table_named_by_the_variable_logs_a_warning_and_leaves_the_bundled_prices(tmp_path, monkeypatch, caplog):
    """Under ``opentelemetry-instrument`` an error would switch off every instrumentor: the variable only warns."""
    path = tmp_path / "prices.json"
    path.write_text('{"prices": [{"provider": "openai", "model": "gpt-4o-mini", "input": "cheap", "output": 1}]}')
    monkeypatch.setenv(OTEL_AGENTPERF_PRICES, str(path))
    with caplog.at_level(logging.WARNING, logger="otel_agentperf.core.pricing"):
        for _ in range(3):  # one instrumentor after another
            assert resolve_prices().price("openai", "gpt-4o-mini") == bundled_prices().price("openai", "gpt-4o-mini")
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert OTEL_AGENTPERF_PRICES in warnings[0] and "'input'" in warnings[0] and "bundled prices only" in warnings[0]


@pytest.mark.parametrize("value", [42, "", b"/tmp/prices.json", ["prices.json"]])
def test_a_prices_keyword_that_is_not_a_path_is_a_configuration_error(value):
    with pytest.raises(ConfigurationError, match="Expected prices to be the path"):
        resolve_prices(value)


def test_a_missing_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="missing.json"):
        resolve_prices(str(tmp_path / "missing.json"))


def test_cost_instruments_count_usd_and_cache_savings():
    reader = InMemoryMetricReader()
    instruments = CostInstruments(instruments_of(MeterProvider(metric_readers=[reader]).get_meter("test")))
    attributes = {
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.operation.name": "chat",
    }
    instruments.record(CallCost(0.5, 0.0), attributes)
    instruments.record(CallCost(0.25, 0.125), attributes)
    instruments.record(None, attributes)
    [cost] = points(reader, semconv.AGENTPERF_CLIENT_COST)
    [savings] = points(reader, semconv.AGENTPERF_CLIENT_COST_CACHE_SAVINGS)
    assert (cost.value, dict(cost.attributes)) == (0.75, attributes)
    assert (savings.value, dict(savings.attributes)) == (0.125, attributes)


def test_counts_that_contradict_each_other_give_no_cost(table):
    """More cached tokens than input tokens (a malformed response) is never priced as a negative amount."""
    assert table.cost("openai", "gpt-4o-mini", input_tokens=10, output_tokens=1, cache_read_tokens=20) is None
    assert table.cost("openai", "gpt-4o-mini", input_tokens=30, output_tokens=1, cache_read_tokens=20) is not None
