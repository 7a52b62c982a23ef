"""Gaussian-mixture data for the VE sampler: noised densities and scores, and the path KL.

Data ``P_0 = sum_k pi_k N(mu_k, lambda_k I_d)``.  At noise variance ``v`` the marginal is the same
mixture with variances ``lambda_k + v``, and its score is the posterior average

    grad log p_v(x) = sum_k w_k(x) (mu_k - x) / (lambda_k + v),
    w_k(x) proportional to pi_k N(x; mu_k, (lambda_k + v) I),

evaluated with a log-sum-exp.

Path KL [DERIVED].  Let ``P`` be the law of the forward process read at the grid's variances
``v_0 > ... > v_N`` (reversed) and ``Q`` the law of the exponential-integrator chain with score
``S``.  By the chain rule, and Tweedie's formula ``E[Y_{j+1} | Y_j] = Y_j + Delta v_j grad log p_j``
applied to the cross term,

    KL(P || Q) = KL(p_{v_0} || N(0, v_0 I))
                 + 1/2 [ int_{v_N}^{v_0} J(v) dv  -  sum_j Delta v_j J(v_j) ]
                 + 1/2 sum_j Delta v_j E_{p_{v_j}} ||S_j - grad log p_{v_j}||^2,

with ``J(v) = E_{p_v} ||grad log p_v||^2`` the Fisher information.  The middle term is the error
of the upper-endpoint Riemann sum of the decreasing function ``J`` (so it is >= 0), and by de
Bruijn's identity ``1/2 int J dv = H(p_{v_0}) - H(p_{v_N})``.  The last term is exactly the
explicit bound's ``E_S``.  Data processing gives ``KL(p_delta || q_N) <= KL(P || Q)``: the path
KL sits between the bound and the KL of what is sampled.  For point-mass data
(``J = d / v``) the middle term equals the bound's ``E_D1 = d/2 sum (ln r - 1 + 1/r)``.

One-dimensional integrals over ``x`` use Gauss-Hermite quadrature per component.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import logsumexp

from ._bound import score_error_profile
from ._schedules import SamplingGrid

__all__ = ["GaussianMixture", "PathKL", "path_kl_1d", "fisher_information_1d", "entropy_1d",
           "step_quadrature"]


@dataclass(frozen=True)
class GaussianMixture:
    """``sum_k weights_k N(means_k, variances_k I_d)``.

    Parameters
    ----------
    weights : (K,) array, positive, summing to 1
    means : (K, d) array (or (K,) for d = 1)
    variances : (K,) array of per-coordinate component variances, >= 0 (0: point masses)
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self):
        w = np.atleast_1d(np.asarray(self.weights, dtype=float))
        mu = np.asarray(self.means, dtype=float)
        if mu.ndim == 1:
            mu = mu[:, None]
        try:
            lam = np.broadcast_to(np.asarray(self.variances, dtype=float), w.shape).copy()
        except ValueError:
            raise ValueError(f"variances: expected one per component ({w.size}) or a single "
                             f"value (got shape {np.shape(self.variances)})") from None
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("weights: need a non-empty vector of positive mixture weights")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights: must sum to 1 (sum = {w.sum():.12g})")
        if mu.ndim != 2 or mu.shape[0] != w.size or not np.all(np.isfinite(mu)):
            raise ValueError(f"means: expected {w.size} finite rows (one per component), "
                             f"got shape {np.shape(self.means)}")
        if not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise ValueError("variances: component variances must be finite and >= 0")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "variances", lam)

    @classmethod
    def symmetric_1d(cls, separation: float = 2.0, std: float = 0.1, K: int = 2):
        """``K`` equal-weight components with standard deviation ``std``, evenly spaced
        ``separation`` apart and centred at 0 (the default: modes at -1 and +1)."""
        if not (separation > 0 and std >= 0) or int(K) != K or K < 1:
            raise ValueError("separation: need separation > 0, std >= 0 and an integer K >= 1")
        mu = (np.arange(K) - (K - 1) / 2.0) * separation
        return cls(np.full(K, 1.0 / K), mu, np.full(K, float(std) ** 2))

    @property
    def d(self) -> int:
        return self.means.shape[1]

    @property
    def K(self) -> int:
        return self.weights.size

    @property
    def second_moment(self) -> float:
        """``E ||X_0||^2 = sum_k pi_k (||mu_k||^2 + d lambda_k)``."""
        return float(np.sum(self.weights * (np.sum(self.means**2, 1) + self.d * self.variances)))

    def _logits(self, x, v):
        x = np.asarray(x, dtype=float)
        if x.shape[-1] != self.d:
            if self.d == 1:
                x = x[..., None]
            else:
                raise ValueError(f"x: last axis must have length d = {self.d}")
        s = self.variances + v                                   # (K,)
        diff = self.means - x[..., None, :]                       # (..., K, d)
        q = np.sum(diff**2, -1)
        logit = np.log(self.weights) - 0.5 * q / s - 0.5 * self.d * np.log(2 * np.pi * s)
        return logit, diff, s

    def log_density(self, x, v: float):
        """``log p_v(x)``; ``x`` has shape ``(..., d)`` (or ``(...)`` when d = 1)."""
        logit, _, _ = self._logits(x, v)
        return logsumexp(logit, axis=-1)

    def score(self, x, v: float):
        """``grad log p_v(x)``, shape ``(..., d)``."""
        logit, diff, s = self._logits(x, v)
        w = np.exp(logit - logsumexp(logit, axis=-1, keepdims=True))
        return np.sum((w / s)[..., None] * diff, axis=-2)

    def score_derivative_1d(self, x, v: float):
        """``d/dx grad log p_v(x)`` for d = 1: ``-sum_k w_k / s_k + Var_w((mu_k - x) / s_k)``."""
        if self.d != 1:
            raise ValueError("score_derivative_1d: the mixture must be one-dimensional")
        logit, diff, s = self._logits(x, v)
        w = np.exp(logit - logsumexp(logit, axis=-1, keepdims=True))
        a = diff[..., 0] / s
        m = np.sum(w * a, -1)
        return -np.sum(w / s, -1) + np.sum(w * a**2, -1) - m**2

    def quadrature_1d(self, v: float, n_nodes: int = 160):
        """Nodes and weights integrating against ``p_v`` (Gauss-Hermite per component, d = 1)."""
        if self.d != 1:
            raise ValueError("quadrature_1d: the mixture must be one-dimensional")
        z, wz = _hermite_rule(int(n_nodes))
        sd = np.sqrt(self.variances + v)
        nodes = self.means[:, 0][:, None] + sd[:, None] * z[None, :]
        weights = self.weights[:, None] * wz[None, :]
        return nodes.ravel(), weights.ravel()


@lru_cache(maxsize=8)
def _hermite_rule(n):
    """Probabilists' Gauss-Hermite nodes and weights normalised to ``N(0, 1)`` (numpy's rule
    overflows beyond about 170 nodes, hence the cap)."""
    if not 8 <= n <= 160:
        raise ValueError(f"n_nodes: Gauss-Hermite nodes per component, 8 .. 160 (got {n})")
    z, w = hermegauss(n)
    z.flags.writeable = False
    w = w / math.sqrt(2 * math.pi)
    w.flags.writeable = False
    return z, w


def step_quadrature(grid: SamplingGrid, n_sub: int = 8, max_width: float = 0.5):
    """Nodes and weights for ``int_{v_{j+1}}^{v_j} f(v) dv`` on every step of ``grid``.

    Each step is cut into pieces no wider than ``max_width`` in ``ln v``, each integrated by
    ``n_sub``-point Gauss-Legendre in ``ln v`` (weights include the Jacobian ``v``).  Returns
    ``(nodes, weights, step)``: flat arrays, ``step`` the index of the step of each node.
    """
    if isinstance(n_sub, bool) or not isinstance(n_sub, (int, np.integer)) or n_sub < 1:
        raise ValueError(f"n_sub: must be an integer >= 1 (got {n_sub!r})")
    u, wu = np.polynomial.legendre.leggauss(int(n_sub))
    lv = np.log(grid.variances)
    nodes, weights, step = [], [], []
    for j in range(grid.N):
        cuts = np.linspace(lv[j + 1], lv[j], max(1, math.ceil((lv[j] - lv[j + 1]) / max_width)) + 1)
        half = 0.5 * np.diff(cuts)[:, None]
        uu = half * (u[None, :] + 1.0) + cuts[:-1, None]
        nodes.append(np.exp(uu).ravel())
        weights.append((half * wu[None, :] * np.exp(uu)).ravel())
        step.append(np.full(uu.size, j))
    return np.concatenate(nodes), np.concatenate(weights), np.concatenate(step)


def _check_1d(mixture):
    if not isinstance(mixture, GaussianMixture):
        raise ValueError("mixture: expected a GaussianMixture")
    if mixture.d != 1:
        raise ValueError(f"mixture: one-dimensional data needed here (got d = {mixture.d})")


def fisher_information_1d(mixture: GaussianMixture, v, n_nodes: int = 160) -> np.ndarray:
    """``J(v) = E_{p_v} (d/dx log p_v)^2`` at each variance in ``v`` (d = 1)."""
    _check_1d(mixture)
    v = np.asarray(v, dtype=float)
    z, wz = _hermite_rule(int(n_nodes))
    out = np.empty(v.size)
    for start in range(0, v.size, 64):              # 64 variances at a time
        vb = v.ravel()[start:start + 64]
        s = mixture.variances[None, :] + vb[:, None]                       # (B, K)
        x = mixture.means[:, 0][None, :, None] + np.sqrt(s)[:, :, None] * z  # (B, K, n)
        logit = (np.log(mixture.weights)[None, None, None, :]
                 - 0.5 * (mixture.means[:, 0][None, None, None, :] - x[..., None]) ** 2
                 / s[:, None, None, :] - 0.5 * np.log(2 * np.pi * s)[:, None, None, :])
        w = np.exp(logit - logsumexp(logit, axis=-1, keepdims=True))
        score = np.sum(w * (mixture.means[:, 0][None, None, None, :] - x[..., None])
                       / s[:, None, None, :], axis=-1)
        out[start:start + vb.size] = np.einsum("bkn,k,n->b", score**2, mixture.weights, wz)
    return out.reshape(v.shape)


def entropy_1d(mixture: GaussianMixture, v: float, n_nodes: int = 160) -> float:
    """Differential entropy ``H(p_v) = -E log p_v`` (d = 1)."""
    _check_1d(mixture)
    x, w = mixture.quadrature_1d(v, n_nodes)
    return float(-np.sum(w * mixture.log_density(x, v)))


@dataclass(frozen=True)
class PathKL:
    """The three parts of ``KL(P || Q)`` on a grid (see the module docstring); ``total`` is
    their sum.  ``per_step`` holds the Riemann-error part of each step."""

    initial: float
    discretization: float
    score: float
    per_step: np.ndarray

    @property
    def total(self) -> float:
        return self.initial + self.discretization + self.score


def path_kl_1d(grid: SamplingGrid, mixture: GaussianMixture, score_error=0.0, *,
               n_nodes: int = 160, n_sub: int = 8) -> PathKL:
    """Exact path KL of the exponential-integrator chain for one-dimensional mixture data.

    ``score_error`` is the squared score error per level (as in :func:`kl_bound`).  The
    integral of ``J`` over each step uses :func:`step_quadrature` (``n_sub`` Gauss-Legendre
    nodes per piece of width 0.5 in ``ln v``); the sum over steps equals ``2 (H(p_{v_0}) -
    H(p_{v_N}))`` (de Bruijn), which the tests check.
    """
    _check_1d(mixture)
    v = grid.variances
    eps2 = score_error_profile(grid, score_error)
    nodes, weights, step = step_quadrature(grid, n_sub)
    J = fisher_information_1d(mixture, nodes, n_nodes)
    integral = np.bincount(step, weights * J, minlength=grid.N)
    riemann = (v[:-1] - v[1:]) * fisher_information_1d(mixture, v[:-1], n_nodes)
    per_step = 0.5 * (integral - riemann)
    x, w = mixture.quadrature_1d(v[0], n_nodes)
    log_ref = -0.5 * x**2 / v[0] - 0.5 * math.log(2 * math.pi * v[0])
    initial = float(np.sum(w * (mixture.log_density(x, v[0]) - log_ref)))
    score = 0.5 * float(np.sum((v[:-1] - v[1:]) * eps2))
    return PathKL(initial=initial, discretization=float(per_step.sum()), score=score,
                  per_step=per_step)
