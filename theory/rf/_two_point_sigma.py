"""The test error along training for data with a general covariance ``Sigma``, any ``m``.

Along gradient flow from ``A = 0`` (or gradient descent, through the time factor ``g``) the
test error and its on-manifold part are [derived: docs/dynamics.md sect. 7]

    L_test(tau) = 1 - 2 mu1 sqrt(Delta) int g dnu_2 + mu*^2 int g^2 dnu_1 + mu1^2 Quad(tau),
    Quad(tau)   = (Delta/d) Tr[g(U) V V^T g(U) W (a^2 Sigma + Delta) W^T/d],
    L_par(tau)  = psi_par - 2 mu1 sqrt(Delta) int g dnu_2^par + mu*^2 int g^2 dnu_1^par
                  + mu1^2 Quad_par(tau),

since fresh test features have covariance ``mu1^2 W (a^2 Sigma + Delta) W^T/d + mu*^2``; the
on-manifold part replaces ``V V^T`` by ``V Pi V^T`` (``Pi`` the projector on the manifold,
``psi_par = Tr Pi/d``) and ``L_perp = L_test - L_par``.  The one-point terms need the trace
functions ``T1, T2`` (and ``T1_par, T2_par``) of
:func:`lowdim.theory.rf._complex_sigma.sigma_points` at complex ``z``; ``Quad`` needs

    Psi_M(z1, z2) = (Delta/d) Tr[G(z1) V Pi V^T G(z2) M],   M = y0 + W N(Sigma) W^T/d,

at two spectral parameters.  Two leave-one-column-out ladders give it [derived:
docs/dynamics.md sect. 7].  The first, over the ``n m`` Helmert-rotated data columns and
conditional on ``W``, is that of :mod:`lowdim.theory.rf._two_point` with matrices in place
of functions of ``K``: with ``Gb_i = (s_i + W (alpha_i + beta_i Sigma) W^T/d)^{-1}`` and
``T[X, Y] = (1/p) Tr[Gb1 X Gb2 Y]``,

    Ch_1 = W (mu1^2 a^2 Sigma + eps D1) W^T/d + B1,     Ch_2 = (1 - eps) (D1 K + E1),
    R_1  = c Ch_1,                                      R_2  = c eps (D1 K + E1),
    K_Pi = W Pi W^T/d,   D1 = mu1^2 Delta,   c = psi_p/psi_n,   eps = 1/m,
    theta = (I - Mm)^{-1} b,   Mm_gh = T[Ch_h, R_g] / (L_h(z1) L_h(z2)),
    b_g   = D1 P1 P2 T[K_Pi, R_g] + c eps [psi_Pi/psi_p - D1 (P1 r1^Pi + P2 r2^Pi)],
    Psi_M = psi_p [ D1 P1 P2 T[K_Pi, M] + sum_h theta_h T[Ch_h, M] / (L_h(z1) L_h(z2)) ],

(``r^Pi = q I0_par``, ``psi_Pi = psi_par`` for the on-manifold part, ``r`` and 1 for the
total).  The second, over the ``d`` columns of ``W`` in the eigenbasis of ``Sigma``, closes
``T`` on the one-point solutions: with ``a_i(l) = A_i + B_i l = 1 + psi_p q_i (alpha_i +
beta_i l)``, ``<f> = int rho(dl) f(l) / (a_1(l) a_2(l))`` (restricted to the on-manifold
components where ``X`` or ``Y`` carries ``Pi``), ``X = x0 + W n(Sigma) W^T/d`` and
``Y = y0 + W n'(Sigma) W^T/d``,

    t      = q1 q2 (x0 + <n>) / (1 - psi_p q1 q2 <(alpha1 + beta1 l)(alpha2 + beta2 l)>),
    T[X,Y] = y0 t + t <n'> + psi_p q1 q2 <n n'>,

and partial fractions reduce every ``<l^k>`` to the one-point integrals ``I0, I1`` of
:meth:`lowdim.theory.spectra.Spectrum.integrals` at ``(A_1, B_1)`` and ``(A_2, B_2)``
(:func:`_moments`).  Checked [derived: docs/dynamics.md sect. 7]: ``Psi_M(z, z)`` equals the
implicit derivatives ``dT1/dz, dT1/dzeta, dT1/dzeta_S`` of the one-point system (total and
on-manifold), the Ward identities ``(z1 - z2) Psi_1 + (zeta1 - zeta2) Psi_K + (zetaS1 -
zetaS2) Psi_KS = T1(1) - T1(2)`` hold to 1e-14, ``tau = inf`` reproduces
:func:`lowdim.theory.rf.predict`, and finite-size gradient flow agrees within ``O(1/d)``.

Numerics [derived: docs/dynamics.md sect. 7]: the double contour of
:mod:`lowdim.theory.rf._two_point` around the bulks of ``U`` (shared with
:func:`lowdim.theory.rf.spectrum` and :func:`lowdim.theory.rf.train_curve`); ``tau = inf`` is
checked against ``predict``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import positive_number
from ._complex_sigma import SigmaPoint, SigmaSystem, ladder, sigma_points
from ._dynamics import _atoms, _check_stable, _check_times, _support
from ._predict import _sigma_coefficients, predict
from ._setting import RFSetting, check_setting
from ._system_sigma import SigmaCoefficients
from ._contours import (CONVERGED_TOL, _complex_time_factor, _log_contours,
                        converged_contour)

__all__ = ["generalization_curve_sigma"]

FAST_RUNGS = 20           # ladder rungs of the first try at the contour nodes
SIGMA_FIRST_NODES = 64    # first node count per bulk (doubled until two counts agree)
RIDGE_TOL = 1e-7          # tau = inf must reproduce predict within this (relative)


# --------------------------------------------------------------------------- W level
@dataclass(frozen=True)
class _Weight:
    """``X = x0 + W n(Sigma) W^T/d`` with ``n(l) = poly[0] + poly[1] l + ...``, restricted to
    the on-manifold eigenvectors of ``Sigma`` when ``on_manifold`` (``n`` times the indicator
    of the manifold)."""

    x0: float
    poly: tuple
    on_manifold: bool = False


def _pmul(f, g) -> tuple:
    out = [0.0] * max(len(f) + len(g) - 1, 0)
    for i, a in enumerate(f):
        for j, b in enumerate(g):
            out[i + j] = out[i + j] + a * b
    return tuple(out)


def _moments(co: SigmaCoefficients, p1, p2) -> dict:
    """``J_k = int rho(dl) l^k / (a_1(l) a_2(l))``, ``k = 0, 1, 2``, over the whole spectrum
    (key False) and its on-manifold part (key True), shape ``(len(p1), len(p2))``, by partial
    fractions [derived: docs/dynamics.md sect. 7]: with ``D = A1 B2 - A2 B1``,

        J0 = (B2 I0(2) - B1 I0(1)) / D,   J1 = (A1 I0(1) - A2 I0(2)) / D,
        J2 = (A1 I1(1) - A2 I1(2)) / D,

    ``I_k(i) = int rho(dl) l^k / a_i(l)``.  Exact, but it loses digits as ``D -> 0``
    (coincident points): use :func:`_moments_by_quadrature` there."""
    spec = co.spectrum
    A1, B1 = p1.A[:, None], p1.B[:, None]
    A2, B2 = p2.A[None, :], p2.B[None, :]
    D = A1 * B2 - A2 * B1
    out = {}
    for on in (False, True):
        sel = True if on else None          # None: every component
        i1 = spec._integrals(p1.A, p1.B, on_manifold=sel)
        i2 = spec._integrals(p2.A, p2.B, on_manifold=sel)
        a0, a1 = i1.I0[:, None], i1.I1[:, None]
        b0, b1 = i2.I0[None, :], i2.I1[None, :]
        out[on] = ((B2 * b0 - B1 * a0) / D, (A1 * a0 - A2 * b0) / D, (A1 * a1 - A2 * b1) / D)
    return out


def _moments_by_quadrature(co: SigmaCoefficients, p1, p2, nodes: int = 4000) -> dict:
    """:func:`_moments` by quadrature over ``rho`` (:meth:`Spectrum.quadrature`; any points,
    coincident ones included)."""
    spec = co.spectrum.take(0)
    comps = [c for c in spec.components if float(c.weight) != 0.0]
    on = np.concatenate([np.full(1 if c.kind == "atom" else nodes, c.on_manifold) for c in comps])
    lk, wk = spec.quadrature(nodes)
    a1 = p1.A[:, None] + p1.B[:, None] * lk
    a2 = p2.A[:, None] + p2.B[:, None] * lk
    out = {}
    for flag in (False, True):
        w = wk * (on if flag else 1.0)
        out[flag] = tuple(np.einsum("k,ik,jk->ij", w * lk**j, 1.0 / a1, 1.0 / a2)
                          for j in range(3))
    return out


def _average(moments, poly, on_manifold: bool):
    out = 0.0
    for j, coef in enumerate(poly):
        if np.ndim(coef) or coef != 0.0:
            out = out + coef * moments[on_manifold][j]
    return out


def _pair_trace(psi_p: float, shared, moments, X: _Weight, Y: _Weight):
    """``T[X, Y] = (1/p) Tr[Gb1 X Gb2 Y]`` after the average over ``W`` (module docstring)
    [derived: docs/dynamics.md sect. 7]; ``shared = (q1 q2, 1 - psi_p q1 q2 <m1 m2>)`` from
    :func:`_shared`."""
    qq, den = shared
    t = qq * (X.x0 + _average(moments, X.poly, X.on_manifold)) / den
    on = X.on_manifold or Y.on_manifold
    return (Y.x0 * t + t * _average(moments, Y.poly, Y.on_manifold)
            + psi_p * qq * _average(moments, _pmul(X.poly, Y.poly), on))


def _shared(psi_p: float, p1, p2, moments):
    """``q1 q2`` and the denominator ``1 - psi_p q1 q2 <(alpha1 + beta1 l)(alpha2 + beta2 l)>``
    of the ladder over the columns of ``W``."""
    qq = p1.q[:, None] * p2.q[None, :]
    mm = _pmul((p1.alpha[:, None], p1.beta[:, None]), (p2.alpha[None, :], p2.beta[None, :]))
    return qq, 1.0 - psi_p * qq * _average(moments, mm, False)


def _constants(co: SigmaCoefficients):
    """``psi_p, c, eps, D1``, the groups ``Ch_1, Ch_2`` and ``R_1, R_2`` as :class:`_Weight`."""
    pp, eps = float(co.psi_p[0]), float(co.eps[0])
    c, w = pp / float(co.psi_n[0]), 1.0 - eps
    ah, d1 = float(co.mu1sq[0] * co.a2[0]), float(co.mu1sq[0] * co.delta[0])
    musq, kappa = float(co.musq[0]), float(co.kappa[0])
    b1, e1 = musq * (kappa + (1.0 - kappa) * eps), musq * (1.0 - kappa)
    ch = (_Weight(b1, (eps * d1, ah)), _Weight(w * e1, (w * d1,)))
    rr = (_Weight(c * b1, (c * eps * d1, c * ah)), _Weight(c * eps * e1, (c * eps * d1,)))
    return pp, c, eps, d1, ch, rr


def _two_point(co: SigmaCoefficients, p1, p2, targets, *, on_manifold: bool = False,
               moments=None) -> list:
    """``Psi_M(z1, z2) = (Delta/d) Tr[G(z1) V Pi V^T G(z2) M]`` for every ``M`` of
    ``targets`` (:class:`_Weight`), ``Pi = I`` or (``on_manifold``) the projector on the
    manifold; arrays ``(len(p1), len(p2))`` [derived: docs/dynamics.md sect. 7]."""
    moments = _moments(co, p1, p2) if moments is None else moments
    pp, c, eps, d1, ch, rr = _constants(co)
    shared = _shared(pp, p1, p2, moments)
    k_pi = _Weight(0.0, (1.0,), on_manifold)
    psi_pi = float(co.psi_par[0]) if on_manifold else 1.0
    r1 = (p1.r_par if on_manifold else p1.r)[:, None]
    r2 = (p2.r_par if on_manifold else p2.r)[None, :]
    P1, P2 = p1.P[:, None], p2.P[None, :]
    LL = (p1.L1[:, None] * p2.L1[None, :], p1.L2[:, None] * p2.L2[None, :])
    const = c * eps * (psi_pi / pp - d1 * (P1 * r1 + P2 * r2))
    b = [d1 * P1 * P2 * _pair_trace(pp, shared, moments, k_pi, rr[g]) + const for g in range(2)]
    M = [[_pair_trace(pp, shared, moments, ch[h], rr[g]) / LL[h] for h in range(2)]
         for g in range(2)]
    det = (1.0 - M[0][0]) * (1.0 - M[1][1]) - M[0][1] * M[1][0]
    theta = (((1.0 - M[1][1]) * b[0] + M[0][1] * b[1]) / det,
             (M[1][0] * b[0] + (1.0 - M[0][0]) * b[1]) / det)
    out = []
    for Y in targets:
        v = d1 * P1 * P2 * _pair_trace(pp, shared, moments, k_pi, Y)
        for h in range(2):
            v = v + theta[h] * _pair_trace(pp, shared, moments, ch[h], Y) / LL[h]
        out.append(pp * v)
    return out


def _test_weight(co: SigmaCoefficients) -> _Weight:
    """``W (a^2 Sigma + Delta) W^T/d``, the signal part of the test-feature covariance over
    ``mu1^2``."""
    return _Weight(0.0, (float(co.delta[0]), float(co.a2[0])))


# --------------------------------------------------------------------------- contour
def _points(system: SigmaSystem, z):
    """:class:`lowdim.theory.rf._complex_sigma.SigmaPoint` at the contour nodes ``z`` (both
    half planes): a short ``log Im z`` ladder first (the nodes stay away from the real axis),
    and :func:`lowdim.theory.rf._complex_sigma.sigma_points` (finer ladders, then a
    ``RuntimeError``) for the nodes it does not certify."""
    z = np.asarray(z, dtype=complex)
    up = z.imag >= 0.0
    zu = np.where(up, z, z.conj())
    with np.errstate(all="ignore"):
        X = ladder(system, zu.real, zu.imag, FAST_RUNGS)
        ok = system.good(X, zu)
    X = np.where(up[:, None], X, X.conj())
    if not np.all(ok):
        again = sigma_points(system, z[~ok])
        X[~ok] = np.stack([again.q, again.r, again.h], -1)
    return system.point(X, z)


def _terms(co: SigmaCoefficients, system, bulks, times, nodes: int, gd_step):
    """``(L_test, L_par)`` at every time from the double contour with ``nodes`` nodes per
    bulk (the ellipses of :func:`lowdim.theory.rf._contours._log_contours`): the one-point
    terms on the first family, ``Quad = (2 pi i)^{-2} h1^T Psi h2`` (``h = g(z) dz``) between
    the two."""
    lam = float(co.lam[0])
    (z1, dz1), (z2, dz2) = _log_contours(bulks, lam, nodes, gd_step)
    both = _points(system, np.concatenate([z1, z2]))
    p1, p2 = (SigmaPoint(**{k: v[part] for k, v in vars(both).items()})
              for part in (slice(0, z1.size), slice(z1.size, None)))
    moments = _moments(co, p1, p2)
    target = [_test_weight(co)]
    g1 = _complex_time_factor(z1, lam, times, gd_step)
    h1, h2 = g1 * dz1[:, None], _complex_time_factor(z2, lam, times, gd_step) * dz2[:, None]
    two_pi_i = 2j * np.pi
    mu1sq, musq, delta = float(co.mu1sq[0]), float(co.musq[0]), float(co.delta[0])
    out = []
    for on, one, T1, T2 in ((False, 1.0, p1.T1, p1.T2),
                            (True, float(co.psi_par[0]), p1.T1_par, p1.T2_par)):
        psi, = _two_point(co, p1, p2, target, on_manifold=on, moments=moments)
        linear = (-(T2 @ h1) / two_pi_i).real
        square = (-((T1[:, None] * g1) * h1).sum(0) / two_pi_i).real
        quad = (((psi @ h2) * h1).sum(0) / two_pi_i**2).real
        out.append(one - 2.0 * np.sqrt(mu1sq * delta) * linear + musq * square + mu1sq * quad)
    return np.stack(out)


# --------------------------------------------------------------------------- public
def generalization_curve_sigma(setting: RFSetting, taus, *, gd_step: float | None = None) -> dict:
    """Test error and its on/off-manifold split along gradient flow (or gradient descent)
    from ``A = 0`` for the data models with a general covariance (``"subspace"``,
    ``"linear-manifold"``, ``"hidden-manifold"`` in its Gaussian-equivalent form), any ``m``.

    The formulas of the module docstring [derived: docs/dynamics.md sect. 7], by a double
    contour in ``log(z + lam)`` whose nodes are doubled until two counts agree.  ``tau = 0``
    gives the errors of ``A = 0`` (1, ``psi_par``, ``1 - psi_par``); ``tau = inf`` those of
    the ridge minimiser, which is checked against :func:`lowdim.theory.rf.predict` (a
    ``RuntimeError`` beyond a relative 1e-7: the contour would have missed part of the
    spectrum).

    Parameters are those of :func:`lowdim.theory.rf.generalization_curve`; a gradient-descent
    step is refused when ``gd_step (u_max + lam) >= 2``, ``u_max`` the top edge of the
    spectrum of ``U``.

    Returns
    -------
    dict
        ``taus``, ``test_error``, ``test_error_par``, ``test_error_perp``, ``score_error =
        (test_error - C_t)/Delta``, ``quadrature_error`` (arrays over ``taus``), ``converged``
        and ``bulks`` (those of :func:`lowdim.theory.rf.spectrum`).

    Raises
    ------
    ValueError
        Naming the parameter.
    RuntimeError
        When the continuation fails, a value is not finite, the contour does not converge or
        ``tau = inf`` misses ``predict``.
    """
    check_setting(setting)
    if setting.data == "gaussian":
        raise ValueError("setting: isotropic data goes through generalization_curve")
    if setting.size != 1:
        raise ValueError(f"setting: give one grid point (got shape {setting.shape}; "
                         "iterate over setting.points())")
    times = _check_times(taus, gd_step)
    c = None if gd_step is None else positive_number("gd_step", gd_step)
    co = _sigma_coefficients(setting)
    lam = float(co.lam[0])
    if not lam > 0.0:
        raise ValueError("setting: the test error along training needs lam > 0 (the "
                         "contour runs in log(z + lam))")
    system = SigmaSystem(co)
    atoms = _atoms(system)
    bulks = _support(system, atoms).bulks
    _check_stable(c, max([bulks[-1][1]] + [where for where, _ in atoms]), lam)
    all_times = np.append(times, np.inf)
    values, error = converged_contour(
        lambda nodes: _terms(co, system, bulks, all_times, nodes, c), SIGMA_FIRST_NODES)
    ridge = predict(setting)
    for value, name in ((values[0, -1], "test_error"), (values[1, -1], "test_error_par")):
        want = float(np.ravel(getattr(ridge, name))[0])
        if np.isfinite(want) and abs(value - want) > RIDGE_TOL * max(1.0, abs(want)):
            raise RuntimeError(f"generalization_curve: at tau = inf the contour gives {name} "
                               f"{value:.10g}, predict {want:.10g}")
    test, par = values[0, :-1], values[1, :-1]
    c_t = float(np.ravel(setting.exact_score_test_error)[0])
    return {"taus": times, "test_error": test, "test_error_par": par,
            "test_error_perp": test - par, "score_error": (test - c_t) / float(co.delta[0]),
            "quadrature_error": error[:-1], "converged": bool(np.all(error <= CONVERGED_TOL)),
            "bulks": bulks}
