"""The optimal denoiser of a MoLRG and the identity that turns the low-rank denoising loss into
PCA (K = 1) or K-subspaces clustering (K > 1) (research note molrg_subspace.md sections 2-4).

Forward process ``x_t = s x_0 + gamma eps``.  With ``c = s / (s^2 + gamma^2)`` and
``a = s c = s^2 / (s^2 + gamma^2)``:

* posterior mean (reconstructed, exact Gaussian algebra; LOCO-Edit Lemma 1 in the VP case)

      E[x_0 | x_t] = c sum_k w_k(x_t) U_k U_k^T x_t,
      w_k ∝ pi_k (gamma^2 / (s^2 + gamma^2))^{d_k / 2} exp(phi ||U_k^T x_t||^2),
      phi = s^2 / (2 gamma^2 (s^2 + gamma^2));

* score ``(s E[x_0 | x_t] - x_t) / gamma^2``;
* Lemma A (reconstructed, exact): for orthonormal ``U`` (D x d) and ``P = U U^T``

      E_eps ||c P (s x + gamma eps) - x||^2 = ||x||^2 - a (2 - a) ||U^T x||^2
                                               + d s^2 gamma^2 / (s^2 + gamma^2)^2,

  so the K = 1 loss is minimized by the top-d left singular vectors of the data (paper
  Theorem 1), and the hard-max K > 1 loss by the K-subspaces optimum (paper Theorem 3).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

__all__ = ["posterior_mean", "score", "lowrank_denoising_loss", "hardmax_denoising_loss",
           "subspace_objective"]


def _coeffs(s, gamma):
    s = np.asarray(s, dtype=float)
    gamma = np.asarray(gamma, dtype=float)
    if np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("s: signal scale must be finite and > 0")
    if np.any(~np.isfinite(gamma)) or np.any(gamma <= 0):
        raise ValueError("gamma: noise scale must be finite and > 0")
    return s, gamma


def _bases(bases):
    u = np.asarray(bases, dtype=float)
    if u.ndim == 2:
        u = u[None]
    if u.ndim != 3:
        raise ValueError(f"bases: expected a (K, D, d) array (got shape {u.shape})")
    return u


def posterior_mean(x, s, gamma, bases, weights=None):
    """``E[x_0 | x_t = x]`` for the noiseless MoLRG with ``bases`` (K, D, d) and ``weights``.

    ``x`` is ``(..., D)``; ``s`` and ``gamma`` are scalars or broadcast against ``x[..., 0]``.
    The soft-max over subspaces goes through log-sum-exp, so it is finite at every noise level.
    """
    s, gamma = _coeffs(s, gamma)
    u = _bases(bases)
    K, D, d = u.shape
    x = np.asarray(x, dtype=float)
    if x.shape[-1] != D:
        raise ValueError(f"x: last axis must be D = {D} (got {x.shape[-1]})")
    w = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, dtype=float)
    s2, g2 = s ** 2, gamma ** 2
    phi = s2 / (2 * g2 * (s2 + g2))
    proj = np.einsum("kDd,...D->...kd", u, x)                       # U_k^T x
    energy = np.sum(proj ** 2, axis=-1)                             # ||U_k^T x||^2
    logits = (np.log(w) + 0.5 * d * np.log(g2 / (s2 + g2))[..., None]
              + phi[..., None] * energy)
    post = np.exp(logits - logsumexp(logits, axis=-1, keepdims=True))
    back = np.einsum("kDd,...kd->...kD", u, proj)                   # U_k U_k^T x
    c = s / (s2 + g2)
    return c[..., None] * np.einsum("...k,...kD->...D", post, back)


def score(x, s, gamma, bases, weights=None):
    """``grad log p_t(x) = (s E[x_0 | x] - x) / gamma^2`` for the noiseless MoLRG."""
    s, gamma = _coeffs(s, gamma)
    pm = posterior_mean(x, s, gamma, bases, weights)
    return (s[..., None] * pm - np.asarray(x, dtype=float)) / (gamma ** 2)[..., None]


def lowrank_denoising_loss(U, X, s, gamma):
    """Lemma A averaged over the rows of ``X`` (N, D): the noise-averaged loss of the K = 1
    low-rank denoiser ``c U U^T x_t`` at one noise level."""
    s, gamma = _coeffs(s, gamma)
    U = np.asarray(U, dtype=float)
    X = np.asarray(X, dtype=float)
    a = s ** 2 / (s ** 2 + gamma ** 2)
    energy = np.mean(np.sum((X @ U) ** 2, axis=1))
    return (np.mean(np.sum(X ** 2, axis=1)) - a * (2 - a) * energy
            + U.shape[1] * s ** 2 * gamma ** 2 / (s ** 2 + gamma ** 2) ** 2)


def subspace_objective(bases, X):
    """``(1/N) sum_i max_k ||U_k^T x_i||^2``: what the hard-max loss maximizes (K-subspaces)."""
    u = _bases(bases)
    energy = np.sum(np.einsum("kDd,ND->Nkd", u, np.asarray(X, dtype=float)) ** 2, axis=-1)
    return float(np.mean(np.max(energy, axis=1)))


def hardmax_denoising_loss(bases, X, s, gamma):
    """The noise-averaged loss of the hard-max denoiser (weights from the clean sample, paper
    eqs. 16-17): ``mean ||x||^2 - a (2 - a) subspace_objective + d s^2 gamma^2 / (s^2 +
    gamma^2)^2``.  Minimizing it over orthonormal bases is K-subspaces (paper Theorem 3)."""
    s, gamma = _coeffs(s, gamma)
    u = _bases(bases)
    X = np.asarray(X, dtype=float)
    a = s ** 2 / (s ** 2 + gamma ** 2)
    return (np.mean(np.sum(X ** 2, axis=1)) - a * (2 - a) * subspace_objective(u, X)
            + u.shape[2] * s ** 2 * gamma ** 2 / (s ** 2 + gamma ** 2) ** 2)
