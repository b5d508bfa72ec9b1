"""Per-run tallies that every instrumentor feeds, with no manual calls.

An agent run (``agent_run()``) puts a :class:`RunTally` in the current context. Whatever an instrumentor observes
while that context is current (an LLM call with its tokens, a tool call, a cache hit or miss, a retry, an error) is
added to it through the ``record_*`` functions below, which cost one context-variable lookup when no run is active.
The context is copied into asyncio tasks and into threads started with ``contextvars.copy_context()``, so work spread
over tasks and threads lands in the run that started it; a nested run adds its tally to its parent's when it ends.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, fields

from otel_agentperf.core.contexts import reset

_CURRENT: ContextVar[RunTally | None] = ContextVar("otel_agentperf_run", default=None)


@dataclass(slots=True)
class RunCounts:
    """What happened during a run: plain counters, safe to copy and add."""

    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    tool_calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    retries: int = 0
    errors: int = 0
    cost: float | None = None
    """USD of the LLM calls that could be priced; ``None`` when none could."""
    unpriced_calls: int = 0
    """LLM calls that reported tokens but whose model is in no price table (their cost is not in ``cost``)."""
    rate_limit_wait: float = 0.0
    """Seconds waited before retrying responses refused by a rate limit (HTTP 429)."""
    llm_time: float = 0.0
    """Seconds in LLM calls, apart from the waits between their retries."""
    tool_time: float = 0.0
    """Seconds in tool executions."""
    backoff_time: float = 0.0
    """Seconds waited before retries (the SDKs' own, tenacity's, backoff's)."""

    def add(self, other: RunCounts) -> None:
        """Add ``other``'s counters to this one's."""
        for item in fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if mine is None or theirs is None:  # the cost, when no call of one side was priced
                setattr(self, item.name, theirs if mine is None else mine)
            else:
                setattr(self, item.name, mine + theirs)


@dataclass(slots=True)
class RunTally:
    """The counters of one active run, updated from any task or thread under a lock."""

    counts: RunCounts = field(default_factory=RunCounts)
    parent: RunTally | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> RunCounts:
        """A copy of the counters as they are now."""
        with self.lock:
            copy = RunCounts()
            copy.add(self.counts)
            return copy


def current_run() -> RunTally | None:
    """The run of the current context, if any."""
    return _CURRENT.get()


def enter_run() -> tuple[RunTally, Token[RunTally | None]]:
    """Start a run nested in the current one (if any) and make it current."""
    tally = RunTally(parent=_CURRENT.get())
    return tally, _CURRENT.set(tally)


def exit_run(tally: RunTally, token: Token[RunTally | None]) -> RunCounts:
    """Leave a run: restore the previous context (in any context), add the run's counts to its parent's, return them."""
    reset(_CURRENT, token, tally, None)
    counts = tally.snapshot()
    if tally.parent is not None:
        with tally.parent.lock:
            tally.parent.counts.add(counts)
    return counts


def record_llm_call(
    tally: RunTally | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None,
    cache_write_tokens: int | None,
    failed: bool,
    seconds: float = 0.0,
    cost: float | None = None,
    unpriced: bool = False,
) -> None:
    """Count one LLM call of ``seconds`` (waits between retries excluded) and its USD cost in the run ``tally``."""
    if tally is None:
        return
    with tally.lock:
        counts = tally.counts
        counts.llm_calls += 1
        counts.input_tokens += input_tokens or 0
        counts.output_tokens += output_tokens or 0
        counts.cache_read_tokens += cache_read_tokens or 0
        counts.cache_write_tokens += cache_write_tokens or 0
        counts.errors += failed
        counts.llm_time += seconds
        if cost is not None:
            counts.cost = cost if counts.cost is None else counts.cost + cost
        counts.unpriced_calls += unpriced


def record_rate_limit_wait(seconds: float) -> None:
    """Add the wait before retrying a rate-limited (HTTP 429) response to the current run."""
    tally = _CURRENT.get()
    if tally is not None:
        with tally.lock:
            tally.counts.rate_limit_wait += seconds


def record_tool_call(failed: bool, seconds: float = 0.0) -> None:
    """Count one tool call, which took ``seconds``, in the current run."""
    count_tool_call(_CURRENT.get(), failed, seconds)


def count_tool_call(tally: RunTally | None, failed: bool, seconds: float = 0.0) -> None:
    """Count one tool call of ``seconds`` in ``tally`` (the run that was current when the tool started)."""
    if tally is not None:
        with tally.lock:
            tally.counts.tool_calls += 1
            tally.counts.errors += failed
            tally.counts.tool_time += seconds


def record_cache_lookup(hit: bool) -> None:
    """Count one cache hit or miss in the current run."""
    tally = _CURRENT.get()
    if tally is not None:
        with tally.lock:
            if hit:
                tally.counts.cache_hits += 1
            else:
                tally.counts.cache_misses += 1


def record_retry(delay: float = 0.0) -> None:
    """Count one retry, after a wait of ``delay`` seconds, in the current run."""
    tally = _CURRENT.get()
    if tally is not None:
        with tally.lock:
            tally.counts.retries += 1
            tally.counts.backoff_time += delay


def record_error() -> None:
    """Count one error in the current run (for errors no other ``record_*`` call counts)."""
    tally = _CURRENT.get()
    if tally is not None:
        with tally.lock:
            tally.counts.errors += 1
