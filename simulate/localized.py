"""Finite-size localized score models (Gottwald, Liu, Marzouk, Reich, Tong 2025; research note
localized.md sections 1.4, 4.5 and 5).

* :func:`sample_gaussian`: many independent training sets from a Gaussian target at once.
* :func:`local_linear_scores`: the localized linear estimator, the DSM minimizer over linear
  functions of ``x_{N_i^r}`` with infinitely many noise draws (covariance localization):
  ``hat s_i(x) = -[(e^{-2t} hat C_NN + sigma_t^2 I)^{-1} x_N]_i`` with ``hat C = X^T X / n``.
* :func:`linear_score_error`: its exact error ``E_{p_t} ||(P_t - hat A_t) x||^2``.
* :class:`LocalScoreNet`: a localized network; site i sees exactly ``x_{N_i^r}``.  Weights are
  shared over sites (a window network, translation-equivariant) or separate per site; each has a
  linear branch with time-dependent coefficients and a two-layer SiLU branch.
* :func:`train_local_score`: localized DSM (noise prediction, t log-uniform, fresh noise).
* :func:`net_score_error`: Monte Carlo error against the exact Gaussian score, per time.
* :func:`reverse_sample`: the OU reverse SDE by the exponential integrator.
* :func:`phi4_chain`: a phi^4 lattice chain sampled by checkerboard Metropolis, a non-Gaussian
  local target whose noised score is not known in closed form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.localized import Lattice, check_radius, noised_covariance, noised_precision

from .device import make_generator, one_thread, resolve_device, resolve_dtype
from ._checks import integer, number
from .molrmog import sample_times
from .training import train_adam

__all__ = ["sample_gaussian", "local_linear_scores", "linear_score_error", "LocalScoreNet",
           "TrainedLocalScore", "train_local_score", "net_score_error", "reverse_sample",
           "phi4_chain", "Phi4"]

_DT = torch.float64


def _ou(t):
    return torch.exp(-t), -torch.expm1(-2.0 * t)


def sample_gaussian(target, n, *, datasets=1, seed=0, device="auto") -> torch.Tensor:
    """``datasets`` independent sets of ``n`` draws from ``N(0, C)``: shape ``(S, n, d)``."""
    n, datasets = integer("n", n), integer("datasets", datasets)
    dev = resolve_device(device)
    L = torch.linalg.cholesky(torch.as_tensor(target.covariance, dtype=_DT, device=dev))
    gen = make_generator(dev, seed, "localized", "gaussian", n)
    z = torch.randn((datasets, n, target.dim), generator=gen, device=dev, dtype=torch.float32)
    return z.to(_DT) @ L.T


def _padded_neighbourhoods(lattice: Lattice, r):
    hoods = lattice.neighbourhoods(r)
    k = max(len(h) for h in hoods)
    idx = np.zeros((lattice.size, k), dtype=np.int64)
    valid = np.zeros((lattice.size, k), dtype=bool)
    pos = np.zeros(lattice.size, dtype=np.int64)
    for i, h in enumerate(hoods):
        idx[i, :len(h)], valid[i, :len(h)] = h, True
        pos[i] = int(np.searchsorted(h, i))
    return idx, valid, pos


@one_thread
def local_linear_scores(X, lattice: Lattice, r, times) -> torch.Tensor:
    """Matrices ``hat A_t`` of the localized linear estimator, ``hat s_t(x) = -hat A_t x``.

    Parameters
    ----------
    X : tensor ``(S, n, d)`` or ``(n, d)``
        Training sets (centred law; the mean is taken as known, zero).
    lattice : Lattice
    r : int or None
        Radius; ``None`` (or a neighbourhood covering every site) gives the global estimator
        ``(e^{-2t} hat C + sigma_t^2 I)^{-1}``.
    times : array ``(T,)``

    Returns
    -------
    tensor ``(S, T, d, d)`` in float64; row i is supported on ``N_i^r``.
    """
    X = torch.as_tensor(X)
    if X.ndim == 2:
        X = X[None]
    X = X.to(_DT)
    S, n, d = X.shape
    if d != lattice.size:
        raise ValueError(f"X: {d} coordinates for a lattice of {lattice.size} sites")
    r = check_radius(r)
    t = torch.as_tensor(np.asarray(times, dtype=float), dtype=_DT, device=X.device)
    a, s2 = _ou(t)
    Chat = X.transpose(1, 2) @ X / n                                      # (S, d, d)
    eye = torch.eye(d, dtype=_DT, device=X.device)
    out = torch.zeros((S, t.numel(), d, d), dtype=_DT, device=X.device)
    if r is None or lattice.neighbourhood_size(r) >= d:
        for k in range(t.numel()):
            out[:, k] = torch.linalg.inv(a[k] ** 2 * Chat + s2[k] * eye)
        return out
    idx, valid, pos = (torch.as_tensor(v, device=X.device)
                       for v in _padded_neighbourhoods(lattice, r))
    kk = idx.shape[1]
    Cloc = Chat[:, idx[:, :, None], idx[:, None, :]]                     # (S, b, k, k)
    both = valid[:, :, None] & valid[:, None, :]
    eye_k = torch.eye(kk, dtype=_DT, device=X.device)
    rhs = torch.zeros((d, kk, 1), dtype=_DT, device=X.device)
    rhs[torch.arange(d), pos, 0] = 1.0
    rows_at = torch.arange(d, device=X.device)[:, None].expand(d, kk)
    for k in range(t.numel()):
        M = torch.where(both, a[k] ** 2 * Cloc + s2[k] * eye_k, eye_k)
        row = torch.linalg.solve(M, rhs.expand(S, d, kk, 1))[..., 0]         # (S, b, k)
        row = torch.where(valid, row, torch.zeros((), dtype=_DT, device=X.device))
        out[:, k].permute(1, 2, 0).index_put_((rows_at, idx), row.permute(1, 2, 0),
                                               accumulate=True)
    return out


def linear_score_error(A_hat, target, times) -> np.ndarray:
    """Exact ``E_{p_t} ||(P_t - hat A_t) x_t||^2 = tr(D C_t D^T)``, ``D = P_t - hat A_t``:
    shape ``(S, T)`` (numpy, float64)."""
    A_hat = torch.as_tensor(A_hat)
    dev = A_hat.device
    Pt = torch.as_tensor(noised_precision(target, times), dtype=_DT, device=dev)
    Ct = torch.as_tensor(noised_covariance(target, times), dtype=_DT, device=dev)
    D = Pt - A_hat
    return torch.einsum("stij,tjk,stik->st", D, Ct, D).cpu().numpy()


# ----------------------------------------------------------------------------- networks
class LocalScoreNet(torch.nn.Module):
    """A localized score model: output i is a function of ``x_{N_i^r}`` and t only.

    ``eps_i = sum_k c_k(t) x_{w(i,k)} + MLP(x_{w(i, .)}, t)`` and ``s_i = -eps_i / sigma_t``,
    where ``w(i, k)`` is the site at offset k from i (window order, see
    :meth:`Lattice.window_index`).  ``shared=True`` uses one set of weights for every site (a
    window network); ``shared=False`` gives every site its own network (trainable in parallel).
    ``r=None`` is the global model: every output sees every coordinate (relative order on a
    periodic chain when shared).

    Parameters
    ----------
    lattice : Lattice
    r : int or None
    shared : bool
    width : int
        Hidden width of the SiLU branch (two hidden layers).
    delta, T : float
        Time range of training; the time features are Fourier features of log t on it.
    """

    def __init__(self, lattice: Lattice, r, *, shared=True, width=64, delta=1e-2, T=6.0,
                 time_features=8):
        super().__init__()
        self.lattice, self.r, self.shared = lattice, check_radius(r), bool(shared)
        width, nf = integer("width", width), integer("time_features", time_features, low=2)
        self.delta, self.T = number("delta", delta), number("T", T)
        b = lattice.size
        if self.r is None:
            if shared:
                if lattice.dim != 1 or not lattice.periodic:
                    raise ValueError("shared: a shared global model needs a periodic chain")
                index = (np.arange(b)[:, None] + np.arange(b)[None, :]) % b
            else:
                index = np.tile(np.arange(b), (b, 1))
            valid = np.ones_like(index, dtype=bool)
        else:
            index, valid = lattice.window_index(self.r)
        self.register_buffer("index", torch.as_tensor(index, dtype=torch.long))
        self.register_buffer("valid", torch.as_tensor(valid))
        self.with_mask = bool(shared and not valid.all())
        k = index.shape[1]
        k_in = 2 * k if self.with_mask else k
        self.register_buffer("freqs", torch.arange(1, nf // 2 + 1, dtype=torch.float64) * math.pi)
        nt = 2 * (nf // 2) + 1
        lead = () if shared else (b,)

        def param(*shape, fan_in, scale=1.0):
            w = (torch.rand(lead + shape, dtype=torch.float64) * 2 - 1) * scale / math.sqrt(fan_in)
            return torch.nn.Parameter(w)

        self.w1 = param(k_in, width, fan_in=k_in)
        self.wt = param(nt, width, fan_in=nt)
        self.b1 = torch.nn.Parameter(torch.zeros(lead + (width,), dtype=torch.float64))
        self.w2 = param(width, width, fan_in=width)
        self.b2 = torch.nn.Parameter(torch.zeros(lead + (width,), dtype=torch.float64))
        self.w3 = param(width, fan_in=width, scale=0.1)
        self.b3 = torch.nn.Parameter(torch.zeros(lead, dtype=torch.float64))
        self.wl = torch.nn.Parameter(torch.zeros(lead + (nt, k), dtype=torch.float64))
        self.bl = torch.nn.Parameter(torch.zeros(lead + (k,), dtype=torch.float64))

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def time_embedding(self, t):
        u = (torch.log(t) - math.log(self.delta)) / (math.log(self.T) - math.log(self.delta))
        ang = u[:, None] * self.freqs.to(t.dtype)
        return torch.cat([u[:, None], torch.sin(ang), torch.cos(ang)], dim=1)

    def eps(self, x, t):
        """Predicted noise ``(B, b)`` at ``x`` ``(B, d)``, times ``t`` ``(B,)``."""
        xw = x[:, self.index] * self.valid.to(x.dtype)                   # (B, b, k)
        emb = self.time_embedding(t)                                      # (B, nt)
        inp = torch.cat([xw, self.valid.to(x.dtype).expand_as(xw)], -1) if self.with_mask else xw
        if self.shared:
            coef = emb @ self.wl + self.bl                                # (B, k)
            lin = torch.einsum("bsk,bk->bs", xw, coef)
            h = torch.nn.functional.silu(inp @ self.w1 + (emb @ self.wt)[:, None, :] + self.b1)
            h = torch.nn.functional.silu(h @ self.w2 + self.b2)
            return lin + h @ self.w3 + self.b3
        coef = torch.einsum("bn,snk->bsk", emb, self.wl) + self.bl
        lin = torch.einsum("bsk,bsk->bs", xw, coef)
        h = torch.einsum("bsk,skw->bsw", inp, self.w1) + torch.einsum("bn,snw->bsw", emb, self.wt)
        h = torch.nn.functional.silu(h + self.b1)
        h = torch.nn.functional.silu(torch.einsum("bsw,swv->bsv", h, self.w2) + self.b2)
        return lin + torch.einsum("bsw,sw->bs", h, self.w3) + self.b3

    def forward(self, x, t):
        """The score ``-eps / sigma_t``."""
        _, s2 = _ou(t)
        return -self.eps(x, t) / torch.sqrt(s2)[:, None]


@dataclass(frozen=True)
class TrainedLocalScore:
    model: LocalScoreNet
    losses: np.ndarray
    seconds: float
    n_train: int
    dtype: str

    @property
    def final_loss(self) -> float:
        tail = self.losses[-max(1, len(self.losses) // 10):]
        return float(np.mean(tail))


@one_thread
def train_local_score(model: LocalScoreNet, X, *, steps=1500, batch=256, lr=3e-3, seed=0,
                      device="auto", dtype="float32", progress=None) -> TrainedLocalScore:
    """Localized DSM: minimize ``E ||eps_theta(x_t, t) - z||^2 / b`` over t log-uniform on the
    model's ``[delta, T]``, data drawn from ``X`` (n, d) with replacement and fresh noise every
    step.  The sum over sites decouples, so per-site networks train independently.  Adam with
    cosine decay; float32 by default (recorded).  ``progress(done, steps)``, if given, is
    called after every step."""
    steps, batch = integer("steps", steps), integer("batch", batch)
    lr = number("lr", lr)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    X = torch.as_tensor(X).to(dev, dt)
    if X.ndim != 2 or X.shape[1] != model.lattice.size:
        raise ValueError(f"X: expected shape (n, {model.lattice.size}) (got {tuple(X.shape)})")
    model = model.to(device=dev, dtype=dt).train()
    gen_cpu = make_generator(torch.device("cpu"), seed, "localized", "batches")
    gen = make_generator(dev, seed, "localized", "noise")
    n = X.shape[0]

    def loss_at_step(k):
        x0 = X[torch.randint(n, (batch,), generator=gen_cpu).to(dev)]
        t = sample_times(batch, gen, model.delta, model.T, device=dev, dtype=dt)
        a, s2 = _ou(t)
        z = torch.randn(x0.shape, generator=gen, device=dev, dtype=dt)
        xt = a[:, None] * x0 + torch.sqrt(s2)[:, None] * z
        return torch.mean((model.eps(xt, t) - z) ** 2)

    losses, seconds = train_adam(model.parameters(), loss_at_step, steps=steps, lr=lr,
                                 name="train_local_score", progress=progress)
    model.eval()
    return TrainedLocalScore(model, losses, seconds, int(n), str(dt).replace("torch.", ""))


@torch.no_grad()
@one_thread
def net_score_error(model, target, times, *, n_eval=2048, seed=0):
    """``E_{p_t} ||s_theta(x, t) + P_t x||^2`` at each time (joint over sites), by Monte Carlo
    with exact draws of ``x_t``: returns ``(mean, se)``, arrays of shape (T,)."""
    n_eval = integer("n_eval", n_eval, low=2)
    p = next(model.parameters())
    dev, dt = p.device, p.dtype
    times = np.asarray(times, dtype=float)
    L = torch.linalg.cholesky(torch.as_tensor(noised_covariance(target, times), dtype=_DT,
                                              device=dev))
    Pt = torch.as_tensor(noised_precision(target, times), dtype=_DT, device=dev)
    gen = make_generator(dev, seed, "localized", "score-error")
    mean, se = np.empty(times.size), np.empty(times.size)
    for k, tk in enumerate(times):
        z = torch.randn((n_eval, target.dim), generator=gen, device=dev, dtype=torch.float32)
        x = z.to(_DT) @ L[k].T
        exact = -(x @ Pt[k])
        tt = torch.full((n_eval,), float(tk), device=dev, dtype=dt)
        err = ((model(x.to(dt), tt).to(_DT) - exact) ** 2).sum(dim=1)
        mean[k] = float(err.mean())
        se[k] = float(err.std() / math.sqrt(n_eval))
    return mean, se


@torch.no_grad()
@one_thread
def reverse_sample(score, d, n, times, *, seed=0, device="auto", dtype=torch.float64,
                   progress=None):
    """Samples at forward time ``times[0]`` of the OU reverse SDE from ``N(0, I)`` at
    ``times[-1]``, by the exponential integrator with the score frozen at each step's upper
    end: ``y <- e^h y + 2 (e^h - 1) s(y, t_{k+1}) + sqrt(e^{2h} - 1) z``.
    ``progress(done, steps)``, if given, is called after every step."""
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    n, d = integer("n", n), integer("d", d)
    times = np.asarray(times, dtype=float)
    gen = make_generator(dev, seed, "localized", "reverse")
    y = torch.randn((n, d), generator=gen, device=dev, dtype=dt)
    for k in range(times.size - 2, -1, -1):
        h = float(times[k + 1] - times[k])
        s = score(y, torch.full((n,), float(times[k + 1]), device=dev, dtype=dt))
        z = torch.randn((n, d), generator=gen, device=dev, dtype=dt)
        y = math.exp(h) * y + 2.0 * math.expm1(h) * s + math.sqrt(math.expm1(2 * h)) * z
        if progress is not None:
            progress(times.size - 1 - k, times.size - 1)
    return y


# ----------------------------------------------------------------------------- phi^4 chain
@dataclass(frozen=True)
class Phi4:
    """A periodic phi^4 chain [derived: a standard lattice model, chosen here for its range-1
    dependencies], ``pi(x) ~ exp(-U(x))`` with

        U(x) = sum_i [ mass2 x_i^2 / 2 + quartic x_i^4 / 4 + coupling (x_i - x_{i+1})^2 / 2 ].

    Its conditional dependencies have range 1 (the Hessian of U is tridiagonal), the sparse
    structure the localized model assumes; ``quartic = 0`` makes it Gaussian with precision
    ``(mass2 + 2 coupling) I - coupling (S + S^T)``."""

    sites: int = 32
    mass2: float = -1.0
    quartic: float = 1.0
    coupling: float = 0.5

    def __post_init__(self):
        b = integer("sites", self.sites, low=4)
        if b % 2:
            raise ValueError(f"sites: the checkerboard sampler needs an even number (got {b})")
        number("quartic", self.quartic, strict=False)
        number("coupling", self.coupling, strict=False)
        m2 = self.mass2
        if not (isinstance(m2, (int, float)) and math.isfinite(m2)):
            raise ValueError(f"mass2: must be a finite number (got {m2!r})")
        if self.quartic == 0 and m2 <= 0:
            raise ValueError("mass2: must be > 0 when quartic = 0 (else not normalizable)")


@one_thread
def phi4_chain(model: Phi4, n, *, sweeps=2000, step=1.0, seed=0, device="auto",
               progress=None):
    """``n`` independent chains of checkerboard Metropolis on ``model``, run for ``sweeps``
    sweeps from 0; returns the final states ``(n, sites)`` (float64) and the acceptance rate.

    Each half-sweep proposes ``x_i + step z`` at every even (then odd) site at once; those
    sites are conditionally independent given the others, so the update is exact.
    ``progress(done, sweeps)``, if given, is called after every sweep."""
    n, sweeps = integer("n", n), integer("sweeps", sweeps)
    step = number("step", step)
    dev = resolve_device(device)
    gen = make_generator(dev, seed, "localized", "phi4")
    b = model.sites
    x = torch.zeros((n, b), dtype=_DT, device=dev)
    parity = torch.arange(b, device=dev) % 2
    a2, g, J = model.mass2 / 2.0 + model.coupling, model.quartic / 4.0, model.coupling

    def local(v, field):
        return a2 * v * v + g * v ** 4 - J * v * field

    accepted = 0.0
    for k in range(sweeps):
        for par in (0, 1):
            mask = parity == par
            field = torch.roll(x, 1, 1) + torch.roll(x, -1, 1)
            prop = x + step * torch.randn(x.shape, generator=gen, device=dev, dtype=_DT)
            log_ratio = local(x, field) - local(prop, field)
            u = torch.rand(x.shape, generator=gen, device=dev, dtype=_DT)
            take = (torch.log(u) < log_ratio) & mask
            x = torch.where(take, prop, x)
            accepted += float(take.sum()) / (n * b / 2)
        if progress is not None:
            progress(k + 1, sweeps)
    return x, accepted / (2 * sweeps)
