"""``lowdim bench`` rows of the random-features training dynamics.

* Spectrum of ``U`` on 400 points against the peer a user writes without this package: the
  isotropic system (research note rf_learning_curves.md section 3.3) at complex
  ``z = x + i eta`` solved point by point with ``scipy.optimize.root(method="hybr")`` on the
  real and imaginary parts of ``(q, r)``, each point brought down from far above the real axis
  in 12 steps of ``Im z`` (warm-starting from the neighbouring ``x`` instead lands on the wrong
  branch at most points); ``eta`` is ``1e-8`` times the spread of the spectrum.  The density is
  ``Im q/pi``.  The package row is :func:`lowdim.theory.rf.spectrum` at the same points from
  scratch (support, bulk edges, mass and the density: more than the peer computes).  The two
  run interleaved, repeat by repeat, medians reported, ``ratio = peer/package``; the note
  counts the points where the densities differ by more than 1e-4 of the largest density.
* A curve along training (train, regularised train, test and score errors at 100 times from
  scratch) against the finite-size alternative: one seed of the gradient-flow simulation
  (:func:`lowdim.simulate.rf_dynamics.fit_dynamics`, one eigendecomposition of ``U`` at
  ``d = 200``, 8192 test samples): ``ratio = simulation/theory``.  Isotropic and
  linear-manifold data.
"""
from __future__ import annotations

import numpy as np

from .timing import BenchGroup, time_pair

__all__ = ["bench_groups", "spectrum_rows", "curve_rows", "hybr_spectrum_loop"]

DENSITY_TOLERANCE = 1e-4   # relative to the largest density


def bench_groups(quick: bool, device: str) -> list:
    """The rows for :func:`lowdim.compare.bench.run_benchmarks`."""
    return [BenchGroup(lambda: spectrum_rows(3 if quick else 7)),
            BenchGroup(lambda: curve_rows(1 if quick else 3))]


def _fresh(setting, fn):
    """A callable that runs ``fn(point)`` on a new copy of ``setting`` each time, its ridge
    moved by a relative 1e-12 per call: the theory keeps one support of the spectrum per
    setting, and a new key makes every repeat compute from scratch (the spectrum of ``U``
    does not depend on the ridge, and the errors move by about 1e-12)."""
    calls = [0]

    def run():
        calls[0] += 1
        return fn(setting.replace(lam=float(setting.lam) * (1.0 + 1e-12 * calls[0])))

    return run


def _spread(co) -> float:
    """A scale above the spectrum of ``U`` (that of the theory's own continuation)."""
    return float(((co.mu1sq + co.musq) * (1.0 + co.psi_p) * (1.0 + co.psi_p / co.psi_n)
                  + 1.0)[0])


def hybr_spectrum_loop(setting, x, eta, rungs=12):
    """``q`` at ``x + i eta`` point by point with ``scipy.optimize.root(method="hybr")`` on
    the real and imaginary parts of ``(q, r)`` (isotropic system, one setting point), each
    point brought down from ``Im z = 100 spread`` in ``rungs`` log-spaced steps of ``Im z``
    from the large-ridge guess (without them the roots land on the wrong branch); returns
    ``(q, success)``."""
    from scipy.optimize import root

    from lowdim.theory.rf import system

    co = system(setting).coefficients
    pp, c, eps = float(co.psi_p[0]), float(co.c[0]), float(co.eps[0])
    A1, B1, D1, E1 = (float(v[0]) for v in (co.A1, co.B1, co.D1, co.E1))
    w = 1.0 - eps
    a1, b1, d1, e1 = pp * A1, pp * B1, pp * w * D1, pp * w * E1
    cA, cB, cD, cE = c * A1, c * B1, c * eps * D1, c * eps * E1
    a = float(co.mu1sq[0] + co.musq[0])
    b = a + pp * float(co.mu1sq[0])
    ims = np.geomspace(100.0 * _spread(co), eta, rungs)
    q_out = np.empty(len(x), dtype=complex)
    success = np.zeros(len(x), dtype=bool)
    for i, xi in enumerate(x):
        z0 = complex(xi, ims[0])
        v = [(1.0 / (a - z0)).real, (1.0 / (a - z0)).imag, (1.0 / (b - z0)).real,
             (1.0 / (b - z0)).imag]
        for im in ims:
            z = complex(xi, im)

            def fun(v, z=z):
                q, r = complex(v[0], v[1]), complex(v[2], v[3])
                i1 = 1.0 / (1.0 + cA * r + cB * q)
                i2 = 1.0 / (1.0 + cD * r + cE * q)
                f1 = 1.0 / r - 1.0 / q - a1 * i1 - d1 * i2
                f2 = z * pp - (1.0 - pp) / q + r / (q * q) - b1 * i1 - e1 * i2
                return [f1.real, f1.imag, f2.real, f2.imag]

            sol = root(fun, v, method="hybr")
            v = sol.x
        q_out[i] = complex(v[0], v[1])
        success[i] = sol.success
    return q_out, success


def spectrum_rows(repeats=7, n_points=400):
    """The density of ``U`` on ``n_points`` points, isotropic data, m = 1 and 4."""
    from lowdim.theory.rf import RFSetting, spectrum
    from lowdim.theory.rf import system

    rows = []
    for m in (1, 4):
        setting = RFSetting(psi_n=2.0, psi_p=4.0, t=0.1, lam=1e-3, m=m)
        setting.moments  # noqa: B018  (quadrature done before any timing)
        top = spectrum(setting).bulks[-1][1]
        x = np.linspace(1e-3 * top, 1.05 * top, n_points)
        eta = 1e-8 * _spread(system(setting).coefficients)
        pkg_s, peer_s, sp, (q, ok) = time_pair(_fresh(setting, lambda s: spectrum(s, x)),
                                               lambda: hybr_spectrum_loop(setting, x, eta),
                                               repeats)
        atoms = sum(w * eta / (np.pi * ((x - c) ** 2 + eta**2)) for c, w in sp.atoms)
        peer_density = np.maximum(q.imag / np.pi - atoms, 0.0)
        off = np.abs(peer_density - sp.density) > DENSITY_TOLERANCE * np.max(sp.density)
        rows.append({"benchmark": f"dynamics: spectrum of U, {n_points} points, m={m}",
                     "seconds": pkg_s, "floor_seconds": peer_s, "ratio": peer_s / pkg_s,
                     "floor": "peer: scipy root(hybr) per point, 12 steps down in Im z "
                              "(ratio = peer/package)",
                     "note": f"densities differ by more than {DENSITY_TOLERANCE:g} of the "
                             f"largest at {int(off.sum())} of {n_points} points; loop failures "
                             f"{int((~ok).sum())}; package from scratch (support, edges, mass)"})
    return rows


def curve_rows(repeats=3, n_times=100, d=200):
    """Train, test and score errors at ``n_times`` times against one simulated seed."""
    from lowdim.simulate.rf import RFSize
    from lowdim.simulate.rf_dynamics import fit_dynamics
    from lowdim.theory.rf import RFSetting, generalization_curve, train_curve

    taus = np.geomspace(0.01, 1e4, n_times)
    rows = []
    for label, setting in (
            ("isotropic", RFSetting(psi_n=2.0, psi_p=4.0, t=0.1, lam=1e-3, m=4)),
            ("linear manifold psi_d=0.5", RFSetting(psi_n=2.0, psi_p=4.0, t=0.1, lam=1e-3, m=4,
                                                    data="linear-manifold", psi_d=0.5))):
        setting.moments  # noqa: B018

        def theory(point):
            return train_curve(point, taus), generalization_curve(point, taus)

        def simulation(setting=setting):
            return fit_dynamics(setting, RFSize(d=d, n_test=8192, device="cpu"), 0, taus)

        pkg_s, sim_s, (train, test), res = time_pair(_fresh(setting, theory), simulation,
                                                     repeats)
        worst = float(np.max(np.abs(res.values["test_error"] / test["test_error"] - 1.0)))
        rows.append({"benchmark": f"dynamics: train+test+score at {n_times} tau, {label}, m=4",
                     "seconds": pkg_s, "floor_seconds": sim_s, "ratio": sim_s / pkg_s,
                     "floor": f"one simulated seed at d={d} (ratio = simulation/theory)",
                     "note": f"converged={bool(train['converged'] and test['converged'])}; "
                             f"largest |sim/theory - 1| of the test error {worst:.3f} (one seed, "
                             f"d={d}); target 1 s: {'met' if pkg_s <= 1.0 else 'missed'}"})
    return rows
