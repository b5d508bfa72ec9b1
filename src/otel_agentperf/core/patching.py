"""The base of every otel_agentperf instrumentor: a dependency self-check, strict mode, and owned patching.

Each instrumentor checks its library itself when ``instrument()`` runs, by hand or under ``opentelemetry-instrument``
(whose loader skips the check for this distribution): a library that is not installed is skipped quietly (DEBUG), an
installed version outside the supported range is skipped with one WARNING naming both versions.

``uninstrument()`` restores exactly what ``instrument()`` replaced: each patch remembers the original attribute and
the wrapper it installed, and an attribute is put back only while it still holds that wrapper (someone who wrapped it
after us keeps their wrapper, and a warning says that ours stays inside it).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
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


class AgentPerfInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Shared behaviour of the instrumentors; subclasses implement ``_setup`` and list their dependencies."""

    _dependencies: tuple[str, ...] = ()
    _patches: list[_Patch]

    def instrumentation_dependencies(self) -> Collection[str]:
        """The instrumented library and the versions supported."""
        return self._dependencies

    def _check_dependency_conflicts(self) -> None:
        """No check before ``_instrument``: it checks the library itself, with a message of its own."""
        return None

    def _instrument(self, **kwargs: Any) -> None:
        self._patches = []
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
        strict = read_bool(env.OTEL_AGENTPERF_STRICT, "strict", kwargs.get("strict"), False)
        self._setup(ErrorReporter(strict), **kwargs)

    def _setup(self, reporter: ErrorReporter, **kwargs: Any) -> None:
        raise NotImplementedError

    def _uninstrument(self, **kwargs: Any) -> None:
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

    def _patch(self, module: str, path: str, wrapper: Callable[..., Any]) -> None:
        """Wrap ``module.path`` (``Class.method``) with a wrapt ``wrapper``; skip quietly if it does not exist."""
        owner_path, _, name = path.rpartition(".")
        try:
            owner: Any = importlib.import_module(module)
            for part in owner_path.split(".") if owner_path else ():
                owner = getattr(owner, part)
            original = owner.__dict__[name]
        except (ImportError, AttributeError, KeyError):
            _logger.debug("%s.%s not found; not instrumented", module, path)
            return
        function_wrapper = wrapt.FunctionWrapper(original, wrapper)
        setattr(owner, name, function_wrapper)
        self._patches.append(_Patch(owner, name, original, function_wrapper))
