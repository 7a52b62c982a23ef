"""Sample complexity of subspace recovery from a MoLRG (Wang et al. 2024, Theorems 2 and 4;
research note molrg_subspace.md sections 4 and 8).

Errors are the projection distances ``||U_hat U_hat^T - U U^T||_F`` in ``[0, sqrt(2 d)]``;
with ``normalized=True`` they are divided by ``sqrt(2 d)`` (the package's success metric).

* threshold [paper: WZZ24]: every component is recoverable once ``N_k >= d``, whatever ``D``;
* above it [paper: WZZ24; constants unknown]: ``||.||_F <= c1 ||E_k||_F / (sqrt(N_k) - sqrt(d - 1))``;
* above it, first-order mean [derived]: with ``X = U A + E``, ``A`` a ``d x N`` Gaussian and
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

from .._checks import choice, flag, floats, integer
from .._checks import positive_number
from ._setting import check_samples

__all__ = ["recovery_threshold", "theorem_bound", "noisy_error_rms", "noise_boundary",
           "failure_floor", "prob_all_components", "min_total_samples"]


#: Largest dimension accepted: ``d`` and ``D`` enter square roots and ratios as floats.
DIM_MAX = 2**53


def _dim(d):
    """The subspace dimension ``d``: an integer in ``1 .. 2^53``."""
    return integer("d", d, low=1, high=DIM_MAX, strict=True)


def _dims(d, D):
    """``(d, D)``: integers in ``1 .. 2^53`` with ``d <= D``."""
    d = _dim(d)
    D = integer("D", D, low=1, high=DIM_MAX, strict=True)
    if d > D:
        raise ValueError(f"d: subspace dimension {d} exceeds the ambient dimension D = {D}")
    return d, D


def recovery_threshold(d) -> int:
    """The predicted minimal samples per component, ``N_k* = d`` [paper: WZZ24 Thms 2, 4]."""
    return _dim(d)


def theorem_bound(N, d, noise_fro, *, c1=1.0, normalized=False):
    """``c1 ||E||_F / (sqrt(N) - sqrt(d - 1))`` for ``N >= d`` (``inf`` below; paper; ``c1``
    unknown in the paper, 1 by default)."""
    d = _dim(d)
    N = check_samples("N", N)
    noise_fro = floats("noise_fro", noise_fro)
    if np.any(~np.isfinite(noise_fro)) or np.any(noise_fro < 0):
        raise ValueError("noise_fro: must be finite and >= 0")
    c1 = positive_number("c1", c1, allow_zero=True)
    normalized = flag("normalized", normalized)
    den = np.sqrt(N) - math.sqrt(d - 1)
    with np.errstate(over="ignore"):
        out = np.where(N >= d, c1 * noise_fro / np.where(N >= d, den, 1.0), np.inf)
    if np.any(np.isinf(out) & (N >= d)):
        raise ValueError("noise_fro: c1 ||E||_F is too large, the bound overflows")
    return out / math.sqrt(2 * d) if normalized else out


def noisy_error_rms(N, d, D, noise, *, normalized=True):
    """Root of the first-order mean ``E||U_hat U_hat^T - U U^T||_F^2`` of PCA on ``N`` samples
    (derived here, see the module docstring); ``inf`` for ``N <= d + 1`` where the
    inverse-Wishart mean diverges.  Normalized: ``noise sqrt((1 - d/D) / (N - d - 1))``.
    Noiseless: 0 from ``N = d`` on, ``inf`` below (see :func:`failure_floor` there)."""
    d, D = _dims(d, D)
    N = check_samples("N", N)
    noise = positive_number("noise", noise, allow_zero=True)
    normalized = flag("normalized", normalized)
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
    d, D = _dims(d, D)
    noise = positive_number("noise", noise, allow_zero=True)
    threshold = positive_number("threshold", threshold)
    if noise == 0:
        return float(d)
    # the ratio first: noise^2 and threshold^2 may under- or overflow on their own
    return d + 1 + _off_subspace(noise / threshold, d, D)


def failure_floor(N, d, D, *, kind="random", normalized=True):
    """The noiseless error below the threshold (``N < d``; 0 at and above it).

    ``kind="worst"``: the worst optimal completion, ``sqrt(2 min(d - N, D - d))`` [paper: WZZ24].
    ``kind="random"``: the root mean square error of a uniformly random completion of the
    sample span, ``sqrt(2 (d - N) (1 - (d - N) / (D - N)))`` (reconstructed).
    """
    d, D = _dims(d, D)
    N = check_samples("N", N)
    kind = choice("kind", kind, ("worst", "random"))
    normalized = flag("normalized", normalized)
    gap = np.clip(d - N, 0, None).astype(float)
    if kind == "worst":
        sq = 2 * np.minimum(gap, D - d)
    else:
        sq = 2 * gap * (1 - gap / np.maximum(D - N, 1))
    out = np.sqrt(sq)
    return out / math.sqrt(2 * d) if normalized else out


def prob_all_components(N, d, weights):
    """``Pr[min_k N_k >= d]`` for multinomial counts ``(N_1..N_K) ~ Mult(N, weights)``.

    Exact (to 1e-20): ``N_k`` given the earlier counts is binomial in what is left with
    probability ``pi_k / (pi_k + ... + pi_K)``; a dynamic programme over the remaining count,
    restricted to where the binomials carry mass, costs ``O(K N)``.  ``N`` may be an array;
    for ``K >= 2`` every ``N`` must be at most :data:`N_EXACT_MAX`.
    """
    d = _dim(d)
    Ns = check_samples("N", N, low=0)
    w = _weights(weights)
    if w.size > 1 and np.any(Ns > N_EXACT_MAX):
        raise ValueError(f"N: the exact probability is computed up to N = {N_EXACT_MAX} "
                         f"(got {int(np.max(Ns))})")
    out = np.array([_prob_one(int(n), d, w) for n in Ns.ravel()]).reshape(Ns.shape)
    return out if out.ndim else float(out)


#: Largest total count of the exact multinomial computation (its cost grows like ``K N``).
N_EXACT_MAX = 10 ** 6
_PRUNE = 1e-30        # remaining-count probabilities below this are dropped (total < 1e-23)
_SPREAD = 12.0        # binomial window: mean +- (_SPREAD sd + _SLACK), tails below 1e-26
_SLACK = 40
_CHUNK = 1 << 21      # (r, take) pairs evaluated at once


def _prob_one(N, d, w):
    """``Pr[min_k N_k >= d]`` by the dynamic programme over the remaining count ``r``.

    Only the remaining counts with probability above ``_PRUNE`` are kept, and each binomial
    split only over ``mean +- (12 sd + 40)`` (Bernstein: the rest carries below 1e-26), so
    the cost is about ``K (24 sd)^2 <= 150 K N`` instead of ``K N^2``; the truncation error
    is below 1e-20.
    """
    K = w.size
    if N < K * d:
        return 0.0
    lo, mass = N, np.ones(1)                     # mass[i] = Pr[lo + i samples left]
    tail = np.cumsum(w[::-1])[::-1]              # pi_k + ... + pi_K
    for k in range(K - 1):
        p = min(1.0, w[k] / tail[k]) if tail[k] > 0 else 0.0
        idx = np.flatnonzero(mass > _PRUNE)
        r, m = lo + idx, mass[idx]
        sd = np.sqrt(r * p * (1.0 - p))
        a = np.maximum(d, np.floor(r * p - _SPREAD * sd - _SLACK)).astype(np.int64)
        b = np.minimum(r, np.ceil(r * p + _SPREAD * sd + _SLACK)).astype(np.int64)
        keep = b >= a
        r, m, a, b = r[keep], m[keep], a[keep], b[keep]
        if r.size == 0:
            return 0.0
        new_lo = int(np.min(r - b))
        new = np.zeros(int(np.max(r - a)) - new_lo + 1)
        width = b - a + 1
        start = 0
        while start < r.size:                    # chunks of about _CHUNK (r, take) pairs
            stop = start + max(1, int(np.searchsorted(np.cumsum(width[start:]), _CHUNK)))
            rr = np.repeat(r[start:stop], width[start:stop])
            first = np.repeat(a[start:stop], width[start:stop])
            offs = np.arange(rr.size) - np.repeat(np.cumsum(width[start:stop])
                                                 - width[start:stop], width[start:stop])
            take = first + offs
            vals = np.repeat(m[start:stop], width[start:stop]) * binom.pmf(take, rr, p)
            new += np.bincount(rr - take - new_lo, weights=vals, minlength=new.size)
            start = stop
        lo, mass = new_lo, new
    # the last component receives every remaining sample
    left = lo + np.arange(mass.size)
    return float(np.clip(mass[left >= d].sum(), 0.0, 1.0))


def _weights(weights):
    w = floats("weights", weights)
    if w.ndim != 1 or w.size < 1 or np.any(~np.isfinite(w)) or np.any(w < 0) \
            or abs(w.sum() - 1) > 1e-9:
        raise ValueError(f"weights: need finite non-negative weights summing to 1 (got {weights!r})")
    return w


def min_total_samples(d, weights, prob=0.9, *, N_max=10 ** 6):
    """Smallest total ``N`` with ``Pr[min_k N_k >= d] >= prob`` under multinomial labels.

    ``N_max`` (an integer, at most :data:`N_EXACT_MAX`) bounds the search; a ``ValueError``
    naming ``prob`` says when ``prob`` is not reached below it (at once when Markov's bound
    ``Pr[N_k >= d] <= N_max pi_k / d`` already rules it out, e.g. for a zero weight).
    """
    d = _dim(d)
    prob = positive_number("prob", prob)
    if not prob < 1:
        raise ValueError(f"prob: must be in (0, 1) (got {prob})")
    w = _weights(weights)
    N_max = integer("N_max", N_max, low=1)
    if N_max > N_EXACT_MAX:
        raise ValueError(f"N_max: the exact probability is computed up to N = {N_EXACT_MAX} "
                         f"(got {N_max})")
    lo = w.size * d
    if N_max * float(np.min(w)) < prob * d or lo > N_max:
        raise ValueError(f"prob: not reached below N_max = {N_max} (weights {w.tolist()})")
    if prob_all_components(lo, d, w) >= prob:
        return lo
    hi = lo
    while prob_all_components(hi, d, w) < prob:
        if hi >= N_max:
            raise ValueError(f"prob: not reached below N_max = {N_max} (weights {w.tolist()})")
        lo, hi = hi, min(2 * hi, N_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if prob_all_components(mid, d, w) >= prob:
            hi = mid
        else:
            lo = mid
    return hi
