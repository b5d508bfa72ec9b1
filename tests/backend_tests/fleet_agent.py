"""One agent process of the fleet tests: ``python fleet_agent.py PLAN OUT ENDPOINT_A ENDPOINT_B [PAUSE]``.

PLAN is a JSON list of run kinds, run one after the other (with PAUSE seconds between runs), except ``slow`` runs,
which run side by side in threads. Every run is an ``agent_run`` with LLM calls through the real openai SDK
(against the fake LLM service) and a ``@tool`` call; the kinds differ in what the gateway's sampling looks at:

- ``ordinary``: nothing special (kept at the configured probabilistic rate);
- ``error``: one LLM call fails (HTTP 500, not retried): an ERROR span;
- ``sdk_retry``: the service rate-limits one call once and the openai SDK retries it (``agentperf.retry.count``);
- ``tenacity_retry``: a tenacity-decorated step fails once and is retried (an ``agentperf.retry`` span event only);
- ``slow``: the run lasts ``SLOW_SECONDS`` (over the gateway's 30 s threshold).

Spans go out over OTLP gRPC, each trace's spans alternately to ENDPOINT_A and ENDPOINT_B, so that the spans of one trace
enter the fleet through both gateways. OUT receives, per run, its trace ID, kind and span IDs.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples" / "demo")]

import llm_server  # noqa: E402
import tenacity  # noqa: E402
from openai import OpenAI  # noqa: E402
from opentelemetry.context import Context  # noqa: E402
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

from otel_agentperf import agent_run, tool  # noqa: E402
from otel_agentperf.instrumentation.openai import OpenAIInstrumentor  # noqa: E402
from otel_agentperf.instrumentation.tenacity import TenacityInstrumentor  # noqa: E402

SERVICE = "agentperf-fleet"
SLOW_SECONDS = 31.0
MESSAGES = [{"role": "user", "content": "Summarise the release notes."}]


class Alternate(SpanProcessor):
    """Hands the spans of each trace to two processors in turn (the first span ended to the first, the second to the
    second, ...); records every span, in the order they ended."""

    def __init__(self, first: SpanProcessor, second: SpanProcessor) -> None:
        self._targets = (first, second)
        self.ended: dict[int, list[int]] = {}
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        assert context is not None
        with self._lock:
            ended = self.ended.setdefault(context.trace_id, [])
            ended.append(context.span_id)
            target = self._targets[(len(ended) - 1) % 2]
        target.on_end(span)

    def shutdown(self) -> None:
        for target in self._targets:
            target.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(target.force_flush(timeout_millis) for target in self._targets)


def main() -> None:
    plan: list[str] = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    exporters = [OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True) for endpoint in sys.argv[3:5]]
    split = Alternate(*(BatchSpanProcessor(exporter, schedule_delay_millis=200) for exporter in exporters))
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    tracer_provider.add_span_processor(split)
    providers = {"tracer_provider": tracer_provider, "meter_provider": MeterProvider()}
    OpenAIInstrumentor().instrument(**providers)
    TenacityInstrumentor().instrument(**providers)
    server = llm_server.serve(port=0)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    client = OpenAI(base_url=base_url, api_key="test-key-not-secret")
    rate_limited = OpenAI(base_url=base_url, api_key="k", default_headers={"x-fake-fault": "retry-once:429"})
    failing = OpenAI(base_url=base_url, api_key="k", default_headers={"x-fake-fault": "always:500"}, max_retries=0)

    @tool(**providers)
    def search(query: str) -> str:
        return query.upper()

    @tool(**providers)
    def slow_search(query: str) -> str:
        time.sleep(SLOW_SECONDS)
        return query

    def run(kind: str) -> dict[str, object]:
        started = time.time()
        with agent_run(f"fleet-{kind}", **providers) as handle:
            (rate_limited if kind == "sdk_retry" else client).chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
            if kind == "error":
                try:
                    failing.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                except Exception:  # noqa: BLE001, S110 - the failure is the point
                    pass
            if kind == "tenacity_retry":
                failures = iter([True])

                @tenacity.retry(wait=tenacity.wait_fixed(0.01), stop=tenacity.stop_after_attempt(3))
                def flaky() -> None:
                    if next(failures, False):
                        raise ConnectionError("flaky")

                flaky()
            (slow_search if kind == "slow" else search)("release notes")
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert handle.span is not None
        return {
            "kind": kind,
            "trace_id": handle.span.get_span_context().trace_id,
            "started": started,
            "ended": time.time(),
        }

    done: list[dict[str, object]] = []
    slow = [threading.Thread(target=lambda: done.append(run("slow"))) for kind in plan if kind == "slow"]
    for thread in slow:
        thread.start()
    for kind in plan:
        if kind != "slow":
            done.append(run(kind))
            time.sleep(pause)
    for thread in slow:
        thread.join()
    tracer_provider.force_flush()
    tracer_provider.shutdown()
    server.shutdown()
    for record in done:
        trace_id = record["trace_id"]
        assert isinstance(trace_id, int)
        record["spans"] = [f"{span_id:016x}" for span_id in split.ended[trace_id]]
        record["trace_id"] = f"{trace_id:032x}"
    out.write_text(json.dumps(done))


if __name__ == "__main__":
    main()
