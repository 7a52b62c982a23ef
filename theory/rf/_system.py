"""The self-consistent system of the random-features DSM learning curves, isotropic data.

Notation (research note rf_learning_curves.md section 3.3, tags [SRC: UBBM26-DD Thm 2.1,
Prop. C.2] and [VERIFIED-NUM]; written here with ``eps = 1/m`` so that ``m = inf`` is the
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

from dataclasses import dataclass

import numpy as np

__all__ = ["Coefficients", "residual_and_jacobian", "observables"]


@dataclass
class Coefficients:
    """Flattened per-point constants of the system."""

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
        return Coefficients(**{k: v[sel] for k, v in self.__dict__.items()})

    @property
    def c(self):
        return self.psi_p / self.psi_n

    @property
    def A1(self):
        return self.mu1sq * (self.a2 + self.delta * self.eps)

    @property
    def B1(self):
        return self.musq * (self.kappa + (1.0 - self.kappa) * self.eps)

    @property
    def D1(self):
        return self.mu1sq * self.delta

    @property
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
    F = np.stack([F1, F2], axis=-1)
    J = np.stack([np.stack([J11, J12], -1), np.stack([J21, J22], -1)], -2)
    s1 = 1.0 / r + 1.0 / q + np.abs(pp * zeta) + t1a + t1b
    s2 = np.abs(z * pp) + np.abs(1.0 - pp) / q + r / q**2 + t2a + t2b
    return F, J, np.stack([s1, s2], axis=-1)


def observables(co: Coefficients, q, r):
    """Errors at the solution (q, r) of the system at ``(z, zeta) = (-lambda, 0)``.

    Returns a dict of arrays: ``T1, T2, dT1_dzeta, dT1_dz, test_error, train_error,
    train_error_reg``, the implicit derivatives ``dq_dz, dr_dz, dq_dzeta, dr_dzeta`` and
    ``well_posed`` (False where the Jacobian is numerically singular; values there are NaN).
    """
    z = -co.lam
    _, J, scale = residual_and_jacobian(co, q, r, z, 0.0)
    pp = co.psi_p
    # J (dq, dr)^T = -dF/dtheta with dF/dzeta = (psi_p, 0) and dF/dz = (0, psi_p); explicit
    # 2x2 inverse with a conditioning check (the system degenerates as psi_p -> 0)
    a, b, c_, e = J[:, 0, 0], J[:, 0, 1], J[:, 1, 0], J[:, 1, 1]
    det = a * e - b * c_
    well_posed = np.abs(det) > 1e-14 * (np.abs(a * e) + np.abs(b * c_))
    # and, as for the general spectrum, conditioning in relative units (log variables,
    # equations divided by their scales): near the interpolation threshold at a tiny ridge
    # the errors are differences of numbers ~ cond times larger, and lose every digit
    Jn = J * np.stack([q, r], -1)[:, None, :] / scale[:, :, None]
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(np.where(np.isfinite(Jn), Jn, 0.0))
    well_posed &= np.isfinite(cond) & (cond < 1e13)
    det = np.where(well_posed, det, np.nan)
    dq_dzeta, dr_dzeta = -e * pp / det, c_ * pp / det
    dq_dz, dr_dz = b * pp / det, -a * pp / det

    c, eps, w, A1, B1, D1, E1, L1, L2 = _parts(co, q, r)
    P = eps / L1 + w / L2
    k = co.mu1sq * pp * co.delta  # mu1^2 psi_p Delta

    def dP(dq, dr):
        return -eps * c * (A1 * dr + B1 * dq) / L1**2 - w * c * eps * (D1 * dr + E1 * dq) / L2**2

    def dT1(dq, dr):
        return (-1.0 + 2.0 * k * r * P) * dP(dq, dr) + k * P**2 * dr

    T1 = 1.0 - P + k * r * P**2
    T2 = pp * np.sqrt(co.mu1sq * co.delta) * r * P
    T4 = dT1(dq_dzeta, dr_dzeta)
    T5 = dT1(dq_dz, dr_dz)
    test = 1.0 - 2.0 * k * r * P + co.mu1sq * T4 + co.musq * T5
    train_reg = 1.0 - T1
    train = train_reg - co.lam * T5
    return {
        "T1": T1, "T2": T2, "dT1_dzeta": T4, "dT1_dz": T5,
        "test_error": test, "train_error": train, "train_error_reg": train_reg,
        "dq_dz": dq_dz, "dr_dz": dr_dz, "dq_dzeta": dq_dzeta, "dr_dzeta": dr_dzeta,
        "well_posed": well_posed,
    }
