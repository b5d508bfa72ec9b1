"""Every instrumentor keeps the same contract: round-trips, suppression, and it never breaks the caller."""

from __future__ import annotations

import logging

import pytest
import wrapt
from opentelemetry.instrumentation.utils import suppress_instrumentation

from tests.anthropic_tests.cases import ANTHROPIC_CASE
from tests.contract import InstrumentorCase
from tests.helpers import metrics_by_name
from tests.openai_tests.cases import OPENAI_CASE

CASES = [OPENAI_CASE, ANTHROPIC_CASE]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def case(request: pytest.FixtureRequest) -> InstrumentorCase:
    return request.param


def _originals(case: InstrumentorCase) -> list[object]:
    return [owner.__dict__[name] for owner, name in case.patched()]


def test_uninstrument_restores_the_exact_originals(case, instrument, span_exporter):
    """After uninstrument() every patched attribute is the very object it was before, and nothing is traced."""
    before = _originals(case)
    instrumentor = instrument(case.instrumentor)
    during = _originals(case)
    assert all(now is not then for now, then in zip(during, before, strict=True))
    instrumentor.uninstrument()
    assert all(now is then for now, then in zip(_originals(case), before, strict=True))
    case.call()
    assert not span_exporter.get_finished_spans()


def test_reinstrument_traces_again(case, instrument, span_exporter):
    """instrument → uninstrument → instrument gives exactly one span per call."""
    instrument(case.instrumentor).uninstrument()
    instrument(case.instrumentor)
    case.call()
    assert len(span_exporter.get_finished_spans()) == 1


def test_double_instrument_is_harmless(case, instrument, span_exporter, caplog):
    """A second instrument() is ignored with a warning: still one span per call."""
    instrument(case.instrumentor)
    with caplog.at_level(logging.WARNING):
        instrument(case.instrumentor)
    case.call()
    assert len(span_exporter.get_finished_spans()) == 1
    assert "already instrumented" in caplog.text


def test_suppression_is_honoured(case, instrument, span_exporter, metric_reader):
    """Inside suppress_instrumentation() no span and no metric is produced."""
    instrument(case.instrumentor)
    with suppress_instrumentation():
        case.call()
    assert not span_exporter.get_finished_spans()
    assert not metrics_by_name(metric_reader)


def test_failing_extractor_leaves_the_result_identical(case, instrument, span_exporter, monkeypatch, caplog):
    """A bug in response reading is logged once; the caller gets what it gets without instrumentation."""
    bare = case.result_fingerprint(case.call())
    monkeypatch.setenv("OTEL_AGENTPERF_STRICT", "false")
    instrument(case.instrumentor)
    case.break_extraction(monkeypatch)
    with caplog.at_level(logging.DEBUG, logger="otel_agentperf"):
        first, second = case.call(), case.call()
    assert case.result_fingerprint(first) == bare
    assert case.result_fingerprint(second) == bare
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "internal error" in r.getMessage()]
    assert len(warnings) == 1
    assert "your call was not affected" in warnings[0].getMessage()
    assert len(span_exporter.get_finished_spans()) == 2


def test_strict_mode_raises_internal_errors(case, instrument, monkeypatch):
    """In strict mode (this suite's default) an internal error is loud."""
    instrument(case.instrumentor)
    case.break_extraction(monkeypatch)
    with pytest.raises(RuntimeError, match="extractor bug"):
        case.call()


def test_callers_exception_is_the_same_object(case, instrument, span_exporter):
    """An exception raised inside the library reaches the caller as the very same object.

    It derives from BaseException so that no SDK wraps it on the way (like KeyboardInterrupt would travel).
    """

    class Unexpected(BaseException):
        pass

    instrument(case.instrumentor)
    error = Unexpected("from the library")
    with pytest.raises(Unexpected) as raised:
        case.call_raising(error)
    assert raised.value is error
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes["error.type"].endswith("Unexpected")


def test_stream_closed_early_ends_its_span(case, instrument, span_exporter):
    """A stream closed before its end ends its span exactly once."""
    if case.open_stream is None:
        pytest.skip(f"{case.id} has no streams")
    instrument(case.instrumentor)
    stream = case.open_stream()
    next(iter(stream))
    stream.close()
    (span,) = span_exporter.get_finished_spans()
    assert span.end_time is not None


def test_someone_elses_later_wrapper_is_left_in_place(case, instrument, caplog):
    """uninstrument() only removes its own wrappers: a wrapper added on top stays, with a warning."""
    instrumentor = instrument(case.instrumentor)
    owner, name = case.patched()[0]
    theirs = wrapt.FunctionWrapper(
        owner.__dict__[name], lambda wrapped, instance, args, kwargs: wrapped(*args, **kwargs)
    )
    setattr(owner, name, theirs)
    try:
        with caplog.at_level(logging.WARNING):
            instrumentor.uninstrument()
        assert owner.__dict__[name] is theirs
        assert "wrapped again" in caplog.text
    finally:
        setattr(owner, name, theirs.__wrapped__.__wrapped__)
