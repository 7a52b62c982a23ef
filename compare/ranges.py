"""Parsing of list and range options: ``0.5,2,8``, ``0.1:100:60`` (60 log-spaced values),
``0:1:11:lin`` (linear), ``inf`` for m, seeds as a count, a list or ``a-b``.

Every option is counted before it is expanded: at most :data:`lowdim.compare.limits.MAX_VALUES`
values, so that a typo such as ``0:1:1e9`` is refused by name instead of filling the memory.
"""
from __future__ import annotations

import numpy as np

from .limits import MAX_SEED, MAX_VALUES

__all__ = ["parse_values", "parse_seeds", "count_values", "MAX_RANGE"]

#: Values one ``start:stop:count`` range may hold.
MAX_RANGE = 100000


def _number(name: str, text: str, allow_inf: bool) -> float:
    t = text.strip().lower()
    if allow_inf and t in ("inf", "infinity"):
        return float("inf")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{name}: cannot read {text!r} as a number") from None
    if not np.isfinite(v) and not allow_inf:
        raise ValueError(f"{name}: must be finite (got {text!r})")
    return v


def _range_parts(name: str, item: str):
    """``(start, stop, count, mode)`` of one ``start:stop:count[:lin|log]`` item, checked."""
    parts = item.split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"{name}: a range is start:stop:count[:lin|log], got {item!r}")
    a = _number(name, parts[0], False)
    b = _number(name, parts[1], False)
    try:
        k = int(parts[2])
    except ValueError:
        raise ValueError(f"{name}: range count must be an integer, got {parts[2]!r}") from None
    if k < 1 or k > MAX_RANGE:
        raise ValueError(f"{name}: range count must be between 1 and {MAX_RANGE}, got {k}")
    mode = parts[3].strip().lower() if len(parts) == 4 else "log"
    if mode == "log":
        if a <= 0 or b <= 0:
            raise ValueError(f"{name}: a log range needs positive ends, got {item!r}")
    elif mode != "lin":
        raise ValueError(f"{name}: range spacing must be 'lin' or 'log', got {mode!r}")
    return a, b, k, mode


def _items(name: str, text) -> list:
    """The comma-separated items of an option (an empty option is an error)."""
    text = str(text).strip()
    if not text:
        raise ValueError(f"{name}: empty value")
    return text.split(",")


def count_values(name: str, text, *, allow_inf: bool = False) -> int:
    """How many values :func:`parse_values` would return, without expanding the ranges;
    a malformed item is a ``ValueError`` naming ``name``, and so are more than
    :data:`~lowdim.compare.limits.MAX_VALUES` values."""
    if isinstance(text, (int, float, np.number)):
        return 1
    total = 0
    for item in _items(name, text):
        item = item.strip()
        if ":" in item:
            total += _range_parts(name, item)[2]
        else:
            _number(name, item, allow_inf)
            total += 1
        if total > MAX_VALUES:
            raise ValueError(f"{name}: at most {MAX_VALUES} values in all (the list "
                             f"{str(text)[:40]!r} asks for more)")
    return total


def parse_values(name: str, text, *, allow_inf: bool = False) -> np.ndarray:
    """Parse a comma list whose items are numbers or ranges ``start:stop:count[:lin|log]``.

    Ranges are log-spaced by default (both ends must then be > 0).  The values are counted
    first (:func:`count_values`): at most :data:`~lowdim.compare.limits.MAX_VALUES` of them.
    """
    if isinstance(text, (int, float, np.number)):
        return np.array([float(text)])
    count_values(name, text, allow_inf=allow_inf)
    out: list[float] = []
    for item in _items(name, text):
        item = item.strip()
        if ":" in item:
            a, b, k, mode = _range_parts(name, item)
            spaced = np.geomspace(a, b, k) if mode == "log" else np.linspace(a, b, k)
            out.extend(spaced.tolist())
        else:
            out.append(_number(name, item, allow_inf))
    return np.array(out, dtype=float)


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise ValueError
    return value


def parse_seeds(text) -> tuple[int, ...]:
    """``"3"`` -> (0, 1, 2); ``"0,4,7"`` -> those; ``"2-5"`` -> (2, 3, 4, 5).

    Seeds are distinct integers in ``0 .. 2**63 - 1``, at most
    :data:`~lowdim.compare.limits.MAX_VALUES` of them, counted before any range is expanded; a
    repeated seed is an error (it would be counted as an independent draw)."""
    text = str(text).strip()
    usage = (f"seeds: expected a count, a list like 0,1,2 or a range like 0-4 of integers "
             f"between 0 and {MAX_SEED}; got {text!r}")
    try:
        if "," in text:
            items = [s.strip() for s in text.split(",") if s.strip()]
            if len(items) > MAX_VALUES:
                raise OverflowError
            seeds = tuple(_seed(s) for s in items)
        elif "-" in text[1:]:
            a, b = (_seed(v) for v in text.split("-", 1))
            if b - a + 1 > MAX_VALUES:
                raise OverflowError
            seeds = tuple(range(a, b + 1))
        else:
            k = int(text)
            if k < 1:
                raise ValueError
            if k > MAX_VALUES:
                raise OverflowError
            seeds = tuple(range(k))
    except ValueError:
        raise ValueError(usage) from None
    except OverflowError:
        raise ValueError(f"seeds: at most {MAX_VALUES} seeds (got {text[:40]!r})") from None
    if not seeds:
        raise ValueError(usage)
    if len(set(seeds)) != len(seeds):
        seen, repeated = set(), []
        for s in seeds:
            if s in seen and s not in repeated:
                repeated.append(s)
            seen.add(s)
        raise ValueError(f"seeds: each seed must be distinct; {', '.join(map(str, repeated))} "
                         f"repeated in {text!r} (a repeated seed is the same draw, not an "
                         f"independent one)")
    return seeds
