"""The self-consistent system of the random-features DSM learning curves, isotropic data.

Notation (research note rf_learning_curves.md section 3.3, [paper: UBBM26-DD Thm 2.1,
Prop. C.2], checked against simulation; written here with ``eps = 1/m`` so that ``m = inf`` is the
regular point ``eps = 0``):

    c  = psi_p / psi_n,      w = 1 - eps,
    A1 = mu1^2 (e^{-2t} + Delta eps),   B1 = mu*^2 (kappa + (1 - kappa) eps),
    D1 = mu1^2 Delta,                   E1 = mu*^2 (1 - kappa),
    L1 = 1 + c (A1 r + B1 q),           L2 = 1 + c eps (D1 r + E1 q),

    F1 = 1/r - 1/q + psi_p zeta - psi_p (A1 / L1 + w D1 / L2)                    = 0
    F2 = z psi_p - (1 - psi_p)/q + r/q^2 - psi_p (B1 / L1 + w E1 / L2)             = 0

for the normalised traces ``q = Tr G / p`` and ``r = Tr(W^T G W) / (p d)`` of the
resolvent ``G = (F F^T/(n m) - z - zeta W W^T/d)^{-1}``.  Why two denominators: rotate the
m noisy copies of each data point by an orthogonal (Helmert) matrix; the mean copy has
feature covariance ``[(m e^{-2t} + Delta) mu1^2 W W^T/d + mu*^2 (1 + (m-1) kappa)] / m``
and the m - 1 difference copies ``[Delta mu1^2 W W^T/d + mu*^2 (1 - kappa)]``, each group
with independent columns (a derivation note of ours, consistent with the cited system).

With ``P = eps / L1 + w / L2`` (``= T/m`` in the note):

    T1 = 1 - P + mu1^2 psi_p Delta r P^2,        T2 = psi_p mu1 sqrt(Delta) r P,
    L_test      = 1 - 2 mu1 sqrt(Delta) T2 + mu1^2 dT1/dzeta + mu*^2 dT1/dz,
    L_train_reg = 1 - T1,                       L_train = 1 - T1 - lambda dT1/dz,

all at ``(z, zeta) = (-lambda, 0)``; the derivatives are total derivatives through (q, r),
obtained by implicit differentiation of (F1, F2).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

__all__ = ["Coefficients", "residual_and_jacobian", "log_system", "observables"]


@dataclass
class Coefficients:
    """Flattened per-point constants of the system.

    The derived constants ``c, A1, B1, D1, E1`` are computed once, on first use (the solver,
    the start and the observables all read them).
    """

    psi_n: np.ndarray
    psi_p: np.ndarray
    eps: np.ndarray
    a2: np.ndarray  # e^{-2t}
    delta: np.ndarray
    mu1sq: np.ndarray
    musq: np.ndarray
    kappa: np.ndarray
    lam: np.ndarray

    def take(self, sel):
        return Coefficients(**{f.name: getattr(self, f.name)[sel] for f in fields(self)})

    @cached_property
    def c(self):
        return self.psi_p / self.psi_n

    @cached_property
    def A1(self):
        return self.mu1sq * (self.a2 + self.delta * self.eps)

    @cached_property
    def B1(self):
        return self.musq * (self.kappa + (1.0 - self.kappa) * self.eps)

    @cached_property
    def D1(self):
        return self.mu1sq * self.delta

    @cached_property
    def E1(self):
        return self.musq * (1.0 - self.kappa)


def _parts(co: Coefficients, q, r):
    c, eps = co.c, co.eps
    A1, B1, D1, E1 = co.A1, co.B1, co.D1, co.E1
    L1 = 1.0 + c * (A1 * r + B1 * q)
    L2 = 1.0 + c * eps * (D1 * r + E1 * q)
    return c, eps, 1.0 - eps, A1, B1, D1, E1, L1, L2


def residual_and_jacobian(co: Coefficients, q, r, z, zeta):
    """Residuals (F1, F2), Jacobian d(F1, F2)/d(q, r) and per-equation scales.

    Shapes: ``q, r, z, zeta`` broadcast with the coefficient arrays ``(k,)``; returns
    ``F (k, 2)``, ``J (k, 2, 2)`` and ``scale (k, 2)``.
    """
    F1, F2, J11, J12, J21, J22, s1, s2 = _components(co, q, r, z, zeta)
    F = np.stack([F1, F2], axis=-1)
    J = np.stack([np.stack([J11, J12], -1), np.stack([J21, J22], -1)], -2)
    return F, J, np.stack([s1, s2], axis=-1)


def _components(co: Coefficients, q, r, z, zeta):
    """``F1, F2, J11, J12, J21, J22, scale1, scale2`` of :func:`residual_and_jacobian` as
    separate arrays."""
    c, eps, w, A1, B1, D1, E1, L1, L2 = _parts(co, q, r)
    pp = co.psi_p
    t1a, t1b = pp * A1 / L1, pp * w * D1 / L2
    t2a, t2b = pp * B1 / L1, pp * w * E1 / L2
    F1 = 1.0 / r - 1.0 / q + pp * zeta - t1a - t1b
    F2 = z * pp - (1.0 - pp) / q + r / q**2 - t2a - t2b
    G1 = 1.0 / L1**2
    G2 = 1.0 / L2**2
    cross = pp * c * (A1 * B1 * G1 + w * eps * D1 * E1 * G2)
    J11 = 1.0 / q**2 + cross
    J12 = -1.0 / r**2 + pp * c * (A1**2 * G1 + w * eps * D1**2 * G2)
    J21 = (1.0 - pp) / q**2 - 2.0 * r / q**3 + pp * c * (B1**2 * G1 + w * eps * E1**2 * G2)
    J22 = 1.0 / q**2 + cross
    s1 = 1.0 / r + 1.0 / q + np.abs(pp * zeta) + t1a + t1b
    s2 = np.abs(z * pp) + np.abs(1.0 - pp) / q + r / q**2 + t2a + t2b
    return F1, F2, J11, J12, J21, J22, s1, s2


def condition_2x2(a, b, c, d):
    """2-norm condition number ``s_max / s_min`` of the 2x2 matrices ``[[a, b], [c, d]]``.

    With ``T = a^2 + b^2 + c^2 + d^2 = s_max^2 + s_min^2`` and ``D = |ad - bc| = s_max s_min``,
    ``s_max^2 = (T + sqrt((T - 2D)(T + 2D))) / 2`` (no cancellation) and the condition number
    is ``s_max^2 / D`` (``inf`` for a singular matrix).  The same number as
    ``np.linalg.cond`` without a batched SVD.
    """
    T = a * a + b * b + c * c + d * d
    D = np.abs(a * d - b * c)
    smax2 = 0.5 * (T + np.sqrt(np.maximum((T - 2.0 * D) * (T + 2.0 * D), 0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(D > 0.0, smax2 / D, np.inf)


def log_system(co: Coefficients):
    """The system on the ridge path in log variables, for :func:`lowdim.theory.solvers.path_newton`.

    Returns ``fun(x, tau, want_scale) -> (F, J, F_tau, scale)`` with ``x = (log q, log r)``,
    ``tau = log lambda``, ``(z, zeta) = (-lambda, 0)``: the residuals ``(F1, F2)`` and scales
    of :func:`residual_and_jacobian`, the Jacobian with respect to ``(log q, log r)`` (its
    columns multiplied by ``q`` and ``r``) and ``dF/dtau = (0, -psi_p lambda)`` (``F2`` is
    linear in ``z``).  Written on component arrays with every per-point constant computed
    once [derived: the system of the module docstring in log variables]:

        F1 = 1/r - 1/q - a1/L1 - d1/L2,     F2 = z psi_p - (1 - psi_p)/q + r/q^2 - b1/L1 - e1/L2,
        L1 = 1 + c A1 r + c B1 q,           L2 = 1 + c eps (D1 r + E1 q),

    with ``a1 = psi_p A1``, ``b1 = psi_p B1``, ``d1 = psi_p (1-eps) D1``,
    ``e1 = psi_p (1-eps) E1``.  When no point has a second group of noise copies
    (``m = 1``: ``1 - eps = 0``) or every point has ``m = inf`` (``eps = 0``: ``L2 = 1``) the
    ``L2`` terms are constants and are not recomputed.
    """
    c, eps = co.c, co.eps
    w = 1.0 - eps
    pp = co.psi_p
    A1, B1, D1, E1 = co.A1, co.B1, co.D1, co.E1
    a1, b1 = pp * A1, pp * B1
    cA, cB = c * A1, c * B1
    a1cA, a1cB, b1cB = a1 * cA, a1 * cB, b1 * cB
    opp = 1.0 - pp
    aopp = np.abs(opp)
    mpp = -pp
    if np.all(w == 0.0):
        second = None  # m = 1 everywhere: no L2 terms
    elif np.all(eps == 0.0):
        second = (pp * D1, pp * E1)  # m = inf everywhere: L2 = 1
    else:
        d1, e1 = pp * w * D1, pp * w * E1
        cD, cE = c * eps * D1, c * eps * E1
        second = (d1, e1, cD, cE, d1 * cD, d1 * cE, e1 * cE)

    def fun(x, tau, want_scale=True):
        lq, lr = x
        q, r = np.exp(lq), np.exp(lr)
        iq, ir = 1.0 / q, 1.0 / r
        i1 = 1.0 / (1.0 + cA * r + cB * q)
        j1 = i1 * i1
        t1, t2 = a1 * i1, b1 * i1
        riq2 = r * iq * iq
        cross = a1cB * j1
        g12 = a1cA * j1
        g21 = b1cB * j1
        if second is not None:
            if len(second) == 2:
                t1 = t1 + second[0]
                t2 = t2 + second[1]
            else:
                d1, e1, cD, cE, d1cD, d1cE, e1cE = second
                i2 = 1.0 / (1.0 + cD * r + cE * q)
                j2 = i2 * i2
                t1 = t1 + d1 * i2
                t2 = t2 + e1 * i2
                cross = cross + d1cE * j2
                g12 = g12 + d1cD * j2
                g21 = g21 + e1cE * j2
        zpp = mpp * np.exp(tau)
        oiq = opp * iq
        F1 = ir - iq - t1
        F2 = zpp - oiq + riq2 - t2
        J = ((iq + q * cross, r * g12 - ir),
             (oiq - 2.0 * riq2 + q * g21, riq2 + r * cross))
        if not want_scale:
            return (F1, F2), J, (0.0, zpp), None
        scale = (ir + iq + t1, np.abs(zpp) + aopp * iq + riq2 + t2)
        return (F1, F2), J, (0.0, zpp), scale

    return fun


def observables(co: Coefficients, q, r):
    """Errors at the solution (q, r) of the system at ``(z, zeta) = (-lambda, 0)``.

    Returns a dict of arrays: ``T1, T2, dT1_dzeta, dT1_dz, test_error, train_error,
    train_error_reg``, the implicit derivatives ``dq_dz, dr_dz, dq_dzeta, dr_dzeta`` and
    ``well_posed`` (False where the Jacobian is numerically singular; values there are NaN).
    The Jacobian and scales are those of :func:`residual_and_jacobian` (``J11 = J22``),
    with every shared product formed once.
    """
    pp, c, eps = co.psi_p, co.c, co.eps
    w = 1.0 - eps
    A1, B1, D1, E1 = co.A1, co.B1, co.D1, co.E1
    i1 = 1.0 / (1.0 + c * (A1 * r + B1 * q))
    i2 = 1.0 / (1.0 + c * eps * (D1 * r + E1 * q))
    j1, wj2 = i1 * i1, w * i2 * i2
    iq, ir = 1.0 / q, 1.0 / r
    iq2 = iq * iq
    riq2 = r * iq2
    wej2 = wj2 * eps
    pc = pp * c
    # Jacobian d(F1, F2)/d(q, r) and per-equation scales, as in _components
    a = iq2 + pc * (A1 * B1 * j1 + D1 * E1 * wej2)  # = J22 as well
    b = pc * (A1 * A1 * j1 + D1 * D1 * wej2) - ir * ir
    c_ = (1.0 - pp) * iq2 - 2.0 * riq2 * iq + pc * (B1 * B1 * j1 + E1 * E1 * wej2)
    t1 = pp * (A1 * i1 + w * D1 * i2)
    t2 = pp * (B1 * i1 + w * E1 * i2)
    s1 = ir + iq + t1
    s2 = co.lam * pp + np.abs(1.0 - pp) * iq + riq2 + t2
    # J (dq, dr)^T = -dF/dtheta with dF/dzeta = (psi_p, 0) and dF/dz = (0, psi_p); explicit
    # 2x2 inverse with a conditioning check (the system degenerates as psi_p -> 0)
    ad, bc = a * a, b * c_
    det = ad - bc
    well_posed = np.abs(det) > 1e-14 * (np.abs(ad) + np.abs(bc))
    # and, as for the general spectrum, conditioning in relative units (log variables,
    # equations divided by their scales): near the interpolation threshold at a tiny ridge
    # the errors are differences of numbers ~ cond times larger, and lose every digit
    with np.errstate(all="ignore"):
        Jn = [np.where(np.isfinite(v), v, 0.0) for v in
              (a * q / s1, b * r / s1, c_ * q / s2, a * r / s2)]
        cond = condition_2x2(*Jn)
    well_posed &= np.isfinite(cond) & (cond < 1e13)
    ppdet = pp / np.where(well_posed, det, np.nan)
    dq_dzeta, dr_dzeta = -a * ppdet, c_ * ppdet
    dq_dz, dr_dz = b * ppdet, -a * ppdet

    P = eps * i1 + w * i2
    k = co.mu1sq * pp * co.delta  # mu1^2 psi_p Delta
    kP = k * P
    krP = kP * r
    # dP = -c eps (A1 dr + B1 dq) j1 - w c eps (D1 dr + E1 dq) j2 = -(vr dr + vq dq)
    ceps = c * eps
    vr = ceps * (A1 * j1 + D1 * wj2)
    vq = ceps * (B1 * j1 + E1 * wj2)
    lead = 2.0 * krP - 1.0
    kP2 = kP * P
    T4 = -lead * (vr * dr_dzeta + vq * dq_dzeta) + kP2 * dr_dzeta
    T5 = -lead * (vr * dr_dz + vq * dq_dz) + kP2 * dr_dz
    T1 = 1.0 - P + krP * P
    T2 = pp * np.sqrt(co.mu1sq * co.delta) * r * P
    test = 1.0 - 2.0 * krP + co.mu1sq * T4 + co.musq * T5
    train_reg = 1.0 - T1
    train = train_reg - co.lam * T5
    return {
        "T1": T1, "T2": T2, "dT1_dzeta": T4, "dT1_dz": T5,
        "test_error": test, "train_error": train, "train_error_reg": train_reg,
        "dq_dz": dq_dz, "dr_dz": dr_dz, "dq_dzeta": dq_dzeta, "dr_dzeta": dr_dzeta,
        "well_posed": well_posed,
    }
