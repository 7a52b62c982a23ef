"""Every public theory entry point is exercised by a property test.

A public entry point is a function or class named in the ``__all__`` of a theory module whose
dotted path has no private part.  Each must be called by name in a test file that runs
hypothesis (``tests/properties/test_properties*.py``, or a family's own test file), except the result
containers below, which users receive rather than build.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import lowdim.theory

HERE = Path(__file__).resolve().parent

#: Returned by the entry points (their fields are checked there), never constructed by users.
RESULT_CONTAINERS = {"RadiusCurve", "HessianSpectrum", "IntegratedBound", "RFPrediction",
                     "SampleComplexity", "BoundTerms", "PathKL",
                     "SamplerLaw1D", "SelfConsistentSystem"}


def _public_entry_points():
    names = {}
    modules = ["lowdim.theory"] + [m.name for m in pkgutil.walk_packages(lowdim.theory.__path__,
                                                                   "lowdim.theory.")]
    for modname in modules:
        if any(part.startswith("_") for part in modname.split(".")):
            continue
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                names[name] = modname
    return names


def test_every_public_entry_point_has_a_property_test():
    files = [p.read_text() for p in sorted(HERE.parent.rglob("test_*.py"))]
    source = "".join(text for text in files if "from hypothesis import" in text)
    names = _public_entry_points()
    assert len(names) > 80  # the walk found the families
    missing = sorted(f"{mod}.{name}" for name, mod in names.items()
                     if name not in RESULT_CONTAINERS
                     and not re.search(rf"\b{re.escape(name)}\b", source))
    assert not missing, f"public entry points without a property test: {missing}"
    unknown = RESULT_CONTAINERS - set(names)
    assert not unknown, f"stale names in RESULT_CONTAINERS: {sorted(unknown)}"
