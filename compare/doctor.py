"""``lowdim doctor``: what this installation has and where it will run.

Versions (package, git revision, Python, NumPy, SciPy, torch, matplotlib, distributed),
the CPU and the BLAS/OpenMP libraries with their thread counts, the devices torch sees and
what ``--device auto`` resolves to, the dtype conventions, the result cache (location,
entries, size, writable), and two smoke checks that take about a second: a 50-point theory
curve must converge, and one small simulation seed must give finite errors on the resolved
device.  Each row has a status: ``ok``, ``note`` (worth knowing) or ``FAIL``.
"""
from __future__ import annotations

import os
import platform
import time

from .cache import ResultCache
from .provenance import git_revision, package_version
from .table import Table

__all__ = ["diagnose"]

COLUMNS = ["section", "item", "value", "status"]


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - not installed
        return None


def _smoke_theory():
    import numpy as np

    from lowdim.theory.rf import RFSetting, predict

    t0 = time.perf_counter()
    pred = predict(RFSetting(psi_n=2.0, psi_p=np.geomspace(0.1, 10, 50), t=0.1, lam=1e-3, m=4))
    ok = bool(np.all(pred.converged)) and bool(np.all(np.isfinite(pred.test_error)))
    return ok, f"50-point curve, converged={ok}, {time.perf_counter() - t0:.2f} s"


def _smoke_simulation(device):
    import math

    from lowdim.simulate.rf import RFSize, fit_seed
    from lowdim.theory.rf import RFSetting

    t0 = time.perf_counter()
    out = fit_seed(RFSetting(psi_n=2.0, psi_p=1.0, t=0.1, lam=1e-3, m=2),
                   RFSize(d=32, seeds=(0,), n_test=256, device=device), 0)
    ok = all(math.isfinite(out.values[q]) for q in ("test_error", "train_error", "score_error"))
    return ok, (f"one seed at d=32 on {device}: test error {out.values['test_error']:.4f}, "
                f"{time.perf_counter() - t0:.2f} s")


def _devices(add, device):
    """The ``devices`` rows (torch threads, CUDA, what ``--device`` resolves to); returns the
    resolved device, or ``None`` when there is none to smoke-test."""
    try:
        import torch

        from lowdim.simulate.device import describe_device, resolve_device
    except ImportError:
        add("devices", "torch", "not importable: no simulation can run", "FAIL")
        return None
    add("devices", "torch threads", torch.get_num_threads())
    cuda = torch.cuda.is_available()
    add("devices", "cuda", f"available, {torch.cuda.device_count()} device(s), CUDA "
        f"{torch.version.cuda}" if cuda else "not available (simulations run on the CPU)",
        "ok" if cuda else "note")
    if cuda:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            add("devices", f"cuda:{i}", f"{p.name}, {p.total_memory / 2**30:.1f} GiB")
    try:
        dev = resolve_device(device)
        add("devices", f"--device {device}", f"resolves to {describe_device(dev)}")
        return dev
    except ValueError as exc:
        add("devices", f"--device {device}", str(exc), "FAIL")
        return None


def diagnose(device: str = "auto", cache_dir: str | None = None, smoke: bool = True) -> Table:
    """The report as a table (``section, item, value, status``); ``meta["ok"]`` is False when
    any row failed."""
    rows = []

    def add(section, item, value, status="ok"):
        rows.append({"section": section, "item": item, "value": str(value), "status": status})

    add("versions", "lowdim-diffusion", f"{package_version()} (git {git_revision() or 'n/a'})")
    add("versions", "python", f"{platform.python_version()} ({platform.python_implementation()})")
    for mod in ("numpy", "scipy", "torch", "matplotlib", "sympy", "mpmath", "tqdm",
                "scikit-learn", "distributed", "hypothesis"):
        v = _version(mod)
        if v is None:
            optional = mod in ("distributed", "hypothesis")
            add("versions", mod, "not installed" + (" (optional)" if optional else ""),
                "note" if optional else "FAIL")
        else:
            add("versions", mod, v)

    add("machine", "platform", platform.platform(terse=True))
    add("machine", "cpu cores", os.cpu_count())
    try:
        from threadpoolctl import threadpool_info

        import scipy.linalg  # noqa: F401 - load SciPy's BLAS so that it is listed

        for lib in threadpool_info():
            add("machine", f"{lib.get('user_api')}: {lib.get('internal_api')}",
                f"{lib.get('num_threads')} threads ({os.path.basename(lib.get('filepath', ''))})")
    except ImportError:
        add("machine", "blas", "threadpoolctl not installed: thread counts unknown", "note")

    dev = _devices(add, device)

    add("dtypes", "theory", "float64 (NumPy/SciPy)")
    add("dtypes", "simulations", "float64 solves (RFSize.dtype, default float64); random "
        "normals drawn in float32 and cast")
    add("dtypes", "network training", "float64 for the MoLR-MoG and MoLRG models, float32 "
        "for the localized networks (their dtype argument, recorded) and the VE score networks")

    cache = ResultCache(cache_dir)
    entries = cache.entries()
    size = sum(os.path.getsize(p) for p in entries)
    add("cache", "location", cache.root + (" ($LOWDIM_CACHE)" if os.environ.get("LOWDIM_CACHE")
                                           and cache_dir is None else ""))
    add("cache", "entries", f"{len(entries)} ({size / 1e6:.1f} MB)")
    writable, why = cache.writable()   # by writing a probe entry, not by permission bits
    add("cache", "writable", "yes" if writable else f"no: {why}; use --cache DIR or --no-cache",
        "ok" if writable else "FAIL")

    if smoke:
        try:
            ok, text = _smoke_theory()
        except Exception as exc:  # noqa: BLE001 - the report must say what failed
            ok, text = False, f"{type(exc).__name__}: {exc}"
        add("smoke", "theory", text, "ok" if ok else "FAIL")
        if dev is not None:
            try:
                ok, text = _smoke_simulation(str(dev))
            except Exception as exc:  # noqa: BLE001
                ok, text = False, f"{type(exc).__name__}: {exc}"
            add("smoke", "simulation", text, "ok" if ok else "FAIL")
    failed = [r["item"] for r in rows if r["status"] == "FAIL"]
    return Table(COLUMNS, rows, {"ok": not failed, "failed": failed})
