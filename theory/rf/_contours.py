"""The double contour of the test error along training: nested Bernstein ellipses around the
bulks of ``U`` in ``zeta = log(z + lam)``, and the time factor at complex ``z``.

Shared by the isotropic (:mod:`lowdim.theory.rf._two_point`) and the general-covariance
(:mod:`lowdim.theory.rf._two_point_sigma`) test errors [derived: docs/dynamics.md sect. 5].
"""
from __future__ import annotations

import numpy as np

FIRST_NODES, LAST_NODES = 64, 1024   # trapezoid nodes per bulk and contour (doubled)
CONTOUR_TOL = 1e-11                  # agreement of two node counts
CONVERGED_TOL = 1e-9                 # ``converged`` below this quadrature error
FAIL_TOL = 1e-6                      # a RuntimeError above it: the value would mean nothing
FRACTIONS = (0.4, 0.65)              # log rho / log rho_max of the two contour families


def _bernstein(x: float, centre: float, half: float) -> float:
    """The Bernstein parameter ``rho`` of the ellipse with foci ``centre -+ half`` through
    the real point ``x``."""
    u = (x - centre) / half + 0j
    s = np.sqrt(u * u - 1.0)
    return float(max(abs(u + s), abs(u - s)))


MERGE_GAP = 0.25     # bulks closer than this share a contour (log gap / the smaller log width)


def _merged(logs):
    """The bulks' log intervals with neighbours whose gap is below ``MERGE_GAP`` times the
    smaller of their widths joined: an ellipse must pass between two bulks, and a thin gap
    makes it thin and the trapezoid rule slow, while one ellipse around both converges at
    the rate of a whole bulk (the integrands are analytic in the gap)."""
    out = [list(logs[0])]
    for lo, hi in logs[1:]:
        if lo - out[-1][1] < MERGE_GAP * min(hi - lo, out[-1][1] - out[-1][0]):
            out[-1][1] = hi
        else:
            out.append([lo, hi])
    return [tuple(b) for b in out]


def _log_contours(bulks, lam: float, nodes: int, gd_step=None):
    """Two nested families of closed contours around the bulks, one Bernstein ellipse per bulk
    in ``zeta = log(z + lam)`` (foci the bulk's log edges, trapezoid nodes in the angle):
    ``[(z, dz), (z, dz)]``, counter-clockwise.  ``rho = rho_max^f`` (``f`` of
    :data:`FRACTIONS`), ``rho_max`` below the neighbouring bulks' log edges and a semi-minor
    axis ``pi/2`` (so ``Re(z + lam) > 0`` and ``|exp(-(z + lam) tau)| <= 1``).  With
    ``gd_step`` the ellipses shrink until ``|1 - c (z + lam)| <= 1`` on them (gradient descent's
    decay factor stays bounded) [derived: docs/dynamics.md sect. 5]."""
    logs = _merged([(np.log(lo + lam), np.log(hi + lam)) for lo, hi in bulks])
    theta = (np.arange(nodes) + 0.5) * 2.0 * np.pi / nodes
    families = [([], []) for _ in FRACTIONS]
    for b, (lo, hi) in enumerate(logs):
        centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        cap = np.pi / 2.0 / half
        limits = [cap + np.sqrt(cap * cap + 1.0)]
        limits += [_bernstein(logs[j][k], centre, half) for j, k in ((b - 1, 1), (b + 1, 0))
                   if 0 <= j < len(logs)]
        log_rho = np.log(min(limits))
        for _ in range(60):
            shape = [np.exp(f * log_rho + 1j * theta) for f in FRACTIONS]
            zetas = [centre + 0.5 * half * (v + 1.0 / v) for v in shape]
            if gd_step is None or all(np.all(np.abs(1.0 - gd_step * np.exp(z)) <= 1.0)
                                      for z in zetas):
                break
            log_rho *= 0.7
        for fam, v, zeta in zip(families, shape, zetas):
            dzeta = 0.5j * half * (v - 1.0 / v) * 2.0 * np.pi / nodes
            fam[0].append(np.exp(zeta) - lam)
            fam[1].append(np.exp(zeta) * dzeta)
    return [(np.concatenate(z), np.concatenate(dz)) for z, dz in families]


def _complex_time_factor(z, lam: float, times, gd_step=None) -> np.ndarray:
    """``g(z)`` of :func:`lowdim.theory.rf._dynamics._time_factor` at complex ``z`` (entire in
    ``z``; ``1/(z + lam)`` at infinite time), shape ``(len(z), len(times))``."""
    s = np.asarray(z)[:, None] + lam
    t = np.asarray(times, dtype=float)[None, :]
    tf = np.where(np.isinf(t), 0.0, t)
    if gd_step is None:
        decay = np.expm1(-s * tf)
    else:
        decay = np.expm1(tf * np.log(1.0 - gd_step * s))
    return np.where(np.isinf(t), 1.0 / s, -decay / s)


def converged_contour(evaluate, first_nodes: int = FIRST_NODES):
    """``evaluate(nodes)`` (values with the times on the last axis) with the nodes doubled
    from ``first_nodes`` until two counts agree within ``CONTOUR_TOL`` (or ``LAST_NODES``):
    the last values and the change per time from the count before.  A ``RuntimeError`` for
    a non-finite value, or when the change stays above ``FAIL_TOL``."""
    nodes, previous, error = first_nodes, None, None
    while nodes <= LAST_NODES:
        with np.errstate(all="ignore"):
            values = np.asarray(evaluate(nodes))
        if not np.all(np.isfinite(values)):
            raise RuntimeError(f"generalization_curve: non-finite test error with {nodes} "
                               "contour nodes")
        if previous is not None:
            error = np.abs(values - previous).reshape(-1, values.shape[-1]).max(0)
            if np.max(error) <= CONTOUR_TOL * max(1.0, float(np.max(np.abs(values)))):
                break
        previous, nodes = values, 2 * nodes
    if error is None or np.max(error) > FAIL_TOL:
        raise RuntimeError("generalization_curve: the double contour did not converge (two "
                           f"node counts differ by {np.inf if error is None else np.max(error):.3g})")
    return values, error

