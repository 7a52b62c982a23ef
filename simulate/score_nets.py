"""A small time-conditioned score network trained by denoising score matching (VE noise).

The network is a denoiser with Karras et al.'s preconditioning [code: NVlabs/edm
training/networks.py, EDMPrecond and VEPrecond],

    D(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in(sigma) x, c_noise(sigma)),

with ``F`` a SiLU MLP on ``c_in x`` and a fixed Fourier embedding of ``c_noise``.  Two designs:

* ``"edm"``: ``c_skip = sd^2/(sigma^2+sd^2)``, ``c_out = sigma sd/sqrt(sigma^2+sd^2)``,
  ``c_in = 1/sqrt(sigma^2+sd^2)``, ``c_noise = ln(sigma)/4`` (``sd`` = sigma_data);
* ``"ve"`` (Song et al.): ``c_skip = 1``, ``c_out = sigma``, ``c_in = 1``,
  ``c_noise = ln(sigma/2)``.

The score of ``p_sigma = P_0 * N(0, sigma^2 I)`` is read off Tweedie's formula,
``S(v, y) = (D(y, sqrt v) - y) / v``.  Training minimises
``E lambda(sigma) ||D(x_0 + sigma xi, sigma) - x_0||^2`` [code: NVlabs/edm training/loss.py]:

* ``"edm"`` weighting: ``ln sigma ~ N(P_mean, P_std^2)``,
  ``lambda = (sigma^2 + sd^2)/(sigma sd)^2``, preconditioning ``"edm"``;
* ``"song"`` weighting: ``sigma = sigma_min (sigma_max/sigma_min)^u``, ``u ~ U[0, 1]``,
  ``lambda = 1/sigma^2``, preconditioning ``"ve"``.

The error is largest at the smallest levels, where the score is ``F/sigma`` to leading order
and, for ``"edm"``, few training levels fall (``ln 0.002`` lies 4.2 ``P_std`` below ``P_mean``).

:func:`score_error_by_level` measures ``E||S - grad log p_sigma||^2`` per noise level against
an exact score, with its standard error: the ``eps_j^2`` profile of the sampling bound.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.tidy import Tidy, TidyData

from ._checks import integer, is_integer, number
from .device import (derive_seed, describe_device, make_generator, one_thread, resolve_device,
                     resolve_dtype)
from .training import train_adam

__all__ = ["ScoreNet", "TrainedScore", "train_dsm", "ScoreErrorProfile", "score_error_by_level"]

PRECONDS = ("edm", "ve")
WEIGHTINGS = {"edm": "edm", "song": "ve"}  # weighting -> preconditioning
N_FOURIER = 8
SIGMA_DATA_SAMPLES = 10_000


class ScoreNet(torch.nn.Module):
    """Preconditioned denoiser ``D(x, sigma)`` and the score it implies.

    Parameters
    ----------
    d : int
        Data dimension.
    precond : {"edm", "ve"}
        Preconditioning (see the module docstring).
    sigma_data : float
        Data scale ``sd`` of the ``"edm"`` preconditioning (unused by ``"ve"``).
    width : int
        Hidden width of the MLP ``F``.
    depth : int
        Number of hidden layers of ``F``.

    Notes
    -----
    ``F(x, c) = MLP(W_x x + W_c e(c) + b)`` with the embedding
    ``e(c) = [c, sin(w_k c), cos(w_k c)]`` on ``N_FOURIER`` fixed geometric frequencies
    ``w_k`` from 1/4 to 16.  ``W_x`` starts with N(0, 1/d) entries, so that unit-scale inputs
    reach the SiLU in its nonlinear range (PyTorch's default, much smaller, leaves the
    network nearly linear in ``x`` and stalls on multimodal data); hidden layers start with
    He-normal weights, the embedding and output layers with PyTorch's default.
    """

    def __init__(self, d: int, *, precond: str = "edm", sigma_data: float = 0.5,
                 width: int = 128, depth: int = 3):
        super().__init__()
        if precond not in PRECONDS:
            raise ValueError(f"precond: must be one of {PRECONDS} (got {precond!r})")
        self.d = integer("d", d)
        self.precond = precond
        self.sigma_data = number("sigma_data", sigma_data)
        width, depth = integer("width", width), integer("depth", depth)
        self.register_buffer("freqs", torch.logspace(-2.0, 4.0, N_FOURIER, base=2.0,
                                                     dtype=torch.float64).to(torch.float32))
        self.inp_x = torch.nn.Linear(self.d, width)
        self.inp_c = torch.nn.Linear(1 + 2 * N_FOURIER, width, bias=False)
        layers = [torch.nn.SiLU()]
        for _ in range(depth - 1):
            layers += [torch.nn.Linear(width, width), torch.nn.SiLU()]
        layers.append(torch.nn.Linear(width, self.d))
        self.F = torch.nn.Sequential(*layers)
        with torch.no_grad():
            self.inp_x.weight.normal_(0.0, 1.0 / math.sqrt(self.d))
            for m in self.F[1:-1]:
                if isinstance(m, torch.nn.Linear):
                    m.weight.normal_(0.0, math.sqrt(2.0 / width))

    @property
    def parameter_count(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def coefficients(self, sigma: torch.Tensor):
        """``(c_skip, c_out, c_in, c_noise)`` at ``sigma`` (any shape, any dtype)."""
        if self.precond == "ve":
            one = torch.ones_like(sigma)
            return one, sigma, one, torch.log(0.5 * sigma)
        sd2 = self.sigma_data ** 2
        r = torch.sqrt(sigma ** 2 + sd2)
        return sd2 / r ** 2, sigma * self.sigma_data / r, 1.0 / r, torch.log(sigma) / 4.0

    def _dtype(self):
        return self.inp_x.weight.dtype

    def _device(self):
        return self.inp_x.weight.device

    def raw(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """The network ``F(x, c_noise)`` (``x``: (n, d), ``c_noise``: (n,))."""
        c = c_noise[:, None]
        wc = c * self.freqs.to(c)
        return self.F(self.inp_x(x) + self.inp_c(torch.cat([c, torch.sin(wc), torch.cos(wc)], dim=1)))

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Denoiser ``D(x, sigma)``.

        Parameters
        ----------
        x : torch.Tensor
            (n, d) noisy inputs, in the module's dtype and device.
        sigma : torch.Tensor or float
            (n,) noise levels, or one level for all rows.

        Returns
        -------
        torch.Tensor
            (n, d) denoised estimate of ``E[x_0 | x]``.
        """
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        c_skip, c_out, c_in, c_noise = self.coefficients(sigma)
        return c_skip[:, None] * x + c_out[:, None] * self.raw(c_in[:, None] * x, c_noise)

    def score(self, v: float, y: torch.Tensor, step=None) -> torch.Tensor:
        """``(D(y, sqrt v) - y) / v``, the sampler's ``score(v, y, step)``.

        ``F`` runs in the module's dtype and device; ``(c_skip - 1) y / v + c_out F / v`` is
        formed in ``y``'s dtype on ``y``'s device, with ``(c_skip - 1)/v`` in closed form
        (``0`` for ``"ve"``, ``-1/(v + sd^2)`` for ``"edm"``: with ``F = 0`` the ``"edm"`` score
        is the exact score of N(0, sd^2) data).  ``step`` is ignored.
        """
        v = float(v)
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"v: must be a finite variance > 0 (got {v!r})")
        _, c_out, c_in, c_noise = (float(c) for c in self.coefficients(
            torch.tensor([math.sqrt(v)], dtype=torch.float64)))
        # (c_skip - 1) / sigma^2 in closed form: 0 ("ve") or -1/(sigma^2 + sd^2) ("edm")
        a = 0.0 if self.precond == "ve" else -1.0 / (v + self.sigma_data ** 2)
        dt, dev = self._dtype(), self._device()
        with torch.no_grad():
            f = self.raw((c_in * y.to(torch.float64)).to(dev, dt),
                         torch.full((y.shape[0],), c_noise, dtype=dt, device=dev))
        return a * y + (c_out / v) * f.to(y.device, y.dtype)


@dataclass(frozen=True)
class TrainedScore:
    """A trained :class:`ScoreNet` and its training record.

    Attributes
    ----------
    net : ScoreNet
        The trained network (in eval mode); ``net.score`` is a sampler score.
    weighting : str
        ``"edm"`` or ``"song"``.
    losses : numpy.ndarray
        Weighted denoising loss of every step (mean over batch and coordinates).
    seconds : float
        Wall-clock training time.
    steps : int
        Optimiser steps.
    device, dtype : str
        Where and in which precision the network was trained.
    sigma_data : float
        Data scale used by the ``"edm"`` design (given or estimated).
    seed : int
        Seed of the initialisation, data and noise streams.
    """

    net: ScoreNet
    weighting: str
    losses: np.ndarray
    seconds: float
    steps: int
    device: str
    dtype: str
    sigma_data: float
    seed: int


def _draw(sample_data, n, gen, d, name="sample_data"):
    x = sample_data(n, gen)
    if not isinstance(x, torch.Tensor) or tuple(x.shape) != (n, d):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: must return an ({n}, {d}) torch tensor (got {shape})")
    return x


@one_thread
def train_dsm(sample_data, d: int, *, weighting: str = "edm", steps: int = 3000,
              batch: int = 512, lr: float = 2e-3, seed: int = 0, device="auto",
              dtype=torch.float32, sigma_data=None, p_mean: float = -1.2, p_std: float = 1.2,
              sigma_min: float = 0.002, sigma_max: float = 80.0, width: int = 128,
              depth: int = 3, progress=None) -> TrainedScore:
    """Train a :class:`ScoreNet` by denoising score matching.

    Parameters
    ----------
    sample_data : callable
        ``sample_data(n, generator)`` returns an (n, d) float64 tensor of clean data drawn
        with the given CPU ``torch.Generator``.
    d : int
        Data dimension.
    weighting : {"edm", "song"}
        Noise-level distribution and loss weight (module docstring); ``"edm"`` uses the
        ``"edm"`` preconditioning, ``"song"`` the ``"ve"`` one.
    steps, batch : int
        Adam steps, and fresh data points (each with one noise level) per step.
    lr : float
        Peak learning rate, decayed to 0 by a cosine schedule; gradients clipped at norm 1.
    seed : int
        Keys the initialisation, the data stream and the noise stream.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    dtype : torch.dtype or str
        Training precision (float32 or float64).
    sigma_data : float or None
        ``sd`` of the ``"edm"`` design; ``None`` estimates ``sqrt(mean x^2)`` over coordinates
        from 10000 data points.
    p_mean, p_std : float
        ``ln sigma ~ N(p_mean, p_std^2)`` for ``"edm"``.
    sigma_min, sigma_max : float
        Training range of the log-uniform levels for ``"song"``.
    width, depth : int
        MLP size.
    progress : callable, optional
        ``progress(done, steps)`` after every training step.

    Returns
    -------
    TrainedScore
        Deterministic for a fixed seed on CPU (same thread count).
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting: must be one of {tuple(WEIGHTINGS)} (got {weighting!r})")
    d = integer("d", d)
    steps, batch = integer("steps", steps), integer("batch", batch)
    width, depth = integer("width", width), integer("depth", depth)
    lr = number("lr", lr)
    p_std = number("p_std", p_std)
    if isinstance(p_mean, bool) or not isinstance(p_mean, (int, float, np.integer, np.floating)) \
            or not math.isfinite(p_mean):
        raise ValueError(f"p_mean: must be a finite number (got {p_mean!r})")
    sigma_min, sigma_max = number("sigma_min", sigma_min), number("sigma_max", sigma_max)
    if sigma_min >= sigma_max:
        raise ValueError(f"sigma_max: must exceed sigma_min ({sigma_max} <= {sigma_min})")
    if not is_integer(seed):
        raise ValueError(f"seed: must be an integer (got {seed!r})")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    if sigma_data is None:
        x = _draw(sample_data, SIGMA_DATA_SAMPLES,
                  make_generator(torch.device("cpu"), seed, "dsm", "sigma_data"), d)
        sigma_data = float(torch.sqrt(torch.mean(x.to(torch.float64) ** 2)))
    sigma_data = number("sigma_data", sigma_data)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "dsm", "init"))
        net = ScoreNet(d, precond=WEIGHTINGS[weighting], sigma_data=sigma_data, width=width,
                       depth=depth)
    net = net.to(device=dev, dtype=dt).train()
    gen_data = make_generator(torch.device("cpu"), seed, "dsm", "data")
    gen_noise = make_generator(dev, seed, "dsm", "noise")
    sd2 = sigma_data ** 2

    def loss_at_step(k):
        x0 = _draw(sample_data, batch, gen_data, d).to(dev, dt)
        if weighting == "edm":
            z = torch.randn(batch, generator=gen_noise, device=dev, dtype=dt)
            sigma = torch.exp(p_mean + p_std * z)
            weight = (sigma ** 2 + sd2) / (sigma * sigma_data) ** 2
        else:
            u = torch.rand(batch, generator=gen_noise, device=dev, dtype=dt)
            sigma = sigma_min * (sigma_max / sigma_min) ** u
            weight = 1.0 / sigma ** 2
        xi = torch.randn(batch, d, generator=gen_noise, device=dev, dtype=dt)
        den = net(x0 + sigma[:, None] * xi, sigma)
        return torch.mean(weight[:, None] * (den - x0) ** 2)

    losses, seconds = train_adam(net.parameters(), loss_at_step, steps=steps, lr=lr, clip=1.0,
                                 name="train_dsm (score_nets)", progress=progress)
    return TrainedScore(net=net.eval(), weighting=weighting, losses=losses, seconds=seconds,
                        steps=steps, device=describe_device(dev), dtype=str(dt).replace("torch.", ""),
                        sigma_data=sigma_data, seed=int(seed))


@dataclass(frozen=True)
class ScoreErrorProfile(Tidy):
    """Score error per noise level; ``to_pandas()`` and ``to_xarray()`` give it over
    ``sigma``.

    Attributes
    ----------
    sigmas : numpy.ndarray
        Noise levels.
    eps2 : numpy.ndarray
        ``E ||S(sigma^2, x) - grad log p_sigma(x)||^2`` over ``x = x_0 + sigma xi``.
    se : numpy.ndarray
        Standard error of ``eps2`` over the samples.
    relative : numpy.ndarray
        ``eps2 / E ||grad log p_sigma(x)||^2`` (same samples).
    exact2 : numpy.ndarray
        ``E ||grad log p_sigma(x)||^2``.
    n : int
        Samples per level.
    """

    sigmas: np.ndarray
    eps2: np.ndarray
    se: np.ndarray
    relative: np.ndarray
    exact2: np.ndarray
    n: int

    def _tidy(self):
        s = ("sigma",)
        return TidyData({"sigma": self.sigmas},
                        {k: (s, np.ravel(getattr(self, k)))
                         for k in ("eps2", "se", "relative", "exact2")},
                        attrs={"n": int(self.n)})


@one_thread
def score_error_by_level(score, exact_score, sample_data, sigmas, *, n: int = 20000,
                         seed: int = 0, device="auto") -> ScoreErrorProfile:
    """Monte Carlo score error of ``score`` against ``exact_score`` at each ``sigma``.

    Parameters
    ----------
    score, exact_score : callable
        ``score(v, y, step)`` with ``v = sigma^2`` (``step`` is passed as ``None``).
    sample_data : callable
        ``sample_data(n, generator)``: (n, d) clean data from a CPU ``torch.Generator``.
    sigmas : array_like
        Positive noise levels.
    n : int
        Samples per level (at least 2); each level has its own generator keyed by
        ``(seed, level index)``.
    seed : int
        Seed of the data and noise.
    device : str
        Where ``y`` is placed before the scores are called; the comparison is in float64.

    Returns
    -------
    ScoreErrorProfile
    """
    sig = np.atleast_1d(np.asarray(sigmas, dtype=float))
    if sig.ndim != 1 or sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError("sigmas: need a non-empty 1-D array of finite levels > 0")
    if not is_integer(n) or n < 2:
        raise ValueError(f"n: must be an integer >= 2 (got {n!r})")
    dev = resolve_device(device)
    eps2, se, ex2 = (np.empty(sig.size) for _ in range(3))
    for i, s in enumerate(sig):
        gen = make_generator(torch.device("cpu"), seed, "score_error", i)
        x0 = sample_data(n, gen).to(torch.float64)
        y = (x0 + float(s) * torch.randn(x0.shape, generator=gen, dtype=torch.float64)).to(dev)
        v = float(s) ** 2
        exact = exact_score(v, y, None).to(torch.float64)
        err = torch.sum((score(v, y, None).to(torch.float64) - exact) ** 2, dim=1).cpu().numpy()
        eps2[i], se[i] = err.mean(), err.std(ddof=1) / math.sqrt(n)
        ex2[i] = float(torch.mean(torch.sum(exact ** 2, dim=1)))
    return ScoreErrorProfile(sigmas=sig, eps2=eps2, se=se, relative=eps2 / ex2, exact2=ex2,
                             n=int(n))
