"""``lowdim bench`` rows for the RF theory solver against the loop a user would write.

The peer baseline solves the same self-consistent system (isotropic data, research note
rf_learning_curves.md section 3.3, at ``(z, zeta) = (-lambda, 0)``)

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
"""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["solver_rows", "hybr_loop"]

#: Relative difference of (q, r) above which the loop and the package disagree.
DISAGREE = 1e-6


def _point_constants(co):
    """Per-point constants of the system as Python floats (one tuple per point)."""
    cols = (co.psi_p, co.c, co.eps, co.A1, co.B1, co.D1, co.E1, co.lam)
    return list(zip(*(np.asarray(v, dtype=float).tolist() for v in cols)))


def hybr_loop(co, order, x_first):
    """Solve the system point by point with ``scipy.optimize.root(method="hybr")``.

    Parameters
    ----------
    co : theory.rf._system.Coefficients
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


def _time_pair(package, peer, repeats):
    """Medians of interleaved timings of two callables (and their last results)."""
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


def _row(name, setting, order, x_first, repeats):
    from theory.rf import predict
    from theory.rf._predict import _coefficients

    setting.moments  # noqa: B018  (quadrature done before any timing)
    co = _coefficients(setting)
    if x_first is None:
        first = predict(setting)
        x_first = (float(first.q.flat[order[0]]), float(first.r.flat[order[0]]))
    pkg_s, peer_s, pred, (x, ok, nfev) = _time_pair(
        lambda: predict(setting), lambda: hybr_loop(co, order, x_first), repeats)
    q, r = pred.q.ravel(), pred.r.ravel()
    rel = np.maximum(np.abs(x[:, 0] / q - 1.0), np.abs(x[:, 1] / r - 1.0))
    wrong = ~(rel <= DISAGREE)
    n = q.size
    note = (f"loop disagrees (|dq/q|, |dr/r| > {DISAGREE:g}) at {int(wrong.sum())} of {n} points "
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
    from theory.rf import RFSetting

    psi_p = np.geomspace(0.1, 100, n_points)
    rows = []
    for m in (1, 4, math.inf):
        setting = RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m)
        label = "inf" if math.isinf(m) else m
        rows.append(_row(f"theory vs scipy root loop, curve, {n_points} points, m={label}",
                         setting, list(range(n_points)), None, repeats))
    axis = np.geomspace(0.1, 100, grid)
    setting = RFSetting(psi_n=axis[:, None], psi_p=axis[None, :], t=0.1, lam=1e-3, m=4)
    rows.append(_row(f"theory vs scipy root loop, {grid}x{grid} (psi_n, psi_p) grid, m=4",
                     setting, _serpentine(setting.shape), None, max(3, repeats // 2)))
    one = RFSetting(psi_n=2.0, psi_p=3.0, t=0.1, lam=1e-3, m=4)
    mom = one.moments
    a = mom.mu1**2 + mom.mu_star_sq
    guess = (1.0 / (1e-3 + a), 1.0 / (1e-3 + a + 3.0 * mom.mu1**2))
    rows.append(_row("theory vs scipy root loop, one point (psi_n=2, psi_p=3, m=4)", one, [0],
                     guess, 10 * repeats))
    return rows
