"""The cost of an LLM call in USD, from its token counts and an offline price table.

A bundled table (``prices.json`` next to this module, dated, with the source of every price) covers models of
``openai``, ``anthropic``, ``gcp.gemini`` and ``aws.bedrock``. A user table in the same format, named by the
``OTEL_AGENTPERF_PRICES`` environment variable or the ``prices`` keyword argument, adds models or replaces rows. Prices
are never fetched from the network, and a model that is in no table gets no cost: never a guess.

Token counts, per provider, as their APIs report them:

- ``openai`` and ``gcp.gemini``: the input count *includes* the cached tokens (``prompt_tokens`` with
  ``prompt_tokens_details.cached_tokens``; ``promptTokenCount`` with ``cachedContentTokenCount``).
- ``anthropic`` and ``aws.bedrock``: the input count *excludes* cache reads and cache writes (``input_tokens``
  beside ``cache_read_input_tokens`` and ``cache_creation_input_tokens``).

Spans that follow the GenAI conventions already count every prompt token in ``gen_ai.usage.input_tokens``: pass
``input_includes_cache=True`` for those, whatever the provider.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from otel_agentperf import semconv
from otel_agentperf.core.instruments import Instruments
from otel_agentperf.environment_variables import OTEL_AGENTPERF_PRICES
from otel_agentperf.exceptions import ConfigurationError

_logger = logging.getLogger(__name__)

INPUT_INCLUDES_CACHE: Mapping[str, bool] = {
    "openai": True,
    "gcp.gemini": True,
    "anthropic": False,
    "aws.bedrock": False,
}
"""Whether each provider's reported input-token count already contains its cached tokens."""

_PER_TOKEN = 1e-6
_PRICE_FIELDS = ("input", "output", "cache_read", "cache_write")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{3,4})$")
"""A snapshot suffix: a date (`-20241022`, `-2024-08-06`), a month-day (`-0125`) or a version (`-001`)."""
_BEDROCK_ID = re.compile(r"^(?:[a-z]{2,6}(?:-[a-z]+)?\.)?(?P<id>[a-z0-9-]+\.[^:]+?)(?:-v\d+)?(?::\d+)?$")
_MAX_REPORTED_UNKNOWN = 1000
_MAX_REMEMBERED = 4096
_UNSEEN = object()


@dataclass(frozen=True)
class Price:
    """USD per million tokens of one model; ``None`` where the source gives no figure."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    as_of: str | None = None
    source: str | None = None


class CallCost(NamedTuple):
    """What one call cost, and what its cache reads saved against the input price (both USD)."""

    amount: float
    cache_savings: float

    def attributes(self) -> dict[str, float | str]:
        """Span attributes of the GenAI cost proposal: amount, currency and ``local`` as the source."""
        return {semconv.GEN_AI_USAGE_COST_AMOUNT: self.amount, **_COST_LABELS}


_COST_LABELS = {
    semconv.GEN_AI_USAGE_COST_CURRENCY: semconv.COST_CURRENCY_USD,
    semconv.GEN_AI_USAGE_COST_SOURCE: semconv.COST_SOURCE_LOCAL,
}


def model_key(provider: str, model: str) -> str:
    """The name a model has in a price table: no ``models/`` prefix, and for Bedrock no region, version or ARN."""
    if provider == "aws.bedrock":
        match = _BEDROCK_ID.match(model.rsplit("/", 1)[-1])
        return match.group("id") if match else model
    return model.removeprefix("models/")


class PriceTable:
    """Prices by provider and model, looked up the way providers name models in their responses."""

    def __init__(self, prices: Mapping[tuple[str, str], Price]) -> None:
        self._prices = dict(prices)
        self._unknown: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], Price | None] = {}

    def __len__(self) -> int:
        return len(self._prices)

    def merged(self, other: PriceTable) -> PriceTable:
        """A table with this one's rows, extended and overridden by ``other``'s."""
        return PriceTable({**self._prices, **other._prices})

    def price(self, provider: str, model: str) -> Price | None:
        """The price of ``model``: its own row if listed, else its family's (the name without a date suffix)."""
        found = self._found.get((provider, model), _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        found = self._look_up(provider, model)
        if len(self._found) < _MAX_REMEMBERED:
            self._found[(provider, model)] = found
        return found

    def _look_up(self, provider: str, model: str) -> Price | None:
        key = model_key(provider, model)
        found = self._prices.get((provider, key))
        if found is None:
            found = self._prices.get((provider, _DATE_SUFFIX.sub("", key)))
        return found

    def cost(
        self,
        provider: str,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        input_includes_cache: bool | None = None,
    ) -> CallCost | None:
        """The cost of one call, or ``None`` when the model (or a price its tokens need) is in no table.

        Args:
            provider: ``gen_ai.provider.name`` (``openai``, ``anthropic``, ``gcp.gemini``, ``aws.bedrock``, ...).
            model: the model as the provider returned it (dated snapshots match their family).
            input_tokens: prompt tokens as ``provider`` counts them (see the module's docstring).
            output_tokens: completion tokens, reasoning included.
            cache_read_tokens: prompt tokens served from the prompt cache.
            cache_write_tokens: prompt tokens written to the prompt cache.
            input_includes_cache: whether ``input_tokens`` contains the cached tokens; by default what the provider
                reports (true for ``openai`` and ``gcp.gemini``, false for ``anthropic`` and ``aws.bedrock``).
        """
        price = self.price(provider, model)
        if price is None:
            self._report_unknown(provider, model)
            return None
        if input_includes_cache is None:
            input_includes_cache = INPUT_INCLUDES_CACHE.get(provider, True)
        uncached = input_tokens - cache_read_tokens - cache_write_tokens if input_includes_cache else input_tokens
        if min(uncached, output_tokens, cache_read_tokens, cache_write_tokens) < 0:
            return None  # counts that contradict each other (more cached tokens than input ones): no guess
        if (cache_read_tokens and price.cache_read is None) or (cache_write_tokens and price.cache_write is None):
            return None
        amount = uncached * price.input + output_tokens * price.output
        amount += cache_read_tokens * (price.cache_read or 0.0) + cache_write_tokens * (price.cache_write or 0.0)
        savings = cache_read_tokens * (price.input - (price.cache_read or 0.0))
        return CallCost(amount * _PER_TOKEN, savings * _PER_TOKEN)

    def _report_unknown(self, provider: str, model: str) -> None:
        if (provider, model) in self._unknown:
            return
        with self._lock:
            if (provider, model) in self._unknown or len(self._unknown) >= _MAX_REPORTED_UNKNOWN:
                return
            self._unknown.add((provider, model))
        _logger.info(
            "No price for %s model %r: its calls get no cost. Add a row for it to a price table named by %s "
            "(the format of otel_agentperf/prices.json).",
            provider,
            model,
            OTEL_AGENTPERF_PRICES,
        )


@functools.cache
def bundled_prices() -> PriceTable:
    """The price table that ships with this package (read once)."""
    text = resources.files("otel_agentperf").joinpath("prices.json").read_text(encoding="utf-8")
    return parse_prices(json.loads(text), "the bundled prices.json")


def load_prices(path: str | os.PathLike[str], origin: str = "prices") -> PriceTable:
    """Read a price table from a JSON file; ``origin`` names its setting in a :class:`ConfigurationError`."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"{origin}: cannot read the price table {str(path)!r}: {error}") from error
    return parse_prices(document, f"{origin} ({str(path)!r})")


def resolve_prices(prices: object = None) -> PriceTable:
    """The bundled table, extended by the user's: ``prices`` (a path) wins over ``OTEL_AGENTPERF_PRICES``.

    A table the variable names that cannot be read logs a warning (once per path) and leaves the bundled table, as
    every other variable of the package falls back to its default: under ``opentelemetry-instrument`` an error here
    would switch off all instrumentation.

    Raises:
        ConfigurationError: the keyword is not a path, or the file it names is missing or not a valid table.
    """
    if prices is not None:
        if not isinstance(prices, (str, os.PathLike)) or not str(prices).strip():
            raise ConfigurationError(f"Expected prices to be the path of a price table, got {prices!r}")
        return bundled_prices().merged(load_prices(prices, "prices"))
    path = os.environ.get(OTEL_AGENTPERF_PRICES, "").strip()
    return _environment_prices(path) if path else bundled_prices()


@functools.lru_cache(maxsize=8)
def _environment_prices(path: str) -> PriceTable:
    """The table ``OTEL_AGENTPERF_PRICES`` names, read once per path for every instrumentor that prices calls."""
    try:
        return bundled_prices().merged(load_prices(path, OTEL_AGENTPERF_PRICES))
    except ConfigurationError as error:
        _logger.warning("%s; using the bundled prices only", error)
        return bundled_prices()


def parse_prices(document: object, origin: str) -> PriceTable:
    """Validate a decoded price table (``{"prices": [{"provider", "model", "input", "output", ...}, ...]}``)."""
    rows = document.get("prices") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise ConfigurationError(f"{origin}: expected a JSON object with a list under 'prices'")
    table: dict[tuple[str, str], Price] = {}
    for number, row in enumerate(rows, start=1):
        provider, model, price = _parse_row(row, f"{origin}, row {number}")
        table[(provider, model_key(provider, model))] = price
    return PriceTable(table)


def _parse_row(row: object, where: str) -> tuple[str, str, Price]:
    if not isinstance(row, dict):
        raise ConfigurationError(f"{where}: expected an object, got {row!r}")
    provider, model = row.get("provider"), row.get("model")
    if not isinstance(provider, str) or not provider or not isinstance(model, str) or not model:
        raise ConfigurationError(f"{where}: 'provider' and 'model' must be non-empty strings")
    values = {name: _parse_price(row, name, where) for name in _PRICE_FIELDS}
    for name in ("input", "output"):
        if values[name] is None:
            raise ConfigurationError(f"{where} ({provider} {model}): {name!r} is required")
    notes = {name: row.get(name) for name in ("as_of", "source")}
    for name, note in notes.items():
        if note is not None and not isinstance(note, str):
            raise ConfigurationError(f"{where} ({provider} {model}): {name!r} must be a string")
    return provider, model, Price(**values, **notes)  # type: ignore[arg-type]


def _parse_price(row: Mapping[str, Any], name: str, where: str) -> float | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{where}: {name!r} must be a number >= 0 (USD per million tokens), got {value!r}")
    return float(value)


class CostInstruments:
    """The cost counters: USD spent, and USD saved by prompt-cache reads (summed in process, see ``SummedCounter``)."""

    __slots__ = ("cost", "cache_savings")

    def __init__(self, instruments: Instruments) -> None:
        self.cost = instruments.summed_counter(semconv.AGENTPERF_CLIENT_COST)
        self.cache_savings = instruments.summed_counter(semconv.AGENTPERF_CLIENT_COST_CACHE_SAVINGS)

    def record(self, cost: CallCost | None, attributes: Mapping[str, Any]) -> None:
        """Add one call's cost with the call's metric ``attributes``."""
        if cost is None:
            return
        self.cost.add(cost.amount, attributes)
        if cost.cache_savings:
            self.cache_savings.add(cost.cache_savings, attributes)
