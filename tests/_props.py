"""Shared helpers of the property tests (``test_properties*.py``): input strategies with the
edge values, and ``check``, the contract every public entry point must meet.

The contract: for any input, a call returns a finite result (NaN only where a ``converged``
flag beside it says so, infinities only where the function documents a divergence) or raises
a ``ValueError`` whose message starts with the name of the offending parameter and a colon,
or a ``RuntimeError`` saying that a solver did not converge.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import strategies as st


EDGE = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1e300, -1.0, 1e-12]


def reals(low=-1e3, high=1e4):
    """Floats in a wide range plus the edges: NaN, infinities, zero, tiny and huge."""
    return st.one_of(st.floats(min_value=low, max_value=high), st.sampled_from(EDGE))


def counts(high=64):
    return st.one_of(st.integers(min_value=-2, max_value=high), st.sampled_from([0, 1, 2]),
                     st.floats(min_value=-2, max_value=high), st.just(math.nan))


def _named_error(exc: ValueError, names):
    """The message starts with one of ``names`` (the parameter) followed by a colon."""
    text = str(exc)
    head = text.split(":")[0].strip()
    assert ":" in text and any(head == n or head.startswith(n) for n in names), text


def _no_nan(value, path="result"):
    """No NaN anywhere in ``value``; infinities allowed (documented divergences)."""
    for leaf, where in _leaves(value, path):
        assert not np.any(np.isnan(leaf)), f"{where} has NaN"


def _leaves(value, path):
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    elif isinstance(value, (np.ndarray, float, np.floating)):
        yield np.asarray(value, dtype=float), path


def _finite(value, path="result"):
    """Every float inside ``value`` (arrays, tuples, dicts, dataclasses) is finite, except
    where a ``converged`` flag beside it says otherwise."""
    if type(value).__name__.endswith("Setting"):
        return  # a setting is an input (m = inf is a valid setting), not a result
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        conv = getattr(value, "converged", None)
        for f in dataclasses.fields(value):
            if f.name.startswith("_") or f.name == "setting":
                continue
            v = getattr(value, f.name)
            if conv is not None and isinstance(v, np.ndarray) and v.shape == np.shape(conv):
                v = v[np.asarray(conv, bool)]
            _finite(v, f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _finite(v, f"{path}[{i}]")
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        assert np.all(np.isfinite(value)), f"{path} has non-finite entries"
    elif isinstance(value, (float, np.floating)):
        assert math.isfinite(value), f"{path} = {value}"


def check(call, names, allow_inf=False):
    """Run ``call()``: a finite result (no NaN, and no infinity unless ``allow_inf`` because
    the function documents a divergence), a ValueError naming one of ``names``, or a
    RuntimeError saying that a solver did not converge."""
    try:
        out = call()
    except ValueError as exc:
        _named_error(exc, names)
        return None
    except RuntimeError as exc:  # a solver or quadrature that did not converge says so
        assert "did not converge" in str(exc), str(exc)
        return None
    if allow_inf:
        _no_nan(out)
    else:
        _finite(out)
    return out
