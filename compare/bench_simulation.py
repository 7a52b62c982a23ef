"""``lowdim bench`` rows for the random-features simulation against a plain NumPy one.

The peer is what a user writes without this package: for isotropic Gaussian data and tanh
features, draw ``W``, the data and ``m`` noise copies with NumPy's generator (float64), form
``F = tanh(Y W^T / sqrt(d))``, ``U = F^T F / (n m)``, ``V = F^T Xi / (sqrt(Delta) n m)``,
solve ``(U + lam I) Z = V`` with ``np.linalg.solve``, take the train error from
``<Z, U Z>`` and ``<Z, V>``, and the test error by Monte Carlo over ``n_test`` fresh samples:

    E_test = E ||sqrt(Delta) s(y) + xi||^2 / d,   s(y) = -tanh(y W^T / sqrt(d)) Z.

The package row is ``simulate.rf.fit_seed`` on the same setting and sizes, which also
estimates the score error with its standard error and streams the noise in blocks.  The two
run interleaved, repeat by repeat, and medians are reported: ``seconds`` is the package,
``floor_seconds`` the peer and ``ratio`` peer over package (at or above 1: the package is as
fast or faster).  Both estimate the same errors from independent draws; the note gives their
values so that a gross disagreement shows.
"""
from __future__ import annotations

import math

from .bench_solver import _time_pair

__all__ = ["numpy_rf_seed", "simulation_rows"]


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
    from simulate.rf import RFSize, fit_seed
    from theory.rf import RFSetting

    setting = RFSetting(psi_n=2.0, psi_p=4.0, t=0.1, lam=1e-3, m=4)
    rows = []
    for d in ds:
        size = RFSize(d=d, seeds=(0,), device=device)
        n, p, m = 2 * d, 4 * d, 4
        pkg_s, peer_s, out, (train, test) = _time_pair(
            lambda size=size: fit_seed(setting, size, 0),
            lambda d=d, n=n, p=p: numpy_rf_seed(d, n, p, m, 0.1, 1e-3, size.n_test, 0),
            repeats)
        rows.append({
            "benchmark": f"simulation vs plain NumPy, d={d}, n={n}, p={p}, m={m}, "
                         f"n_test={size.n_test}, {device}",
            "seconds": pkg_s, "floor_seconds": peer_s, "ratio": peer_s / pkg_s,
            "floor": "peer: plain NumPy (ratio = peer/package)",
            "note": f"train error {out['train_error']:.4f} (NumPy {train:.4f}), test error "
                    f"{out['test_error']:.4f} (NumPy {test:.4f})"})
    return rows
