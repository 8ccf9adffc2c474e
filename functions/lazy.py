"""Modules imported on first use, so a Lambda cold start loads only what its request needs.

The one way to defer an import in Hark (docs/architecture.md, "Deferred imports"): bound once at
the top of the module that uses it, with a typed twin naming the same module::

    if TYPE_CHECKING:
        from functions.logic import surveys
    else:
        surveys = lazy("functions.logic.surveys")

It imports nothing of ours, so every layer, the domain included, may use it.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module until an attribute is first read, then imports it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = import_module(self._name)
        return getattr(self._module, attribute)


def lazy(name: str) -> Any:
    return LazyModule(name)
