"""The one grammar of numeric options: a comma list whose items are numbers, ranges
``start:stop:count`` (log-spaced; ``start:stop:count:lin`` linear) or inclusive integer
ranges ``a-b``: ``0.5,2,8``, ``0.1:100:60`` (60 values), ``2-8`` (2, 3, ..., 8), ``inf``
for m.  Integer options (:func:`parse_integers`) read the same items, round a range's values
and drop repeats; seeds are a count, a list or ``a-b``.

Every option is counted before it is expanded: at most :data:`lowdim.compare.limits.MAX_VALUES`
values, so that a typo such as ``0:1:1e9`` is refused by name instead of filling the memory.
"""
from __future__ import annotations

import re

import numpy as np

from .limits import MAX_INT, MAX_SEED, MAX_VALUES

__all__ = ["parse_values", "parse_integers", "parse_seeds", "count_values", "MAX_RANGE"]

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


_SPAN = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")


def _span(name: str, item: str):
    """``(a, b)`` of an inclusive integer range ``a-b``, or ``None`` when ``item`` is not
    one (a number such as ``1e-3`` never matches)."""
    m = _SPAN.match(item)
    if m is None:
        return None
    a, b = int(m.group(1)), int(m.group(2))
    if b < a:
        raise ValueError(f"{name}: empty range {item.strip()!r}")
    return a, b


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
        elif (span := _span(name, item)) is not None:
            total += span[1] - span[0] + 1
        else:
            _number(name, item, allow_inf)
            total += 1
        if total > MAX_VALUES:
            raise ValueError(f"{name}: at most {MAX_VALUES} values in all (the list "
                             f"{str(text)[:40]!r} asks for more)")
    return total


def parse_values(name: str, text, *, allow_inf: bool = False) -> np.ndarray:
    """Parse a comma list whose items are numbers, ranges ``start:stop:count[:lin|log]`` or
    inclusive integer ranges ``a-b``.

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
        elif (span := _span(name, item)) is not None:
            out.extend(float(v) for v in range(span[0], span[1] + 1))
        else:
            out.append(_number(name, item, allow_inf))
    return np.array(out, dtype=float)


def parse_integers(name: str, text, low: int | None = None, high: int = MAX_INT, *,
                   distinct: bool = True) -> list:
    """Integers in the grammar of :func:`parse_values`: a ``start:stop:count`` range is
    rounded; any other item must be an integer.  Each value lies in ``[low, high]``
    (``low=None``: ``-high``).  With ``distinct`` (a grid axis) the values come sorted and
    without repeats; without it (one value per component, say) in the order given."""
    low = -high if low is None else low
    count_values(name, text)
    values = []
    for item in _items(name, text):
        chunk = parse_values(name, item)
        if ":" in item:
            chunk = np.round(chunk)
        for v in chunk:
            if not (np.isfinite(v) and v == np.round(v)):
                raise ValueError(f"{name}: expected integers (got {item.strip()!r})")
            if not low <= v <= high:
                raise ValueError(f"{name}: must be an integer between {low} and {high} "
                                 f"(got {item.strip()})")
            values.append(int(v))
    return sorted(set(values)) if distinct else values


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
