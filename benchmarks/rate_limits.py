"""Cost of reading the rate-limit headers of one response, with and without them, against one header lookup.

Headers are ``httpx2.Headers`` shaped like real responses (about 20 names; the OpenAI and Anthropic ones with their
rate-limit headers, and the same responses stripped of them), and a plain dict. Variants, interleaved round by round:

- ``baseline``: ``headers.get("content-type")``, one lookup any response handling already does;
- ``absent-*``: ``read_rate_limits`` on a response without rate-limit headers (the fast path);
- ``openai``, ``anthropic``, ``openai-dict``: ``read_rate_limits`` on a response with them, parsed.

Figures are medians of per-round means in microseconds per call, and the ratio to ``baseline``. Targets: under 1 µs
when absent, under 3 µs when present. ``--callgrind`` counts instructions per call instead (the figure of record):
one ``valgrind --tool=callgrind`` run (``PYTHONHASHSEED=0``) calls each variant 200 and then 1200 times between marks
(``os.getppid()``, at which callgrind dumps its counters); the difference of the two segments over 1000 is one call,
free of start-up, warm-up and loop costs. ``--count VARIANT --calls N`` runs one variant N times untimed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

from otel_agentperf.core.rate_limits import read_rate_limits

COMMON = {
    "date": "Wed, 02 Dec 2026 00:18:00 GMT",
    "content-type": "application/json",
    "transfer-encoding": "chunked",
    "connection": "keep-alive",
    "access-control-expose-headers": "X-Request-ID",
    "x-request-id": "req_0123456789abcdef",
    "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
    "cf-cache-status": "DYNAMIC",
    "set-cookie": "__cf_bm=abc; path=/; HttpOnly; Secure",
    "x-content-type-options": "nosniff",
    "server": "cloudflare",
    "cf-ray": "8f0000000000abcd-AMS",
    "alt-svc": 'h3=":443"; ma=86400',
    "content-encoding": "gzip",
}
OPENAI = {
    **COMMON,
    "openai-organization": "org-abc",
    "openai-processing-ms": "412",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "29999980",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "0s",
}
ANTHROPIC = {
    **COMMON,
    "anthropic-organization-id": "0000-1111",
    "request-id": "req_011CTabc",
    "via": "1.1 google",
    **{
        f"anthropic-ratelimit-{kind}-{field}": value
        for kind in ("requests", "tokens", "input-tokens", "output-tokens")
        for field, value in (("limit", "4000"), ("remaining", "3999"), ("reset", "2026-12-02T00:18:01Z"))
    },
}


def without_rate_limits(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if "ratelimit" not in name}


def variants() -> dict[str, Callable[[], object]]:
    openai_headers, anthropic_headers = httpx2.Headers(OPENAI), httpx2.Headers(ANTHROPIC)
    openai_absent = httpx2.Headers(without_rate_limits(OPENAI))
    anthropic_absent = httpx2.Headers(without_rate_limits(ANTHROPIC))
    dict_absent, dict_openai = without_rate_limits(OPENAI), dict(OPENAI)
    return {
        "noop": lambda: None,
        "baseline": lambda: openai_absent.get("content-type"),
        "absent-openai": lambda: read_rate_limits(openai_absent),
        "absent-anthropic": lambda: read_rate_limits(anthropic_absent),
        "absent-dict": lambda: read_rate_limits(dict_absent),
        "openai": lambda: read_rate_limits(openai_headers),
        "anthropic": lambda: read_rate_limits(anthropic_headers),
        "openai-dict": lambda: read_rate_limits(dict_openai),
    }


def per_call_us(function: Callable[[], object], calls: int) -> float:
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - started) / calls * 1e6


SEGMENTS = (200, 1200)


def run_segments() -> None:
    """Child of ``--callgrind``: each variant's segments between marks; print the segments' labels (JSON)."""
    labels: list[str | None] = []

    def mark(label: str | None) -> None:
        labels.append(label)  # the dump taken on entering getppid holds what ran since the previous mark
        os.getppid()

    gc.disable()
    for name, function in variants().items():
        for calls in SEGMENTS:
            for _ in range(50):
                function()
            mark(None)
            for _ in range(calls):
                function()
            mark(f"{name}/{calls}")
    print(json.dumps(labels))


def callgrind() -> dict[str, float]:
    """Instructions per call of each variant, from one callgrind run of :func:`run_segments`."""
    with tempfile.TemporaryDirectory() as directory:
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={Path(directory) / 'callgrind.out'}",
            "--dump-before=os_getppid", sys.executable, str(Path(__file__).resolve()), "--run-segments",
        ]  # fmt: skip
        environment = {**os.environ, "PYTHONHASHSEED": "0"}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
        labels = json.loads(result.stdout.strip().splitlines()[-1])
        dumps = sorted(Path(directory).glob("callgrind.out.*"), key=lambda path: int(path.suffix[1:]))
        counts = {}
        for label, dump in zip(labels, dumps, strict=False):
            match = re.search(r"^(?:summary|totals):\s+(\d+)", dump.read_text(), re.MULTILINE)
            if label is not None and match is not None:
                counts[label] = int(match.group(1))
    low, high = SEGMENTS
    per_call = {name: (counts[f"{name}/{high}"] - counts[f"{name}/{low}"]) / (high - low) for name in variants()}
    print(f"{'variant':<18} {'instructions/call':>18} {'minus noop':>11}")
    for name, value in per_call.items():
        print(f"{name:<18} {value:18,.0f} {value - per_call['noop']:11,.0f}")
    return per_call


def main() -> None:
    if sys.argv[1:] == ["--run-segments"]:
        run_segments()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--count", choices=sorted(variants()), help="run one variant --calls times, untimed")
    parser.add_argument("--callgrind", action="store_true", help="count instructions per call instead of timing")
    options = parser.parse_args()
    if options.callgrind:
        callgrind()
        return
    table = variants()
    if options.count:
        function = table[options.count]
        for _ in range(options.calls):
            function()
        return
    assert read_rate_limits(httpx2.Headers(OPENAI)) is not None and read_rate_limits(httpx2.Headers(ANTHROPIC))
    samples: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(options.rounds):
        for name, function in table.items():
            samples[name].append(per_call_us(function, options.calls))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{'variant':<18} {'µs/call':>8} {'x baseline':>10}")
    for name, value in medians.items():
        print(f"{name:<18} {value:8.3f} {value / medians['baseline']:10.2f}")


if __name__ == "__main__":
    main()
