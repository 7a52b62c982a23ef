"""The test error along training, isotropic data, any ``m``: the two-point function of ``U``.

Along gradient flow from ``A = 0`` (or gradient descent: ``g`` of
:func:`lowdim.theory.rf._dynamics._time_factor`) the test error is [derived: docs/dynamics.md
sect. 2]

    L_test(tau) = 1 - 2 mu1 sqrt(Delta) int g dnu_2 + mu*^2 int g^2 dnu_1 + mu1^2 Phi_g(tau),
    Phi_g(tau)  = (Delta/d) Tr[g(U) V V^T g(U) K],        K = W W^T/d,

and the last term needs the resolvent at two spectral parameters,

    Phi(z1, z2) = (Delta/d) Tr[G(z1) V V^T G(z2) K],      G(z) = (U - z)^{-1},
    Phi_g(tau)  = (2 pi i)^{-2} oint oint g(z1) g(z2) Phi(z1, z2) dz1 dz2.

The deterministic equivalent of ``Phi`` [derived: docs/dynamics.md sect. 5] comes from a
leave-one-column-out argument in the Gaussian equivalent, conditional on ``W``, after a Helmert
rotation of the ``m`` noisy copies of each data point: ``n`` mean columns (group 1, weight
``eps = 1/m``) and ``n (m - 1)`` difference columns (group 2, weight ``w = 1 - eps``), with
``V`` correlated with the feature columns of both.  With the system's ``(q, r)`` at ``(z, 0)``
on the Herglotz branch (:mod:`lowdim.theory.rf._dynamics`), every trace becomes an integral
over the Marchenko-Pastur law of ``K`` (ratio ``psi_p``, mean 1), written ``<.>``:

    alpha = A1/L1 + w D1/L2,   beta = B1/L1 + w E1/L2,   gb(k; z) = 1/(alpha k + beta - z),
    Ch_1  = A1 k + B1,         Ch_2 = w (D1 k + E1),          (the groups' weighted covariances)
    R_1   = c Ch_1,            R_2  = c eps (D1 k + E1),      (L_g = 1 + <R_g gb>)

and the ``<k^j gb1 gb2>`` reduce to ``q`` and ``r`` at ``z1`` and ``z2`` by partial fractions.
The double contour runs in ``zeta = log(z + lam)`` (:mod:`._contours`), where the
trapezoid rule converges geometrically even when the lowest bulk edge is close to 0.  Checked
[derived: docs/dynamics.md sect. 5]: ``Phi(-lam, -lam) = dT1/dzeta`` of the system, the Ward
identity ``Psi_1(z1, z2) = (T1(z1) - T1(z2))/(z1 - z2)`` off the diagonal, ``tau = inf``
against :func:`lowdim.theory.rf.predict`, and real tanh features along gradient flow.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import positive_number
from ..spectra import marchenko_pastur
from ._dynamics import (RUNGS, _atoms, _check_stable, _check_times, _good,
                        _isotropic_coefficients, _ladder, _support)
from ._setting import RFSetting, check_setting
from ._contours import (CONVERGED_TOL, _complex_time_factor, _log_contours,
                        converged_contour)
from ._system import Coefficients, _parts

__all__ = ["generalization_curve"]

FAST_RUNGS = 20                      # ladder rungs of the first try (the nodes stay off the axis)


# --------------------------------------------------------------------------- one point
@dataclass(frozen=True)
class _Point:
    """The one-point data at complex ``z`` (arrays over the points) [derived:
    docs/dynamics.md sect. 5]: ``q, r`` of the system, ``L1, L2``, ``P = eps/L1 + w/L2``,
    ``alpha, beta`` of ``gb = 1/(alpha k + beta - z)``, and the trace functions

        T1 = 1 - P + mu1^2 psi_p Delta r P^2,     T2 = psi_p mu1 sqrt(Delta) r P.
    """

    z: np.ndarray
    q: np.ndarray
    r: np.ndarray
    L1: np.ndarray
    L2: np.ndarray
    P: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    T1: np.ndarray
    T2: np.ndarray


def _point(co: Coefficients, z, q, r) -> _Point:
    """:class:`_Point` from a solution ``(q, r)`` of the system at ``(z, zeta = 0)``."""
    _, eps, w, A1, B1, D1, E1, L1, L2 = _parts(co, q, r)
    P = eps / L1 + w / L2
    T1 = 1.0 - P + co.mu1sq * co.psi_p * co.delta * r * P * P
    T2 = co.psi_p * np.sqrt(co.mu1sq * co.delta) * r * P
    return _Point(z=z, q=q, r=r, L1=L1, L2=L2, P=P, alpha=A1 / L1 + w * D1 / L2,
                  beta=B1 / L1 + w * E1 / L2, T1=T1, T2=T2)


def _complex_traces(co: Coefficients, z) -> _Point:
    """The system at complex ``z`` off the real axis (1-d array, both half planes) on the
    Herglotz branch: the ``log Im z`` ladder of :mod:`._dynamics` in the upper half plane,
    and ``q(conj z) = conj q(z)`` in the lower one; a short ladder first, and the points it
    does not certify retried on finer ladders, then a ``RuntimeError``."""
    z = np.asarray(z, dtype=complex)
    up = z.imag >= 0.0
    zu = np.where(up, z, z.conj())
    q = np.full(z.shape, np.nan + 0j)
    r = q.copy()
    todo = np.arange(z.size)
    for rungs in (FAST_RUNGS, RUNGS, 4 * RUNGS, 16 * RUNGS):
        with np.errstate(all="ignore"):
            qs, rs = _ladder(co, zu[todo].real, zu[todo].imag, rungs)
        ok = _good(co, qs, rs, zu[todo])
        q[todo[ok]], r[todo[ok]] = qs[ok], rs[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return _point(co, z, np.where(up, q, q.conj()), np.where(up, r, r.conj()))
    raise RuntimeError(f"generalization_curve: the continuation in Im z did not converge at {todo.size} "
                       f"of {z.size} contour points (first z = {z[todo[0]]:.6g})")


# --------------------------------------------------------------------------- two point
def _moments(p1: _Point, p2: _Point):
    """``I_j = <k^j gb1 gb2>``, ``j = 0, 1, 2``, shape ``(len(p1), len(p2))``, by partial
    fractions [derived: docs/dynamics.md sect. 5]: with ``s_i = beta_i - z_i``,
    ``k gb_i = (1 - s_i gb_i)/alpha_i``, ``q = <gb>`` and ``r = <k gb>``,

        I0 = (alpha1 q1 - alpha2 q2) / (alpha1 s2 - alpha2 s1),
        I1 = (q2 - s1 I0) / alpha1,        I2 = (r2 - s1 I1) / alpha1.

    Exact, but it loses digits as ``alpha1 s2 - alpha2 s1 -> 0`` (``z1 -> z2``): for
    coincident points use :func:`_moments_by_quadrature`."""
    a1, s1 = p1.alpha[:, None], (p1.beta - p1.z)[:, None]
    a2, s2 = p2.alpha[None, :], (p2.beta - p2.z)[None, :]
    I0 = (a1 * p1.q[:, None] - a2 * p2.q[None, :]) / (a1 * s2 - a2 * s1)
    I1 = (p2.q[None, :] - s1 * I0) / a1
    I2 = (p2.r[None, :] - s1 * I1) / a1
    return I0, I1, I2


def _moments_by_quadrature(co: Coefficients, p1: _Point, p2: _Point, nodes: int = 4000):
    """``I_j = <k^j gb1 gb2>`` as :func:`_moments`, by quadrature over the Marchenko-Pastur
    law of ``K`` (any ``z1, z2``, coincident ones included)."""
    k, wk = marchenko_pastur(float(co.psi_p[0])).quadrature(nodes)
    gb1 = 1.0 / (p1.alpha[:, None] * k + (p1.beta - p1.z)[:, None])
    gb2 = 1.0 / (p2.alpha[:, None] * k + (p2.beta - p2.z)[:, None])
    return tuple(np.einsum("k,ik,jk->ij", wk * k**j, gb1, gb2) for j in range(3))


def _average(moments, f, h):
    """``<f(k) h(k) gb1 gb2>`` for the linear polynomials ``f = (f0, f1)``, ``h = (h0, h1)``
    (coefficients, lowest first)."""
    I0, I1, I2 = moments
    return f[0] * h[0] * I0 + (f[0] * h[1] + f[1] * h[0]) * I1 + f[1] * h[1] * I2


def _groups(co: Coefficients):
    """``(Ch_1, Ch_2)`` and ``(R_1, R_2)`` as linear polynomials in ``k``:
    ``Ch_1 = A1 k + B1``, ``Ch_2 = w (D1 k + E1)``, ``R_1 = c Ch_1``,
    ``R_2 = c eps (D1 k + E1)`` [derived: docs/dynamics.md sect. 5]."""
    c, eps, w, A1, B1, D1, E1 = (float(v[0]) for v in _parts(co, 0.0, 0.0)[:7])
    ch = ((B1, A1), (w * E1, w * D1))
    return ch, ((c * B1, c * A1), (c * eps * E1, c * eps * D1))


def _ladder_weights(co: Coefficients, p1: _Point, p2: _Point, moments):
    """``(theta_1, theta_2)`` of the two-point ladder [derived: docs/dynamics.md sect. 5]:

        theta = (I - M)^{-1} b,     M_gh = <R_g Ch_h gb1 gb2> / (L_h(z1) L_h(z2)),
        b_g   = mu1^2 Delta P1 P2 <R_g k gb1 gb2>
                + c eps [1/psi_p - mu1^2 Delta (P1 r1 + P2 r2)],

    the signal-signal, the diagonal (``e_c . e_c``) and the cross terms of the columns of ``V``
    with the feature columns (the last two vanish at ``m = inf``)."""
    ch, rr = _groups(co)
    md = float(co.mu1sq[0] * co.delta[0])
    LL = (p1.L1[:, None] * p2.L1[None, :], p1.L2[:, None] * p2.L2[None, :])
    P1, P2 = p1.P[:, None], p2.P[None, :]
    const = float(co.c[0] * co.eps[0]) * (1.0 / float(co.psi_p[0])
                                          - md * (P1 * p1.r[:, None] + P2 * p2.r[None, :]))
    b = [md * P1 * P2 * _average(moments, rr[g], (0.0, 1.0)) + const for g in range(2)]
    M = [[_average(moments, rr[g], ch[h]) / LL[h] for h in range(2)] for g in range(2)]
    det = (1.0 - M[0][0]) * (1.0 - M[1][1]) - M[0][1] * M[1][0]
    return (((1.0 - M[1][1]) * b[0] + M[0][1] * b[1]) / det,
            (M[1][0] * b[0] + (1.0 - M[0][0]) * b[1]) / det)


def _two_point(co: Coefficients, p1: _Point, p2: _Point, weight=(0.0, 1.0), moments=None):
    """``Psi_a(z1, z2) = (Delta/d) Tr[G(z1) V V^T G(z2) a(K)]`` for a linear ``a(k)``
    (``weight = (a0, a1)``; the default ``a = k`` is ``Phi``), shape ``(len(p1), len(p2))``
    [derived: docs/dynamics.md sect. 5]:

        Psi_a = psi_p [ mu1^2 Delta P1 P2 <a k gb1 gb2>
                        + sum_g theta_g <a Ch_g gb1 gb2> / (L_g(z1) L_g(z2)) ],

    with ``theta`` of :func:`_ladder_weights` and the moments of :func:`_moments` (or given).
    """
    moments = _moments(p1, p2) if moments is None else moments
    ch, _ = _groups(co)
    theta = _ladder_weights(co, p1, p2, moments)
    LL = (p1.L1[:, None] * p2.L1[None, :], p1.L2[:, None] * p2.L2[None, :])
    md = float(co.mu1sq[0] * co.delta[0])
    out = md * p1.P[:, None] * p2.P[None, :] * _average(moments, weight, (0.0, 1.0))
    for g in range(2):
        out = out + theta[g] * _average(moments, weight, ch[g]) / LL[g]
    return float(co.psi_p[0]) * out


def _test_terms(co: Coefficients, bulks, times, nodes: int, gd_step):
    """``L_test`` at every time from the double contour with ``nodes`` per bulk [derived:
    docs/dynamics.md sect. 2]: ``int h dnu = -(2 pi i)^{-1} oint h T dz`` for the one-point
    terms (first family) and ``Phi_g = (2 pi i)^{-2} h1^T Phi h2``, ``h = g(z) dz``, between
    the two families (never coincident, so :func:`_moments` stays well conditioned)."""
    lam = float(co.lam[0])
    (z1, dz1), (z2, dz2) = _log_contours(bulks, lam, nodes, gd_step)
    p1, p2 = _complex_traces(co, z1), _complex_traces(co, z2)
    phi = _two_point(co, p1, p2)
    g1 = _complex_time_factor(z1, lam, times, gd_step)
    h1, h2 = g1 * dz1[:, None], _complex_time_factor(z2, lam, times, gd_step) * dz2[:, None]
    two_pi_i = 2j * np.pi
    linear = (-(p1.T2 @ h1) / two_pi_i).real
    square = (-((p1.T1[:, None] * g1) * h1).sum(0) / two_pi_i).real
    quad = (((phi @ h2) * h1).sum(0) / two_pi_i**2).real
    mu1sq, musq, delta = float(co.mu1sq[0]), float(co.musq[0]), float(co.delta[0])
    return 1.0 - 2.0 * np.sqrt(mu1sq * delta) * linear + musq * square + mu1sq * quad


# --------------------------------------------------------------------------- public
def generalization_curve(setting: RFSetting, taus, *, gd_step: float | None = None) -> dict:
    """Test and score errors along gradient flow (or gradient descent) from ``A = 0``, any
    ``m``: isotropic data here, the other data models (general covariance, with the
    on/off-manifold split) by
    :func:`lowdim.theory.rf._two_point_sigma.generalization_curve_sigma` [derived:
    docs/dynamics.md sect. 7].

    ``L_test(tau) = 1 - 2 mu1 sqrt(Delta) int g dnu_2 + mu*^2 int g^2 dnu_1 + mu1^2 Phi_g(tau)``
    with the two-point function of the module docstring [derived: docs/dynamics.md sect. 5],
    by a double contour in ``log(z + lam)`` whose nodes are doubled until two counts agree;
    ``tau = inf`` is the ridge minimiser (the errors of :func:`lowdim.theory.rf.predict`) and
    ``tau = 0`` gives ``L_test = 1``.

    The parameters are those of :func:`lowdim.theory.rf.train_curve`, with ``lam > 0``.

    Returns
    -------
    dict
        ``taus``, ``test_error``, ``test_error_par``, ``test_error_perp`` (for isotropic
        data everything is ``par``, as in ``predict``), ``score_error = (test_error -
        C_t)/Delta`` (``C_t`` the exact-score constant, as in ``predict``) and
        ``quadrature_error`` (arrays over ``taus``), ``converged`` (every quadrature error
        below 1e-9) and ``bulks`` (those of :func:`lowdim.theory.rf.spectrum`).

    Raises
    ------
    ValueError
        Naming the parameter.
    RuntimeError
        When the continuation fails, a value is not finite, or the contour does not converge
        (quadrature error above 1e-6).
    """
    check_setting(setting)
    if setting.data != "gaussian":
        from ._two_point_sigma import generalization_curve_sigma
        return generalization_curve_sigma(setting, taus, gd_step=gd_step)
    co = _isotropic_coefficients(setting)
    times = _check_times(taus, gd_step)
    c = None if gd_step is None else positive_number("gd_step", gd_step)
    lam = float(co.lam[0])
    if not lam > 0.0:
        raise ValueError("setting: the test error along training needs lam > 0 (the "
                         "contour runs in log(z + lam))")
    atoms = _atoms(co)
    bulks = _support(co, atoms).bulks
    _check_stable(c, max([bulks[-1][1]] + [where for where, _ in atoms]), lam)
    test, error = converged_contour(lambda nodes: _test_terms(co, bulks, times, nodes, c))
    c_t = float(np.ravel(setting.exact_score_test_error)[0])
    return {"taus": times, "test_error": test, "test_error_par": test.copy(),
            "test_error_perp": np.zeros_like(test),
            "score_error": (test - c_t) / float(co.delta[0]), "quadrature_error": error,
            "converged": bool(np.all(error <= CONVERGED_TOL)), "bulks": bulks}
