"""The exponential-integrator VE sampler, run for real [paper: WHT24 eq. (10)].

On a backward grid of variances ``v_0 > v_1 > ... > v_N`` (from :mod:`lowdim.theory.sampling`):

    Y_0 ~ N(0, v_0 I_d),   Y_{j+1} = Y_j + (v_j - v_{j+1}) S(v_j, Y_j) + sqrt(v_j - v_{j+1}) U_j,

the score frozen at the start of each step (Song et al.'s reverse-diffusion predictor without
a corrector).  A score is called as ``score(v_j, y, j)`` (noise variance, batch, step index).
Scores given here:

* :func:`gaussian_score`: the exact score of centred Gaussian data with covariance eigenvalues
  ``lambda`` (in the eigenbasis), ``-y / (lambda + v)``; ``lambda = 0`` puts data on a subspace;
* :func:`perturbed`: a score plus a fixed error vector of chosen size per level, so that
  ``E||S - grad log p||^2 = eps_j^2`` exactly.

* :func:`mixture_score`: the exact score of Gaussian-mixture data
  (:class:`lowdim.theory.sampling.GaussianMixture`), by log-sum-exp.

For Gaussian data the sampled law is Gaussian, and :func:`gaussian_kl_estimate` measures its KL
from the target from the samples alone (moments per coordinate, a second-order bias correction
and a standard error over independent batches), the Monte Carlo check of the exact formula
:func:`lowdim.theory.sampling.gaussian_kl`.  For mixture data, :func:`path_kl_estimate` measures the
path KL ``KL(P || Q)`` of the chain (an upper bound on the KL of what is sampled, and the
quantity the Theorem 2 bound bounds) in any dimension, with its standard error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.sampling import GaussianMixture, SamplingGrid, step_quadrature
from lowdim.theory.tidy import Tidy, TidyData

from .device import describe_device, make_generator, one_thread, resolve_device

__all__ = ["ei_sample", "gaussian_score", "perturbed", "KLEstimate", "gaussian_kl_estimate",
           "mixture_score", "mixture_log_density", "sample_mixture", "PathKLEstimate",
           "path_kl_estimate"]


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


@one_thread
def ei_sample(variances, score, n: int, d: int, *, seed: int = 0, device="auto",
              dtype=torch.float64, block: int = 65536, progress=None) -> torch.Tensor:
    """``n`` samples ``Y_N`` of the exponential-integrator sampler (``n x d``).

    Samples are drawn in blocks of ``block`` rows, each from its own generator keyed by
    ``(seed, block index)``: ``block`` is part of the definition of the random stream, so a
    run is reproduced by the same ``seed`` and ``block``.  ``progress(done, total)``, if
    given, is called after every step of every block.
    """
    v = np.asarray(variances, dtype=float)
    if v.ndim != 1 or v.size < 2 or np.any(np.diff(v) >= 0) or np.any(v <= 0):
        raise ValueError("variances: need a strictly decreasing positive grid v_0 > ... > v_N")
    for name, x in (("n", n), ("d", d), ("block", block)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
            raise ValueError(f"{name}: must be an integer >= 1 (got {x!r})")
    dev = resolve_device(device)
    out = []
    total = (v.size - 1) * -(-n // block)
    for b, start in enumerate(range(0, n, block)):
        nb = min(block, n - start)
        gen = make_generator(dev, seed, "ei", b)
        y = math.sqrt(v[0]) * torch.randn(nb, d, generator=gen, dtype=dtype, device=dev)
        for j in range(v.size - 1):
            dv = v[j] - v[j + 1]
            noise = torch.randn(nb, d, generator=gen, dtype=dtype, device=dev)
            y = y + dv * score(float(v[j]), y, j) + math.sqrt(dv) * noise
            if progress is not None:
                progress(b * (v.size - 1) + j + 1, total)
        out.append(y)
    return torch.cat(out)


@dataclass(frozen=True)
class KLEstimate(Tidy):
    """Monte Carlo KL of the sampled law from the Gaussian target: ``kl`` (mean over batches,
    bias-corrected), ``se`` (standard error over batches), ``per_batch``, ``n``, ``device``.
    ``to_pandas()`` and ``to_xarray()`` give ``per_batch`` over ``batch`` with ``kl`` and
    ``se`` alongside."""

    kl: float
    se: float
    per_batch: np.ndarray
    n: int
    device: str

    def _tidy(self):
        per = np.ravel(self.per_batch)
        return TidyData({"batch": np.arange(per.size)},
                        {"per_batch": (("batch",), per), "kl": float(self.kl),
                         "se": float(self.se)},
                        attrs={"n": int(self.n), "device": self.device})


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


def _mixture_tensors(mixture: GaussianMixture, like: torch.Tensor):
    return (torch.as_tensor(np.log(mixture.weights), dtype=like.dtype, device=like.device),
            torch.as_tensor(mixture.means, dtype=like.dtype, device=like.device),
            torch.as_tensor(mixture.variances, dtype=like.dtype, device=like.device))


def _mixture_logits(mixture, v, y):
    logw, mu, lam = _mixture_tensors(mixture, y)
    s = lam + v                                                  # (K,)
    diff = mu[None, :, :] - y[:, None, :]                        # (n, K, d)
    logit = (logw - 0.5 * (diff**2).sum(-1) / s
             - 0.5 * mixture.d * torch.log(2 * math.pi * s))
    return logit, diff, s


def mixture_log_density(mixture: GaussianMixture, v: float, y: torch.Tensor) -> torch.Tensor:
    """``log p_v(y)`` of the noised mixture, one value per row of ``y``."""
    logit, _, _ = _mixture_logits(mixture, v, y)
    return torch.logsumexp(logit, dim=1)


def mixture_score(mixture: GaussianMixture):
    """Exact score ``sum_k w_k(y) (mu_k - y) / (lambda_k + v)`` of the noised mixture, called
    as ``score(v, y, step)``."""
    if not isinstance(mixture, GaussianMixture):
        raise ValueError("mixture: expected a lowdim.theory.sampling.GaussianMixture")

    def score(v, y, step=None):
        logit, diff, s = _mixture_logits(mixture, v, y)
        w = torch.softmax(logit, dim=1) / s
        return (w[:, :, None] * diff).sum(1)

    return score


def sample_mixture(mixture: GaussianMixture, n: int, *, seed: int = 0, device="auto",
                   dtype=torch.float64, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` draws of the clean data ``X_0`` (``n x d``)."""
    dev = resolve_device(device)
    gen = generator if generator is not None else make_generator(dev, seed, "mixture")
    w = torch.as_tensor(mixture.weights, dtype=torch.float64, device=dev)
    k = torch.multinomial(w, n, replacement=True, generator=gen)
    mu = torch.as_tensor(mixture.means, dtype=dtype, device=dev)
    sd = torch.as_tensor(np.sqrt(mixture.variances), dtype=dtype, device=dev)
    z = torch.randn(n, mixture.d, generator=gen, dtype=dtype, device=dev)
    return mu[k] + sd[k, None] * z


@dataclass(frozen=True)
class PathKLEstimate(Tidy):
    """Monte Carlo path KL of the chain, split as in :class:`lowdim.theory.sampling.PathKL`, each part
    with its standard error over samples (``*_se``); ``n`` samples, ``device``.
    ``to_pandas()`` (one row) and ``to_xarray()`` (scalars) hold the parts and their errors."""

    initial: float
    discretization: float
    score: float
    total: float
    initial_se: float
    discretization_se: float
    score_se: float
    total_se: float
    n: int
    device: str

    def _tidy(self):
        names = ("initial", "discretization", "score", "total")
        return TidyData({}, {k: float(getattr(self, k))
                             for name in names for k in (name, f"{name}_se")},
                        attrs={"n": int(self.n), "device": self.device})


@one_thread
def path_kl_estimate(grid: SamplingGrid, mixture: GaussianMixture, score=None, *, n: int = 20000,
                     seed: int = 0, device="auto", dtype=torch.float64, n_sub: int = 4,
                     block: int = 8192, progress=None) -> PathKLEstimate:
    """``KL(P || Q)`` of the exponential-integrator chain driven by ``score`` (default: the exact
    mixture score), for mixture data in any dimension.

    Each sample draws ``X_0`` and one ``xi ~ N(0, I)`` used at every level
    (``Y_v = X_0 + sqrt(v) xi`` has law ``p_v``); per sample [derived: see
    :mod:`lowdim.theory.sampling._mixture`]

        log p_{v_0}(Y_{v_0}) - log N(Y_{v_0}; 0, v_0)
        + 1/2 [ sum_j int_step ||grad log p_v(Y_v)||^2 dv - sum_j Delta v_j ||grad log p_{v_j}||^2 ]
        + 1/2 sum_j Delta v_j ||S_j(Y_{v_j}) - grad log p_{v_j}(Y_{v_j})||^2,

    the step integrals by :func:`lowdim.theory.sampling.step_quadrature` (``n_sub`` Gauss-Legendre
    nodes per piece of width 0.5 in ``ln v``).  Sharing
    ``xi`` across levels makes the Riemann-error term a smooth function of ``v`` per sample,
    so its variance is small.  The estimate is the mean over samples; ``*_se`` their standard
    errors.  ``progress(done, blocks)``, if given, is called after every block of ``block``
    samples.
    """
    if not isinstance(mixture, GaussianMixture):
        raise ValueError("mixture: expected a lowdim.theory.sampling.GaussianMixture")
    for name, x, least in (("n", n, 2), ("n_sub", n_sub, 1), ("block", block, 1)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < least:
            raise ValueError(f"{name}: must be an integer >= {least} (got {x!r})")
    dev = resolve_device(device)
    exact = mixture_score(mixture)
    score = exact if score is None else score
    v = grid.variances
    dv = v[:-1] - v[1:]
    sub_v, sub_w, _ = step_quadrature(grid, n_sub)
    parts = [[], [], []]
    for b, start in enumerate(range(0, n, block)):
        nb = min(block, n - start)
        gen = make_generator(dev, seed, "path-kl", b)
        x0 = sample_mixture(mixture, nb, dtype=dtype, device=dev, generator=gen)
        xi = torch.randn(nb, mixture.d, generator=gen, dtype=dtype, device=dev)

        def at(vv):
            return x0 + math.sqrt(vv) * xi

        y0 = at(v[0])
        init = (mixture_log_density(mixture, v[0], y0) + 0.5 * (y0**2).sum(1) / v[0]
                + 0.5 * mixture.d * math.log(2 * math.pi * v[0]))
        disc = torch.zeros(nb, dtype=dtype, device=dev)
        serr = torch.zeros(nb, dtype=dtype, device=dev)
        for vv, ww in zip(sub_v, sub_w):
            disc += 0.5 * float(ww) * (exact(float(vv), at(vv)) ** 2).sum(1)
        for j in range(grid.N):
            yj = at(v[j])
            sj = exact(float(v[j]), yj)
            disc -= 0.5 * float(dv[j]) * (sj**2).sum(1)
            if score is not exact:
                serr += 0.5 * float(dv[j]) * ((score(float(v[j]), yj, j) - sj) ** 2).sum(1)
        for store, val in zip(parts, (init, disc, serr)):
            store.append(val.detach().to(torch.float64).cpu().numpy())
        if progress is not None:
            progress(b + 1, -(-n // block))
    arrays = [np.concatenate(p) for p in parts]
    tot = arrays[0] + arrays[1] + arrays[2]
    mean = [float(a.mean()) for a in (*arrays, tot)]
    se = [float(a.std(ddof=1) / math.sqrt(a.size)) for a in (*arrays, tot)]
    return PathKLEstimate(*mean, *se, n=int(n), device=describe_device(dev))
