"""The one place where instruments are made: per meter, from one table of names, units, descriptions and buckets.

:func:`instruments` returns the :class:`Instruments` of a meter (kept while the meter lives, so every part of the
package that records on one meter shares its instruments). ``histogram(name)`` and ``counter(name)`` create an
instrument of :data:`SPECS` on first use. Observable instruments go through :meth:`Instruments.observe`: the SDK
keeps the first observable instrument of a name for good (creating it again hands back the old one, with the old
callbacks), so the callback registered with the SDK is a :class:`Observed` slot whose reader can be replaced or
cleared; re-instrumenting on the same meter provider thus observes live data again.

:meth:`Instruments.deferred_histogram` takes many points with the same attributes at once (a stream's chunk gaps)
and records them off the caller's path: they wait in a bounded queue that is drained into the histogram at the start
of every metric collection (by the callback of the observable counter ``agentperf.deferred_points.dropped``, which
then reports how many points were dropped because the queue was full, once any were). A collection thus always
includes every point queued before it, and the caller pays one queue append per batch, not one ``record`` per point.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, MeterProvider, Observation, get_meter
from opentelemetry.trace import Tracer, TracerProvider, get_tracer

from otel_agentperf import semconv
from otel_agentperf.version import __version__

Reader = Callable[[CallbackOptions], Iterable[Observation]]


@dataclass(frozen=True, slots=True)
class Spec:
    """How one synchronous instrument is made."""

    kind: str
    """``histogram`` or ``counter``."""
    unit: str
    description: str
    buckets: tuple[float, ...] | None = None


def _seconds(description: str, buckets: tuple[float, ...] = semconv.DURATION_BUCKETS) -> Spec:
    return Spec("histogram", semconv.UNIT_SECONDS, description, buckets)


SPECS: dict[str, Spec] = {
    semconv.GEN_AI_CLIENT_OPERATION_DURATION: _seconds("GenAI operation duration."),
    semconv.GEN_AI_CLIENT_TOKEN_USAGE: Spec(
        "histogram", semconv.UNIT_TOKENS, "Number of input and output tokens used.", semconv.TOKEN_BUCKETS
    ),
    semconv.GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK: _seconds("Time from the request to the first output chunk."),
    semconv.GEN_AI_CLIENT_TIME_PER_OUTPUT_CHUNK: _seconds("Time between an output chunk and the one before it."),
    semconv.GEN_AI_CLIENT_CACHE_READ_TOKENS: Spec(
        "counter", semconv.UNIT_TOKENS, "Input tokens served from the provider's prompt cache."
    ),
    semconv.GEN_AI_CLIENT_CACHE_WRITE_TOKENS: Spec(
        "counter", semconv.UNIT_TOKENS, "Input tokens written to the provider's prompt cache."
    ),
    semconv.GEN_AI_EXECUTE_TOOL_DURATION: _seconds("Duration of tool executions."),
    semconv.GEN_AI_INVOKE_AGENT_DURATION: _seconds("Duration of agent runs.", semconv.AGENT_BUCKETS),
    semconv.GEN_AI_INVOKE_WORKFLOW_DURATION: _seconds("Duration of workflow runs.", semconv.AGENT_BUCKETS),
    semconv.GEN_AI_INVOKE_AGENT_INFERENCE_CALLS: Spec(
        "histogram", semconv.UNIT_INFERENCE_CALLS, "LLM calls per agent run.", semconv.CALL_COUNT_BUCKETS
    ),
    semconv.GEN_AI_INVOKE_AGENT_TOOL_CALLS: Spec(
        "histogram", semconv.UNIT_TOOL_CALLS, "Tool calls per agent run.", semconv.CALL_COUNT_BUCKETS
    ),
    semconv.MCP_CLIENT_OPERATION_DURATION: _seconds(
        "Duration of MCP requests as the client sees them.", semconv.MCP_BUCKETS
    ),
    semconv.AGENTPERF_RETRIES: Spec("counter", semconv.UNIT_RETRIES, "Retries, by source and error type."),
    semconv.AGENTPERF_RETRY_BACKOFF_DURATION: _seconds("Time waited before each retry."),
    semconv.AGENTPERF_CACHE_REQUESTS: Spec("counter", semconv.UNIT_REQUESTS, "Cache lookups, by result."),
    semconv.AGENTPERF_CACHE_LOOKUP_DURATION: _seconds("Duration of cache lookups.", semconv.CACHE_LOOKUP_BUCKETS),
    semconv.AGENTPERF_RATE_LIMIT_REJECTIONS: Spec(
        "counter", semconv.UNIT_RESPONSES, "Responses refused by the provider's rate limit (HTTP 429)."
    ),
    semconv.AGENTPERF_RATE_LIMIT_RETRY_AFTER_DURATION: _seconds(
        "Seconds a rate-limited (HTTP 429) response asked the client to wait.", semconv.RETRY_AFTER_BUCKETS
    ),
    semconv.AGENTPERF_CLIENT_COST: Spec("counter", semconv.UNIT_USD, "Cost of LLM calls in USD."),
    semconv.AGENTPERF_CLIENT_COST_CACHE_SAVINGS: Spec(
        "counter", semconv.UNIT_USD, "USD that prompt-cache reads saved against the input price."
    ),
}
"""Every synchronous instrument of the package."""

_OBSERVABLE_KINDS = ("counter", "gauge", "up_down_counter")


class Observed:
    """The callback the SDK holds for one observable instrument; it calls whatever reader is current."""

    __slots__ = ("reader",)

    def __init__(self) -> None:
        self.reader: Reader | None = None

    def __call__(self, options: CallbackOptions) -> Iterable[Observation]:
        """What the current reader observes; nothing when there is none."""
        reader = self.reader
        return reader(options) if reader is not None else ()


class Instruments:
    """The instruments of one meter, each created on first use."""

    __slots__ = ("meter", "_made", "_observed", "_lock", "_deferred", "__weakref__")

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self._made: dict[str, Any] = {}
        self._observed: dict[str, Observed] = {}
        self._lock = threading.Lock()
        self._deferred: DeferredPoints | None = None

    def histogram(self, name: str) -> Histogram:
        """The histogram ``name`` of :data:`SPECS`."""
        return self._get(name)  # type: ignore[no-any-return]

    def counter(self, name: str) -> Counter:
        """The counter ``name`` of :data:`SPECS`."""
        return self._get(name)  # type: ignore[no-any-return]

    def observe(self, kind: str, name: str, unit: str, description: str, reader: Reader) -> Observed:
        """Observe ``name`` with ``reader`` (replacing the reader of an earlier registration); returns its slot.

        ``kind`` is ``counter``, ``gauge`` or ``up_down_counter``. Clear the slot's ``reader`` to stop observing.
        """
        if kind not in _OBSERVABLE_KINDS:
            raise ValueError(f"unknown observable kind {kind!r}")
        with self._lock:
            slot = self._observed.get(name)
            if slot is None:
                slot = self._observed[name] = Observed()
                create = getattr(self.meter, f"create_observable_{kind}")
                create(name, callbacks=[slot], unit=unit, description=description)
        slot.reader = reader
        return slot

    def summed_counter(self, name: str) -> SummedCounter:
        """The counter ``name`` of :data:`SPECS`, summed in process and observed at each collection."""
        with self._lock:
            counter = self._made.get(name)
            if counter is None:
                counter = self._made[name] = SummedCounter()
        spec = SPECS[name]
        self.observe("counter", name, spec.unit, spec.description, counter.observe)
        return counter

    def deferred_histogram(self, name: str) -> DeferredHistogram:
        """The histogram ``name`` of :data:`SPECS`, taking batches of points recorded at the next collection."""
        with self._lock:
            deferred = self._deferred
            if deferred is None:
                deferred = self._deferred = DeferredPoints()
        self.observe(
            "counter",
            semconv.AGENTPERF_DEFERRED_POINTS_DROPPED,
            semconv.UNIT_POINTS,
            "Metric points dropped because the queue of points waiting for the next collection was full.",
            deferred.drain,
        )
        return DeferredHistogram(self.histogram(name), deferred)

    def _get(self, name: str) -> Any:
        made = self._made.get(name)
        if made is None:
            with self._lock:
                made = self._made.get(name)
                if made is None:
                    made = self._made[name] = _create(self.meter, name, SPECS[name])
        return made


def _create(meter: Meter, name: str, spec: Spec) -> Any:
    if spec.kind == "counter":
        return meter.create_counter(name, unit=spec.unit, description=spec.description)
    return meter.create_histogram(
        name, unit=spec.unit, description=spec.description, explicit_bucket_boundaries_advisory=spec.buckets
    )


MAX_DEFERRED_POINTS = 1 << 18
"""Points (8 bytes each) that may wait for the next collection; more are dropped and counted."""


class DeferredPoints:
    """The queue of point batches of one meter, drained into their histograms at each collection."""

    __slots__ = ("_batches", "_pending", "_dropped", "_lock")

    def __init__(self) -> None:
        self._batches: deque[tuple[Histogram, array[float], dict[str, Any], Context | None]] = deque()
        self._pending = 0
        self._dropped = 0
        self._lock = threading.Lock()

    def add(
        self, histogram: Histogram, values: array[float], attributes: dict[str, Any], context: Context | None = None
    ) -> None:
        """Queue ``values`` (owned by the queue from now on) for ``histogram``; drop them if the queue is full.

        ``context`` is the one they are recorded in (the span their exemplars link to).
        """
        with self._lock:
            if self._pending + len(values) > MAX_DEFERRED_POINTS:
                self._dropped += len(values)
                return
            self._pending += len(values)
        self._batches.append((histogram, values, attributes, context))

    def drain(self, options: CallbackOptions) -> Iterable[Observation]:
        """Record every queued point; observe the number of points dropped so far, once there are any."""
        batches = self._batches
        while batches:
            try:
                histogram, values, attributes, context = batches.popleft()
            except IndexError:  # drained by another collection meanwhile
                break
            with self._lock:
                self._pending -= len(values)
            record = histogram.record
            for value in values:
                record(value, attributes, context)
        return (Observation(self._dropped),) if self._dropped else ()


class DeferredHistogram:
    """A histogram that takes a batch of points with the same attributes in one call (see the module docstring)."""

    __slots__ = ("histogram", "_points")

    def __init__(self, histogram: Histogram, points: DeferredPoints) -> None:
        self.histogram = histogram
        self._points = points

    def record_batch(self, values: array[float], attributes: dict[str, Any], context: Context | None = None) -> None:
        """Record every value of ``values`` with ``attributes`` (in ``context``) by the next collection.

        ``values`` is kept as is.
        """
        if values:
            self._points.add(self.histogram, values, attributes, context)


MAX_SUMMED_SETS = 2000
"""Attribute sets a :class:`SummedCounter` keeps apart (the SDK's default cardinality limit); the rest are summed in
one set with ``otel.metric.overflow=true``, as the SDK does."""
_OVERFLOW = frozenset({("otel.metric.overflow", True)})
_MAX_KNOWN_OBJECTS = 4096


class SummedCounter:
    """A monotonic counter summed in this process and reported at each collection (as an observable counter).

    Adding costs a dictionary update on the caller's path where a counter's ``add`` costs a metric point (the SDK's
    attribute hashing, aggregation and exemplar sampling); its points carry no exemplars. An attribute set is
    recognised by its identity first (an LLM call's sets are cached objects), else by its content.
    """

    __slots__ = ("_known", "_sums", "_lock")

    def __init__(self) -> None:
        self._known: dict[int, tuple[Mapping[str, Any], frozenset[tuple[str, Any]]]] = {}
        self._sums: dict[frozenset[tuple[str, Any]], float] = {}
        self._lock = threading.Lock()

    def add(self, amount: float, attributes: Mapping[str, Any]) -> None:
        """Add ``amount`` (>= 0) to the sum of ``attributes``."""
        with self._lock:
            known = self._known.get(id(attributes))
            if known is not None and known[0] is attributes:
                key = known[1]
            else:
                key = self._key(attributes)
            self._sums[key] = self._sums.get(key, 0.0) + amount

    def _key(self, attributes: Mapping[str, Any]) -> frozenset[tuple[str, Any]]:
        key = frozenset(attributes.items())
        if key not in self._sums and len(self._sums) >= MAX_SUMMED_SETS:
            key = _OVERFLOW
        if len(self._known) >= _MAX_KNOWN_OBJECTS:
            self._known.clear()
        self._known[id(attributes)] = (attributes, key)  # the reference keeps the id from being reused
        return key

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        """Every sum, with its attributes."""
        with self._lock:
            sums = list(self._sums.items())
        return [Observation(total, dict(key)) for key, total in sums]


_by_meter: weakref.WeakKeyDictionary[Meter, Instruments] = weakref.WeakKeyDictionary()
_by_meter_lock = threading.Lock()


def instruments(meter: Meter) -> Instruments:
    """The instruments of ``meter`` (one :class:`Instruments` per meter, dropped with it)."""
    found = _by_meter.get(meter)
    if found is None:
        with _by_meter_lock:
            found = _by_meter.get(meter)
            if found is None:
                found = _by_meter[meter] = Instruments(meter)
    return found


def scope(
    tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None, name: str
) -> tuple[Tracer, Instruments]:
    """The tracer and the instruments of instrumentation scope ``name``, versioned, with the schema URL.

    The SDK returns the same tracer and meter for the same scope on one provider, so this is cheap to repeat.
    """
    tracer = get_tracer(name, __version__, tracer_provider, schema_url=semconv.SCHEMA_URL)
    meter = get_meter(name, __version__, meter_provider, schema_url=semconv.SCHEMA_URL)
    return tracer, instruments(meter)
