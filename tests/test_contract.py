"""Every instrumentor keeps one contract: round-trips with live data, suppression, and it never breaks the caller."""

from __future__ import annotations

import logging

import pytest
import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation

from tests.anthropic_tests.cases import ANTHROPIC_CASE
from tests.bedrock_tests.cases import BEDROCK_CASE
from tests.contract import ContractCase, recorded
from tests.google_genai_tests.cases import GOOGLE_GENAI_CASE
from tests.helpers import metrics_by_name
from tests.library_cases import LIBRARY_CASES
from tests.litellm_tests.cases import LITELLM_CASE
from tests.openai_tests.cases import OPENAI_CASE

CASES = [OPENAI_CASE, ANTHROPIC_CASE, GOOGLE_GENAI_CASE, BEDROCK_CASE, LITELLM_CASE, *LIBRARY_CASES]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def case(request: pytest.FixtureRequest) -> ContractCase:
    case: ContractCase = request.param
    if case.setup is not None:
        case.setup(request)
    return case


def _originals(case: ContractCase) -> list[object]:
    return [vars(owner)[name] for owner, name in case.patched()]


def _assert_one_call_recorded(case: ContractCase, reader, exporter) -> None:
    """One call of ``case`` adds exactly its events (or, for observed totals, something) and its spans."""
    before = recorded(case, reader)
    exporter.clear()
    case.call()
    added = recorded(case, reader) - before
    if case.events is None:
        assert added > 0, f"{case.signal} did not move"
    else:
        assert added == case.events
    assert len(exporter.get_finished_spans()) == case.spans


def test_uninstrument_restores_the_exact_originals(case, instrument, span_exporter, metric_reader):
    """After uninstrument() every patched attribute is the very object it was before, and nothing is recorded."""
    before = _originals(case)
    instrumentor = instrument(case.instrumentor)
    assert all(now is not then for now, then in zip(_originals(case), before, strict=True))
    instrumentor.uninstrument()
    assert all(now is then for now, then in zip(_originals(case), before, strict=True))
    case.call()
    assert not span_exporter.get_finished_spans()
    assert not metrics_by_name(metric_reader)


def test_reinstrument_records_live_data(case, instrument, span_exporter, metric_reader):
    """instrument → uninstrument → instrument on the same providers records each call once, observables included."""
    instrument(case.instrumentor).uninstrument()
    instrument(case.instrumentor)
    _assert_one_call_recorded(case, metric_reader, span_exporter)


def test_double_instrument_is_harmless(case, instrument, span_exporter, metric_reader, caplog):
    """A second instrument() is ignored with a warning: each call is still recorded once."""
    instrument(case.instrumentor)
    with caplog.at_level(logging.WARNING):
        instrument(case.instrumentor)
    assert "already instrumented" in caplog.text
    _assert_one_call_recorded(case, metric_reader, span_exporter)


def test_suppression_is_honoured(case, instrument, span_exporter, metric_reader):
    """Inside suppress_instrumentation() no span and no call metric is produced."""
    instrument(case.instrumentor)
    with suppress_instrumentation():
        case.call()
    assert not span_exporter.get_finished_spans()
    if case.events is not None:
        assert not metrics_by_name(metric_reader)


def test_failing_extractor_leaves_the_result_identical(
    case, instrument, span_exporter, metric_reader, monkeypatch, caplog
):
    """A bug in reading or recording is logged once; the caller gets what it gets without us, in its own context."""
    bare = case.fingerprint(case.call())
    monkeypatch.setenv("OTEL_AGENTPERF_STRICT", "false")
    instrument(case.instrumentor)
    case.break_recording(monkeypatch)
    with caplog.at_level(logging.DEBUG, logger="otel_agentperf"):
        first, second = case.call(), case.call()
        metrics_by_name(metric_reader)  # observable instruments read (and fail) here
    assert case.fingerprint(first) == bare
    assert case.fingerprint(second) == bare
    assert trace.get_current_span() is trace.INVALID_SPAN, "the caller's context must be restored"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "internal error" in r.getMessage()]
    assert len(warnings) == 1
    assert "your call was not affected" in warnings[0].getMessage()
    assert len(span_exporter.get_finished_spans()) == 2 * case.spans


def test_strict_mode_raises_internal_errors(case, instrument, metric_reader, monkeypatch):
    """In strict mode (this suite's default) an internal error is loud."""
    if not case.strict_raises:
        pytest.skip(f"{case.id}: the SDK's metric reader catches what its callbacks raise")
    instrument(case.instrumentor)
    case.break_recording(monkeypatch)
    with pytest.raises(BaseException) as raised:  # noqa: PT011 - an async library may wrap it in an exception group
        case.call()
        metrics_by_name(metric_reader)
    assert _carries(raised.value, "extractor bug")


def _carries(error: BaseException, message: str) -> bool:
    """Whether ``error``, or an exception it groups or was caused by, is a RuntimeError with ``message``."""
    if isinstance(error, RuntimeError) and str(error) == message:
        return True
    inner = list(getattr(error, "exceptions", ())) + [e for e in (error.__cause__, error.__context__) if e]
    return any(_carries(item, message) for item in inner)


def test_callers_context_is_restored(case, instrument, tracer_provider):
    """Inside a span of the caller's, the call leaves that span current."""
    instrument(case.instrumentor)
    with tracer_provider.get_tracer("caller").start_as_current_span("caller") as caller:
        case.call()
        assert trace.get_current_span() is caller


def test_callers_exception_is_the_same_object(case, instrument, span_exporter):
    """An exception raised inside the library reaches the caller as the very same object.

    It derives from BaseException so that no SDK wraps it on the way (like KeyboardInterrupt would travel).
    """
    if case.call_raising is None:
        pytest.skip(f"{case.id} calls no code that could raise")

    class Unexpected(BaseException):
        pass

    instrument(case.instrumentor)
    error = Unexpected("from the library")
    with pytest.raises(Unexpected) as raised:
        case.call_raising(error)
    assert raised.value is error
    if case.spans:
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
    if not case.restores_only_its_own or not case.patched():
        pytest.skip(f"{case.id} patches no attribute")
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
