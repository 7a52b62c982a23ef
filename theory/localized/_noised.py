"""The noised law of a Gaussian target under the OU process and the decay of its precision
[derived: research note localized.md sections 4.1 to 4.3; checked numerically].

With ``x_t = a_t x_0 + sigma_t z``, ``a_t = e^{-t}``, ``sigma_t^2 = 1 - e^{-2t}``:

    C_t = a_t^2 C + sigma_t^2 I,     P_t = C_t^{-1},     s_t(x) = -P_t x.

``M_t = a_t^2 I + sigma_t^2 P`` has the bandwidth of P and ``P_t = sigma_t^{-2} (I - a_t^2
M_t^{-1})``, so off the diagonal ``[P_t]_ij = -(a_t^2 / sigma_t^2) [M_t^{-1}]_ij``.  The spectrum
of ``M_t`` lies in ``[lo_t, hi_t] = [a_t^2 + sigma_t^2 lambda_min(P), a_t^2 + sigma_t^2
lambda_max(P)]``, and Demko, Moss and Smith bound the inverse of a banded matrix
[paper: DMS84]:

    |[P_t]_ij| <= (a_t^2 / sigma_t^2) K_t q_t^{dist(i,j) / r0},
    K_t = max(1 / lo_t, (1 + sqrt(kappa_t))^2 / (2 hi_t)),
    q_t = (sqrt(kappa_t) - 1) / (sqrt(kappa_t) + 1),     kappa_t = hi_t / lo_t.

The localization radius (the paper's eq. 4.1 was not seen; this definition is ours) is the
smallest r with ``|[P_t]_ij| <= eps [P_t]_ii`` for every pair farther apart than r.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import choice, flag, floats, number
from ..processes import ou_coefficients
from ._target import check_target

__all__ = ["noised_covariance", "noised_precision", "decay_rate", "precision_decay_bound",
           "precision_decay", "localization_radius"]


def _times(t) -> np.ndarray:
    """Diffusion times: a number or a vector of numbers, finite and ``> 0``."""
    t = np.atleast_1d(floats("t", t))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"t: diffusion times must be finite and > 0 (got {t!r})")
    return t


def _spectral(target, t, power):
    """``V diag((a^2 / lam + sigma^2)^power) V^T`` for each t: shape (T, d, d)."""
    a, s2 = ou_coefficients(_times(t))
    lam, V = check_target(target).eigenvalues, target.eigenvectors
    mid = (a[:, None] ** 2 / lam[None, :] + s2[:, None]) ** power
    return np.einsum("ik,tk,jk->tij", V, mid, V, optimize=True)


def noised_covariance(target, t) -> np.ndarray:
    """``C_t = e^{-2t} C + (1 - e^{-2t}) I`` for each t, shape ``(T, d, d)``."""
    return _spectral(target, t, 1.0)


def noised_precision(target, t) -> np.ndarray:
    """``P_t = C_t^{-1}`` for each t, shape ``(T, d, d)``; the score is ``-P_t x``."""
    return _spectral(target, t, -1.0)


def _decay_logs(target, t):
    """``(log q_t, log(a_t^2 / sigma_t^2 K_t), q_t, K_t, kappa_t)``, free of cancellation
    and overflow as t -> 0, where ``kappa_t -> 1``: ``q = (kappa - 1) / (sqrt(kappa) + 1)^2``
    with ``kappa - 1 = sigma_t^2 (lambda_max - lambda_min) / lo_t``."""
    t = _times(t)
    a, s2 = ou_coefficients(t)
    lam = check_target(target).eigenvalues
    lo = a ** 2 + s2 * lam[0]
    hi = a ** 2 + s2 * lam[-1]
    kap = hi / lo
    root = np.sqrt(kap)
    with np.errstate(divide="ignore"):  # kappa_t = 1: q = 0, log q = -inf
        log_q = np.log(s2 * (lam[-1] - lam[0])) - np.log(lo) - 2.0 * np.log1p(root)
    q = np.exp(log_q)
    K = np.maximum(1.0 / lo, (1.0 + root) ** 2 / (2.0 * hi))
    log_scale = -2.0 * t - np.log(s2) + np.log(K)       # log(a_t^2 / sigma_t^2 K_t)
    return log_q, log_scale, q, K, kap


def decay_rate(target, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(q_t, K_t, kappa_t)`` of the Demko-Moss-Smith bound (module doc), each shape (T,)."""
    _, _, q, K, kap = _decay_logs(target, t)
    return q, K, kap


def precision_decay_bound(target, t, distances) -> np.ndarray:
    """The bound on ``|[P_t]_ij|`` at the given distances ``>= 1``, shape ``(T, len(distances))``.

    Requires ``r0 >= 1`` (a diagonal precision has ``P_t`` diagonal, nothing to bound).  The
    prefactor ``a_t^2 / sigma_t^2`` diverges like ``1 / (2t)`` as ``t -> 0``; where the bound
    exceeds the float64 range it is ``inf`` (a true, if empty, bound)."""
    if check_target(target).r0 < 1:
        raise ValueError("r0: the decay bound needs a bandwidth >= 1")
    k = np.atleast_1d(floats("distances", distances))
    if k.ndim != 1 or not np.all(np.isfinite(k)) or np.any(k < 1):
        raise ValueError("distances: the off-diagonal bound holds for finite distances >= 1")
    log_q, log_scale, _, _, _ = _decay_logs(target, t)
    with np.errstate(over="ignore"):  # an overflow is the documented inf
        return np.exp(log_scale[:, None] + log_q[:, None] * (k[None, :] / target.r0))


def precision_decay(target, t, relative=True) -> np.ndarray:
    """``max |[P_t]_ij|`` over pairs at distance k, for ``k = 0 .. diameter``: shape (T, k).

    ``relative``: divide each pair's entry by ``[P_t]_ii`` of its row first."""
    relative = flag("relative", relative)
    Pt = noised_precision(target, t)
    dist = target.lattice.distances()
    if relative:
        Pt = Pt / np.einsum("tii->ti", Pt)[:, :, None]
    out = np.zeros((Pt.shape[0], target.lattice.diameter + 1))
    for k in range(out.shape[1]):
        out[:, k] = np.abs(Pt[:, dist == k]).max(axis=1)
    return out


def localization_radius(target, t, eps=1e-3, method="exact") -> np.ndarray:
    """Localization radius ``r_loc(t; eps)`` for each t (integers, shape (T,)).

    ``method="exact"``: the smallest r with ``|[P_t]_ij| <= eps [P_t]_ii`` whenever
    ``dist(i, j) > r``.  ``method="bound"``: the smallest r at which the Demko-Moss-Smith bound
    at distance ``r + 1`` falls below ``eps / lambda_max(C_t)`` (a lower bound on every
    ``[P_t]_ii``); it is never below the exact radius.  Both are capped at the diameter.
    """
    eps = number("eps", eps)
    if not 0 < eps < 1:
        raise ValueError(f"eps: relative threshold must be in (0, 1) (got {eps!r})")
    t = _times(t)
    diam = check_target(target).lattice.diameter
    method = choice("method", method, ("exact", "bound"))
    if method == "exact":
        rel = precision_decay(target, t, relative=True)
        above = rel > eps
        above[:, 0] = True
        # last distance still above eps; r_loc is that distance
        last = np.where(above, np.arange(diam + 1)[None, :], 0).max(axis=1)
        return last.astype(int)
    if target.r0 == 0:
        return np.zeros(t.shape, dtype=int)
    a, s2 = ou_coefficients(t)
    log_q, log_scale, _, _, _ = _decay_logs(target, t)
    diag_low = 1.0 / (a ** 2 / target.eigenvalues[0] + s2)  # 1 / lambda_max(C_t)
    out = np.zeros(t.shape, dtype=int)
    for n, (lq, ls, low) in enumerate(zip(log_q, log_scale, diag_low)):
        if lq == -np.inf:   # kappa_t = 1: P_t is diagonal
            continue
        if not lq < 0:      # q rounds to 1: no decay resolved
            out[n] = diam
            continue
        # scale q^{(r+1)/r0} <= eps low  <=>  r + 1 >= r0 log(eps low / scale) / log q
        need = target.r0 * (math.log(eps) + math.log(low) - ls) / lq
        out[n] = min(diam, max(0, math.ceil(need - 1e-12) - 1)) if need < diam + 2 else diam
    return out
