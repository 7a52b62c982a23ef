"""The self-consistent system for data with a general covariance spectrum ``rho``.

Data ``x ~ N(0, Sigma)`` (or Gaussian-equivalent to it), ``Sigma`` with limiting spectral
measure ``rho`` and ``sigma_x^2 = Tr Sigma / d``.  The activation moments ``mu1, mu*^2,
kappa`` are taken at pre-activation variance ``a^2 sigma_x^2 + Delta`` and noise-copy
covariance ``a^2 sigma_x^2``.  Resolvent, with three deformations,

    G = (F F^T/(n m) - z - zeta W W^T/d - zeta_S W Sigma W^T/d)^{-1},
    q = Tr G / p,   r = Tr(W^T G W)/(p d),   h = Tr(Sigma^{1/2} W^T G W Sigma^{1/2})/(p d).

Derivation (ours; the system is the cited UBBM26-DD Prop. C.2 structure, research note
rf_learning_curves.md section 3.7, [paper: UBBM26-DD Prop. C.2] for the system, [reconstructed] for the
``zeta_S`` deformation and the on/off-manifold split).  Rotate the m noisy copies of each
data point by a Helmert matrix: the mean copy has feature covariance
``mu1^2 W (m a^2 Sigma + Delta) W^T/d + mu*^2 (1 + (m-1) kappa)`` and the m - 1 difference
copies ``mu1^2 Delta W W^T/d + mu*^2 (1 - kappa)``, each group with independent columns.
The deterministic equivalent of a sum of two such sample covariances gives

    G ~ (s I + W (alpha + beta Sigma) W^T / d)^{-1},
    L1 = 1 + c (mu1^2 a^2 h + eps mu1^2 Delta r + B1 q),   L2 = 1 + c eps (D1 r + E1 q),
    alpha = -zeta + D1 P,   beta = -zeta_S + mu1^2 a^2 / L1,   s = -z + B1/L1 + (1-eps) E1/L2,

with ``c = psi_p/psi_n``, ``eps = 1/m``, ``P = eps/L1 + (1-eps)/L2``,
``B1 = mu*^2 (kappa + (1-kappa) eps)``, ``D1 = mu1^2 Delta``, ``E1 = mu*^2 (1-kappa)``.
Writing ``W M W^T/d`` as a sum of rank-one terms along the eigenvectors of ``Sigma`` closes
the system on (q, r, h):

    E_r = r - q I0(A, B) = 0,   E_h = h - q I1(A, B) = 0,   E_q = s q - 1 + alpha r + beta h = 0,
    A = 1 + psi_p q alpha,   B = psi_p q beta,   I_k = int rho(dl) l^k / (A + B l).

For ``rho = delta_1`` (isotropic data) ``h = r`` and it reduces to the two-equation system
of :mod:`lowdim.theory.rf._system` (checked in the tests).  Trace functions and errors:

    T1 = 1 - P + mu1^2 psi_p Delta r P^2,      T2 = psi_p mu1 sqrt(Delta) r P,
    L_test = 1 - 2 mu1 sqrt(Delta) T2 + mu1^2 (a^2 dT1/dzeta_S + Delta dT1/dzeta) + mu*^2 dT1/dz,

since the test features have covariance ``mu1^2 W (a^2 Sigma + Delta) W^T/d + mu*^2``.  The
on-manifold part replaces ``1 -> psi_par`` (the weight of the on-manifold components) and
``r -> r_par = q I0_par`` in ``T1, T2`` (the noise is isotropic, the split acts on the
output coordinates); the off-manifold part is the remainder.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spectra import Spectrum

__all__ = ["SigmaCoefficients", "residual_and_jacobian", "observables"]


@dataclass
class SigmaCoefficients:
    """Flattened per-point constants of the general-spectrum system."""

    psi_n: np.ndarray
    psi_p: np.ndarray
    eps: np.ndarray
    a2: np.ndarray
    delta: np.ndarray
    mu1sq: np.ndarray
    musq: np.ndarray
    kappa: np.ndarray
    lam: np.ndarray
    spectrum: Spectrum  # flat
    psi_par: np.ndarray  # weight of the on-manifold components

    def take(self, sel):
        kw = {k: (v.take(sel) if isinstance(v, Spectrum) else v[sel])
              for k, v in self.__dict__.items()}
        return SigmaCoefficients(**kw)

    @property
    def c(self):
        return self.psi_p / self.psi_n


def _state(co: SigmaCoefficients, q, r, h, z, zeta, zeta_s):
    """Intermediate quantities and their gradients with respect to (q, r, h)."""
    c, eps = co.c, co.eps
    w = 1.0 - eps
    Ah = co.mu1sq * co.a2
    D1 = co.mu1sq * co.delta
    B1 = co.musq * (co.kappa + (1.0 - co.kappa) * eps)
    E1 = co.musq * (1.0 - co.kappa)
    L1 = 1.0 + c * (Ah * h + eps * D1 * r + B1 * q)
    L2 = 1.0 + c * eps * (D1 * r + E1 * q)
    zero = np.zeros_like(q)
    dL1 = np.stack([c * B1, c * eps * D1, c * Ah], -1)
    dL2 = np.stack([c * eps * E1, c * eps * D1, zero], -1)
    P = eps / L1 + w / L2
    dP = -(eps / L1**2)[:, None] * dL1 - (w / L2**2)[:, None] * dL2
    alpha = -zeta + D1 * P
    dalpha = D1[:, None] * dP
    beta = -zeta_s + Ah / L1
    dbeta = -(Ah / L1**2)[:, None] * dL1
    s = -z + B1 / L1 + w * E1 / L2
    ds = -(B1 / L1**2)[:, None] * dL1 - (w * E1 / L2**2)[:, None] * dL2
    pp = co.psi_p
    A = 1.0 + pp * q * alpha
    B = pp * q * beta
    eq = np.stack([np.ones_like(q), zero, zero], -1)
    dA = (pp * alpha)[:, None] * eq + (pp * q)[:, None] * dalpha
    dB = (pp * beta)[:, None] * eq + (pp * q)[:, None] * dbeta
    return dict(L1=L1, L2=L2, dL1=dL1, dL2=dL2, P=P, dP=dP, alpha=alpha, dalpha=dalpha,
                beta=beta, dbeta=dbeta, s=s, ds=ds, A=A, B=B, dA=dA, dB=dB)


def residual_and_jacobian(co: SigmaCoefficients, q, r, h, z, zeta=0.0, zeta_s=0.0):
    """Residuals (E_r, E_h, E_q), Jacobian with respect to (q, r, h) and scales."""
    st = _state(co, q, r, h, z, zeta, zeta_s)
    return _assemble(q, r, h, st, co.spectrum._integrals(st["A"], st["B"]))


def _assemble(q, r, h, st, I):
    """Residuals, Jacobian and scales from the state and the spectral integrals."""
    Er = r - q * I.I0
    Eh = h - q * I.I1
    Eq = st["s"] * q - 1.0 + st["alpha"] * r + st["beta"] * h
    e = np.eye(3)
    dA, dB = st["dA"], st["dB"]
    dEr = e[1] - I.I0[:, None] * e[0] + q[:, None] * (I.K0[:, None] * dA + I.K1[:, None] * dB)
    dEh = e[2] - I.I1[:, None] * e[0] + q[:, None] * (I.K1[:, None] * dA + I.K2[:, None] * dB)
    dEq = (q[:, None] * st["ds"] + st["s"][:, None] * e[0] + r[:, None] * st["dalpha"]
           + st["alpha"][:, None] * e[1] + h[:, None] * st["dbeta"] + st["beta"][:, None] * e[2])
    F = np.stack([Er, Eh, Eq], -1)
    J = np.stack([dEr, dEh, dEq], -2)
    scale = np.stack([np.abs(r) + np.abs(q * I.I0), np.abs(h) + np.abs(q * I.I1),
                      np.abs(st["s"] * q) + 1.0 + np.abs(st["alpha"] * r)
                      + np.abs(st["beta"] * h)], -1)
    return F, J, scale


def parameter_derivatives(co: SigmaCoefficients, q, r, h, st, I):
    """``dE/dtheta`` for theta = (z, zeta, zeta_S), shape (k, 3 equations, 3 parameters).

    Explicit dependence only: ``ds/dz = -1``, ``dalpha/dzeta = -1`` (so
    ``dA/dzeta = -psi_p q``) and ``dbeta/dzeta_S = -1`` (``dB/dzeta_S = -psi_p q``).
    """
    pp = co.psi_p
    zero = np.zeros_like(q)
    dA = np.stack([zero, -pp * q, zero], -1)
    dB = np.stack([zero, zero, -pp * q], -1)
    dEr = q[:, None] * (I.K0[:, None] * dA + I.K1[:, None] * dB)
    dEh = q[:, None] * (I.K1[:, None] * dA + I.K2[:, None] * dB)
    dEq = np.stack([-q, -r, -h], -1)
    return np.stack([dEr, dEh, dEq], -2), dA, dB


def observables(co: SigmaCoefficients, q, r, h):
    """Errors at the solution (q, r, h) for ``(z, zeta, zeta_S) = (-lambda, 0, 0)``.

    Returns a dict with ``test_error, train_error, train_error_reg, test_error_par,
    test_error_perp`` and ``well_posed`` (False where the Jacobian is numerically
    singular; the values there are NaN).
    """
    z = -co.lam
    st = _state(co, q, r, h, z, 0.0, 0.0)
    I = co.spectrum._integrals(st["A"], st["B"])
    Ipar = co.spectrum._integrals(st["A"], st["B"], on_manifold=True)
    _, J, scale = _assemble(q, r, h, st, I)
    dE, dA_th, dB_th = parameter_derivatives(co, q, r, h, st, I)
    # conditioning judged on the Jacobian in relative units (log variables, equations
    # divided by their scales), which does not depend on how large q, r, h are
    Jn = J * np.stack([q, r, h], -1)[:, None, :] / scale[:, :, None]
    with np.errstate(all="ignore"):
        cond = np.linalg.cond(np.where(np.isfinite(Jn), Jn, 0.0))
    well_posed = np.isfinite(cond) & (cond < 1e13)
    Jsafe = np.where(well_posed[:, None, None], J, np.eye(3))
    dx = np.linalg.solve(Jsafe, -dE)  # (k, 3 unknowns, 3 parameters)
    dx = np.where(well_posed[:, None, None], dx, np.nan)

    P, L1, L2 = st["P"], st["L1"], st["L2"]
    k = co.mu1sq * co.psi_p * co.delta
    dP = np.einsum("ki,kij->kj", st["dP"], dx)  # (k, 3 parameters)
    dq, dr = dx[:, 0, :], dx[:, 1, :]
    dA = np.einsum("ki,kij->kj", st["dA"], dx) + dA_th
    dB = np.einsum("ki,kij->kj", st["dB"], dx) + dB_th
    r_par = q * Ipar.I0
    dr_par = dq * Ipar.I0[:, None] - q[:, None] * (Ipar.K0[:, None] * dA + Ipar.K1[:, None] * dB)

    def dT1(dr_, r_, one):
        return -one[:, None] * dP + k[:, None] * (dr_ * P[:, None] ** 2 + 2.0 * (r_ * P)[:, None] * dP)

    mu1 = np.sqrt(co.mu1sq)
    sq_delta = np.sqrt(co.delta)

    def test(r_, dr_, one):
        d = dT1(dr_, r_, one)
        T2 = co.psi_p * mu1 * sq_delta * r_ * P
        return (one - 2.0 * mu1 * sq_delta * T2
                + co.mu1sq * (co.a2 * d[:, 2] + co.delta * d[:, 1]) + co.musq * d[:, 0]), d

    T1 = 1.0 - P + k * r * P**2
    test_total, d_all = test(r, dr, np.ones_like(q))
    test_par, _ = test(r_par, dr_par, co.psi_par)
    train_reg = 1.0 - T1
    train = train_reg - co.lam * d_all[:, 0]
    return {
        "T1": T1, "test_error": test_total, "train_error": train, "train_error_reg": train_reg,
        "test_error_par": test_par, "test_error_perp": test_total - test_par,
        "well_posed": well_posed, "L1": L1, "L2": L2,
    }
