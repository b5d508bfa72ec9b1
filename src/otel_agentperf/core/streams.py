"""Stream proxies that keep a stream's whole interface and end its LLM span exactly once.

The proxy is a ``wrapt.ObjectProxy``: every attribute it does not define (``.response``, ``.headers``, helper methods)
reaches the real stream. It ends the span when the stream is exhausted (``completed``), raises (``error``), is closed
or left through ``with`` before its end (``closed``), or is garbage-collected unfinished (``abandoned``). Each chunk
goes to :meth:`LLMInvocation.on_chunk`, which is guarded; the chunk itself always reaches the caller unchanged.
The span is not current while the caller iterates: spans the caller starts between chunks are not its children.
"""

from __future__ import annotations

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


class _StreamProxy(_ObjectProxy):
    def __init__(self, stream: Any, invocation: LLMInvocation) -> None:
        super().__init__(stream)
        self._self_invocation = invocation

    def _self_end(self, how: str, error: BaseException | None = None) -> None:
        invocation = self._self_invocation
        if not invocation.ended:
            invocation.end(error, how)

    def __del__(self) -> None:
        try:
            self._self_end(_ABANDONED)
        except Exception:  # noqa: BLE001, S110 - nothing may escape a finalizer
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
