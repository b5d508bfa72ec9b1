"""Decorators that run each call of a function inside a context manager, whatever kind of function it is.

A generator's or async generator's scope spans its whole iteration, not just the call that creates it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
ScopeFactory = Callable[[tuple[Any, ...], dict[str, Any]], AbstractContextManager[Any]]


def decorate(function: F, open_scope: ScopeFactory, *, keep_result: bool = False) -> F:
    """Wrap ``function`` (sync, async, generator, async generator): each call runs in ``open_scope(args, kwargs)``.

    With ``keep_result``, the value a sync or async call returns is passed to the entered scope's ``set_result()``.
    """
    if inspect.isasyncgenfunction(function):

        @functools.wraps(function)
        async def async_generator(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            with open_scope(args, kwargs):
                async for item in function(*args, **kwargs):
                    yield item

        return async_generator  # type: ignore[return-value]
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            with open_scope(args, kwargs) as scope:
                result = await function(*args, **kwargs)
                if keep_result:
                    scope.set_result(result)
                return result

        return coroutine  # type: ignore[return-value]
    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            with open_scope(args, kwargs):
                return (yield from function(*args, **kwargs))

        return generator  # type: ignore[return-value]

    @functools.wraps(function)
    def plain(*args: Any, **kwargs: Any) -> Any:
        with open_scope(args, kwargs) as scope:
            result = function(*args, **kwargs)
            if keep_result:
                scope.set_result(result)
            return result

    return plain  # type: ignore[return-value]
