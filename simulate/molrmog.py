"""MoLR-MoG in the finite-size world: the sampler, the exact score, three trained score models,
the reverse sampler, score-error and sample-quality metrics, and gradient descent near the
truth.

Exact score [derived: research note molr_mog.md section 3.2, checked in R]: with ``z_k = A_k^T x`` and
``x_t = s_t x_0 + gamma_t xi``, ::

    grad log p_t(x) = sum_k g_k(x, t) [A_k grad log p^lat_{t,k}(z_k) - (I - A_k A_k^T) x / gamma_t^2],
    g_k = softmax_k(log w_k + log p^lat_{t,k}(z_k) - |(I - A_k A_k^T) x|^2 / (2 gamma_t^2)
                     - (D - d_k)/2 log(2 pi gamma_t^2)),

where the latent law is the mixture ``sum_l pi_{k,l} N(s_t mu_{k,l}, C_{k,l})``,
``C = s_t^2 U U^T + gamma_t^2 I``.  Each latent expert is computed in the Woodbury form
``C^{-1} y = (y - s_t^2 U (gamma_t^2 I + s_t^2 U^T U)^{-1} U^T y) / gamma_t^2`` (exact for any
factor; the paper's ``alpha_t U U^T`` when ``U^T U = I``), every softmax by log-sum-exp, at
``O(n_k d_k r_k)`` per point and mode.

Score models (all map ``(x, t)`` to a score in ``R^D``):

* :class:`LatentMixtureScore` with ``n_k`` modes: the MoE-latent MoG network (the gate over
  subspaces and the latent posterior are the formula above with learnable means, factors and
  mode logits; the bases ``A_k`` are given, the paper's "perfect encoders");
* the same with one full-rank mode per subspace: the MoE-latent Gaussian network (affine
  experts, the MoLRG score with a learnable mean);
* :class:`GenericScore`: a time-conditioned MLP on ``R^D`` predicting the noise.

Training is denoising score matching on the noise prediction, ``E ||gamma_t s(x_t, t) +
xi||^2`` (the ``gamma_t^2``-weighted DSM loss), with ``t`` log-uniform on ``[delta, T]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.molrmog import PROCESSES, MoLRMoG
from lowdim.theory.tidy import Tidy, TidyData

from ._checks import integer, number
from .device import (derive_seed, describe_device, make_generator, one_thread, resolve_device,
                     resolve_dtype)
from .training import train_adam

__all__ = ["coefficients", "sample", "noised", "exact_score", "log_density", "log_density_dense",
           "LatentMixtureScore", "GenericScore", "mog_network", "gaussian_network",
           "generic_network", "TrainedModel", "train_dsm", "sample_times", "reverse_sample",
           "ScoreError", "score_error", "mmd", "MMD", "mode_histogram", "mode_distance",
           "off_subspace_distance",
           "GDTrace", "gradient_descent", "empirical_hessian", "posterior_labels"]

_LOG2PI = math.log(2.0 * math.pi)


def coefficients(t, process: str = "vp"):
    """``(s_t, gamma_t^2)`` as tensors (``t`` a tensor): VP ``(e^{-t}, 1 - e^{-2t})``, VE
    ``(1, t^2)``."""
    if process not in PROCESSES:
        raise ValueError(f"process: must be one of {PROCESSES} (got {process!r})")
    if process == "vp":
        return torch.exp(-t), -torch.expm1(-2.0 * t)
    return torch.ones_like(t), t * t


def _as_t(t, n, like):
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    if t.ndim == 0:
        t = t.expand(n)
    if t.shape != (n,):
        raise ValueError(f"t: expected a scalar or {n} times (got shape {tuple(t.shape)})")
    if not torch.all(torch.isfinite(t)) or torch.any(t <= 0):
        raise ValueError("t: diffusion times must be finite and > 0")
    return t


# ----------------------------------------------------------------------------- the data
def _tensors(spec: MoLRMoG, device, dtype):
    f = lambda a: torch.tensor(np.array(a), dtype=dtype, device=device)  # noqa: E731
    return ([f(a) for a in spec.bases], [f(m) for m in spec.means], [f(u) for u in spec.factors],
            [torch.log(f(p)) for p in spec.mode_weights], torch.log(f(spec.subspace_weights)))


def _stratified(weights, n):
    """Counts ``round(n w)`` by the largest-remainder rule (summing to ``n``)."""
    raw = np.asarray(weights, dtype=float) * n
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][:n - counts.sum()]] += 1
    return counts


def sample(spec: MoLRMoG, n: int, generator: torch.Generator, *, device="cpu",
           dtype=torch.float64, stratified=False):
    """``n`` clean draws ``x_0`` (n, D) with their subspace and mode labels (n,), (n,).

    ``stratified=True`` gives every mode exactly ``round(n w_k pi_{k,l})`` points (largest
    remainder) instead of multinomial counts: a lower-variance estimate of a population mean.
    """
    n = integer("n", n)
    dev, dt = torch.device(device), resolve_dtype(dtype)
    gdev = generator.device
    if stratified:
        flat = np.concatenate([w * p for w, p in zip(spec.subspace_weights, spec.mode_weights)])
        counts = _stratified(flat, n)
        ks = np.repeat(np.arange(spec.K), spec.n_modes)
        k = torch.tensor(np.repeat(ks, counts), device=gdev)
        lab_all = torch.tensor(np.repeat(np.concatenate([np.arange(m) for m in spec.n_modes]),
                                         counts), device=gdev)
    else:
        k = torch.multinomial(torch.tensor(np.array(spec.subspace_weights), device=gdev), n,
                              replacement=True, generator=generator)
    x = torch.zeros(n, spec.D, dtype=dt, device=dev)
    modes = torch.zeros(n, dtype=torch.long, device=dev)
    for kk, (a, mu, u, pi) in enumerate(zip(spec.bases, spec.means, spec.factors, spec.mode_weights)):
        idx = torch.nonzero(k == kk).flatten()
        m = int(idx.numel())
        if m == 0:
            continue
        lab = lab_all[idx] if stratified else torch.multinomial(
            torch.tensor(np.array(pi), device=gdev), m, replacement=True, generator=generator)
        lat = torch.randn(m, u.shape[2], generator=generator, device=gdev, dtype=dt)
        U = torch.tensor(np.array(u), dtype=dt, device=gdev)[lab]
        z = torch.tensor(np.array(mu), dtype=dt, device=gdev)[lab] + torch.einsum("nij,nj->ni", U, lat)
        x[idx.to(dev)] = (z @ torch.tensor(np.array(a), dtype=dt, device=gdev).T).to(dev)
        modes[idx.to(dev)] = lab.to(dev)
    return x, k.to(dev), modes


def noised(x0, t, generator, process="vp"):
    """``x_t = s_t x_0 + gamma_t xi`` and ``xi``."""
    t = _as_t(t, x0.shape[0], x0)
    s, g2 = coefficients(t, process)
    xi = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    return s[:, None] * x0 + torch.sqrt(g2)[:, None] * xi, xi


def _mixture(x, t, bases, means, factors, log_pis, log_ws, process, form="woodbury",
             want_score=True, log_taus=None):
    """Two-level log-density and score of a MoLR-MoG-shaped model (any parameters).

    ``log_taus`` (optional, one ``(n_k,)`` tensor per subspace) adds an isotropic latent
    variance ``tau^2`` to every mode, ``C = s^2 (U U^T + tau^2 I) + gamma^2 I``: the latent
    expert then sees ``gamma^2 + s^2 tau^2`` in place of ``gamma^2``."""
    n, D = x.shape
    s, g2 = coefficients(t, process)
    s2 = s * s
    gate_logits, experts = [], []
    for k, (a, mu, u, lpi, lw) in enumerate(zip(bases, means, factors, log_pis, log_ws)):
        dk, r = u.shape[1], u.shape[2]
        gl = g2[:, None].expand(n, mu.shape[0])
        if log_taus is not None:
            gl = gl + s2[:, None] * torch.exp(2.0 * log_taus[k])[None]
        z = x @ a
        perp = x - z @ a.T
        y = z[:, None, :] - s[:, None, None] * mu[None]                      # (n, l, dk)
        p = torch.einsum("nld,ldr->nlr", y, u)                               # U^T y
        if form == "woodbury":
            # (gl I + s^2 U^T U)^{-1} through one eigendecomposition of U^T U per mode
            lam, vec = torch.linalg.eigh(torch.einsum("ldr,lde->lre", u, u))   # (l, r), (l, r, r)
            lam = torch.clamp(lam, min=0.0)
            den = gl[..., None] + s2[:, None, None] * lam[None]              # (n, l, r)
            w = torch.einsum("nlq,lrq->nlr", torch.einsum("nlr,lrq->nlq", p, vec) / den, vec)
            logdet = torch.log(den).sum(-1) + (dk - r) * torch.log(gl)       # log det C
            quad = (torch.sum(y * y, -1) - s2[:, None] * torch.sum(p * w, -1)) / gl
        else:
            alpha = s2[:, None] / (s2[:, None] + gl)
            w = p / (s2[:, None] + gl)[..., None]
            logdet = dk * torch.log(gl) + r * torch.log1p(s2[:, None] / gl)
            quad = (torch.sum(y * y, -1) - alpha * torch.sum(p * p, -1)) / gl
        comp = lpi[None] - 0.5 * quad - 0.5 * logdet - 0.5 * dk * _LOG2PI     # (n, l)
        log_lat = torch.logsumexp(comp, dim=1)
        gate_logits.append(lw + log_lat - 0.5 * torch.sum(perp * perp, 1) / g2
                           - 0.5 * (D - dk) * (torch.log(g2) + _LOG2PI))
        if want_score:
            resp = torch.softmax(comp, dim=1)                                # r_{k,l}
            corr = s2[:, None, None] * torch.einsum("ldr,nlr->nld", u, w)
            lat_score = -torch.einsum("nl,nld->nd", resp / gl, y - corr)
            experts.append(lat_score @ a.T - perp / g2[:, None])
    logits = torch.stack(gate_logits, 1)
    logp = torch.logsumexp(logits, 1)
    if not want_score:
        return logp, None
    gates = torch.softmax(logits, 1)
    score = torch.einsum("nk,knd->nd", gates, torch.stack(experts, 0))
    return logp, score


@one_thread
def exact_score(spec: MoLRMoG, x, t, *, process="vp"):
    """``grad log p_t(x)`` of the noised MoLR-MoG in the two-level MoE form (module docstring),
    in the dtype and on the device of ``x``."""
    t = _as_t(t, x.shape[0], x)
    return _mixture(x, t, *_tensors(spec, x.device, x.dtype), process)[1]


def log_density(spec: MoLRMoG, x, t, *, process="vp"):
    """``log p_t(x)`` from the same two-level factorisation."""
    t = _as_t(t, x.shape[0], x)
    return _mixture(x, t, *_tensors(spec, x.device, x.dtype), process, want_score=False)[0]


def log_density_dense(spec: MoLRMoG, x, t, *, process="vp"):
    """``log p_t(x)`` as the flat mixture over all ``(k, l)`` of ``N(s_t A_k mu, s_t^2 A_k U U^T
    A_k^T + gamma_t^2 I_D)``, through dense D x D Cholesky factors: an independent reference
    for tests (``O(D^3)`` per component; scalar ``t``)."""
    tt = float(t)
    s, g2 = (math.exp(-tt), -math.expm1(-2 * tt)) if process == "vp" else (1.0, tt * tt)
    terms = []
    eye = torch.eye(spec.D, dtype=x.dtype, device=x.device)
    for a, mu, u, pi, w in zip(spec.bases, spec.means, spec.factors, spec.mode_weights,
                               spec.subspace_weights):
        A = torch.tensor(np.array(a), dtype=x.dtype, device=x.device)
        for l in range(mu.shape[0]):
            P = A @ torch.tensor(np.array(u[l]), dtype=x.dtype, device=x.device)
            cov = s * s * P @ P.T + g2 * eye
            m = s * A @ torch.tensor(np.array(mu[l]), dtype=x.dtype, device=x.device)
            dist = torch.distributions.MultivariateNormal(m, covariance_matrix=cov)
            terms.append(math.log(w * pi[l]) + dist.log_prob(x))
    return torch.logsumexp(torch.stack(terms, 1), 1)


def posterior_labels(spec: MoLRMoG, x, t=1e-3, *, process="vp"):
    """Most probable ``(k, l)`` of each point under ``p_t`` (a flat index ``sum_{k'<k} n_k' + l``)."""
    tt = _as_t(t, x.shape[0], x)
    bases, means, factors, lpis, lws = _tensors(spec, x.device, x.dtype)
    logits = []
    for k in range(spec.K):
        for l in range(spec.n_modes[k]):
            lp, _ = _mixture(x, tt, [bases[k]], [means[k][l:l + 1]], [factors[k][l:l + 1]],
                             [torch.zeros(1, dtype=x.dtype, device=x.device)],
                             [lws[k] + lpis[k][l]], process, want_score=False)
            logits.append(lp)
    return torch.argmax(torch.stack(logits, 1), 1)


# ----------------------------------------------------------------------------- score models
class LatentMixtureScore(torch.nn.Module):
    """A MoE-latent mixture score: a soft gate over given subspaces, and inside subspace ``k`` a
    latent Gaussian mixture with ``n_k`` learnable means, rank-``r_k`` factors and (optionally)
    mode logits; its score is the exact score of that model (module docstring).

    ``n_k > 1`` modes of low rank: the MoE-latent MoG network.  One mode of rank ``d_k``: the
    MoE-latent Gaussian network (affine experts).  ``form="paper"`` uses the paper's
    ``alpha_t U U^T`` expert instead of the Woodbury one.  ``latent_noise=True`` gives every
    mode a learnable isotropic latent variance ``tau^2`` (for data that are not exactly
    low-rank within a mode, such as images; the model of the paper has none).
    """

    def __init__(self, bases, n_modes, ranks, *, process="vp", form="woodbury",
                 learn_weights=True, subspace_weights=None, latent_noise=False):
        super().__init__()
        if process not in PROCESSES:
            raise ValueError(f"process: must be one of {PROCESSES} (got {process!r})")
        if form not in ("woodbury", "paper"):
            raise ValueError(f"form: 'woodbury' or 'paper' (got {form!r})")
        K = len(bases)
        n_modes = [n_modes] * K if np.ndim(n_modes) == 0 else list(n_modes)
        ranks = [ranks] * K if np.ndim(ranks) == 0 else list(ranks)
        if len(n_modes) != K or len(ranks) != K:
            raise ValueError("n_modes, ranks: need one value per subspace")
        self.process, self.form, self.learn_weights = process, form, bool(learn_weights)
        for k, a in enumerate(bases):
            a = torch.tensor(np.array(a), dtype=torch.float64)
            dk = a.shape[1]
            nk, rk = integer("n_modes", n_modes[k]), integer("ranks", ranks[k])
            if rk > dk:
                raise ValueError(f"ranks: r_k = {rk} exceeds d_k = {dk}")
            self.register_buffer(f"A{k}", a)
            setattr(self, f"mu{k}", torch.nn.Parameter(torch.zeros(nk, dk, dtype=torch.float64)))
            u0 = torch.zeros(nk, dk, rk, dtype=torch.float64)
            u0[:, :rk, :rk] = torch.eye(rk, dtype=torch.float64)
            setattr(self, f"U{k}", torch.nn.Parameter(u0))
            if latent_noise:
                setattr(self, f"log_tau{k}", torch.nn.Parameter(
                    torch.full((nk,), math.log(0.1), dtype=torch.float64)))
            logit = torch.zeros(nk, dtype=torch.float64)
            if self.learn_weights and nk > 1:
                setattr(self, f"logit{k}", torch.nn.Parameter(logit))
            else:
                self.register_buffer(f"logit{k}", logit)
        w = np.full(K, 1.0 / K) if subspace_weights is None else np.asarray(subspace_weights)
        self.register_buffer("log_w", torch.log(torch.tensor(np.array(w, dtype=float),
                                                             dtype=torch.float64)))
        self.K = K
        self.latent_noise = bool(latent_noise)

    def parts(self):
        K = self.K
        return ([getattr(self, f"A{k}") for k in range(K)], [getattr(self, f"mu{k}") for k in range(K)],
                [getattr(self, f"U{k}") for k in range(K)],
                [torch.log_softmax(getattr(self, f"logit{k}"), 0) for k in range(K)],
                list(self.log_w))

    def forward(self, x, t):
        t = _as_t(t, x.shape[0], x)
        taus = [getattr(self, f"log_tau{k}") for k in range(self.K)] if self.latent_noise else None
        return _mixture(x, t, *self.parts(), self.process, self.form, log_taus=taus)[1]

    @torch.no_grad()
    def set_parameters(self, means, factors, mode_weights=None):
        """Load means (list of (n_k, d_k)), factors (list of (n_k, d_k, r_k)) and weights."""
        for k in range(self.K):
            getattr(self, f"mu{k}").copy_(torch.tensor(np.array(means[k])))
            getattr(self, f"U{k}").copy_(torch.tensor(np.array(factors[k])))
            if mode_weights is not None:
                getattr(self, f"logit{k}").copy_(torch.log(torch.as_tensor(
                    np.maximum(np.asarray(mode_weights[k], dtype=float), 1e-12))))

    @torch.no_grad()
    def init_from_data(self, x0, generator, iters=25):
        """Data-driven start: each point to its nearest subspace; in each, k-means++ and Lloyd
        on ``z = A_k^T x`` for the means, the top principal directions of each cluster (scaled
        by their standard deviations) for the factors, cluster fractions for the weights."""
        x0 = x0.to(dtype=self.A0.dtype, device=self.A0.device)
        bases = [getattr(self, f"A{k}") for k in range(self.K)]
        resid = torch.stack([torch.sum((x0 - (x0 @ a) @ a.T) ** 2, 1) for a in bases], 1)
        owner = torch.argmin(resid, 1)
        for k, a in enumerate(bases):
            mu, U = getattr(self, f"mu{k}"), getattr(self, f"U{k}")
            nk, dk, rk = U.shape
            z = (x0[owner == k] @ a)
            if z.shape[0] < nk:
                continue
            cent = _kmeans(z, nk, generator, iters)
            lab = torch.argmin(torch.cdist(z, cent), 1)
            mu.copy_(cent)
            weights = []
            for l in range(nk):
                zl = z[lab == l] - cent[l]
                weights.append(max(int((lab == l).sum()), 1))
                if zl.shape[0] > 1:
                    cov = zl.T @ zl / zl.shape[0]
                    ev, vec = torch.linalg.eigh(cov)
                    U[l] = vec[:, -rk:] * torch.sqrt(torch.clamp(ev[-rk:], min=1e-6))
            if isinstance(getattr(self, f"logit{k}"), torch.nn.Parameter):
                w = torch.as_tensor(weights, dtype=mu.dtype)
                getattr(self, f"logit{k}").copy_(torch.log(w / w.sum()))
        return self

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def _kmeans(z, k, generator, iters, restarts=8):
    """k-means++ seeding and Lloyd iterations, best of ``restarts`` by inertia (generator on
    the CPU)."""
    n = z.shape[0]
    zc = z.cpu()
    best, best_inertia = None, math.inf
    for _ in range(restarts):
        first = int(torch.randint(n, (1,), generator=generator))
        cent = [zc[first]]
        for _ in range(1, k):
            d2 = torch.min(torch.cdist(zc, torch.stack(cent)) ** 2, 1).values
            probs = d2 / d2.sum() if float(d2.sum()) > 0 else torch.full((n,), 1.0 / n,
                                                                          dtype=zc.dtype)
            cent.append(zc[int(torch.multinomial(probs, 1, generator=generator))])
        cent = torch.stack(cent).to(z.device)
        for _ in range(iters):
            lab = torch.argmin(torch.cdist(z, cent), 1)
            for j in range(k):
                sel = z[lab == j]
                if sel.shape[0]:
                    cent[j] = sel.mean(0)
        inertia = float(torch.sum(torch.min(torch.cdist(z, cent), 1).values ** 2))
        if inertia < best_inertia:
            best, best_inertia = cent, inertia
    return best


class GenericScore(torch.nn.Module):
    """A generic time-conditioned denoiser on ``R^D`` with Karras et al.'s preconditioning
    [code: NVlabs/edm training/networks.py EDMPrecond], written for the VP process through
    ``x~ = x / s_t`` (a VE point at level ``sigma = gamma_t / s_t``):

        D(x~, sigma) = c_skip x~ + c_out F(c_in x~, ln(sigma) / 4),
        s(x, t) = (s_t D(x / s_t, sigma) - x) / gamma_t^2,

    ``c_skip = sd^2 / (sigma^2 + sd^2)``, ``c_out = sigma sd / sqrt(sigma^2 + sd^2)``,
    ``c_in = 1 / sqrt(sigma^2 + sd^2)``; ``F`` is a SiLU MLP on ``[c_in x~, e]`` with the
    embedding ``e = [c, sin(w_j c), cos(w_j c)]`` of ``c = ln(sigma)/4`` on 4 frequencies.
    ``sd`` (``sigma_data``) is the data's root-mean-square coordinate, set by
    :func:`train_dsm` from the training data unless given."""

    def __init__(self, D, *, width=64, depth=2, process="vp", sigma_data=None):
        super().__init__()
        if process not in PROCESSES:
            raise ValueError(f"process: must be one of {PROCESSES} (got {process!r})")
        self.process = process
        D, width, depth = integer("D", D), integer("width", width), integer("depth", depth)
        self.register_buffer("freqs", torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=torch.float64))
        self.register_buffer("sigma_data", torch.tensor(
            1.0 if sigma_data is None else number("sigma_data", sigma_data), dtype=torch.float64))
        self.sigma_data_set = sigma_data is not None
        layers, inp = [], D + 9
        for _ in range(depth):
            layers += [torch.nn.Linear(inp, width, dtype=torch.float64), torch.nn.SiLU()]
            inp = width
        layers.append(torch.nn.Linear(inp, D, dtype=torch.float64))
        self.mlp = torch.nn.Sequential(*layers)

    def forward(self, x, t):
        t = _as_t(t, x.shape[0], x)
        s, g2 = coefficients(t, self.process)
        sig2 = (g2 / (s * s))[:, None]
        sd2 = self.sigma_data.to(x.dtype) ** 2
        xt = x / s[:, None]
        c = 0.25 * 0.5 * torch.log(sig2)
        emb = torch.cat([c, torch.sin(c * self.freqs), torch.cos(c * self.freqs)], 1).to(x.dtype)
        f = self.mlp(torch.cat([xt / torch.sqrt(sig2 + sd2), emb], 1))
        den = sd2 / (sig2 + sd2) * xt + torch.sqrt(sig2 * sd2 / (sig2 + sd2)) * f
        return (s[:, None] * den - x) / g2[:, None]

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def mog_network(spec: MoLRMoG, *, n_modes=None, ranks=None, **kw) -> LatentMixtureScore:
    """The MoE-latent MoG network on the spec's bases (``n_k``, ``r_k`` from the spec by
    default)."""
    return LatentMixtureScore(spec.bases, spec.n_modes if n_modes is None else n_modes,
                              spec.ranks if ranks is None else ranks,
                              subspace_weights=spec.subspace_weights, **kw)


def gaussian_network(spec: MoLRMoG, *, ranks=None, **kw) -> LatentMixtureScore:
    """The MoE-latent Gaussian network: one mode of rank ``d_k`` per subspace."""
    return LatentMixtureScore(spec.bases, 1, spec.dims if ranks is None else ranks,
                              subspace_weights=spec.subspace_weights, **kw)


def generic_network(D, target_parameters, *, depth=2, process="vp") -> GenericScore:
    """A :class:`GenericScore` whose width is chosen so its parameter count is closest to
    ``target_parameters``."""
    D, target = integer("D", D), integer("target_parameters", target_parameters)
    depth = integer("depth", depth)

    def count(w):
        return (D + 9) * w + w + (depth - 1) * (w * w + w) + w * D + D

    width = min(range(1, 4097), key=lambda w: abs(count(w) - target))
    return GenericScore(D, width=width, depth=depth, process=process)


# ----------------------------------------------------------------------------- training
def sample_times(n, generator, delta, T, *, device="cpu", dtype=torch.float64):
    """``n`` times log-uniform on ``[delta, T]``."""
    u = torch.rand(n, generator=generator, device=device, dtype=dtype)
    return delta * (T / delta) ** u


@dataclass(frozen=True)
class TrainedModel:
    """A trained score model and its record (``losses``: DSM loss per step)."""

    model: torch.nn.Module
    kind: str
    losses: np.ndarray
    steps: int
    seconds: float
    n_train: int | None
    parameter_count: int
    device: str
    dtype: str
    seed: int


@one_thread
def train_dsm(model, data, *, steps=2000, batch=512, lr=1e-2, delta=1e-3, T=5.0, seed=0,
              device="auto", dtype=torch.float64, kind=None, init="data",
              progress=None) -> TrainedModel:
    """Train ``model`` by DSM, ``E_t E ||gamma_t s(x_t, t) + xi||^2`` (sum over coordinates),
    ``t`` log-uniform on ``[delta, T]``.

    Parameters
    ----------
    model : LatentMixtureScore or GenericScore
    data : torch.Tensor (n, D) or callable
        A fixed training set (drawn from with replacement, each draw with fresh noise and
        time) or ``data(n, generator)`` for fresh draws every step.
    steps, batch, lr : Adam with cosine decay to 0 and gradient clipping at norm 10.
    init : "data" or "keep"
        ``"data"`` starts a :class:`LatentMixtureScore` from k-means on the data
        (:meth:`LatentMixtureScore.init_from_data`); ``"keep"`` keeps the current parameters.
    progress : callable, optional
        ``progress(done, steps)`` after every training step.
    """
    steps, batch = integer("steps", steps), integer("batch", batch)
    lr, delta, T = number("lr", lr), number("delta", delta), number("T", T)
    if delta >= T:
        raise ValueError(f"T: must exceed delta ({T} <= {delta})")
    if init not in ("data", "keep"):
        raise ValueError(f"init: 'data' or 'keep' (got {init!r})")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    model = model.to(device=dev, dtype=dt).train()
    gen_cpu = make_generator(torch.device("cpu"), seed, "molrmog", "data")
    gen = make_generator(dev, seed, "molrmog", "noise")
    fixed = isinstance(data, torch.Tensor)
    if fixed:
        data = data.to(dev, dt)
        n_train = int(data.shape[0])
    else:
        n_train = None
    if init == "data" and isinstance(model, LatentMixtureScore):
        x_init = data if fixed else data(20000, gen_cpu).to(dev, dt)
        model.init_from_data(x_init, make_generator(torch.device("cpu"), seed, "molrmog", "init"))
    if isinstance(model, GenericScore):
        if not model.sigma_data_set:
            ref = data if fixed else data(20000, gen_cpu).to(dev, dt)
            model.sigma_data.fill_(float(torch.sqrt(torch.mean(ref ** 2))))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(seed, "molrmog", "generic-init"))
            for m in model.mlp:
                if isinstance(m, torch.nn.Linear):
                    m.reset_parameters()
    params = [p for p in model.parameters() if p.requires_grad]

    def loss_at_step(k):
        if fixed:
            idx = torch.randint(n_train, (batch,), generator=gen_cpu).to(dev)
            x0 = data[idx]
        else:
            x0 = data(batch, gen_cpu).to(dev, dt)
        t = sample_times(batch, gen, delta, T, device=dev, dtype=dt)
        xt, xi = noised(x0, t, gen, model.process)
        _, g2 = coefficients(t, model.process)
        return torch.mean(torch.sum((torch.sqrt(g2)[:, None] * model(xt, t) + xi) ** 2, 1))

    losses, seconds = train_adam(params, loss_at_step, steps=steps, lr=lr, clip=10.0,
                                 name="train_dsm", progress=progress)
    return TrainedModel(model=model.eval(), kind=kind or type(model).__name__, losses=losses,
                        steps=steps, seconds=seconds, n_train=n_train,
                        parameter_count=model.parameter_count, device=describe_device(dev),
                        dtype=str(dt).replace("torch.", ""), seed=int(seed))


# ----------------------------------------------------------------------------- sampling
@torch.no_grad()
@one_thread
def reverse_sample(score, D, n, *, steps=200, delta=1e-3, T=5.0, seed=0, device="auto",
                   dtype=torch.float64, process="vp", denoise=True, batch=8192, progress=None):
    """Reverse-time VP sampling with the exponential integrator on a geometric time grid
    from ``T`` to ``delta`` [derived: the VP reverse SDE with the score frozen per step]:

        y_{t-h} = e^h y_t + 2 (e^h - 1) s(y_t, t) + sqrt(e^{2h} - 1) z,

    started from ``N(0, I_D)``; with ``denoise`` the output is Tweedie's ``(y + gamma^2 s) /
    s_delta`` at ``delta``.  Streams over batches of ``batch`` samples; one generator per batch.
    ``progress(done, total)``, if given, is called after every step of every batch.
    """
    if process != "vp":
        raise ValueError("process: reverse_sample implements the VP process only")
    D, n, steps = integer("D", D), integer("n", n), integer("steps", steps)
    delta, T = number("delta", delta), number("T", T)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    ts = torch.as_tensor(np.geomspace(T, delta, steps + 1), dtype=dt, device=dev)
    out = []
    total = steps * -(-n // batch)
    for b, start in enumerate(range(0, n, batch)):
        m = min(batch, n - start)
        gen = make_generator(dev, seed, "molrmog", "reverse", b)
        y = torch.randn(m, D, generator=gen, device=dev, dtype=dt)
        for j in range(steps):
            h = float(ts[j] - ts[j + 1])
            sc = score(y, ts[j].expand(m))
            z = torch.randn(m, D, generator=gen, device=dev, dtype=dt)
            y = math.exp(h) * y + 2.0 * math.expm1(h) * sc + math.sqrt(math.expm1(2 * h)) * z
            if progress is not None:
                progress(b * steps + j + 1, total)
        if denoise:
            s, g2 = coefficients(ts[-1], process)
            y = (y + g2 * score(y, ts[-1].expand(m))) / s
        out.append(y)
    return torch.cat(out, 0)


# ----------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class ScoreError(Tidy):
    """Per time: ``E||s - grad log p_t||^2`` (``mse``, with ``se``) and the relative error
    ``mse / E||grad log p_t||^2`` (``rel``, with ``rel_se``); ``to_pandas()`` and
    ``to_xarray()`` give them over ``t``."""

    t: np.ndarray
    mse: np.ndarray
    se: np.ndarray
    rel: np.ndarray
    rel_se: np.ndarray
    n: int

    def _tidy(self):
        return TidyData({"t": self.t},
                        {k: (("t",), np.ravel(getattr(self, k)))
                         for k in ("mse", "se", "rel", "rel_se")},
                        attrs={"n": int(self.n)})


@torch.no_grad()
@one_thread
def score_error(score, spec: MoLRMoG, ts, *, n=4096, seed=0, process="vp", device="auto",
                dtype=torch.float64, batch=4096) -> ScoreError:
    """Monte Carlo score error at each time in ``ts`` against the exact score; the draws of
    ``x_t`` depend only on ``(seed, t index)``, so different models see the same points."""
    n = integer("n", n)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    ts = np.atleast_1d(np.asarray(ts, dtype=float))
    mse, se, rel, rel_se = (np.empty(len(ts)) for _ in range(4))
    for i, t in enumerate(ts):
        gen = make_generator(torch.device("cpu"), seed, "molrmog", "score-error", i)
        errs, norms = [], []
        for start in range(0, n, batch):
            m = min(batch, n - start)
            x0, _, _ = sample(spec, m, gen, dtype=dt)
            xt, _ = noised(x0, float(t), gen, process)
            xt = xt.to(dev)
            ex = exact_score(spec, xt, float(t), process=process)
            errs.append(torch.sum((score(xt, torch.full((m,), float(t), dtype=dt, device=dev))
                                   - ex) ** 2, 1).cpu())
            norms.append(torch.sum(ex ** 2, 1).cpu())
        e = torch.cat(errs).numpy()
        q = torch.cat(norms).numpy()
        mse[i], se[i] = e.mean(), e.std(ddof=1) / math.sqrt(n)
        rel[i] = e.mean() / q.mean()
        # delta method for a ratio of means
        cov = np.cov(e, q)
        rel_se[i] = math.sqrt(max(cov[0, 0] / q.mean() ** 2 - 2 * e.mean() * cov[0, 1] / q.mean() ** 3
                                  + e.mean() ** 2 * cov[1, 1] / q.mean() ** 4, 0.0) / n)
    return ScoreError(t=ts, mse=mse, se=se, rel=rel, rel_se=rel_se, n=n)


@dataclass(frozen=True)
class MMD(Tidy):
    """Unbiased squared maximum mean discrepancy (Gaussian kernel of width ``bandwidth``),
    averaged over ``blocks`` disjoint blocks, with the standard error across them;
    ``to_pandas()`` (one row) and ``to_xarray()`` (scalars) hold them."""

    value: float
    se: float
    bandwidth: float
    blocks: int

    def _tidy(self):
        return TidyData({}, {k: float(getattr(self, k)) for k in ("value", "se", "bandwidth")},
                        attrs={"blocks": int(self.blocks)})


def mmd(x, y, *, bandwidth=None, blocks=8) -> MMD:
    """``MMD^2(x, y)`` with a Gaussian kernel; ``bandwidth`` defaults to the median pairwise
    distance of ``y`` (on at most 2000 points)."""
    blocks = integer("blocks", blocks, 2)
    m = min(x.shape[0], y.shape[0]) // blocks
    if m < 2:
        raise ValueError(f"x, y: need at least {2 * blocks} points each for {blocks} blocks")
    if bandwidth is None:
        ref = y[:2000]
        bandwidth = float(torch.median(torch.pdist(ref)))
    bw2 = 2.0 * bandwidth ** 2
    vals = []
    for b in range(blocks):
        xb, yb = x[b * m:(b + 1) * m], y[b * m:(b + 1) * m]
        kxx = torch.exp(-torch.cdist(xb, xb) ** 2 / bw2)
        kyy = torch.exp(-torch.cdist(yb, yb) ** 2 / bw2)
        kxy = torch.exp(-torch.cdist(xb, yb) ** 2 / bw2)
        off = m * (m - 1)
        vals.append(float((kxx.sum() - kxx.diagonal().sum()) / off
                          + (kyy.sum() - kyy.diagonal().sum()) / off - 2 * kxy.mean()))
    vals = np.array(vals)
    return MMD(value=float(vals.mean()), se=float(vals.std(ddof=1) / math.sqrt(blocks)),
               bandwidth=float(bandwidth), blocks=blocks)


def mode_histogram(spec: MoLRMoG, x):
    """Fraction of points assigned to each ``(k, l)`` (flat order) and the total-variation
    distance of that histogram to the true weights ``w_k pi_{k,l}``."""
    lab = posterior_labels(spec, x)
    n_tot = sum(spec.n_modes)
    hist = torch.bincount(lab.cpu(), minlength=n_tot).double().numpy() / x.shape[0]
    truth = np.concatenate([w * p for w, p in zip(spec.subspace_weights, spec.mode_weights)])
    return hist, 0.5 * float(np.abs(hist - truth).sum())


def mode_distance(spec: MoLRMoG, x):
    """Distance of each point to the nearest mode support ``A_k (mu_{k,l} + span U_{k,l})``
    (0 for every exact draw): small for samples that land on a mode, of the order of the
    mode separation for samples between modes or off the subspaces."""
    best = None
    for a, mu, u in zip(spec.bases, spec.means, spec.factors):
        A = torch.tensor(np.array(a), dtype=x.dtype, device=x.device)
        z = x @ A
        perp = torch.sum((x - z @ A.T) ** 2, 1)
        for l in range(mu.shape[0]):
            q = torch.tensor(np.linalg.qr(u[l])[0], dtype=x.dtype, device=x.device)
            y = z - torch.tensor(np.array(mu[l]), dtype=x.dtype, device=x.device)
            res = torch.sum((y - (y @ q) @ q.T) ** 2, 1)
            d2 = perp + res
            best = d2 if best is None else torch.minimum(best, d2)
    return torch.sqrt(best)


def off_subspace_distance(spec: MoLRMoG, x):
    """``min_k ||(I - A_k A_k^T) x||`` per point."""
    ds = []
    for a in spec.bases:
        A = torch.tensor(np.array(a), dtype=x.dtype, device=x.device)
        ds.append(torch.linalg.norm(x - (x @ A) @ A.T, dim=1))
    return torch.min(torch.stack(ds, 1), 1).values


# ----------------------------------------------------------------------------- gradient descent
def _flat_truth(spec):
    return torch.cat([torch.tensor(np.concatenate([m.ravel(), u.ravel()]))
                      for m, u in zip(spec.means, spec.factors)])


def _unflatten(theta, spec):
    means, factors, i = [], [], 0
    for m, u in zip(spec.means, spec.factors):
        means.append(theta[i:i + m.size].reshape(m.shape))
        i += m.size
        factors.append(theta[i:i + u.size].reshape(u.shape))
        i += u.size
    return means, factors


def _gd_loss_fn(spec, t, n_mc, seed, process, form):
    gen = make_generator(torch.device("cpu"), seed, "molrmog", "gd")
    x0, _, _ = sample(spec, n_mc, gen, stratified=True)
    xt, _ = noised(x0, t, gen, process)
    tt = _as_t(t, n_mc, xt)
    bases, _, _, lpis, lws = _tensors(spec, xt.device, xt.dtype)
    target = _mixture(xt, tt, *_tensors(spec, xt.device, xt.dtype), process)[1]

    def loss(theta):
        means, factors = _unflatten(theta, spec)
        sc = _mixture(xt, tt, bases, means, factors, lpis, lws, process, form)[1]
        return torch.mean(torch.sum((sc - target) ** 2, 1))

    return loss


@dataclass(frozen=True)
class GDTrace(Tidy):
    """Distances ``||theta_m - theta*||`` of plain gradient descent started near the truth;
    ``to_pandas()`` and ``to_xarray()`` give ``distance`` and ``loss`` over ``iteration``."""

    distances: np.ndarray
    losses: np.ndarray
    step: float
    n_mc: int

    def _tidy(self):
        dist = np.ravel(self.distances)
        return TidyData({"iteration": np.arange(dist.size)},
                        {"distance": (("iteration",), dist),
                         "loss": (("iteration",), np.ravel(self.losses))},
                        attrs={"step": float(self.step), "n_mc": int(self.n_mc)})

    @property
    def rate(self) -> float:
        """Per-step contraction fitted (least squares on ``log ||theta_m - theta*||``) over the
        second half of the iterations whose distance is still above ``1e-9`` of the start
        (below that, rounding sets the floor)."""
        d = self.distances
        ok = np.nonzero(d > 1e-9 * d[0])[0]
        last = int(ok[-1]) if ok.size else 0
        lo = last // 2
        if last - lo < 5:
            raise ValueError("GDTrace.rate: too few iterations above the rounding floor")
        m = np.arange(lo, last + 1)
        return float(np.exp(np.polyfit(m, np.log(d[m]), 1)[0]))


@one_thread
def gradient_descent(spec: MoLRMoG, t: float, step: float, *, iterations=60, n_mc=20000,
                     perturbation=1e-3, seed=0, process="vp", form="woodbury",
                     progress=None) -> GDTrace:
    """Gradient descent on the fixed-``t`` score-matching loss ``mean ||s_theta(x_t) -
    grad log p_t(x_t)||^2`` over ``n_mc`` fixed stratified draws (float64, CPU), in the means
    and factors
    with the true weights, from ``theta* + perturbation * ||theta*|| v``, ``v`` a random unit
    vector.  ``progress(done, iterations + 1)``, if given, is called after every gradient."""
    t, step = number("t", t), number("step", step)
    iterations, n_mc = integer("iterations", iterations), integer("n_mc", n_mc)
    loss_fn = _gd_loss_fn(spec, t, n_mc, seed, process, form)
    star = _flat_truth(spec)
    gen = make_generator(torch.device("cpu"), seed, "molrmog", "gd-start")
    v = torch.randn(star.shape, generator=gen, dtype=torch.float64)
    theta = (star + perturbation * torch.linalg.norm(star) * v / torch.linalg.norm(v)).requires_grad_()
    dist, losses = [], []
    for k in range(iterations + 1):
        loss = loss_fn(theta)
        (g,) = torch.autograd.grad(loss, theta)
        dist.append(float(torch.linalg.norm(theta.detach() - star)))
        losses.append(float(loss.detach()))
        with torch.no_grad():
            theta -= step * g
        if progress is not None:
            progress(k + 1, iterations + 1)
    return GDTrace(distances=np.array(dist), losses=np.array(losses), step=step, n_mc=n_mc)


@one_thread
def empirical_hessian(spec: MoLRMoG, t: float, *, n_mc=20000, seed=0, process="vp",
                      form="woodbury", progress=None) -> np.ndarray:
    """Eigenvalues of the autograd Hessian of the same loss at the truth (ascending), one
    row at a time (a second backward pass through the gradient per parameter);
    ``progress(done, rows)``, if given, is called after every row."""
    loss_fn = _gd_loss_fn(spec, number("t", t), integer("n_mc", n_mc), seed, process, form)
    theta = _flat_truth(spec).detach().requires_grad_()
    (g,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    rows = []
    for i in range(g.numel()):
        rows.append(torch.autograd.grad(g[i], theta, retain_graph=True)[0])
        if progress is not None:
            progress(i + 1, g.numel())
    H = torch.stack(rows).detach()
    return np.linalg.eigvalsh(((H + H.T) / 2).numpy())
