"""Per-call overhead of the OpenAI instrumentor against an uninstrumented baseline and a bare-SDK floor, one run.

Variants, interleaved batch by batch so that drift hits them alike:
- ``bare``: the real openai SDK calling an in-process transport that returns prebuilt bodies;
- ``floor``: the same call inside one ``start_as_current_span`` with 8 attributes plus one ``Histogram.record``
  with 4 attributes (for streams: around a plain walk over the chunks);
- ``sdk-work``: the same call with the span and the four metric points the instrumentor produces for it (same
  attribute counts), made directly with the SDK: the cost of the telemetry itself, below which no instrumentation
  emitting it can go;
- ``ours``: the same call with ``OpenAIInstrumentor`` (spans, all its metrics, retries hook), SDK providers with a
  ``SimpleSpanProcessor`` into a no-op exporter and an ``InMemoryMetricReader`` that is never collected while timing;
  ``ours-no-gaps``: the same with ``chunk_gaps=False`` (no ``time_per_output_chunk`` point per chunk).

For streams, ``sdk-work`` adds to the call's telemetry one histogram record per chunk, the SDK's price of a
``time_per_output_chunk`` point.

When the official GenAI instrumentation (``opentelemetry-instrumentation-genai-openai``) is importable, it is measured
too, as ``official``, with the same providers. Install it in a separate environment: it registers the entry point
``openai`` and would otherwise run beside this package under ``opentelemetry-instrument``.

``--callgrind`` counts instructions instead (the figure of record: wall time on a shared machine swings by more than
the differences measured). One process runs every variant under ``valgrind --tool=callgrind`` with
``PYTHONHASHSEED=0``, each as two segments of 5 and 20 calls (or 3 streams of 12 and of 62 chunks) between marks
at which callgrind dumps its counters; the difference between the two segments over the difference in calls (or
chunks) is the cost of one call (one chunk), free of set-up, warm-up and loop costs. The raw-response form
(``with_raw_response.create()`` then ``parse()``, as LangChain calls it) is counted for ``bare`` and ``ours`` too.
``--callgrind-python`` also runs the variants with another interpreter (an environment holding the official
instrumentation). Needs ``valgrind`` (``apt-get install -y valgrind``); takes a few minutes. ``bare-rate-limits`` and
``ours-rate-limits`` are plain calls whose responses carry OpenAI's six rate-limit headers, bare and instrumented:
their difference, against that of ``ours`` and ``bare`` (no such headers), is what reading the headers adds to a call.

Figures are medians of per-batch means (a garbage collection runs before each batch, so that no variant pays for
another's garbage), in microseconds of wall time per call. The per-chunk cost of streams is the
slope between a short and a long stream, so it excludes the per-call part. RSS growth is measured over many
instrumented calls after warm-up. Run ``python benchmarks/overhead.py`` (about two minutes) or ``--quick``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import openai
import psutil
from opentelemetry import context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, set_span_in_context

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "demo"))
from llm_server import OPENAI_RATE_LIMITS, respond  # noqa: E402

from otel_agentperf.instrumentation.openai import OpenAIInstrumentor  # noqa: E402

SYSTEM = "You are a research agent. Use the tools when they help. " * 40
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What changed in the last release?"}]
FLOOR_SPAN_ATTRIBUTES = {f"floor.attribute.{i}": f"value-{i}" for i in range(8)}
FLOOR_METRIC_ATTRIBUTES = {f"floor.attribute.{i}": f"value-{i}" for i in range(4)}
# What the instrumentor's span and metric points carry for one non-streamed call of this benchmark.
START_ATTRIBUTES = {f"start.attribute.{i}": f"value-{i}" for i in range(5)}
END_ATTRIBUTES = {f"end.attribute.{i}": i for i in range(9)}
METRIC_ATTRIBUTES = {f"metric.attribute.{i}": f"value-{i}" for i in range(6)}


class _NoopExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _body(stream: bool, words: int = 0) -> tuple[dict[str, str], bytes]:
    request: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": stream}
    if words:
        request["max_completion_tokens"] = words
        request["stream_options"] = {"include_usage": True}
    status, headers, body = respond("POST", "/v1/chat/completions", {}, json.dumps(request).encode())
    assert status == 200
    return headers, body if isinstance(body, bytes) else b"".join(body)


class Bench:
    """Clients, telemetry and the three variants."""

    def __init__(self, short_chunks: int, long_chunks: int) -> None:
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(_NoopExporter()))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader])
        self.floor_tracer = self.tracer_provider.get_tracer("floor")
        floor_meter = self.meter_provider.get_meter("floor")
        self.floor_histogram = floor_meter.create_histogram("floor.duration", unit="s")
        self.sdk_duration = floor_meter.create_histogram("sdk.duration", unit="s")
        self.sdk_tokens = floor_meter.create_histogram("sdk.tokens", unit="{token}")
        self.sdk_cache = floor_meter.create_counter("sdk.cache", unit="{token}")
        self.sdk_gaps = floor_meter.create_histogram("sdk.gaps", unit="s")
        self.instrumentor = OpenAIInstrumentor()
        self.official = _official_instrumentor()
        plain = _body(stream=False)
        # One chunk per word, plus the role, finish and usage chunks.
        streams = {short_chunks: _body(True, short_chunks - 3), long_chunks: _body(True, long_chunks - 3)}
        self.chunks = {n: body.count(b"data: {") for n, (_, body) in streams.items()}

        def handler(request: httpx2.Request) -> httpx2.Response:
            wanted = request.headers.get("x-bench-stream")
            headers, body = streams[int(wanted)] if wanted else plain
            if request.headers.get("x-fake-rate-limits"):
                headers = {**headers, **OPENAI_RATE_LIMITS}
            return httpx2.Response(200, headers=headers, content=body)

        transport = httpx2.MockTransport(handler)
        options: dict[str, Any] = {"api_key": "bench", "base_url": "https://api.openai.test/v1", "max_retries": 0}
        self.client = openai.OpenAI(http_client=httpx2.Client(transport=transport), **options)
        self.limited_client = self.client.with_options(default_headers={"x-fake-rate-limits": "low"})
        self.async_client = openai.AsyncOpenAI(http_client=httpx2.AsyncClient(transport=transport), **options)
        self.loop = asyncio.new_event_loop()

    def instrument(self) -> None:
        self.instrumentor.instrument(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def uninstrument(self) -> None:
        self.instrumentor.uninstrument()

    def variants(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        """The instrumentors measured and their ``instrument()`` options, by variant name."""
        found: dict[str, tuple[Any, dict[str, Any]]] = {
            "ours": (self.instrumentor, {}),
            "ours-no-gaps": (self.instrumentor, {"chunk_gaps": False}),
        }
        if self.official is not None:
            found["official"] = (self.official, {})
        return found

    # --- one call of each kind ---------------------------------------------------------------------------------
    def sync_call(self) -> None:
        self.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]

    def limited_call(self) -> None:
        """A plain call whose response carries OpenAI's six rate-limit headers."""
        self.limited_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]

    def raw_call(self) -> None:
        """The raw-response form, as LangChain calls it: ``with_raw_response.create()``, then ``parse()``."""
        raw = self.client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
        )
        raw.parse()

    async def async_call(self) -> None:
        await self.async_client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]

    def stream_call(self, chunks: int, per_chunk: Callable[[], None] | None = None) -> None:
        stream = self.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"x-bench-stream": str(chunks)},
        )
        for _ in stream:
            if per_chunk is not None:
                per_chunk()

    def stream_sdk_work(self, chunks: int) -> None:
        """The SDK operations for one stream of ``chunks``: the call's, plus one gap record per chunk."""
        span, token = self._sdk_start()
        self.stream_call(chunks, lambda: self.sdk_gaps.record(0.02, METRIC_ATTRIBUTES))
        self._sdk_end(span, token)

    def floor(self, call: Callable[[], None]) -> None:
        with self.floor_tracer.start_as_current_span(
            "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=FLOOR_SPAN_ATTRIBUTES
        ):
            call()
        self.floor_histogram.record(0.5, FLOOR_METRIC_ATTRIBUTES)

    def sdk_work(self, call: Callable[[], None]) -> None:
        """The SDK operations the instrumentor triggers for one non-streamed call, done directly: its cost floor."""
        span, token = self._sdk_start()
        call()
        self._sdk_end(span, token)

    async def async_sdk_work(self) -> None:
        span, token = self._sdk_start()
        await self.async_call()
        self._sdk_end(span, token)

    def _sdk_start(self) -> tuple[Any, Any]:
        span = self.floor_tracer.start_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=START_ATTRIBUTES)
        return span, context.attach(set_span_in_context(span))

    def _sdk_end(self, span: Any, token: Any) -> None:
        context.detach(token)
        span.set_attributes(END_ATTRIBUTES)
        span.end()
        self.sdk_duration.record(0.5, METRIC_ATTRIBUTES)
        self.sdk_tokens.record(900, {**METRIC_ATTRIBUTES, "gen_ai.token.type": "input"})
        self.sdk_tokens.record(30, {**METRIC_ATTRIBUTES, "gen_ai.token.type": "output"})
        self.sdk_cache.add(640, METRIC_ATTRIBUTES)

    async def async_floor(self) -> None:
        with self.floor_tracer.start_as_current_span(
            "chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=FLOOR_SPAN_ATTRIBUTES
        ):
            await self.async_call()
        self.floor_histogram.record(0.5, FLOOR_METRIC_ATTRIBUTES)


def _official_instrumentor() -> Any:
    try:
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as Official  # noqa: PLC0415
    except ImportError:
        return None
    return Official()


def _batch_sync(call: Callable[[], None], size: int) -> float:
    gc.collect()
    start = time.perf_counter_ns()
    for _ in range(size):
        call()
    return (time.perf_counter_ns() - start) / size / 1000


def _batch_async(bench: Bench, make: Callable[[], Any], size: int) -> float:
    async def run() -> float:
        gc.collect()
        start = time.perf_counter_ns()
        for _ in range(size):
            await make()
        return (time.perf_counter_ns() - start) / size / 1000

    return bench.loop.run_until_complete(run())


def measure(bench: Bench, rounds: int, batch: int) -> dict[str, dict[str, float]]:
    """Median per-call wall time (µs) of every variant of every kind."""
    short, long = sorted(bench.chunks)
    kinds: dict[str, dict[str, Callable[[], float]]] = {
        "sync": {
            "bare": lambda: _batch_sync(bench.sync_call, batch),
            "floor": lambda: _batch_sync(lambda: bench.floor(bench.sync_call), batch),
            "sdk-work": lambda: _batch_sync(lambda: bench.sdk_work(bench.sync_call), batch),
        },
        "async": {
            "bare": lambda: _batch_async(bench, bench.async_call, batch),
            "floor": lambda: _batch_async(bench, bench.async_floor, batch),
            "sdk-work": lambda: _batch_async(bench, bench.async_sdk_work, batch),
        },
    }
    for chunks in (short, long):
        kinds[f"stream{chunks}"] = {
            "bare": lambda c=chunks: _batch_sync(lambda: bench.stream_call(c), max(batch // 4, 5)),
            "floor": lambda c=chunks: _batch_sync(
                lambda: bench.floor(lambda: bench.stream_call(c)), max(batch // 4, 5)
            ),
            "sdk-work": lambda c=chunks: _batch_sync(lambda: bench.stream_sdk_work(c), max(batch // 4, 5)),
        }
    instrumentors = bench.variants()
    names = ["bare", "floor", "sdk-work", *instrumentors]
    samples: dict[str, dict[str, list[float]]] = {kind: {name: [] for name in names} for kind in kinds}
    providers = {"tracer_provider": bench.tracer_provider, "meter_provider": bench.meter_provider}
    order = random.Random(7)
    for _ in range(rounds):
        for kind, variants in kinds.items():
            for name in order.sample(names, len(names)):  # a new order each round: no variant always follows another
                if name not in instrumentors:
                    if name in variants:
                        samples[kind][name].append(variants[name]())
                    continue
                instrumentor, options = instrumentors[name]
                instrumentor.instrument(**providers, **options)
                samples[kind][name].append(variants["bare"]())
                instrumentor.uninstrument()
    return {
        kind: {name: statistics.median(values) for name, values in by.items() if values} for kind, by in samples.items()
    }


def rss_growth(bench: Bench, calls: int) -> tuple[int, float]:
    """RSS growth (bytes) over ``calls`` instrumented sync calls after warm-up, and the seconds it took."""
    bench.instrument()
    try:
        for _ in range(2000):
            bench.sync_call()
        gc.collect()
        process = psutil.Process()
        before = process.memory_info().rss
        start = time.perf_counter()
        for _ in range(calls):
            bench.sync_call()
        gc.collect()
        return process.memory_info().rss - before, time.perf_counter() - start
    finally:
        bench.uninstrument()


def report(
    figures: dict[str, dict[str, float]], chunks: dict[int, int], rss: tuple[int, float], calls: int
) -> dict[str, Any]:
    """Print the table and return the figures as a dict."""
    measured = [name for name in figures["sync"] if name not in ("bare", "floor")]
    header = "".join(f" {name + ' +µs':>13} {name + '/floor':>14}" for name in measured)
    print(f"{'kind':10} {'bare µs':>10} {'floor +µs':>10}{header}")
    summary: dict[str, Any] = {"per_call": {}, "chunks": chunks}
    for kind, values in figures.items():
        floor_added = values["floor"] - values["bare"]
        row = summary["per_call"][kind] = {"bare": values["bare"], "floor_added": floor_added}
        cells = ""
        for name in measured:
            if name not in values:
                cells += f" {'':13} {'':14}"
                continue
            added = row[f"{name}_added"] = values[name] - values["bare"]
            cells += f" {added:13.1f} {added / floor_added if floor_added > 0 else float('nan'):13.2f}x"
        print(f"{kind:10} {values['bare']:10.1f} {floor_added:10.1f}{cells}")
    short, long = sorted(chunks)
    span = chunks[long] - chunks[short]
    for name in ("floor", *measured):
        slope = (
            (figures[f"stream{long}"][name] - figures[f"stream{long}"]["bare"])
            - (figures[f"stream{short}"][name] - figures[f"stream{short}"]["bare"])
        ) / span
        summary[f"{name}_per_chunk"] = slope
        total = (figures[f"stream{long}"][name] - figures[f"stream{long}"]["bare"]) / chunks[long]
        print(f"{name} per chunk: {slope:.2f} µs marginal ({total:.2f} µs all-in over a {chunks[long]}-chunk stream)")
    growth, seconds = rss
    summary["rss_growth_bytes"], summary["rss_calls"] = growth, calls
    print(f"RSS growth over {calls} instrumented calls: {growth / 1024:.0f} KiB ({seconds:.0f} s)")
    per_call = summary["per_call"]
    ratios = {
        kind: (
            per_call[kind]["ours_added"] / per_call[kind]["floor_added"],
            per_call[kind]["ours_added"] / per_call[kind]["sdk-work_added"],
        )
        for kind in ("sync", "async")
    }
    print(
        "targets: ours/floor < 1.3x per call "
        + ", ".join(f"{kind} {floor:.2f}x (ours/sdk-work {work:.2f}x)" for kind, (floor, work) in ratios.items())
        + f"; < 3 µs per chunk ({summary['ours_per_chunk']:.2f});"
        f" RSS < 1 MiB per 100k calls ({growth / 1024 / 1024 * 100_000 / calls:.2f} MiB scaled)"
    )
    return summary


# --- instruction counts (callgrind) -------------------------------------------------------------------------------
CALL_COUNTS = (5, 20)
STREAM_CHUNKS = (12, 62)
STREAMS = 3
WARM_UP = 5
CALL_VARIANTS = ("bare", "floor", "sdk-work", "ours", "official", "bare-rate-limits", "ours-rate-limits")
CHUNK_VARIANTS = ("bare", "sdk-work", "ours", "ours-no-gaps", "official")
MARK = "os_getppid"
"""The interpreter's C function for ``os.getppid()``: callgrind dumps its counters each time it is entered."""


def run_segments() -> None:
    """Child of ``--callgrind``: run every variant's segments between marks; print the segments' labels (JSON)."""
    bench = Bench(short_chunks=min(STREAM_CHUNKS), long_chunks=max(STREAM_CHUNKS))
    instrumentors = bench.variants()
    providers = {"tracer_provider": bench.tracer_provider, "meter_provider": bench.meter_provider}
    labels: list[str | None] = []

    def mark(label: str | None) -> None:
        labels.append(label)  # the dump taken on entering getppid holds what ran since the previous mark
        os.getppid()

    def segments(variant: str, kind: str, counts: tuple[int, ...], make: Callable[[int], Callable[[], None]]) -> None:
        for count in counts:
            call = make(count)
            repeat = count if kind != "stream" else STREAMS
            for _ in range(WARM_UP):  # first-call caches, attribute sets, lazy imports
                call()
            gc.collect()
            mark(None)
            for _ in range(repeat):
                call()
            mark(f"{variant}/{kind}/{count}")

    plain = {
        "floor": lambda: bench.floor(bench.sync_call),
        "sdk-work": lambda: bench.sdk_work(bench.sync_call),
        "bare-rate-limits": bench.limited_call,
        "ours-rate-limits": bench.limited_call,
    }
    instrumentors["ours-rate-limits"] = instrumentors["ours"]
    wanted = set(os.environ.get("OVERHEAD_VARIANTS", ",".join(CALL_VARIANTS + CHUNK_VARIANTS)).split(",")) | {"bare"}
    gc.disable()  # a collection would land in one segment and not in another
    for variant in CALL_VARIANTS:
        instrumentor = instrumentors.get(variant)
        if variant not in wanted:
            continue
        if variant not in plain and variant != "bare" and instrumentor is None:
            continue
        if instrumentor is not None:
            instrumentor[0].instrument(**providers, **instrumentor[1])
        segments(variant, "call", CALL_COUNTS, lambda _, v=variant: plain.get(v, bench.sync_call))
        if variant in ("bare", "ours"):
            segments(variant, "raw", CALL_COUNTS, lambda _: bench.raw_call)
        if variant in CHUNK_VARIANTS:
            if variant == "sdk-work":
                segments(variant, "stream", STREAM_CHUNKS, lambda n: lambda: bench.stream_sdk_work(n))
            else:
                segments(variant, "stream", STREAM_CHUNKS, lambda n: lambda: bench.stream_call(n))
        if variant == "ours":
            _drain_segments(bench, mark)
        if instrumentor is not None:
            instrumentor[0].uninstrument()
    if "ours-no-gaps" in instrumentors and "ours-no-gaps" in wanted:
        instrumentor, options = instrumentors["ours-no-gaps"]
        instrumentor.instrument(**providers, **options)
        segments("ours-no-gaps", "stream", STREAM_CHUNKS, lambda n: lambda: bench.stream_call(n))
        instrumentor.uninstrument()
    print(json.dumps(labels))


def _drain_segments(bench: Bench, mark: Callable[[str | None], None]) -> None:
    """The collections that record the chunk gaps of ``STREAMS`` short and long streams (off the caller's path)."""
    reader = bench.metric_reader
    for chunks in STREAM_CHUNKS:
        reader.get_metrics_data()
        for _ in range(STREAMS):
            bench.stream_call(chunks)
        mark(None)
        reader.get_metrics_data()
        mark(f"drain/stream/{chunks}")


def _segment_counts(python: str, variants: str) -> dict[str, int]:
    """Instructions of each labelled segment, from one callgrind run of :func:`run_segments`."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            f"--dump-before={MARK}",
            python,
            str(Path(__file__).resolve()),
            "--run-segments",
        ]
        environment = {**os.environ, "PYTHONHASHSEED": "0", "OVERHEAD_VARIANTS": variants}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"callgrind run failed:\n{result.stderr[-3000:]}")
        labels = json.loads(result.stdout.strip().splitlines()[-1])
        dumps = sorted(Path(directory).glob("callgrind.out.*"), key=lambda path: int(path.suffix[1:]))
        if len(dumps) < len(labels):
            raise RuntimeError(f"{len(dumps)} dumps for {len(labels)} marks: is {MARK} in the interpreter's symbols?")
        counts = {}
        for label, dump in zip(labels, dumps, strict=False):
            match = re.search(r"^(?:summary|totals):\s+(\d+)", dump.read_text(), re.MULTILINE)
            if label is not None and match is not None:
                counts[label] = int(match.group(1))
        return counts


def _per_unit(counts: dict[str, int], variant: str, kind: str) -> float | None:
    low, high = CALL_COUNTS if kind != "stream" else STREAM_CHUNKS
    first, second = counts.get(f"{variant}/{kind}/{low}"), counts.get(f"{variant}/{kind}/{high}")
    if first is None or second is None:
        return None
    return (second - first) / ((high - low) if kind != "stream" else (high - low) * STREAMS)


def callgrind(python: str, official_python: str | None, variants: str) -> dict[str, Any]:
    """Instructions per call and per chunk of every variant (see the module docstring)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    pythons = [python] + ([official_python] if official_python else [])
    with ThreadPoolExecutor(max_workers=len(pythons)) as pool:
        runs = list(pool.map(lambda used: _segment_counts(used, variants), pythons))
    summary: dict[str, Any] = {"per_call": {}, "per_chunk": {}}
    print(f"{'variant':14} {'per call':>12} {'added':>12} {'per chunk':>12} {'added':>10}   (instructions)")
    for counts in runs:
        drain = _per_unit(counts, "drain", "stream")
        if drain is not None:
            summary["drain_per_point"] = drain
            print(f"recording the chunk gaps at collection, off the caller's path: {drain:,.0f} per point")
        for variant in dict.fromkeys(CALL_VARIANTS + CHUNK_VARIANTS):
            call, chunk = _per_unit(counts, variant, "call"), _per_unit(counts, variant, "stream")
            if call is None and chunk is None:
                continue
            base = "bare-rate-limits" if variant.endswith("-rate-limits") else "bare"  # same responses, bare
            bare_call, bare_chunk = _per_unit(counts, base, "call") or 0.0, _per_unit(counts, "bare", "stream") or 0.0
            cells = ""
            for value, bare, key, width in ((call, bare_call, "per_call", 12), (chunk, bare_chunk, "per_chunk", 10)):
                if value is None:
                    cells += f" {'':12} {'':>{width}}"
                    continue
                summary[key][variant] = value - bare if variant not in ("bare", "bare-rate-limits") else value
                cells += f" {value:12,.0f} {value - bare:+{width},.0f}"
            print(f"{variant:14}{cells}")
        bare_raw, ours_raw = _per_unit(counts, "bare", "raw"), _per_unit(counts, "ours", "raw")
        if bare_raw is not None and ours_raw is not None:
            summary["raw_per_call"] = {"bare": bare_raw, "ours": ours_raw - bare_raw}
            added = ours_raw - bare_raw
            print(f"with_raw_response + parse(): bare {bare_raw:,.0f}, ours {ours_raw:,.0f} ({added:+,.0f})")
    return summary


def main() -> None:
    if sys.argv[1:] == ["--run-segments"]:
        run_segments()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (about 30 s)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--batch", type=int, default=50, help="calls per timed batch")
    parser.add_argument("--rss-calls", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead of timing")
    parser.add_argument("--callgrind-python", default=None, help="interpreter that has the official instrumentation")
    parser.add_argument(
        "--variants", default=",".join(dict.fromkeys(CALL_VARIANTS + CHUNK_VARIANTS)), help="--callgrind: which ones"
    )
    options = parser.parse_args()
    if options.callgrind:
        summary = callgrind(sys.executable, options.callgrind_python, options.variants)
        if options.json:
            options.json.write_text(json.dumps(summary, indent=2))
        return
    rounds = options.rounds or (6 if options.quick else 30)
    rss_calls = options.rss_calls or (10_000 if options.quick else 100_000)
    bench = Bench(short_chunks=12, long_chunks=412)
    for kind in (bench.sync_call, lambda: bench.stream_call(min(bench.chunks))):
        for _ in range(200):
            kind()
    figures = measure(bench, rounds, options.batch)
    summary = report(figures, bench.chunks, rss_growth(bench, rss_calls), rss_calls)
    if options.json:
        options.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
