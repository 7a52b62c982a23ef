"""``lowdim bench`` rows of the random-features family.

Against floors (``ratio = seconds / floor_seconds``):

* theory: a 400-point curve at m = 1, 4, inf; the floor is one vectorised evaluation of the
  residual and Jacobian on the same grid (the cost of a single Newton iteration), so the
  ratio counts the Newton iterations and continuation steps the solver needed.
* manifold theory: the same for linear- and hidden-manifold data (three unknowns, spectral
  integrals in closed form), and for an empirical covariance of 10^4 eigenvalues (each
  integral a sum over them).
* simulation: the full ``lowdim.simulate.rf.fit_seed`` at d = 400 (draws, streamed Gram and cross
  term, solve, exact train error, Monte Carlo test and score errors); the floor is its
  unavoidable linear algebra alone: the training feature matmul and activation, the Gram
  ``F^T F`` (with the same kernel as the simulation: BLAS syrk on the CPU) and the Cholesky
  factorisation, timed separately on the same device and dtype.
  A second ratio adds to the floor the test features and the score evaluation
  (``n_test`` samples), which no estimate of a test error can avoid.

Against peers (``ratio = peer / package``).  The solver's peer solves the same
self-consistent system (isotropic data, research note rf_learning_curves.md section 3.3, at
``(z, zeta) = (-lambda, 0)``) [paper: UBBM26-DD Thm 2.1, Prop. C.2]

    F1 = 1/r - 1/q - psi_p A1/L1 - psi_p (1-eps) D1/L2 = 0,
    F2 = -lambda psi_p - (1 - psi_p)/q + r/q^2 - psi_p B1/L1 - psi_p (1-eps) E1/L2 = 0,

one grid point at a time with ``scipy.optimize.root(method="hybr")`` (MINPACK's hybrid
Powell method with its finite-difference Jacobian), each point started from the previous
point's solution.  It is written the fastest way such a loop reasonably goes: the residual
in plain Python floats (no NumPy temporaries per call), the per-point constants read once,
the first point started from the package's own answer there (so the loop starts on the
right branch), and a 2-D grid walked in serpentine order so that every start is the
solution at a neighbouring grid point.  The one-point row starts the loop from the
large-ridge guess ``q = 1/(lambda + mu1^2 + mu*^2)``, ``r = 1/(lambda + mu1^2 + mu*^2 +
psi_p mu1^2)`` instead.

Each row times the package's full ``predict(setting)`` (solve and every error) against the
loop's solve alone, with the two interleaved repeat by repeat (a loaded machine slows both
alike) and medians reported: ``seconds`` is the package, ``floor_seconds`` the loop and
``ratio`` the loop over the package (above 1: the package is faster).  The loop's answers are
compared with the package's, and the points where ``q`` or ``r`` differ by more than 1e-6
(relative) are counted in the note, together with the points the loop itself reported as
failed.

The simulation's peer is what a user writes without this package: for isotropic Gaussian data and tanh
features, draw ``W``, the data and ``m`` noise copies with NumPy's generator (float64), form
``F = tanh(Y W^T / sqrt(d))``, ``U = F^T F / (n m)``, ``V = F^T Xi / (sqrt(Delta) n m)``,
solve ``(U + lam I) Z = V`` with ``np.linalg.solve``, take the train error from
``<Z, U Z>`` and ``<Z, V>``, and the test error by Monte Carlo over ``n_test`` fresh samples:

    E_test = E ||sqrt(Delta) s(y) + xi||^2 / d,   s(y) = -tanh(y W^T / sqrt(d)) Z.

The package row is ``lowdim.simulate.rf.fit_seed`` on the same setting and sizes, which also
estimates the score error with its standard error and streams the noise in blocks.  The two
run interleaved, repeat by repeat, and medians are reported: ``seconds`` is the package,
``floor_seconds`` the peer and ``ratio`` peer over package (at or above 1: the package is as
fast or faster).  Both estimate the same errors from independent draws; the note gives their
values so that a gross disagreement shows.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .timing import BenchGroup, best_time, time_pair

__all__ = ["bench_groups", "theory_rows", "simulation_floor_rows", "solver_rows", "hybr_loop",
           "numpy_rf_seed", "simulation_rows"]


def bench_groups(quick: bool, device: str) -> list:
    """The family's rows for :func:`lowdim.compare.bench.run_benchmarks`."""
    from . import rf_dynamics_bench

    solver = "1 (theory solver capped)"
    return [
        BenchGroup(lambda: theory_rows(400), solver),
        BenchGroup(solver_rows, solver),
        BenchGroup(lambda: simulation_floor_rows(200 if quick else 400, device)),
        BenchGroup(lambda: simulation_rows((200,) if quick else (400, 800), "cpu",
                                           1 if quick else 3)),
    ] + rf_dynamics_bench.bench_groups(quick, device)


def theory_rows(n_points=400):
    from lowdim.theory.rf import RFSetting, predict, system
    from lowdim.theory.threads import single_threaded

    def isotropic_floor(setting, q):
        equations = system(setting)
        return lambda: equations(q, q)

    def manifold_floor(setting, q):
        equations = system(setting)
        return lambda: equations(q, q, q)

    psi_p = np.geomspace(0.1, 100, n_points)
    cases = [("", RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m), isotropic_floor)
             for m in (1, 4, math.inf)]
    cases += [(f"{data}, ", RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m,
                                      activation="relu", data=data, psi_d=0.25), manifold_floor)
              for data in ("linear-manifold", "hidden-manifold") for m in (1, math.inf)]
    # an empirical covariance of 10^4 distinct eigenvalues (a power law, as image patches
    # have): every integral is a sum over the atoms
    eig = 1.0 / np.arange(1, 10_001) ** 0.9
    cases += [(f"spectrum of {eig.size} eigenvalues, ",
               RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m, data="spectrum",
                         eigenvalues=eig / eig.mean()), manifold_floor) for m in (1, math.inf)]
    rows = []
    for label, setting, floor_of in cases:
        repeat = 3 if setting.data == "spectrum" else 20
        # moments, spectrum and exact-score constant are computed before any timing
        setting.moments  # noqa: B018
        if setting.data != "gaussian":
            setting.spectrum  # noqa: B018
        q = np.full(n_points, 0.5)
        with single_threaded():   # the floor on the one thread predict uses
            floor, _ = best_time(floor_of(setting, q), repeat=repeat)
        secs, pred = best_time(lambda: predict(setting), repeat=repeat)
        m = "inf" if math.isinf(float(setting.m.flat[0])) else int(setting.m.flat[0])
        rows.append({"benchmark": f"theory curve, {label}{n_points} points, m={m}",
                     "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
                     "floor": "one residual+Jacobian evaluation", "note":
                     f"converged={bool(pred.success)}, Newton iterations max {int(pred.nit.max())}"})
    return rows


def simulation_floor_rows(d, device):
    import torch

    from lowdim.simulate.device import make_generator, resolve_device
    from lowdim.simulate.linalg import gram_update, symmetrize
    from lowdim.simulate.rf import RFSize, fit_seed
    from lowdim.theory.rf import RFSetting

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

        secs, timings = best_time(full, repeat=2)

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


#: Relative difference of (q, r) above which the loop and the package disagree.
LOOP_TOLERANCE = 1e-6


def _point_constants(co):
    """Per-point constants of the system as Python floats (one tuple per point)."""
    cols = (co.psi_p, co.c, co.eps, co.A1, co.B1, co.D1, co.E1, co.lam)
    return list(zip(*(np.asarray(v, dtype=float).tolist() for v in cols)))


def hybr_loop(co, order, x_first):
    """Solve the system point by point with ``scipy.optimize.root(method="hybr")``.

    Parameters
    ----------
    co : lowdim.theory.rf._system.Coefficients
        Flattened per-point constants.
    order : sequence of int
        The order in which the points are visited; each start is the previous solution.
    x_first : pair of floats
        ``(q, r)`` to start the first visited point from.

    Returns
    -------
    x : ndarray, shape (N, 2)
        ``(q, r)`` per point (in the original order).
    success : ndarray of bool, shape (N,)
        What ``root`` reported.
    nfev : int
        Residual evaluations in all.
    """
    from scipy.optimize import root

    consts = _point_constants(co)
    x = np.empty((len(consts), 2))
    success = np.zeros(len(consts), dtype=bool)
    nfev = 0
    start = [float(x_first[0]), float(x_first[1])]
    for i in order:
        pp, c, eps, A1, B1, D1, E1, lam = consts[i]
        w = 1.0 - eps
        a1, b1, d1, e1 = pp * A1, pp * B1, pp * w * D1, pp * w * E1
        cA, cB, cD, cE = c * A1, c * B1, c * eps * D1, c * eps * E1
        zpp, opp = -lam * pp, 1.0 - pp

        def fun(v, a1=a1, b1=b1, d1=d1, e1=e1, cA=cA, cB=cB, cD=cD, cE=cE, zpp=zpp, opp=opp):
            q, r = float(v[0]), float(v[1])
            i1 = 1.0 / (1.0 + cA * r + cB * q)
            i2 = 1.0 / (1.0 + cD * r + cE * q)
            return [1.0 / r - 1.0 / q - a1 * i1 - d1 * i2,
                    zpp - opp / q + r / (q * q) - b1 * i1 - e1 * i2]

        sol = root(fun, start, method="hybr")
        x[i] = sol.x
        success[i] = sol.success
        nfev += sol.nfev
        start = sol.x
    return x, success, nfev


def _serpentine(shape):
    """Flat indices of a grid visited row by row, every other row backwards."""
    idx = np.arange(int(np.prod(shape))).reshape(shape[0], -1)
    idx[1::2] = idx[1::2, ::-1]
    return idx.ravel().tolist()


def _peer_row(name, setting, order, x_first, repeats):
    from lowdim.theory.rf import predict, system

    setting.moments  # noqa: B018  (quadrature done before any timing)
    co = system(setting).coefficients
    if x_first is None:
        first = predict(setting)
        x_first = (float(first.q.flat[order[0]]), float(first.r.flat[order[0]]))
    pkg_s, peer_s, pred, (x, ok, nfev) = time_pair(
        lambda: predict(setting), lambda: hybr_loop(co, order, x_first), repeats)
    q, r = pred.q.ravel(), pred.r.ravel()
    rel = np.maximum(np.abs(x[:, 0] / q - 1.0), np.abs(x[:, 1] / r - 1.0))
    wrong = ~(rel <= LOOP_TOLERANCE)
    n = q.size
    note = (f"loop disagrees (|dq/q|, |dr/r| > {LOOP_TOLERANCE:g}) at {int(wrong.sum())} of {n} points "
            f"({int((wrong & ok).sum())} of them reported as success), loop failures "
            f"{int((~ok).sum())}; loop {nfev / n:.1f} residual evaluations per point; package "
            f"converged={bool(pred.success)}, Newton iterations mean {pred.nit.mean():.1f} "
            f"max {int(pred.nit.max())}")
    return {"benchmark": name, "seconds": pkg_s, "floor_seconds": peer_s,
            "ratio": peer_s / pkg_s,
            "floor": "peer: scipy root(hybr) per point, warm-started (ratio = peer/package)",
            "note": note}


def solver_rows(n_points=400, grid=60, repeats=7):
    """The peer-baseline rows: a curve at m = 1, 4, inf, a grid at m = 4 and one point."""
    from lowdim.theory.rf import RFSetting

    psi_p = np.geomspace(0.1, 100, n_points)
    rows = []
    for m in (1, 4, math.inf):
        setting = RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m)
        label = "inf" if math.isinf(m) else m
        rows.append(_peer_row(f"theory vs scipy root loop, curve, {n_points} points, m={label}",
                         setting, list(range(n_points)), None, repeats))
    axis = np.geomspace(0.1, 100, grid)
    setting = RFSetting(psi_n=axis[:, None], psi_p=axis[None, :], t=0.1, lam=1e-3, m=4)
    rows.append(_peer_row(f"theory vs scipy root loop, {grid}x{grid} (psi_n, psi_p) grid, m=4",
                     setting, _serpentine(setting.shape), None, max(3, repeats // 2)))
    one = RFSetting(psi_n=2.0, psi_p=3.0, t=0.1, lam=1e-3, m=4)
    mom = one.moments
    a = mom.mu1**2 + mom.mu_star_sq
    guess = (1.0 / (1e-3 + a), 1.0 / (1e-3 + a + 3.0 * mom.mu1**2))
    rows.append(_peer_row("theory vs scipy root loop, one point (psi_n=2, psi_p=3, m=4)", one, [0],
                     guess, 10 * repeats))
    return rows


def numpy_rf_seed(d, n, p, m, t, lam, n_test, seed):
    """Train and test errors of one seed of the RF score model, in plain NumPy (float64)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a, delta = math.exp(-t), -math.expm1(-2.0 * t)
    sq = math.sqrt(delta)
    W = rng.standard_normal((p, d)) / math.sqrt(d)
    X = rng.standard_normal((n, d))
    Xi = rng.standard_normal((n * m, d))
    F = np.tanh((a * np.tile(X, (m, 1)) + sq * Xi) @ W.T)
    U = F.T @ F / (n * m)
    V = F.T @ Xi / (sq * n * m)
    Z = np.linalg.solve(U + lam * np.eye(p), V)
    train = ((Xi * Xi).sum() / (n * m) + delta * (Z * (U @ Z)).sum()
             - 2.0 * delta * (Z * V).sum()) / d
    x0 = rng.standard_normal((n_test, d))
    xi = rng.standard_normal((n_test, d))
    s = -np.tanh((a * x0 + sq * xi) @ W.T) @ Z
    test = float(((sq * s + xi) ** 2).sum(1).mean()) / d
    return float(train), test


def simulation_rows(ds=(400, 800), device="cpu", repeats=3):
    """Package against the NumPy peer at psi_n = 2, psi_p = 4, m = 4, t = 0.1, lam = 1e-3."""
    from lowdim.simulate.rf import RFSize, fit_seed
    from lowdim.theory.rf import RFSetting

    setting = RFSetting(psi_n=2.0, psi_p=4.0, t=0.1, lam=1e-3, m=4)
    rows = []
    for d in ds:
        size = RFSize(d=d, seeds=(0,), device=device)
        n, p, m = 2 * d, 4 * d, 4
        pkg_s, peer_s, out, (train, test) = time_pair(
            lambda size=size: fit_seed(setting, size, 0),
            lambda d=d, n=n, p=p: numpy_rf_seed(d, n, p, m, 0.1, 1e-3, size.n_test, 0),
            repeats)
        rows.append({
            "benchmark": f"simulation vs plain NumPy, d={d}, n={n}, p={p}, m={m}, "
                         f"n_test={size.n_test}, {device}",
            "seconds": pkg_s, "floor_seconds": peer_s, "ratio": peer_s / pkg_s,
            "floor": "peer: plain NumPy (ratio = peer/package)",
            "note": f"train error {out.values['train_error']:.4f} (NumPy {train:.4f}), test error "
                    f"{out.values['test_error']:.4f} (NumPy {test:.4f})"})
    return rows
