"""Modules imported at their first use, so that a theory-only command never pays for
torch, the simulations or matplotlib (``lowdim sampling bound`` starts in a fraction of the
time ``import torch`` takes)."""
from __future__ import annotations

import importlib

__all__ = ["LazyModule"]


class LazyModule:
    """Stands for the module ``name``; the first attribute read imports it, later reads go
    straight to the module.  ``torch = LazyModule("torch")`` at the top of a module keeps
    ``torch.zeros(...)`` in its functions unchanged."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", None)

    def _load(self):
        module = object.__getattribute__(self, "_module")
        if module is None:
            module = importlib.import_module(object.__getattribute__(self, "_name"))
            object.__setattr__(self, "_module", module)
        return module

    def __getattr__(self, attr):
        return getattr(self._load(), attr)

    def __setattr__(self, attr, value):
        raise AttributeError(f"{self._name}: a lazily imported module is read-only here")

    def __dir__(self):
        return dir(self._load())

    def __repr__(self):
        loaded = object.__getattribute__(self, "_module") is not None
        state = "imported" if loaded else "not yet imported"
        return f"<lazy module {object.__getattribute__(self, '_name')!r} ({state})>"
