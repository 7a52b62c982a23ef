"""Validators of what only a simulation takes (sizes, counts, step sizes, learning rates).

Shared by every simulation family; the settings validate themselves in the theory
(:mod:`lowdim.theory._checks`).  Each raises ``ValueError`` naming the parameter as the
user wrote it.  Sizes are capped at :data:`MAX_SIZE`, what torch indexes, so that an
integer beyond it is refused here rather than deep inside a kernel.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["MAX_SIZE", "is_integer", "integer", "number"]

#: Largest size or count a simulation accepts (torch indexes with 32-bit ints on some paths).
MAX_SIZE = 2**31 - 1


def is_integer(x) -> bool:
    """A Python or NumPy integer (``bool`` excluded)."""
    return not isinstance(x, bool) and isinstance(x, (int, np.integer))


def integer(name, x, low=1, high=MAX_SIZE) -> int:
    """``x`` as an int in ``[low, high]``."""
    if not is_integer(x) or x < low:
        raise ValueError(f"{name}: must be an integer >= {low} (got {x!r})")
    if x > high:
        raise ValueError(f"{name}: must be an integer between {low} and {high} (got {x!r})")
    return int(x)


def number(name, x, low=0.0, strict=True) -> float:
    """``x`` as a finite float ``> low`` (``>= low`` when ``strict`` is false)."""
    ok = isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) \
        and math.isfinite(x) and (x > low if strict else x >= low)
    if not ok:
        raise ValueError(f"{name}: must be a finite number {'>' if strict else '>='} {low} "
                         f"(got {x!r})")
    return float(x)
