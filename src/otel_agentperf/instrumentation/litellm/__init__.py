"""OpenTelemetry instrumentation for LiteLLM (``litellm`` >= 1.110): every provider it speaks to, and its Router.

Usage
-----
Zero-code: ``opentelemetry-instrument python app.py`` loads it through the entry point ``agentperf_litellm``
(disable it with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=agentperf_litellm``). By hand::

    from otel_agentperf.instrumentation.litellm import LiteLLMInstrumentor

    LiteLLMInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

Configuration
-------------
``capture_content`` (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``content_max_length``
(``OTEL_AGENTPERF_CONTENT_MAX_LENGTH``) and ``chunk_gaps`` (``OTEL_AGENTPERF_CHUNK_GAPS``), as for the OpenAI
instrumentor; ``tracer_provider``, ``meter_provider``.

What is patched
---------------
Nothing until the program imports ``litellm``: ``instrument()`` never imports it (LiteLLM fetches its model cost
map when imported, unless ``LITELLM_LOCAL_MODEL_COST_MAP=True``). Then: ``litellm.completion``, ``acompletion``,
``embedding`` and ``aembedding`` (the package's attributes: calls through ``litellm.completion(...)``, and names
imported with ``from litellm import completion`` after ``instrument()``; a name imported before it keeps the bare
function), and the Router's ``completion``, ``acompletion``, ``embedding`` and ``aembedding``.

``gen_ai.provider.name`` comes from the model as LiteLLM resolves it (``litellm.get_llm_provider``): the conventions'
name where there is one (``gemini`` -> ``gcp.gemini``, ``vertex_ai`` -> ``gcp.vertex_ai``, ``bedrock`` ->
``aws.bedrock``, ``azure`` -> ``azure.ai.openai``, ``mistral`` -> ``mistral_ai``, ``xai`` -> ``x_ai``), LiteLLM's
name otherwise; ``gen_ai.request.model`` is the model as written (``gemini/gemini-2.5-flash``),
``gen_ai.response.model`` the one the provider reported; ``server.address`` comes from ``api_base`` when it is known.

One span per call: a call LiteLLM makes through another instrumented SDK (the openai SDK for ``openai/``
embeddings) shows up as a child span that adds nothing to the metrics or the run summary (``core.llm``). A Router
call is one span (its request model is the model group; its provider the group's, when its deployments share one),
with a child span per attempt.

Retries (``agentperf.retry.source=litellm``): ``completion(num_retries=n)`` retries in
``completion_with_retries`` (tenacity) after the first attempt failed; the Router retries a deployment and falls
back to other model groups. Each attempt after a failed one is a retry, its wait measured from the failure to the
next attempt; a fallback also adds an ``agentperf.fallback`` event naming the model tried next. The tenacity
instrumentor leaves these retries to this one. Retries of the SDK LiteLLM calls (the openai client's
``max_retries``) are recorded by that SDK's instrumentor, if it is on, inside this call.

The response cache (``litellm.cache = litellm.Cache(...)``): ``Cache.get_cache`` and ``async_get_cache``, each lookup
counted as a hit or a miss (``agentperf.cache.system=litellm``).

Telemetry
---------
As the OpenAI instrumentor, for every provider: a CLIENT span per call, the duration, token usage,
time-to-first-chunk and per-chunk-gap histograms, prompt-cache read and write tokens and their counters, reasoning
tokens, finish reasons, content on opt-in. Streams (``CustomStreamWrapper``) end their span exactly once: read to
the end, closed (``close()``, ``aclose()``, ``with``), or abandoned. API keys and headers are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from timeit import default_timer
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from otel_agentperf import semconv
from otel_agentperf.core.caches import CacheRecorder, read_lookup_duration
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.instruments import scope
from otel_agentperf.core.llm import LLMTelemetry, resolve_llm_settings
from otel_agentperf.core.llm_wrappers import llm_wrappers
from otel_agentperf.core.patching import AgentPerfInstrumentor
from otel_agentperf.core.retries import attempt_loop_wrappers, current_retry_owner
from otel_agentperf.core.streams import SyncAndAsyncStreamProxy
from otel_agentperf.instrumentation.litellm.package import _instruments

__all__ = ["LiteLLMInstrumentor"]

_ROUTER = "litellm.router_rust.core"
_ROUTER_CLASS = "RustCore"

Wrapper = Callable[..., Any]


class LiteLLMInstrumentor(AgentPerfInstrumentor):
    """Instruments LiteLLM's completions and embeddings, its Router, and its retries."""

    _dependencies = _instruments
    _setup_when_imported = "litellm"

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        import litellm  # noqa: PLC0415 - the program imported it: _setup runs on that import
        from litellm import main  # noqa: PLC0415
        from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper  # noqa: PLC0415

        from otel_agentperf.instrumentation.litellm._operations import (  # noqa: PLC0415
            Completion,
            Embedding,
            RouterCompletion,
            RouterEmbedding,
        )

        settings = resolve_llm_settings(kwargs)
        tracer, instruments = scope(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), __name__)
        telemetry = LLMTelemetry(tracer, instruments, settings, reporter)
        streams = (CustomStreamWrapper,)
        resolve = litellm.get_llm_provider
        proxy = SyncAndAsyncStreamProxy
        chat = llm_wrappers(telemetry, Completion(streams, resolve), sync_stream=proxy, async_stream=proxy)
        embed = llm_wrappers(telemetry, Embedding(streams, resolve))
        router_chat = llm_wrappers(
            telemetry, RouterCompletion(streams, resolve, _group_providers), sync_stream=proxy, async_stream=proxy
        )
        router_embed = llm_wrappers(telemetry, RouterEmbedding(streams, resolve, _group_providers))
        recorder = telemetry.retries
        # The Router's calls are retry loops whose attempts are calls of litellm.completion and the others: one
        # wrapper per attribute, so that uninstrument() restores each with a single check.
        sync_loop, async_loop, sync_attempt, async_attempt = attempt_loop_wrappers(
            recorder, semconv.RETRY_SOURCE_LITELLM, reporter
        )
        fallbacks = _noting_fallbacks(reporter)
        for name, (sync_llm, async_llm), (sync_router, async_router) in (
            ("completion", chat, router_chat),
            ("embedding", embed, router_embed),
        ):
            sync_llm = _async_when_flagged(f"a{name}", sync_llm, async_llm)
            self._patch("litellm", name, _stacked(sync_attempt, _stacked(fallbacks, sync_llm)))
            self._patch("litellm", f"a{name}", _stacked(async_attempt, _stacked(fallbacks, async_llm)))
            self._patch(_ROUTER, f"{_ROUTER_CLASS}.{name}", _stacked(sync_loop, sync_router))
            self._patch(_ROUTER, f"{_ROUTER_CLASS}.a{name}", _stacked(async_loop, async_router))
        # completion(num_retries=n): retried by completion_with_retries once the first attempt failed; its tenacity
        # loop calls original_function (main.completion unless given) once per attempt.
        sync_loop, async_loop, sync_attempt, async_attempt = attempt_loop_wrappers(
            recorder, semconv.RETRY_SOURCE_LITELLM, reporter, after_failure=True
        )
        default = lambda: main.completion  # noqa: E731 - read at call time, as LiteLLM does
        self._patch("litellm", "completion_with_retries", _with_attempts(sync_loop, sync_attempt, default, reporter))
        self._patch("litellm", "acompletion_with_retries", _with_attempts(async_loop, async_attempt, default, reporter))
        cache = CacheRecorder(instruments, semconv.CACHE_SYSTEM_LITELLM, reporter, read_lookup_duration(kwargs))
        sync_lookup, async_lookup = _cache_lookup_wrappers(cache)
        self._patch("litellm.caching.caching", "Cache.get_cache", sync_lookup)
        self._patch("litellm.caching.caching", "Cache.async_get_cache", async_lookup)


def _stacked(outer: Wrapper, inner: Wrapper) -> Wrapper:
    """One wrapper (wrapt's signature) that runs ``outer`` around ``inner`` around the wrapped function."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        def call_inner(*args: Any, **kwargs: Any) -> Any:
            return inner(wrapped, instance, args, kwargs)

        return outer(call_inner, instance, args, kwargs)

    return wrapper


def _async_when_flagged(flag: str, sync_wrapper: Wrapper, async_wrapper: Wrapper) -> Wrapper:
    """``sync_wrapper``, or ``async_wrapper`` for a call that asks for the async form.

    ``completion(acompletion=True)`` returns a coroutine, which the async wrapper's span waits for.
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        chosen = async_wrapper if kwargs.get(flag) is True else sync_wrapper
        return chosen(wrapped, instance, args, kwargs)

    return wrapper


def _with_attempts(loop: Wrapper, attempt: Wrapper, default: Callable[[], Any], reporter: ErrorReporter) -> Wrapper:
    """A wrapper of a ``*_with_retries`` function: the loop around it, the attempt around its ``original_function``."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            original = kwargs.get("original_function") or default()
            kwargs = {**kwargs, "original_function": wrapt.FunctionWrapper(original, attempt)}
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            reporter.report("litellm retries", error)
        return loop(wrapped, instance, args, kwargs)

    return wrapper


def _cache_lookup_wrappers(recorder: CacheRecorder) -> tuple[Wrapper, Wrapper]:
    """Wrappers (sync, async) of the response cache's reads.

    A result is a hit; ``None`` is a miss if the cache was asked at all (LiteLLM also returns ``None`` for a call it
    does not cache).
    """

    def record(instance: Any, kwargs: Any, result: object, started: float) -> None:
        try:
            hit = result is not None
            if hit or instance.should_use_cache(**kwargs) is True:
                recorder.record_cache(instance, hit, started)
        except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
            recorder.reporter.report("litellm cache lookup", error)

    def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        started = default_timer()
        result = wrapped(*args, **kwargs)
        record(instance, kwargs, result, started)
        return result

    async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        started = default_timer()
        result = await wrapped(*args, **kwargs)
        record(instance, kwargs, result, started)
        return result

    return sync_wrapper, async_wrapper


def _noting_fallbacks(reporter: ErrorReporter) -> Wrapper:
    """A wrapper that adds an ``agentperf.fallback`` event to the current LLM call when the Router falls back."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        if "fallback_depth" in kwargs:  # set by the Router on the attempts of a fallback model group
            try:
                owner = current_retry_owner()
                if owner is not None and owner.span.is_recording():
                    model = kwargs.get("model")
                    event = {semconv.GEN_AI_REQUEST_MODEL: model} if isinstance(model, str) else {}
                    owner.span.add_event(semconv.AGENTPERF_FALLBACK_EVENT, event)
            except Exception as error:  # noqa: BLE001 - telemetry must never reach the caller
                reporter.report("litellm fallback", error)
        return wrapped(*args, **kwargs)

    return wrapper


def _group_providers(router: Any, model: object) -> object:
    """The LiteLLM provider names of the Router's model group ``model`` (``None`` if it is no group)."""
    if not isinstance(model, str):
        return None
    try:
        group = router.registry().group(model)
    except Exception:  # noqa: BLE001 - a Router without this registry: the call is named from its model alone
        return None
    return getattr(group, "providers", None)
