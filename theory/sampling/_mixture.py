"""Gaussian-mixture data for the VE sampler: noised densities and scores, and the path KL.

Data ``P_0 = sum_k pi_k N(mu_k, lambda_k I_d)``.  At noise variance ``v`` the marginal is the same
mixture with variances ``lambda_k + v``, and its score is the posterior average

    grad log p_v(x) = sum_k w_k(x) (mu_k - x) / (lambda_k + v),
    w_k(x) proportional to pi_k N(x; mu_k, (lambda_k + v) I),

evaluated with a log-sum-exp.

Path KL [derived].  Let ``P`` be the law of the forward process read at the grid's variances
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

from .._checks import ParameterTypeError, floats, integer, number
from ._bound import score_error_profile
from ..tidy import Tidy, TidyData
from ._schedules import SamplingGrid, check_grid

__all__ = ["GaussianMixture", "PathKL", "path_kl_1d", "fisher_information_1d", "entropy_1d",
           "step_quadrature"]


MEAN_MAX = 1e100            # |means| (squared distances stay representable)
VAR_RANGE = (1e-200, 1e200)  # noised variances lambda_k + v: the squares of SIGMA_RANGE


def _check_x(x):
    x = floats("x", x)
    if not np.all(np.isfinite(x)):
        raise ValueError("x: points must be finite")
    return x


@dataclass(frozen=True)
class GaussianMixture:
    """``sum_k weights_k N(means_k, variances_k I_d)``.

    Parameters
    ----------
    weights : (K,) array, positive, summing to 1
    means : (K, d) array (or (K,) for d = 1), entries in ``[-1e100, 1e100]``
    variances : (K,) array of per-coordinate component variances, ``0 <= lambda_k <= 1e200``
        (0: point masses)

    The methods take a noise variance ``v``: finite, ``0 <= v <= 1e200`` and ``lambda_k + v
    >= 1e-200`` for every component (so point masses need ``v > 0``); otherwise, and for
    points ``x`` so far from every component that the density underflows, a ``ValueError``
    names the argument.
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self):
        w = np.atleast_1d(floats("weights", self.weights))
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("weights: need a non-empty vector of positive mixture weights")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"weights: must sum to 1 (sum = {w.sum():.12g})")
        mu = floats("means", self.means)
        given = mu.shape
        if mu.ndim == 1:
            mu = mu[:, None]
        lam = floats("variances", self.variances)
        try:
            lam = np.broadcast_to(lam, w.shape).copy()
        except ValueError:
            raise ValueError(f"variances: expected one per component ({w.size}) or a single "
                             f"value (got shape {lam.shape})") from None
        if mu.ndim != 2 or mu.shape[0] != w.size or not np.all(np.isfinite(mu)):
            raise ValueError(f"means: expected {w.size} finite rows (one per component), "
                             f"got shape {given}")
        if np.abs(mu).max() > MEAN_MAX:
            raise ValueError(f"means: entries must lie in [-{MEAN_MAX:g}, {MEAN_MAX:g}] so that "
                             f"squared distances are representable")
        if not np.all(np.isfinite(lam)) or np.any(lam < 0):
            raise ValueError("variances: component variances must be finite and >= 0")
        if lam.max() > VAR_RANGE[1]:
            raise ValueError(f"variances: component variances must be <= {VAR_RANGE[1]:g}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "variances", lam)

    @classmethod
    def symmetric_1d(cls, separation: float = 2.0, std: float = 0.1, K: int = 2):
        """``K`` equal-weight components with standard deviation ``std``, evenly spaced
        ``separation`` apart and centred at 0 (the default: modes at -1 and +1)."""
        K = integer("K", K, low=1)
        if K > 10**6:
            raise ValueError(f"K: at most 10^6 components (got {K})")
        separation, std = number("separation", separation), number("std", std)
        for name, x in (("separation", separation), ("std", std)):
            if not math.isfinite(x):
                raise ValueError(f"{name}: expected a finite number (got {x!r})")
        if not separation > 0:
            raise ValueError(f"separation: must be > 0 (got {separation!r})")
        if not 0 <= std <= math.sqrt(VAR_RANGE[1]):
            raise ValueError(f"std: must lie in [0, {math.sqrt(VAR_RANGE[1]):g}] (got {std!r})")
        if (K - 1) / 2.0 * separation > MEAN_MAX:
            raise ValueError(f"separation: the outer modes leave [-{MEAN_MAX:g}, {MEAN_MAX:g}]")
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

    def check_v(self, v) -> np.ndarray:
        """The noise variance(s) ``v`` as floats, checked (see the class doc)."""
        v = floats("v", v)
        if not np.all(np.isfinite(v)) or np.any(v < 0) or np.any(v > VAR_RANGE[1]):
            raise ValueError(f"v: noise variances must be finite and in [0, {VAR_RANGE[1]:g}] "
                             f"(got {v!r})")
        if v.size and self.variances.min() + v.min() < VAR_RANGE[0]:
            raise ValueError(f"v: lambda_k + v must be >= {VAR_RANGE[0]:g} for every component "
                             f"(point masses need v > 0; got v = {v.min()!r})")
        return v

    def _logits(self, x, v):
        x = _check_x(x)
        v = self.check_v(v)
        if v.size != 1:
            raise ValueError(f"v: one noise variance is expected here (got {v.size})")
        v = float(v.reshape(-1)[0])
        if x.ndim == 0 or x.shape[-1] != self.d:
            if self.d == 1:
                x = x[..., None]
            else:
                raise ValueError(f"x: last axis must have length d = {self.d}")
        s = self.variances + v                                   # (K,)
        diff = self.means - x[..., None, :]                       # (..., K, d)
        with np.errstate(over="ignore"):  # a far component's weight is exp(-inf) = 0
            q = np.sum(diff**2, -1)
            logit = np.log(self.weights) - 0.5 * q / s - 0.5 * self.d * np.log(2 * np.pi * s)
        if np.any(np.all(np.isneginf(logit), axis=-1)):
            raise ValueError("x: a point is so far from every component that the density "
                             "underflows at this noise level")
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
        with np.errstate(over="ignore"):  # only where w = 0, masked out
            a = np.where(w > 0, diff[..., 0] / s, 0.0)
        m = np.sum(w * a, -1, keepdims=True)
        # the variance as a mean of squares about m: >= 0 without cancellation, so that
        # S' >= -1 / (lambda_min + v) holds in floating point too
        with np.errstate(over="ignore", invalid="ignore"):  # squares beyond float64 (times
            spread = np.sum(w * (a - m) ** 2, -1)              # a zero weight): redone scaled
        if not np.all(np.isfinite(spread)):
            spread = _scaled_mean_square(w, a - m)
        out = -np.sum(w / s, -1) + spread
        if not np.all(np.isfinite(out)):
            raise ValueError("v: so small against the distance of x from the components that "
                             "the score derivative overflows float64")
        return out

    def quadrature_1d(self, v: float, n_nodes: int = 160):
        """Nodes and weights integrating against ``p_v`` (Gauss-Hermite per component, d = 1)."""
        if self.d != 1:
            raise ValueError("quadrature_1d: the mixture must be one-dimensional")
        z, wz = _hermite_rule(n_nodes)
        v = self.check_v(v)
        if v.size != 1:
            raise ValueError(f"v: one noise variance is expected here (got {v.size})")
        sd = np.sqrt(self.variances + float(v.reshape(-1)[0]))
        nodes = self.means[:, 0][:, None] + sd[:, None] * z[None, :]
        weights = self.weights[:, None] * wz[None, :]
        return nodes.ravel(), weights.ravel()


def _scaled_mean_square(w, dev):
    """``sum(w * dev^2)`` along the last axis with ``dev`` scaled by a power of two first, so
    that squares beyond the float64 range are not formed on the way (inf only where the sum
    itself is)."""
    top = np.max(np.abs(dev), -1, keepdims=True)
    scale = np.ldexp(1.0, np.frexp(np.where(top > 0, top, 1.0))[1])   # 2^k > top
    with np.errstate(over="ignore", under="ignore"):
        return scale[..., 0] * (scale[..., 0] * np.sum(w * (dev / scale) ** 2, -1))


def _hermite_rule(n):
    """Probabilists' Gauss-Hermite nodes and weights normalised to ``N(0, 1)`` (numpy's rule
    overflows beyond about 170 nodes, hence the cap)."""
    return _hermite_cached(integer("n_nodes", n))


@lru_cache(maxsize=8)
def _hermite_cached(n):
    if not 8 <= n <= 160:
        raise ValueError(f"n_nodes: Gauss-Hermite nodes per component, 8 .. 160 (got {n})")
    z, w = hermegauss(n)
    z.flags.writeable = False
    w = w / math.sqrt(2 * math.pi)
    w.flags.writeable = False
    return z, w


_MAX_NODES_PER_PIECE = 1000
_MAX_STEP_NODES = 10**7


def step_quadrature(grid: SamplingGrid, n_sub: int = 8, max_width: float = 0.5):
    """Nodes and weights for ``int_{v_{j+1}}^{v_j} f(v) dv`` on every step of ``grid``.

    Each step is cut into pieces no wider than ``max_width`` in ``ln v``, each integrated by
    ``n_sub``-point Gauss-Legendre in ``ln v`` (weights include the Jacobian ``v``).  Returns
    ``(nodes, weights, step)``: flat arrays, ``step`` the index of the step of each node.
    ``n_sub`` is at most 1000 and the grid at most ``10^7`` nodes in all (``max_width > 0``).
    """
    check_grid(grid)
    n_sub = integer("n_sub", n_sub, low=1, strict=True)
    if n_sub > _MAX_NODES_PER_PIECE:
        raise ValueError(f"n_sub: at most {_MAX_NODES_PER_PIECE} Gauss-Legendre nodes per piece "
                         f"(got {n_sub!r})")
    max_width = number("max_width", max_width)
    if not max_width > 0:
        raise ValueError(f"max_width: must be a number > 0 (got {max_width!r})")
    lv = np.log(grid.variances)
    pieces = [max(1, math.ceil((lv[j] - lv[j + 1]) / max_width)) for j in range(grid.N)]
    if sum(pieces) * n_sub > _MAX_STEP_NODES:
        raise ValueError(f"max_width: too small for this grid ({sum(pieces) * n_sub:.3g} nodes; "
                         f"at most {_MAX_STEP_NODES:g})")
    u, wu = np.polynomial.legendre.leggauss(int(n_sub))
    nodes, weights, step = [], [], []
    for j in range(grid.N):
        cuts = np.linspace(lv[j + 1], lv[j], pieces[j] + 1)
        half = 0.5 * np.diff(cuts)[:, None]
        uu = half * (u[None, :] + 1.0) + cuts[:-1, None]
        nodes.append(np.exp(uu).ravel())
        weights.append((half * wu[None, :] * np.exp(uu)).ravel())
        step.append(np.full(uu.size, j))
    return np.concatenate(nodes), np.concatenate(weights), np.concatenate(step)


def _check_1d(mixture):
    """A one-dimensional :class:`GaussianMixture` (another object is a wrong kind, a mixture in
    d > 1 a wrong value)."""
    if not isinstance(mixture, GaussianMixture):
        raise ParameterTypeError("mixture: expected a GaussianMixture")
    if mixture.d != 1:
        raise ValueError(f"mixture: one-dimensional data needed here (got d = {mixture.d})")


def _node_logits(mixture, vb, z):
    """At the Gauss-Hermite nodes ``x = mu_k + sqrt(s_k) z_n`` of each component k and each
    variance in ``vb``: ``diff[b, k, n, l] = mu_l - x`` formed as ``(mu_l - mu_k) - sqrt(s_k)
    z_n`` (no cancellation when the means are large against ``sqrt(s)``), the logits
    ``log pi_l N(x; mu_l, s_l)`` and ``s`` (B, K)."""
    mu = mixture.means[:, 0]
    s = mixture.variances[None, :] + vb[:, None]                        # (B, K)
    dmu = mu[None, :] - mu[:, None]                                     # (K, L): mu_l - mu_k
    diff = dmu[None, :, None, :] - np.sqrt(s)[:, :, None, None] * z[None, None, :, None]
    with np.errstate(over="ignore"):  # far components: logit -inf, weight 0
        logit = (np.log(mixture.weights)[None, None, None, :]
                 - 0.5 * diff ** 2 / s[:, None, None, :]
                 - 0.5 * np.log(2 * np.pi * s)[:, None, None, :])
    return diff, logit, s


def fisher_information_1d(mixture: GaussianMixture, v, n_nodes: int = 160) -> np.ndarray:
    """``J(v) = E_{p_v} (d/dx log p_v)^2`` at each variance in ``v`` (d = 1)."""
    _check_1d(mixture)
    v = mixture.check_v(v)
    z, wz = _hermite_rule(n_nodes)
    out = np.empty(v.size)
    for start in range(0, v.size, 64):              # 64 variances at a time
        vb = v.ravel()[start:start + 64]
        diff, logit, s = _node_logits(mixture, vb, z)
        w = np.exp(logit - logsumexp(logit, axis=-1, keepdims=True))
        score = np.sum((w / s[:, None, None, :]) * diff, axis=-1)
        out[start:start + vb.size] = np.einsum("bkn,k,n->b", score**2, mixture.weights, wz)
    return out.reshape(v.shape)


def _expected_log_density(mixture, v, z, wz):
    """``E_{p_v} log p_v`` by Gauss-Hermite per component (nodes as in :func:`_node_logits`)."""
    _, logit, _ = _node_logits(mixture, np.array([v]), z)
    return float(np.einsum("kn,k,n->", logsumexp(logit[0], axis=-1), mixture.weights, wz))


def entropy_1d(mixture: GaussianMixture, v: float, n_nodes: int = 160) -> float:
    """Differential entropy ``H(p_v) = -E log p_v`` (d = 1)."""
    _check_1d(mixture)
    v = mixture.check_v(v)
    if v.size != 1:
        raise ValueError(f"v: one noise variance is expected here (got {v.size})")
    z, wz = _hermite_rule(n_nodes)
    return -_expected_log_density(mixture, float(v.reshape(-1)[0]), z, wz)


@dataclass(frozen=True)
class PathKL(Tidy):
    """The three parts of ``KL(P || Q)`` on a grid (see the module docstring); ``total`` is
    their sum.  ``per_step`` holds the Riemann-error part of each step.  ``to_pandas()``
    and ``to_xarray()`` give ``per_step`` over ``step`` with the parts alongside."""

    initial: float
    discretization: float
    score: float
    per_step: np.ndarray

    @property
    def total(self) -> float:
        return self.initial + self.discretization + self.score

    def _tidy(self):
        per_step = np.ravel(self.per_step)
        return TidyData({"step": np.arange(per_step.size)},
                        {"per_step": (("step",), per_step),
                         **{k: float(getattr(self, k))
                            for k in ("initial", "discretization", "score", "total")}})


def path_kl_1d(grid: SamplingGrid, mixture: GaussianMixture, score_error=0.0, *,
               n_nodes: int = 160, n_sub: int = 8) -> PathKL:
    """Exact path KL of the exponential-integrator chain for one-dimensional mixture data.

    ``score_error`` is the squared score error per level (as in :func:`kl_bound`).  The
    integral of ``J`` over each step uses :func:`step_quadrature` (``n_sub`` Gauss-Legendre
    nodes per piece of width 0.5 in ``ln v``); the sum over steps equals ``2 (H(p_{v_0}) -
    H(p_{v_N}))`` (de Bruijn), which the tests check.
    """
    _check_1d(mixture)
    v = check_grid(grid).variances
    eps2 = score_error_profile(grid, score_error)
    nodes, weights, step = step_quadrature(grid, n_sub)
    J = fisher_information_1d(mixture, nodes, n_nodes)
    integral = np.bincount(step, weights * J, minlength=grid.N)
    riemann = (v[:-1] - v[1:]) * fisher_information_1d(mixture, v[:-1], n_nodes)
    per_step = 0.5 * (integral - riemann)
    x, w = mixture.quadrature_1d(v[0], n_nodes)
    z, wz = _hermite_rule(n_nodes)
    with np.errstate(over="ignore"):  # reported below, by name
        log_ref = -0.5 * x**2 / v[0] - 0.5 * math.log(2 * math.pi * v[0])
        initial = _expected_log_density(mixture, v[0], z, wz) - float(np.sum(w * log_ref))
    if not math.isfinite(initial):
        raise ValueError("mixture: its means are so far from 0 at sigma_max that "
                         "KL(p_T || N(0, sigma_max^2)) overflows")
    score = 0.5 * float(np.sum((v[:-1] - v[1:]) * eps2))
    return PathKL(initial=initial, discretization=float(per_step.sum()), score=score,
                  per_step=per_step)
