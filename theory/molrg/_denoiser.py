"""The optimal denoiser of a MoLRG and the identity that turns the low-rank denoising loss into
PCA (K = 1) or K-subspaces clustering (K > 1) (research note molrg_subspace.md sections 2-4).

Forward process ``x_t = s x_0 + gamma eps``.  With ``c = s / (s^2 + gamma^2)`` and
``a = s c = s^2 / (s^2 + gamma^2)``:

* posterior mean [reconstructed: exact Gaussian algebra; LOCO-Edit Lemma 1 in the VP case]

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

from .._checks import floats as _floats

__all__ = ["posterior_mean", "score", "lowrank_denoising_loss", "hardmax_denoising_loss",
           "subspace_objective"]


def _coeffs(s, gamma):
    """Validated ``s``, ``gamma`` and the derived ``s^2``, ``gamma^2``, ``a = s^2 / (s^2 +
    gamma^2)`` (all representable: finite, ``gamma^2 > 0``)."""
    s = _floats("s", s)
    gamma = _floats("gamma", gamma)
    if np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("s: signal scale must be finite and > 0")
    if np.any(~np.isfinite(gamma)) or np.any(gamma <= 0):
        raise ValueError("gamma: noise scale must be finite and > 0")
    try:
        np.broadcast_shapes(s.shape, gamma.shape)
    except ValueError:
        raise ValueError(f"s, gamma: shapes {s.shape} and {gamma.shape} do not broadcast") \
            from None
    with np.errstate(over="ignore", under="ignore"):
        s2, g2 = s ** 2, gamma ** 2
        tot = s2 + g2
    if np.any(~np.isfinite(s2)) or np.any(~np.isfinite(tot)):
        raise ValueError("s: signal scale too large (s^2 + gamma^2 overflows)")
    if np.any(g2 == 0):
        raise ValueError("gamma: noise scale too small (gamma^2 underflows)")
    if np.any(s2 == 0):
        raise ValueError("s: signal scale too small (s^2 underflows)")
    return s, gamma, s2, g2, s2 / tot


def _bases(bases):
    u = _floats("bases", bases)
    if u.ndim == 2:
        u = u[None]
    if u.ndim != 3 or 0 in u.shape:
        raise ValueError(f"bases: expected a non-empty (K, D, d) array (got shape {u.shape})")
    if not np.all(np.isfinite(u)):
        raise ValueError("bases: entries must be finite")
    return _orthonormal("bases", u)


#: Largest ``|U^T U - I|`` entry accepted: the formulas hold for orthonormal columns only
#: (float32 bases from the simulations are orthonormal to about 1e-7).
_ORTHO_TOL = 1e-5


def _orthonormal(name, u):
    with np.errstate(over="ignore", invalid="ignore"):
        gram = np.einsum("...Di,...Dj->...ij", u, u)
        dev = np.max(np.abs(gram - np.eye(u.shape[-1])))
    if not dev <= _ORTHO_TOL:  # also catches an overflowed (inf or NaN) Gram matrix
        raise ValueError(f"{name}: columns must be orthonormal (max |U^T U - I| = {dev:.3g} "
                         f"> {_ORTHO_TOL:g})")
    return u


def _data(name, X, D, rows=False):
    """``X`` with last axis ``D``, finite (``rows``: an ``(N, D)`` matrix with ``N >= 1``)."""
    X = _floats(name, X)
    if rows and (X.ndim != 2 or X.shape[0] < 1):
        raise ValueError(f"{name}: expected an (N, D) array with N >= 1 (got shape {X.shape})")
    if X.ndim < 1 or X.shape[-1] != D:
        raise ValueError(f"{name}: last axis must be D = {D} (got shape {X.shape})")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name}: entries must be finite")
    return X


def _checked(name, value, what):
    """``value`` computed under ``np.errstate``: finite, or a ValueError naming ``name``."""
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name}: too large, {what} overflows")
    return value


def posterior_mean(x, s, gamma, bases, weights=None):
    """``E[x_0 | x_t = x]`` for the noiseless MoLRG with ``bases`` (K, D, d; orthonormal
    columns, else a ``ValueError`` names ``bases``) and ``weights``.

    ``x`` is ``(..., D)``; ``s`` and ``gamma`` are scalars or broadcast against ``x[..., 0]``.
    ``weights`` are K finite non-negative numbers summing to 1 (uniform by default).  The
    soft-max over subspaces goes through log-sum-exp, so it is finite at every noise level;
    a ``ValueError`` names ``x`` when ``||U_k^T x||^2`` times the soft-max's inverse
    temperature is beyond the float range.
    """
    s, gamma, s2, g2, a = _coeffs(s, gamma)
    u = _bases(bases)
    K, D, d = u.shape
    x = _data("x", x, D)
    try:
        np.broadcast_shapes(s.shape, gamma.shape, x.shape[:-1])
    except ValueError:
        raise ValueError(f"s, gamma: shapes {s.shape} and {gamma.shape} do not broadcast "
                         f"against x[..., 0] {x.shape[:-1]}") from None
    if weights is None:
        w = np.full(K, 1.0 / K)
    else:
        w = _floats("weights", weights)
        if w.shape != (K,) or not np.all(np.isfinite(w)) or np.any(w < 0) \
                or abs(w.sum() - 1) > 1e-9:
            raise ValueError(f"weights: need {K} finite non-negative weights summing to 1 "
                             f"(got {weights!r})")
    with np.errstate(over="ignore"):
        phi = a / (2 * g2)                # s^2 / (2 gamma^2 (s^2 + gamma^2))
    if not np.all(np.isfinite(phi)):
        raise ValueError("gamma: too small, the soft-max's inverse temperature "
                         "s^2 / (2 gamma^2 (s^2 + gamma^2)) overflows")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        proj = np.einsum("kDd,...D->...kd", u, x)                   # U_k^T x
        energy = _checked("x", np.sum(proj ** 2, axis=-1), "||U_k^T x||^2")
        # log(gamma^2 / (s^2 + gamma^2)) = log(1 - a), written to survive a -> 1
        log_shrink = np.log(g2) - np.log(s2 + g2)
        logits = (np.log(w) + 0.5 * d * log_shrink[..., None]
                  + _checked("x", phi[..., None] * energy, "phi ||U_k^T x||^2 (the logits)"))
    post = np.exp(logits - logsumexp(logits, axis=-1, keepdims=True))
    back = np.einsum("kDd,...kd->...kD", u, proj)                   # U_k U_k^T x
    c = s / (s2 + g2)
    return c[..., None] * np.einsum("...k,...kD->...D", post, back)


def score(x, s, gamma, bases, weights=None):
    """``grad log p_t(x) = (s E[x_0 | x] - x) / gamma^2`` for the noiseless MoLRG (a
    ``ValueError`` names ``x`` where it is beyond the float range)."""
    s, gamma, _, g2, _ = _coeffs(s, gamma)
    pm = posterior_mean(x, s, gamma, bases, weights)
    with np.errstate(over="ignore", invalid="ignore"):
        out = (s[..., None] * pm - _floats("x", x)) / g2[..., None]
    return _checked("x", out, "the score")


def _loss(norms, a, proj_energy, d, s2, g2):
    """``mean ||x||^2 - a (2 - a) mean energy + d a (1 - a)`` (Lemma A), finite or a
    ValueError naming ``X``."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = (np.mean(norms) - a * (2 - a) * proj_energy
               + d * (s2 / (s2 + g2)) * (g2 / (s2 + g2)))
    out = _checked("X", out, "the loss")
    return out if out.ndim else float(out)


def lowrank_denoising_loss(U, X, s, gamma):
    """Lemma A averaged over the rows of ``X`` (N, D): the noise-averaged loss of the K = 1
    low-rank denoiser ``c U U^T x_t`` at one noise level (``U`` a (D, d) matrix, orthonormal
    for the identity to hold; ``s`` and ``gamma`` may be arrays of noise levels)."""
    s, gamma, s2, g2, a = _coeffs(s, gamma)
    U = _floats("U", U)
    if U.ndim != 2 or 0 in U.shape or not np.all(np.isfinite(U)):
        raise ValueError(f"U: expected a finite (D, d) matrix (got shape {U.shape})")
    _orthonormal("U", U)
    X = _data("X", X, U.shape[0], rows=True)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = _checked("X", np.sum(X ** 2, axis=1), "||x||^2")
        energy = np.mean(_checked("X", np.sum((X @ U) ** 2, axis=1), "||U^T x||^2"))
    return _loss(norms, a, energy, U.shape[1], s2, g2)


def subspace_objective(bases, X):
    """``(1/N) sum_i max_k ||U_k^T x_i||^2``: what the hard-max loss maximizes (K-subspaces)."""
    u = _bases(bases)
    X = _data("X", X, u.shape[1], rows=True)
    with np.errstate(over="ignore", invalid="ignore"):
        energy = np.sum(np.einsum("kDd,ND->Nkd", u, X) ** 2, axis=-1)
        return float(_checked("X", np.mean(np.max(energy, axis=1)), "||U_k^T x||^2"))


def hardmax_denoising_loss(bases, X, s, gamma):
    """The noise-averaged loss of the hard-max denoiser (weights from the clean sample, paper
    eqs. 16-17): ``mean ||x||^2 - a (2 - a) subspace_objective + d s^2 gamma^2 / (s^2 +
    gamma^2)^2``.  Minimizing it over orthonormal bases is K-subspaces (paper Theorem 3)."""
    s, gamma, s2, g2, a = _coeffs(s, gamma)
    u = _bases(bases)
    X = _data("X", X, u.shape[1], rows=True)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = _checked("X", np.sum(X ** 2, axis=1), "||x||^2")
    return _loss(norms, a, subspace_objective(u, X), u.shape[2], s2, g2)
