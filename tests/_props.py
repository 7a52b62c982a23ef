"""Shared helpers of the property tests (``test_properties*.py``): input strategies with the
edge values and the wrong kinds, and ``check``, the contract every public entry point must
meet.

The contract: for any input, a call returns a finite result (NaN only where a ``converged``
flag beside it says so, infinities only where the function documents a divergence) or raises
a ``ValueError`` whose message starts with the name of the offending parameter and a colon
(a wrong kind of input raises ``lowdim.theory._checks.ParameterTypeError``, a ``TypeError`` that is
also a ``ValueError``; a bare ``TypeError`` breaks the contract), or a ``RuntimeError`` saying
that a solver did not converge.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from hypothesis import strategies as st


EDGE = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300, 1e300, -1.0, 1e-12]

#: Values that are not real numbers; wherever a number is expected they must be refused with
#: an error naming the parameter (complex numbers are not truncated, "1" is not parsed).
NOT_NUMBERS = [1 + 5j, np.complex128(2.0), np.datetime64("2020-01-01"), np.timedelta64(3, "D"),
               b"1", "1", "2.5", np.array([1.0, None], dtype=object),
               np.array([2.0], dtype=object)]

#: Integers at and beyond the ends of int64 and float64: a number where they fit, refused by
#: name where they do not (never an OverflowError or an IndexError).
BIG = [2**63, 10**400, np.int64(2**63 - 1)]


def tensors(values):
    """0-d float64 torch tensors of ``values``, some with ``requires_grad`` (refused: theory
    does not differentiate) and some without (read as numbers)."""
    return st.builds(lambda v, g: torch.tensor(float(v), dtype=torch.float64,
                                               requires_grad=g), values, st.booleans())


def odd_kinds(values):
    """The wrong kinds, the big integers, and tensors of ``values``."""
    return st.one_of(st.sampled_from(NOT_NUMBERS), st.sampled_from(BIG), tensors(values))


def _mostly(good, odd, one_in=4):
    """``good`` three times in four, ``odd`` otherwise (so valid calls stay common)."""
    return st.integers(1, one_in).flatmap(lambda i: odd if i == one_in else good)


def reals(low=-1e3, high=1e4, kinds=True):
    """Floats in a wide range plus the edges: NaN, infinities, zero, tiny and huge; with
    ``kinds`` (the default) also, one time in four, a value of a wrong kind, a big integer or
    a torch tensor.  ``kinds=False`` is for values the test itself computes with."""
    plain = st.one_of(st.floats(min_value=low, max_value=high), st.sampled_from(EDGE))
    return _mostly(plain, odd_kinds(st.floats(low, high))) if kinds else plain


def counts(high=64, kinds=True):
    """Integers and floats around ``[0, high]`` (NaN included); with ``kinds`` also, one time
    in four, a wrong kind, a big integer or a torch tensor (int64 or, with or without grad,
    float64)."""
    plain = st.one_of(st.integers(min_value=-2, max_value=high), st.sampled_from([0, 1, 2]),
                      st.floats(min_value=-2, max_value=high), st.just(math.nan))
    if not kinds:
        return plain
    ints = st.builds(lambda n: torch.tensor(n), st.integers(-2, high))
    return _mostly(plain, st.one_of(odd_kinds(st.integers(-2, high)), ints))


def as_array(values):
    """``values`` as a NumPy array where NumPy can build one; otherwise (a list holding a
    tensor that requires grad, a ragged list) the list itself, for the library to refuse."""
    try:
        return np.array(values)
    except (RuntimeError, ValueError, TypeError):
        return values


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
    the function documents a divergence), a ValueError naming one of ``names`` (a wrong kind
    raises ``ParameterTypeError``, a TypeError and a ValueError at once), or a RuntimeError
    saying that a solver did not converge."""
    try:
        out = call()
    except ValueError as exc:  # ParameterTypeError included
        _named_error(exc, names)
        return None
    except TypeError as exc:   # a TypeError that is not also a ValueError
        raise AssertionError(f"bare {type(exc).__name__} (not a ParameterTypeError): "
                             f"{exc}") from exc
    except RuntimeError as exc:  # a solver or quadrature that did not converge says so
        assert "did not converge" in str(exc), str(exc)
        return None
    if allow_inf:
        _no_nan(out)
    else:
        _finite(out)
    return out
