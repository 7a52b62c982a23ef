"""Validation helpers shared by the families: integers given as ints or integral floats,
arrays of numbers, with errors that name the parameter."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["integer", "integers", "number", "positive_number", "floats", "positive_floats"]


def integer(name: str, x, low: int | None = None) -> int:
    """``x`` as an int: an integer, or a float with an integral value; ``>= low`` if given."""
    ok = not isinstance(x, (bool, np.bool_)) and isinstance(x, (int, float, np.integer,
                                                               np.floating))
    if ok and isinstance(x, (float, np.floating)):
        ok = math.isfinite(x) and float(x).is_integer()
    if not ok:
        raise ValueError(f"{name}: must be an integer (got {x!r})")
    if low is not None and x < low:
        raise ValueError(f"{name}: must be an integer >= {low} (got {x!r})")
    return int(x)


def integers(name: str, values, low: int | None = None) -> list[int]:
    """Every entry of ``values`` (a scalar or a sequence) through :func:`integer`."""
    try:
        flat = np.atleast_1d(np.asarray(values, dtype=object)).ravel().tolist()
    except Exception:  # noqa: BLE001 - ragged or odd input
        raise ValueError(f"{name}: expected integers (got {values!r})") from None
    return [integer(name, v, low) for v in flat]


def number(name: str, x) -> float:
    """``x`` as a float (NaN and infinities included): an int or float, not a bool, a string
    or an array; else a ValueError naming ``name``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer,
                                                               np.floating)):
        raise ValueError(f"{name}: expected a number (got {x!r})")
    return float(x)


def positive_number(name: str, x, allow_zero: bool = False) -> float:
    """:func:`number`, finite and ``> 0`` (``>= 0`` with ``allow_zero``)."""
    v = number(name, x)
    if not (math.isfinite(v) and (v >= 0 if allow_zero else v > 0)):
        raise ValueError(f"{name}: must be a finite number {'>=' if allow_zero else '>'} 0 "
                         f"(got {x!r})")
    return v


def floats(name: str, x) -> np.ndarray:
    """``x`` as a float array, or a ValueError naming ``name`` (strings, ragged lists)."""
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number or an array of numbers (got {x!r})") \
            from None


def positive_floats(name: str, x) -> np.ndarray:
    """:func:`floats` with every entry finite and ``> 0``."""
    arr = floats(name, x)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name}: must be finite and > 0 (got {x!r})")
    return arr
