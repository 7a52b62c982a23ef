"""``lowdim bench``: speed as ratios, so regressions are visible on any machine.

Each registered family gives its rows (``bench_groups(quick, device)`` in the module its
registry entry names, which says what each row times and against what): against a floor,
the least work the task needs (``ratio = seconds / floor_seconds``, above 1), or against a
peer, what a user would otherwise run (``ratio = peer / package``).  Every row also names
its family and the threads it ran on.
"""
from __future__ import annotations

from .provenance import provenance
from .table import Table

__all__ = ["run_benchmarks", "COLUMNS", "TEXT_COLUMNS", "TEXT_WRAP"]

#: The columns of the bench table (csv and json have them all).
COLUMNS = ["family", "benchmark", "seconds", "floor_seconds", "ratio", "floor",
           "ratio_with_test_features", "threads", "note"]
#: The text table, most telling first: what was timed, the times and their ratio, and what
#: the ratio is against (a floor, or a peer: then ``ratio = peer / package``); the threads,
#: the family and the notes (long: counts, phases, agreement with the peer) after them.
TEXT_COLUMNS = ["benchmark", "seconds", "floor_seconds", "ratio", "floor", "threads", "family",
                "ratio_with_test_features", "note"]
#: The columns whose words are wrapped in the text table rather than cut: the name of a
#: benchmark and its floor say what the ratio means.
TEXT_WRAP = ("benchmark", "floor")


def _thread_counts():
    """``(BLAS, torch)`` threads of this process now (BLAS: the most any loaded copy has)."""
    from threadpoolctl import threadpool_info

    blas = max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"),
               default=1)
    import torch

    return blas, torch.get_num_threads()


def run_benchmarks(quick=False, device="auto") -> Table:
    """Every family's rows, with the threads each ran on: ``threads`` names the process
    setting, or the cap the code sets itself around its small work
    (:mod:`lowdim.theory.threads`, :mod:`lowdim.simulate.device`)."""
    from .registry import families

    blas, torch_threads = _thread_counts()
    process = f"BLAS {blas}, torch {torch_threads}"
    rows = []
    for family in families():
        module = family.bench_module()
        for group in module.bench_groups(quick, device) if module is not None else ():
            threads = group.threads or process
            rows += [dict(row, family=family.name, threads=threads) for row in group.make()]
    return Table(list(COLUMNS), rows, provenance(kind="bench", quick=quick))
