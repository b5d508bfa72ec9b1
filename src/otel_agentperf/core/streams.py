"""Stream proxies that keep a stream's whole interface and end its LLM span exactly once.

The proxy is a ``wrapt.ObjectProxy``: every attribute it does not define (``.response``, ``.headers``, helper methods)
reaches the real stream. It ends the span when the stream is exhausted (``completed``), raises (``error``), is closed
or left through ``with`` before its end (``closed``), or is garbage-collected unfinished (``abandoned``). Each chunk
goes to :meth:`LLMInvocation.on_chunk`, which is guarded; the chunk itself always reaches the caller unchanged.
The span is not current while the caller iterates: spans the caller starts between chunks are not its children.

An abandoned stream is not ended by its finalizer: the cyclic GC may run ``__del__`` at any allocation, also while
that thread holds a lock the ending needs (a run tally's, the metrics SDK's per-instrument lock), which would hang it.
The finalizer only puts the invocation on a ``queue.SimpleQueue`` (whose ``put`` is safe in finalizers: no lock that
code could hold) and a daemon thread ends it, outside any GC callback.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wrapt

from otel_agentperf.core.llm import LLMInvocation

_COMPLETED = "completed"
_CLOSED = "closed"
_ABANDONED = "abandoned"
_ERROR = "error"


if TYPE_CHECKING:
    _ObjectProxy = wrapt.ObjectProxy[Any]
else:
    _ObjectProxy = wrapt.ObjectProxy


_abandoned: queue.SimpleQueue[LLMInvocation | threading.Event] = queue.SimpleQueue()
_ender: threading.Thread | None = None


def _end_abandoned(block: bool) -> None:
    """End the queued invocations as abandoned (forever when ``block``, else until the queue is empty)."""
    while True:
        try:
            item = _abandoned.get(block)
        except queue.Empty:
            return
        try:
            if isinstance(item, threading.Event):
                item.set()
            elif not item.ended:
                item.end(None, _ABANDONED)
        except Exception:  # noqa: BLE001, S110 - reported by end(); strict mode must not stop the thread
            pass


def _start_ender() -> None:
    """Start the thread that ends abandoned streams (from ordinary code, never from a finalizer)."""
    global _ender
    if _ender is None:
        _ender = threading.Thread(target=_end_abandoned, args=(True,), name="otel_agentperf-abandoned", daemon=True)
        _ender.start()


def _forget_ender() -> None:
    global _ender
    _ender = None


os.register_at_fork(after_in_child=_forget_ender)
atexit.register(_end_abandoned, False)


def finish_abandoned(timeout: float = 5.0) -> bool:
    """Wait until the streams collected so far are ended; whether they were within ``timeout`` seconds."""
    _start_ender()
    done = threading.Event()
    _abandoned.put(done)
    return done.wait(timeout)


class _StreamProxy(_ObjectProxy):
    def __init__(self, stream: Any, invocation: LLMInvocation) -> None:
        super().__init__(stream)
        self._self_invocation = invocation
        if _ender is None:
            _start_ender()

    def _self_end(self, how: str, error: BaseException | None = None) -> None:
        invocation = self._self_invocation
        if not invocation.ended:
            invocation.end(error, how)

    def __del__(self) -> None:
        try:
            invocation = self._self_invocation
            if not invocation.ended:
                _abandoned.put(invocation)  # ended by the daemon thread: no lock may be taken here
        except Exception:  # noqa: BLE001, S110 - nothing may escape a finalizer (an interpreter shutting down)
            pass


class SyncStreamProxy(_StreamProxy):
    """Wraps a synchronous stream of chunks."""

    def __iter__(self) -> SyncStreamProxy:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_end(_COMPLETED)
            raise
        except BaseException as error:
            self._self_end(_ERROR, error)
            raise
        self._self_invocation.on_chunk(chunk)
        return chunk

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end(_CLOSED)

    def close(self) -> None:
        """Close the underlying stream and end the span."""
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(_CLOSED)


class AsyncStreamProxy(_StreamProxy):
    """Wraps an asynchronous stream of chunks."""

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_end(_COMPLETED)
            raise
        except BaseException as error:
            self._self_end(_ERROR, error)
            raise
        self._self_invocation.on_chunk(chunk)
        return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end(_CLOSED)

    async def close(self) -> None:
        """Close the underlying stream and end the span."""
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end(_CLOSED)


class SyncIterableProxy(SyncStreamProxy):
    """Wraps a stream that is iterable but not an iterator (botocore's ``EventStream``); iterate it once."""

    def __init__(self, stream: Any, invocation: LLMInvocation) -> None:
        super().__init__(stream, invocation)
        self._self_iterator: Any = None

    def __next__(self) -> Any:
        iterator = self._self_iterator
        if iterator is None:
            self._self_iterator = iterator = iter(self.__wrapped__)
        try:
            chunk = next(iterator)
        except StopIteration:
            self._self_end(_COMPLETED)
            raise
        except BaseException as error:
            self._self_end(_ERROR, error)
            raise
        self._self_invocation.on_chunk(chunk)
        return chunk


class AsyncGeneratorProxy(AsyncStreamProxy):
    """Wraps an async generator of chunks (google-genai's async stream), which is closed with ``aclose()``."""

    async def aclose(self) -> None:
        """Close the underlying generator and end the span."""
        try:
            await self.__wrapped__.aclose()
        finally:
            self._self_end(_CLOSED)


class _StreamManagerProxy(_ObjectProxy):
    """Wraps an SDK stream manager (``with client.messages.stream(...) as stream``).

    The manager's ``__enter__`` sends the request and returns a helper stream that reads the raw SSE stream held in
    its ``_raw_stream`` attribute. The call's span starts when the manager is entered; the raw stream is then wrapped,
    so every way the helper reads (iteration, ``text_stream``, ``get_final_message()``) and ends (``close()``,
    leaving the ``with``) goes through the proxy.
    """

    def __init__(self, manager: Any, start: Callable[[], LLMInvocation | None]) -> None:
        super().__init__(manager)
        self._self_start = start

    def _self_wrap_raw(self, helper: Any, invocation: LLMInvocation, proxy: type[_StreamProxy]) -> None:
        invocation.leave()
        try:
            helper._raw_stream = proxy(helper._raw_stream, invocation)
        except Exception as error:  # noqa: BLE001 - an SDK without _raw_stream gets a span without stream details
            invocation.telemetry.reporter.report("stream helper", error)
            invocation.end()


class SyncStreamManagerProxy(_StreamManagerProxy):
    """Wraps a synchronous stream manager."""

    def __enter__(self) -> Any:
        invocation = self._self_start()
        if invocation is None:
            return self.__wrapped__.__enter__()
        try:
            helper = self.__wrapped__.__enter__()
        except BaseException as error:
            invocation.fail(error)
            raise
        self._self_wrap_raw(helper, invocation, SyncStreamProxy)
        return helper

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)


class AsyncStreamManagerProxy(_StreamManagerProxy):
    """Wraps an asynchronous stream manager."""

    async def __aenter__(self) -> Any:
        invocation = self._self_start()
        if invocation is None:
            return await self.__wrapped__.__aenter__()
        try:
            helper = await self.__wrapped__.__aenter__()
        except BaseException as error:
            invocation.fail(error)
            raise
        self._self_wrap_raw(helper, invocation, AsyncStreamProxy)
        return helper

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


def _close_raw_stream(helper: Any) -> None:
    raw: Any = getattr(helper, "_raw_stream", None)
    if issubclass(type(raw), _StreamProxy):
        raw._self_end(_CLOSED)


def helper_close_wrappers() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Wrappers (sync, async) for the ``close()`` of an SDK stream helper that closes the HTTP response only.

    Such a helper (openai's ``chat.completions.stream()`` and ``responses.stream()``) reads a raw stream that
    ``create(stream=True)`` returned wrapped, but its ``close()``, which leaving the ``with`` calls, closes the HTTP
    response, not the raw stream; the helper sits in a reference cycle that only the cyclic GC frees. Closing the
    helper ends the span as ``closed``.
    """

    def sync_close(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            return wrapped(*args, **kwargs)
        finally:
            _close_raw_stream(instance)

    async def async_close(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            return await wrapped(*args, **kwargs)
        finally:
            _close_raw_stream(instance)

    return sync_close, async_close


class SyncAndAsyncStreamProxy(SyncStreamProxy, AsyncGeneratorProxy):  # type: ignore[misc]
    """Wraps a stream object that is read either way (LiteLLM's ``CustomStreamWrapper``).

    ``close()`` closes it synchronously, as the stream's own does; ``aclose()`` and ``async with`` from async code.
    """
