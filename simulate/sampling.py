"""The exponential-integrator VE sampler, run for real (Wang-He-Tao 2024, eq. (10)).

On a backward grid of variances ``v_0 > v_1 > ... > v_N`` (from :mod:`theory.sampling`):

    Y_0 ~ N(0, v_0 I_d),   Y_{j+1} = Y_j + (v_j - v_{j+1}) S(v_j, Y_j) + sqrt(v_j - v_{j+1}) U_j,

the score frozen at the start of each step (Song et al.'s reverse-diffusion predictor without
a corrector).  A score is called as ``score(v_j, y, j)`` (noise variance, batch, step index).
Scores given here:

* :func:`gaussian_score`: the exact score of centred Gaussian data with covariance eigenvalues
  ``lambda`` (in the eigenbasis), ``-y / (lambda + v)``; ``lambda = 0`` puts data on a subspace;
* :func:`perturbed`: a score plus a fixed error vector of chosen size per level, so that
  ``E||S - grad log p||^2 = eps_j^2`` exactly.

For Gaussian data the sampled law is Gaussian, and :func:`gaussian_kl_estimate` measures its KL
from the target from the samples alone (moments per coordinate, a second-order bias correction
and a standard error over independent batches), the Monte Carlo check of the exact formula
:func:`theory.sampling.gaussian_kl`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .device import describe_device, make_generator, resolve_device

__all__ = ["ei_sample", "gaussian_score", "perturbed", "KLEstimate", "gaussian_kl_estimate"]


def gaussian_score(data_variance):
    """``S(v, y) = -y / (lambda + v)`` coordinate-wise (centred Gaussian data, eigenbasis)."""
    lam = torch.as_tensor(np.asarray(data_variance, dtype=float))

    def score(v, y, step=None):
        return -y / (lam.to(y) + v)

    return score


def perturbed(score, eps2, direction=None):
    """``S(v_j, y) + sqrt(eps2_j) e`` with a fixed unit vector ``e`` (default: the all-ones
    direction normalised), so the squared score error at step j is exactly ``eps2_j``."""
    eps2 = np.asarray(eps2, dtype=float)

    def out(v, y, step):
        e = direction
        if e is None:
            e = torch.ones(y.shape[-1], dtype=y.dtype, device=y.device) / math.sqrt(y.shape[-1])
        return score(v, y, step) + math.sqrt(float(eps2[step])) * e

    return out


def ei_sample(variances, score, n: int, d: int, *, seed: int = 0, device="auto",
              dtype=torch.float64, block: int = 65536) -> torch.Tensor:
    """``n`` samples ``Y_N`` of the exponential-integrator sampler (``n x d``).

    Samples are drawn in blocks of ``block`` rows, each from its own generator keyed by
    ``(seed, block index)``: ``block`` is part of the definition of the random stream, so a
    run is reproduced by the same ``seed`` and ``block``.
    """
    v = np.asarray(variances, dtype=float)
    if v.ndim != 1 or v.size < 2 or np.any(np.diff(v) >= 0) or np.any(v <= 0):
        raise ValueError("variances: need a strictly decreasing positive grid v_0 > ... > v_N")
    for name, x in (("n", n), ("d", d), ("block", block)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
            raise ValueError(f"{name}: must be an integer >= 1 (got {x!r})")
    dev = resolve_device(device)
    out = []
    for b, start in enumerate(range(0, n, block)):
        nb = min(block, n - start)
        gen = make_generator(dev, seed, "ei", b)
        y = math.sqrt(v[0]) * torch.randn(nb, d, generator=gen, dtype=dtype, device=dev)
        for j in range(v.size - 1):
            dv = v[j] - v[j + 1]
            noise = torch.randn(nb, d, generator=gen, dtype=dtype, device=dev)
            y = y + dv * score(float(v[j]), y, j) + math.sqrt(dv) * noise
        out.append(y)
    return torch.cat(out)


@dataclass(frozen=True)
class KLEstimate:
    """Monte Carlo KL of the sampled law from the Gaussian target: ``kl`` (mean over batches,
    bias-corrected), ``se`` (standard error over batches), ``per_batch``, ``n``, ``device``."""

    kl: float
    se: float
    per_batch: np.ndarray
    n: int
    device: str


def _kl_gauss_moments(mean, var, target_var, target_mean_sq_per_coord):
    """Sum over coordinates of KL(N(mu_t, s_t) || N(mean, var)), the target mean ``mu_t``
    entering through ``(mean - mu_t)^2`` = ``target_mean_sq_per_coord`` supplied per coordinate."""
    E = target_var / var
    return 0.5 * np.sum(E - 1.0 - np.log(E) + target_mean_sq_per_coord / var)


def gaussian_kl_estimate(samples: torch.Tensor, target_var, target_mean=None, *,
                         n_batches: int = 20) -> KLEstimate:
    """``KL(p_delta || q)`` with ``p_delta = N(target_mean, diag(target_var))`` and ``q`` the law
    of ``samples``, estimated from per-coordinate sample moments.

    The sampler is linear for Gaussian data, so ``q`` is Gaussian and, in the eigenbasis,
    diagonal: its KL from the target is a function of the per-coordinate means and variances.
    Each of ``n_batches`` independent batches gives a plug-in value minus its second-order
    (delta-method) bias, ``sum_i [g_ss Var(s_hat) + g_mm Var(mu_hat)] / 2`` evaluated at the
    batch's own moments (about ``1/n_b`` per coordinate near the target); the estimate is the
    mean over batches and ``se`` their standard error.
    """
    x = samples.detach().to(torch.float64).cpu().numpy()
    n, d = x.shape
    if n_batches < 2 or n // n_batches < 10:
        raise ValueError(f"n_batches: need at least 2 batches of 10 samples (n={n})")
    tv = np.broadcast_to(np.asarray(target_var, float), (d,))
    tm = np.zeros(d) if target_mean is None else np.broadcast_to(np.asarray(target_mean, float),
                                                                  (d,))
    vals = []
    nb = n // n_batches
    for k in range(n_batches):
        xb = x[k * nb:(k + 1) * nb]
        mu = xb.mean(0)
        var = xb.var(0, ddof=1)
        kl = _kl_gauss_moments(mu, var, tv, (mu - tm) ** 2)
        # second-order bias of the plug-in: per coordinate, with s = var, E = tv / s,
        # Var(s_hat) ~ 2 s^2 / nb and Var(mu_hat) = s / nb:
        # d2/ds2 [E - 1 - ln E + c/s] / 2 = (2 tv / s^3 - 1 / s^2 + 2 c / s^3) / 2
        c = (mu - tm) ** 2
        bias = 0.5 * np.sum(0.5 * (2 * tv / var**3 - 1 / var**2 + 2 * c / var**3) * 2 * var**2
                            / nb + (1.0 / var) * var / nb)
        vals.append(kl - bias)
    per = np.asarray(vals)
    return KLEstimate(kl=float(per.mean()), se=float(per.std(ddof=1) / math.sqrt(per.size)),
                      per_batch=per, n=nb * n_batches, device=describe_device(samples.device))
