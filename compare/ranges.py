"""Parsing of list and range options: ``0.5,2,8``, ``0.1:100:60`` (60 log-spaced values),
``0:1:11:lin`` (linear), ``inf`` for m, seeds as a count, a list or ``a-b``."""
from __future__ import annotations

import numpy as np

__all__ = ["parse_values", "parse_seeds"]


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


def parse_values(name: str, text, *, allow_inf: bool = False) -> np.ndarray:
    """Parse a comma list whose items are numbers or ranges ``start:stop:count[:lin|log]``.

    Ranges are log-spaced by default (both ends must then be > 0).
    """
    if isinstance(text, (int, float, np.number)):
        return np.array([float(text)])
    text = str(text).strip()
    if not text:
        raise ValueError(f"{name}: empty value")
    out: list[float] = []
    for item in text.split(","):
        item = item.strip()
        if ":" in item:
            parts = item.split(":")
            if len(parts) not in (3, 4):
                raise ValueError(f"{name}: a range is start:stop:count[:lin|log], got {item!r}")
            a = _number(name, parts[0], False)
            b = _number(name, parts[1], False)
            try:
                k = int(parts[2])
            except ValueError:
                raise ValueError(f"{name}: range count must be an integer, got {parts[2]!r}") from None
            if k < 1 or k > 100000:
                raise ValueError(f"{name}: range count must be between 1 and 100000, got {k}")
            mode = parts[3].strip().lower() if len(parts) == 4 else "log"
            if mode == "log":
                if a <= 0 or b <= 0:
                    raise ValueError(f"{name}: a log range needs positive ends, got {item!r}")
                out.extend(np.geomspace(a, b, k).tolist())
            elif mode == "lin":
                out.extend(np.linspace(a, b, k).tolist())
            else:
                raise ValueError(f"{name}: range spacing must be 'lin' or 'log', got {mode!r}")
        else:
            out.append(_number(name, item, allow_inf))
    return np.array(out, dtype=float)


def parse_seeds(text) -> tuple[int, ...]:
    """``"3"`` -> (0, 1, 2); ``"0,4,7"`` -> those; ``"2-5"`` -> (2, 3, 4, 5)."""
    text = str(text).strip()
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        elif "-" in text[1:]:
            a, b = text.split("-", 1)
            seeds = tuple(range(int(a), int(b) + 1))
        else:
            k = int(text)
            if k < 1:
                raise ValueError
            seeds = tuple(range(k))
    except ValueError:
        raise ValueError(f"seeds: expected a count, a list like 0,1,2 or a range like 0-4; "
                         f"got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(f"seeds: need non-negative seeds, got {text!r}")
    return seeds
