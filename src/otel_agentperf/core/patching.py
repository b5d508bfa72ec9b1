"""The base of every otel_agentperf instrumentor: a dependency self-check, strict mode, and owned, lazy patching.

Each instrumentor checks its library itself when ``instrument()`` runs, by hand or under ``opentelemetry-instrument``
(whose loader skips the check for this distribution): a library that is not installed is skipped quietly (DEBUG), an
installed version outside the supported range is skipped with one WARNING naming both versions.

A patch of a module the program has not imported yet waits for its import (a ``wrapt`` post-import hook), so an
installed library the program never uses is never imported by ``instrument()``; an instrumentor whose setup itself
needs the library (its stream classes, say) names it in ``_setup_when_imported`` and is set up on its import.
``uninstrument()`` disarms the hooks still pending (wrapt cannot remove them: a disarmed hook does nothing when it
fires).

``uninstrument()`` restores exactly what ``instrument()`` replaced: each patch remembers the original attribute and
the wrapper it installed, and an attribute is put back only while it still holds that wrapper (someone who wrapped it
after us keeps their wrapper, and a warning says that ours stays inside it).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from otel_agentperf import environment_variables as env
from otel_agentperf.core.guard import ErrorReporter
from otel_agentperf.core.settings import read_bool

_logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Patch:
    owner: Any
    name: str
    original: Any
    wrapper: Any


class _PendingImport:
    """A post-import hook that runs ``action`` on the module once it is imported, unless disarmed first."""

    __slots__ = ("action", "armed")

    def __init__(self, action: Callable[[ModuleType], None]) -> None:
        self.action = action
        self.armed = True

    def __call__(self, module: ModuleType) -> None:
        if not self.armed:
            return
        self.armed = False
        try:
            self.action(module)
        except Exception:  # noqa: BLE001 - runs inside the program's import statement: it must not fail it
            _logger.warning("otel_agentperf could not instrument %s", module.__name__, exc_info=True)


class AgentPerfInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Shared behaviour of the instrumentors; subclasses implement ``_setup`` and list their dependencies."""

    _dependencies: tuple[str, ...] = ()
    _setup_when_imported: str | None = None
    """The module whose import ``_setup`` waits for (``None``: set up at ``instrument()``)."""
    _patches: list[_Patch]
    _pending: list[_PendingImport]

    def instrumentation_dependencies(self) -> Collection[str]:
        """The instrumented library and the versions supported."""
        return self._dependencies

    def _check_dependency_conflicts(self) -> None:
        """No check before ``_instrument``: it checks the library itself, with a message of its own."""
        return None

    def _instrument(self, **kwargs: Any) -> None:
        self._patches = []
        self._pending = []
        conflict = get_dependency_conflicts(list(self._dependencies))
        if conflict is not None:
            if conflict.found is None:
                _logger.debug("%s not enabled: %s", type(self).__name__, conflict)
            else:
                _logger.warning(
                    "%s not enabled: %s is installed, but it supports %s",
                    type(self).__name__,
                    conflict.found,
                    conflict.required,
                )
            return
        reporter = ErrorReporter(read_bool(env.OTEL_AGENTPERF_STRICT, "strict", kwargs.get("strict"), False))
        if self._setup_when_imported is None:
            self._setup(reporter, **kwargs)
        else:
            self._when_imported(self._setup_when_imported, lambda _module: self._setup(reporter, **kwargs))

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        raise NotImplementedError

    def _uninstrument(self, **kwargs: Any) -> None:
        for pending in getattr(self, "_pending", ()):
            pending.armed = False
        self._pending = []
        for patch in reversed(getattr(self, "_patches", [])):
            current = patch.owner.__dict__.get(patch.name)
            if current is patch.wrapper:
                setattr(patch.owner, patch.name, patch.original)
            else:
                _logger.warning(
                    "%s.%s was wrapped again after otel_agentperf; leaving it as it is",
                    getattr(patch.owner, "__qualname__", patch.owner.__name__),
                    patch.name,
                )
        self._patches = []

    def _when_imported(self, module: str, action: Callable[[ModuleType], None]) -> None:
        """Run ``action(module)`` now if ``module`` is imported, else when it is (unless uninstrumented first)."""
        imported = sys.modules.get(module)
        if imported is not None:
            action(imported)
            return
        pending = _PendingImport(action)
        self._pending.append(pending)
        wrapt.register_post_import_hook(pending, module)

    def _patch(self, module: str, path: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``module.path`` (``Class.method``) with a wrapt ``wrapper`` now or once ``module`` is imported.

        A path that does not exist is skipped quietly.
        """
        self._when_imported(module, lambda imported: self._patch_now(imported, path, wrapper))

    def _patch_now(self, module: ModuleType, path: str, wrapper: Callable[..., Any]) -> None:
        owner_path, _, name = path.rpartition(".")
        try:
            owner: Any = module
            for part in owner_path.split(".") if owner_path else ():
                owner = getattr(owner, part)
            original = owner.__dict__[name]
        except (AttributeError, KeyError):
            _logger.debug("%s.%s not found; not instrumented", module.__name__, path)
            return
        function_wrapper = wrapt.FunctionWrapper(original, wrapper)
        setattr(owner, name, function_wrapper)
        self._patches.append(_Patch(owner, name, original, function_wrapper))
