"""``lowdim bench``: speed as ratios to a floor, so regressions are visible on any machine.

* theory: a 400-point curve at m = 1, 4, inf; the floor is one vectorised evaluation of the
  residual and Jacobian on the same grid (the cost of a single Newton iteration), so the
  ratio counts the Newton iterations and continuation steps the solver needed.
* manifold theory: the same for linear- and hidden-manifold data (three unknowns, spectral
  integrals in closed form).
* simulation: the full ``simulate.rf.fit_seed`` at d = 400 (draws, streamed Gram and cross
  term, solve, exact train error, Monte Carlo test and score errors); the floor is its
  unavoidable linear algebra alone: the training feature matmul and activation, the Gram
  ``F^T F`` (with the same kernel as the simulation: BLAS syrk on the CPU) and the Cholesky
  factorisation, timed separately on the same device and dtype.
  A second ratio adds to the floor the test features and the score evaluation
  (``n_test`` samples), which no estimate of a test error can avoid.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .provenance import provenance
from .table import Table

__all__ = ["run_benchmarks"]


def _best(fn, repeat=3):
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _theory_rows(n_points=400):
    from theory.rf import RFSetting, predict
    from theory.rf import _system_sigma as sigma_system
    from theory.rf._predict import _coefficients, _sigma_coefficients
    from theory.rf._system import residual_and_jacobian

    def isotropic_floor(setting, q):
        co = _coefficients(setting)
        return lambda: residual_and_jacobian(co, q, q, -co.lam, 0.0)

    def manifold_floor(setting, q):
        co = _sigma_coefficients(setting)
        return lambda: sigma_system.residual_and_jacobian(co, q, q, q, -co.lam)

    psi_p = np.geomspace(0.1, 100, n_points)
    cases = [("", RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m), isotropic_floor)
             for m in (1, 4, math.inf)]
    cases += [(f"{data}, ", RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m,
                                      activation="relu", data=data, psi_d=0.25), manifold_floor)
              for data in ("linear-manifold", "hidden-manifold") for m in (1, math.inf)]
    rows = []
    for label, setting, floor_of in cases:
        # moments, spectrum and exact-score constant are computed before any timing
        setting.moments  # noqa: B018
        if setting.data != "gaussian":
            setting.spectrum  # noqa: B018
        q = np.full(n_points, 0.5)
        floor, _ = _best(floor_of(setting, q), repeat=20)
        secs, pred = _best(lambda: predict(setting), repeat=5)
        m = "inf" if math.isinf(float(setting.m.flat[0])) else int(setting.m.flat[0])
        rows.append({"benchmark": f"theory curve, {label}{n_points} points, m={m}",
                     "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
                     "floor": "one residual+Jacobian evaluation", "note":
                     f"converged={bool(pred.success)}, Newton iterations max {int(pred.nit.max())}"})
    return rows


def _sim_rows(d, device):
    import torch

    from simulate.device import make_generator, resolve_device
    from simulate.linalg import gram_update, symmetrize
    from simulate.rf import RFSize, fit_seed
    from theory.rf import RFSetting

    dev = resolve_device(device)
    rows = []
    for psi_p, m in ((2.0, 1), (4.0, 4), (8.0, 16)):
        setting = RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m)
        size = RFSize(d=d, seeds=(0,), device=str(dev))
        n, p = int(2.0 * d), int(psi_p * d)

        def full():
            timings = {}
            fit_seed(setting, size, 0, device=dev, timings=timings)
            return timings

        secs, timings = _best(full, repeat=2)

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        def floors():
            gen = make_generator(dev, 0, "bench")
            W = torch.randn(p, d, generator=gen, dtype=torch.float64, device=dev) / math.sqrt(d)
            Y = torch.randn(n * m, d, generator=gen, dtype=torch.float64, device=dev)
            Yt = torch.randn(size.n_test, d, generator=gen, dtype=torch.float64, device=dev)
            Z = torch.randn(p, d, generator=gen, dtype=torch.float64, device=dev)
            sync()
            t0 = time.perf_counter()
            F = torch.tanh(Y @ W.T)
            G = symmetrize(gram_update(torch.zeros(p, p, dtype=torch.float64, device=dev), F))
            G.diagonal().add_(1e-3 * n * m)
            torch.linalg.cholesky(G)
            sync()
            t1 = time.perf_counter()
            torch.tanh(Yt @ W.T) @ Z
            sync()
            return t1 - t0, time.perf_counter() - t0

        floor, floor_test = min(floors() for _ in range(3))
        phases = ", ".join(f"{k} {v:.3f}s" for k, v in timings.items())
        rows.append({"benchmark": f"simulation seed, d={d}, n={n}, p={p}, m={m}, "
                                  f"n_test={size.n_test}, {dev.type}",
                     "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
                     "floor": "train features + Gram + Cholesky",
                     "ratio_with_test_features": secs / floor_test, "note": phases})
    return rows


def run_benchmarks(quick=False, device="auto") -> Table:
    rows = _theory_rows(400)
    rows += _sim_rows(200 if quick else 400, device)
    cols = ["benchmark", "seconds", "floor_seconds", "ratio", "floor", "ratio_with_test_features",
            "note"]
    return Table(cols, rows, provenance(kind="bench", quick=quick))
