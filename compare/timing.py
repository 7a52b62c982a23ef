"""Timing helpers shared by the families' ``lowdim bench`` rows (:mod:`lowdim.compare.bench`).

A row is a dict with ``benchmark, seconds, floor_seconds, ratio, floor, note`` (and, once
:func:`lowdim.compare.bench.run_benchmarks` has placed it, ``threads``).  A family gives its
rows as :class:`BenchGroup` s, so that each group says on which threads it runs.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["BenchGroup", "best_time", "time_pair", "bench_row"]


@dataclass(frozen=True)
class BenchGroup:
    """Rows timed together: ``make()`` returns them; ``threads`` names the thread cap the
    code sets itself (for example ``"1 (theory solver capped)"``), or ``None`` when the rows
    run on the process's own setting."""

    make: Callable[[], list]
    threads: str | None = None


def best_time(fn, repeat=3):
    """Shortest wall time of ``repeat`` calls of ``fn`` and the last result."""
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def time_pair(package, peer, repeats):
    """Medians of interleaved timings of two callables (and their last results): a loaded
    machine slows both alike."""
    t_pkg, t_peer = [], []
    out_pkg = out_peer = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out_pkg = package()
        t1 = time.perf_counter()
        out_peer = peer()
        t2 = time.perf_counter()
        t_pkg.append(t1 - t0)
        t_peer.append(t2 - t1)
    return float(np.median(t_pkg)), float(np.median(t_peer)), out_pkg, out_peer


def bench_row(name, secs, floor, floor_name, note=""):
    """A row against a floor: ``ratio = seconds / floor_seconds``."""
    return {"benchmark": name, "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
            "floor": floor_name, "note": note}
