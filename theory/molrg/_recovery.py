"""Sample complexity of subspace recovery from a MoLRG (Wang et al. 2024, Theorems 2 and 4;
research note molrg_subspace.md sections 4 and 8).

Errors are the projection distances ``||U_hat U_hat^T - U U^T||_F`` in ``[0, sqrt(2 d)]``;
with ``normalized=True`` they are divided by ``sqrt(2 d)`` (the package's success metric).

* threshold (paper): every component is recoverable once ``N_k >= d``, whatever ``D``;
* above it (paper, constants unknown): ``||.||_F <= c1 ||E_k||_F / (sqrt(N_k) - sqrt(d - 1))``;
* above it, first-order mean (derived here): with ``X = U A + E``, ``A`` a ``d x N`` Gaussian and
  isotropic noise of RMS norm ``noise``, Wedin's first-order term ``P_perp E A^+`` and the
  inverse-Wishart mean ``E tr (A A^T)^{-1} = d / (N - d - 1)`` give

      E ||U_hat U_hat^T - U U^T||_F^2 ≈ 2 noise^2 (1 - d / D) d / (N - d - 1),   N >= d + 2;

* below it, noiseless (paper and reconstructed): the sample span has dimension ``N`` and any
  completion is optimal; the worst completion gives ``sqrt(2 min(d - N, D - d))`` and a
  uniformly random one ``E||.||_F^2 = 2 (d - N) (1 - (d - N) / (D - N))``;
* multinomial labels: ``Pr[min_k N_k >= d]`` for ``(N_1, ..., N_K) ~ Mult(N, pi)``, exactly.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

from ..molrmog._bound import _pos
from ..molrmog._spec import _int
from ._setting import check_samples

__all__ = ["recovery_threshold", "theorem_bound", "noisy_error_rms", "noise_boundary",
           "failure_floor", "prob_all_components", "min_total_samples"]


def _dims(d, D=None):
    d = _int("d", d)
    if D is not None and d > _int("D", D):
        raise ValueError(f"d: subspace dimension {d} exceeds the ambient dimension D = {D}")
    return d


def recovery_threshold(d) -> int:
    """The predicted minimal samples per component, ``N_k* = d`` (paper, Theorems 2 and 4)."""
    return _dims(d)


def theorem_bound(N, d, noise_fro, *, c1=1.0, normalized=False):
    """``c1 ||E||_F / (sqrt(N) - sqrt(d - 1))`` for ``N >= d`` (``inf`` below; paper; ``c1``
    unknown in the paper, 1 by default)."""
    d = _dims(d)
    N = check_samples("N", N)
    noise_fro = np.asarray(noise_fro, dtype=float)
    if np.any(~np.isfinite(noise_fro)) or np.any(noise_fro < 0):
        raise ValueError("noise_fro: must be finite and >= 0")
    c1 = _pos("c1", c1, allow_zero=True)
    den = np.sqrt(N) - math.sqrt(d - 1)
    out = np.where(N >= d, c1 * noise_fro / np.where(N >= d, den, 1.0), np.inf)
    return out / math.sqrt(2 * d) if normalized else out


def noisy_error_rms(N, d, D, noise, *, normalized=True):
    """Root of the first-order mean ``E||U_hat U_hat^T - U U^T||_F^2`` of PCA on ``N`` samples
    (derived here, see the module docstring); ``inf`` for ``N <= d + 1`` where the
    inverse-Wishart mean diverges.  Normalized: ``noise sqrt((1 - d/D) / (N - d - 1))``.
    Noiseless: 0 from ``N = d`` on, ``inf`` below (see :func:`failure_floor` there)."""
    d = _dims(d, D)
    N = check_samples("N", N)
    noise = _pos("noise", noise, allow_zero=True)
    gap = N - d - 1
    if noise == 0:  # exact recovery from N = d on; below it the failure floor applies
        msq = np.where(N >= d, 0.0, np.inf)
    else:
        msq = np.where(gap > 0, _off_subspace(noise, d, D) / np.where(gap > 0, gap, 1), np.inf)
    return np.sqrt(msq) if normalized else np.sqrt(2 * d * msq)


def _off_subspace(x, d, D) -> float:
    """``x^2 (1 - d/D)``: the part of a noise of size ``x`` off a ``d``-dimensional subspace
    of ``R^D``; 0 when ``d = D``, ``inf`` when it overflows (which is what it means)."""
    if d == D:
        return 0.0
    with np.errstate(over="ignore"):
        return float(np.float64(x) ** 2 * (1 - d / D))


def noise_boundary(d, D, noise, threshold):
    """The ``N`` at which :func:`noisy_error_rms` (normalized) equals ``threshold``:
    ``d + 1 + noise^2 (1 - d/D) / threshold^2`` (noiseless: ``d``; ``inf`` when that
    overflows)."""
    d = _dims(d, D)
    noise = _pos("noise", noise, allow_zero=True)
    threshold = _pos("threshold", threshold)
    if noise == 0:
        return float(d)
    # the ratio first: noise^2 and threshold^2 may under- or overflow on their own
    return d + 1 + _off_subspace(noise / threshold, d, D)


def failure_floor(N, d, D, *, kind="random", normalized=True):
    """The noiseless error below the threshold (``N < d``; 0 at and above it).

    ``kind="worst"``: the worst optimal completion, ``sqrt(2 min(d - N, D - d))`` (paper).
    ``kind="random"``: the root mean square error of a uniformly random completion of the
    sample span, ``sqrt(2 (d - N) (1 - (d - N) / (D - N)))`` (reconstructed).
    """
    d = _dims(d, D)
    N = check_samples("N", N)
    if kind not in ("worst", "random"):
        raise ValueError(f"kind: 'worst' or 'random' (got {kind!r})")
    gap = np.clip(d - N, 0, None).astype(float)
    if kind == "worst":
        sq = 2 * np.minimum(gap, D - d)
    else:
        sq = 2 * gap * (1 - gap / np.maximum(D - N, 1))
    out = np.sqrt(sq)
    return out / math.sqrt(2 * d) if normalized else out


def prob_all_components(N, d, weights):
    """``Pr[min_k N_k >= d]`` for multinomial counts ``(N_1..N_K) ~ Mult(N, weights)``.

    Exact: ``N_k`` given the earlier counts is binomial in what is left with probability
    ``pi_k / (pi_k + ... + pi_K)``; a dynamic programme over the remaining count costs
    ``O(K N^2)``.  ``N`` may be an array.
    """
    d = _dims(d)
    Ns = check_samples("N", N, low=0)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or w.size < 1 or np.any(~np.isfinite(w)) or np.any(w < 0) \
            or abs(w.sum() - 1) > 1e-9:
        raise ValueError(f"weights: need finite non-negative weights summing to 1 (got {weights!r})")
    out = np.array([_prob_one(int(n), d, w) for n in Ns.ravel()]).reshape(Ns.shape)
    return out if out.ndim else float(out)


def _prob_one(N, d, w):
    K = w.size
    if N < K * d:
        return 0.0
    mass = np.zeros(N + 1)
    mass[N] = 1.0                                # probability of r samples left to allocate
    tail = np.cumsum(w[::-1])[::-1]              # pi_k + ... + pi_K
    for k in range(K - 1):
        p = w[k] / tail[k] if tail[k] > 0 else 0.0
        new = np.zeros(N + 1)
        for r in np.nonzero(mass > 0)[0]:
            take = np.arange(d, r + 1)
            if take.size:
                new[r - take] += mass[r] * binom.pmf(take, r, p)
        mass = new
    # the last component receives every remaining sample
    return float(np.clip(mass[d:].sum(), 0.0, 1.0))


def min_total_samples(d, weights, prob=0.9, *, N_max=10 ** 6):
    """Smallest total ``N`` with ``Pr[min_k N_k >= d] >= prob`` under multinomial labels."""
    d = _dims(d)
    prob = _pos("prob", prob)
    if not prob < 1:
        raise ValueError(f"prob: must be in (0, 1) (got {prob})")
    w = np.asarray(weights, dtype=float)
    lo = w.size * d
    if prob_all_components(lo, d, w) >= prob:
        return lo
    hi = lo
    while prob_all_components(hi, d, w) < prob:
        hi *= 2
        if hi > N_max:
            raise ValueError(f"prob: not reached below N_max = {N_max} (weights {w.tolist()})")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if prob_all_components(mid, d, w) >= prob:
            hi = mid
        else:
            lo = mid
    return hi
