"""Decorators that run each call of a function inside a context manager, whatever kind of function it is.

A generator's or async generator's scope spans its whole iteration, not just the call that creates it, and a consumer
that stops early (closing the generator) ends it normally, not as an error. The body runs in a context of its own,
entered at each step: the span it makes current never leaks into the consumer's code between items, and generators
iterated in turns (``zip``) cannot undo each other's context. Values and exceptions sent into the wrapper
(``send``/``throw``, ``asend``/``athrow``) reach the wrapped generator unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
ScopeFactory = Callable[[tuple[Any, ...], dict[str, Any]], AbstractContextManager[Any]]


def decorate(function: F, open_scope: ScopeFactory, *, keep_result: bool = False) -> F:
    """Wrap ``function`` (sync, async, generator, async generator): each call runs in ``open_scope(args, kwargs)``.

    With ``keep_result``, the value a sync or async call returns is passed to the entered scope's ``set_result()``.
    """
    if inspect.isasyncgenfunction(function):
        return _async_generator(function, open_scope)  # type: ignore[return-value]
    if inspect.isgeneratorfunction(function):
        return _generator(function, open_scope)  # type: ignore[return-value]
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            with open_scope(args, kwargs) as scope:
                result = await function(*args, **kwargs)
                if keep_result:
                    scope.set_result(result)
                return result

        return coroutine  # type: ignore[return-value]

    @functools.wraps(function)
    def plain(*args: Any, **kwargs: Any) -> Any:
        with open_scope(args, kwargs) as scope:
            result = function(*args, **kwargs)
            if keep_result:
                scope.set_result(result)
            return result

    return plain  # type: ignore[return-value]


def _generator(function: Callable[..., Generator[Any, Any, Any]], open_scope: ScopeFactory) -> Callable[..., Any]:
    def scoped(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Generator[Any, Any, Any]:
        with _ClosingIsNormal(open_scope(args, kwargs)):
            return (yield from function(*args, **kwargs))

    @functools.wraps(function)
    def generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        return (yield from _steps_in(contextvars.copy_context(), scoped(args, kwargs)))

    return generator


def _async_generator(function: Callable[..., AsyncGenerator[Any, Any]], open_scope: ScopeFactory) -> Callable[..., Any]:
    @functools.wraps(function)
    async def async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        context = contextvars.copy_context()
        scope = _ClosingIsNormal(open_scope(args, kwargs))
        context.run(scope.__enter__)
        inner = function(*args, **kwargs)
        ending: BaseException | None = None
        try:
            step: Callable[[Any], Awaitable[Any]] = inner.asend
            value: Any = None
            while True:
                try:
                    item = await _InContext(context, step(value))
                except StopAsyncIteration:
                    return
                try:
                    value = yield item
                    step = inner.asend
                except GeneratorExit:
                    await _InContext(context, inner.aclose())
                    raise
                except BaseException as error:  # noqa: BLE001 - forwarded into the wrapped generator
                    step, value = inner.athrow, error
        except BaseException as error:
            ending = error
            raise
        finally:
            traceback = ending.__traceback__ if ending is not None else None
            context.run(scope.__exit__, type(ending) if ending is not None else None, ending, traceback)

    return async_generator


class _ClosingIsNormal:
    """Passes a generator's closing (``GeneratorExit``) to ``scope`` as a normal end; never suppresses anything.

    A scope with a ``closed_early()`` method is told first (an agent run records that its consumer stopped early).
    """

    __slots__ = ("_scope",)

    def __init__(self, scope: AbstractContextManager[Any]) -> None:
        self._scope = scope

    def __enter__(self) -> Any:
        return self._scope.__enter__()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is GeneratorExit:
            kind = error = traceback = None
            closed_early = getattr(self._scope, "closed_early", None)
            if closed_early is not None:
                closed_early()
        self._scope.__exit__(kind, error, traceback)


class _InContext:
    """An awaitable that runs each step of another awaitable inside ``context``."""

    __slots__ = ("_context", "_awaitable")

    def __init__(self, context: contextvars.Context, awaitable: Awaitable[Any]) -> None:
        self._context = context
        self._awaitable = awaitable

    def __await__(self) -> Generator[Any, Any, Any]:
        return _steps_in(self._context, self._awaitable.__await__())


def _steps_in(context: contextvars.Context, inner: Generator[Any, Any, T]) -> Generator[Any, Any, T]:
    """Behave as ``yield from inner``, with each step of ``inner`` run inside ``context``."""
    step: Callable[[Any], Any] = inner.send
    value: Any = None
    while True:
        try:
            item = context.run(step, value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        try:
            value = yield item
            step = inner.send
        except GeneratorExit:
            context.run(inner.close)
            raise
        except BaseException as error:  # noqa: BLE001 - forwarded into the inner generator, as yield from does
            step, value = inner.throw, error
