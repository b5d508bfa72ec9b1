"""Leaving a context from wherever the code that entered it happens to end.

A ``with`` block inside a generator can be left in another ``contextvars.Context`` than the one it was entered in:
Starlette steps a sync generator in a fresh copy of the context on each ``next()``, and asyncio closes an abandoned
async generator in a new task. ``ContextVar.reset`` then raises ``ValueError``. The helpers here never raise: in the
context that made the token they reset it; in another one they put the previous value back only where the value is
still the one that was set, and leave every other context alone.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TypeVar

from opentelemetry import context as otel_context

_T = TypeVar("_T")


def reset(var: ContextVar[_T], token: Token[_T], value: _T, default: _T) -> None:
    """Undo ``token = var.set(value)``; ``default`` stands for a variable that had no value before."""
    try:
        var.reset(token)
    except (ValueError, RuntimeError):  # another context, or the token was used already
        if var.get(default) is value:
            old = token.old_value
            var.set(default if old is Token.MISSING else old)


Attached = tuple[object, otel_context.Context]
"""What :func:`attach` returns: the runtime context's token, and the context it made current."""


def attach(context: otel_context.Context) -> Attached:
    """Make ``context`` the current OpenTelemetry context; pass the result to :func:`detach`."""
    return otel_context.attach(context), context


def detach(attached: Attached) -> None:
    """Undo :func:`attach`, in whichever context this runs."""
    token, context = attached
    if isinstance(token, Token):
        reset(token.var, token, context, otel_context.Context())
    else:  # a runtime context of another kind handles its own tokens
        otel_context.detach(token)  # type: ignore[arg-type]
