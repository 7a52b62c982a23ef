"""Finite-size estimate of the exact-score constant ``C_t`` for hidden-manifold data, by GAMP.

One seed draws a frozen ``d x D`` matrix ``M`` with i.i.d. ``N(0, 1)`` entries, a latent
``z ~ N(0, I_D)``, the data point ``x = phi(M z / sqrt(D))`` and the noise ``xi ~ N(0, I_d)``, and
forms ``y = a x + sqrt(Delta) xi`` (``a = e^{-t}``, ``Delta = 1 - e^{-2t}``).  With ``M`` known,
the Bayes posterior mean ``E[x | y]`` is that of a generalized linear model: prior
``z_j ~ N(0, 1)``, pre-activations ``h = F z`` with ``F = M / sqrt(D)``, output channel
``P_out(y_i | h_i) = N(y_i; a phi(h_i), Delta)``.  Bayes-optimal generalized approximate message
passing (GAMP; vector variances) [paper: Rangan 2011] estimates it: with ``F2 = F o F``,

    V     = F2 vz,                      omega = F zhat - V o g,
    g_i   = (<h_i> - omega_i) / V_i,    dg_i  = (Var(h_i) / V_i - 1) / V_i,
    A     = -F2^T dg,                   B     = F^T g + A o zhat,
    zhat  = B / (1 + A),                vz    = 1 / (1 + A),

where ``<.>`` is the scalar output posterior of ``h_i``, proportional to
``N(h; omega_i, V_i) N(y_i; a phi(h), Delta)``.  Its moments are 1-D integrals, computed here in
torch for all coordinates at once on a uniform grid ``h = omega_i + sqrt(V_i) w`` whose spacing
resolves both the prior (width 1 in ``w``) and the likelihood (width
``sqrt(Delta) / (a |phi'| sqrt(V_i))`` in ``w``); the trapezoid rule converges spectrally for
such integrands.  At convergence ``E[x_i | y]`` is estimated by ``<phi(h_i)>`` under the same
output marginal and

    C_t(seed) = (1/d) || xi - E[xi | y] ||^2,      E[xi | y] = (y - a E[x | y]) / sqrt(Delta).

The iteration starts from the prior (``zhat = 0``, ``vz = 1``, ``g = 0``) and stops when the
relative change of ``zhat`` falls below ``tol``; a draw that diverges or stalls is restarted
with damping (weights 0.7, then 0.4 on the new iterate), which a few draws at small ``d``
and small ``t`` need.  Besides the realised error above, each seed also gives
``(a^2/Delta) (1/d) sum_i Var(phi(h_i))`` from the output marginals: the same constant in
expectation (Nishimori identity for the Bayes posterior), with less seed-to-seed noise.

For ``phi(h) = h`` every GAMP fixed point has the exact posterior mean
``zhat = (I + (a^2/Delta) F^T F)^{-1} (a/Delta) F^T y`` (eliminate ``g`` from the fixed-point
equations), so the estimate equals the exact finite-size Gaussian value for that draw; the
tests check this.  For non-linear ``phi`` GAMP is asymptotically Bayes-optimal when its state
evolution has a unique fixed point, and the estimate tests the replica formula of
:func:`lowdim.theory.rf._exact_score.hidden_manifold_exact_score` (no code is shared with it).

Random streams: ``make_generator(device, seed, "glm", part, d, D)`` with ``part`` in
``"M"``, ``"z"``, ``"xi"``; a seed gives the same ``M, z, xi`` for every ``t`` and ``phi``
(common random numbers), and independent draws for every size.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.activations import get_activation
from lowdim.theory.tidy import Tidy, TidyData

from .activations import torch_activation
from .device import describe_device, make_generator, resolve_device

__all__ = ["ExactScoreEstimate", "GAMPResult", "HiddenManifoldInstance", "InstanceEstimate",
           "draw_instance", "gamp_posterior_mean", "estimate_exact_score_constant",
           "instance_exact_score_constant"]

_DTYPE = torch.float64
_W_CUT = 9.0          # output grid covers omega +- _W_CUT sqrt(V)
_W_STEP = 0.5         # grid spacing, in units of the narrowest width (prior or likelihood)
_MAX_NODES = 20001    # cap on output-grid nodes
_CHUNK = 4_000_000    # grid entries (coordinates x nodes) evaluated at once


@dataclass(frozen=True)
class HiddenManifoldInstance:
    """One draw: ``F = M / sqrt(D)`` (d x D), ``z``, ``h = F z``, ``x = phi(h)``, ``xi``, ``y``."""

    F: torch.Tensor
    z: torch.Tensor
    h: torch.Tensor
    x: torch.Tensor
    xi: torch.Tensor
    y: torch.Tensor
    a: float
    delta: float


@dataclass(frozen=True)
class GAMPResult(Tidy):
    """GAMP output for one draw.

    ``to_pandas()`` gives one row per coordinate of ``x`` (``x_hat``, ``x_var``) with the
    scalars alongside; ``to_xarray()`` also has ``z_hat`` over ``latent``.  Without
    convergence the estimates are NaN there.

    Attributes
    ----------
    x_hat : Tensor
        Estimate of ``E[x | y]`` (posterior mean of ``phi(h_i)`` under the output marginal).
    x_var : Tensor
        Variance of ``phi(h_i)`` under the same output marginal (GAMP's estimate of the
        posterior variance of ``x_i``).
    z_hat : Tensor
        Posterior mean of the latent ``z``.
    converged : bool
        Relative change of ``z_hat`` fell below ``tol`` within ``max_iter`` iterations.
    iterations : int
    change : float
        Last relative change ``||z_new - z_old|| / ||z_new||``.
    damping : float
        Damping of the attempt that produced the result.
    v_mean : float
        Mean output-prior variance ``V_i`` at the end; tends to ``1 - q`` (state evolution).
    """

    x_hat: torch.Tensor
    x_var: torch.Tensor
    z_hat: torch.Tensor
    converged: bool
    iterations: int
    change: float
    damping: float
    v_mean: float

    def _tidy(self):
        x = ("coordinate",)
        return TidyData({"coordinate": None, "latent": None},
                        {"x_hat": (x, self.x_hat), "x_var": (x, self.x_var),
                         "z_hat": (("latent",), self.z_hat), "v_mean": float(self.v_mean),
                         "converged": bool(self.converged), "iterations": int(self.iterations),
                         "change": float(self.change), "damping": float(self.damping)},
                        table=x).masked("converged", ("x_hat", "x_var", "z_hat", "v_mean"))


@dataclass(frozen=True)
class ExactScoreEstimate(Tidy):
    """Finite-size GAMP estimate of ``C_t`` at one ``(psi_d, t)``.

    ``c_t`` is the mean of ``per_seed`` (the realised ``(1/d) ||xi - E[xi|y]||^2`` of each draw)
    and ``se`` its standard error (``std(ddof=1) / sqrt(n_seeds)``, ``nan`` for one seed).
    ``per_seed_nishimori`` is the same constant from GAMP's own posterior variances,
    ``(a^2/Delta) (1/d) sum_i Var(phi(h_i))`` under the output marginals: equal in expectation for
    the Bayes posterior (Nishimori identity), with several times smaller seed-to-seed spread
    because it does not involve the realised noise; ``c_t_nishimori`` and ``se_nishimori`` are its
    mean and standard error.  ``converged`` and ``iterations`` are per seed; ``overlap`` is
    ``z_hat . z / D`` per seed (the replica ``q`` at large d, but with seed-to-seed spread of
    order ``sqrt(2 / D)`` from ``||z||^2 / D``); ``v_mean`` is GAMP's mean output-prior variance
    per seed, a low-noise estimate of ``1 - q`` (state evolution).

    ``to_pandas()`` and ``to_xarray()`` give one row per ``seed``: a seed whose GAMP did not
    converge has NaN values there, and the means and standard errors are NaN unless every
    seed converged.
    """

    c_t: float
    se: float
    per_seed: np.ndarray
    c_t_nishimori: float
    se_nishimori: float
    per_seed_nishimori: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    overlap: np.ndarray
    v_mean: np.ndarray
    d: int
    D: int
    psi_d: float
    t: float
    activation: str
    seeds: tuple
    device: str
    seconds: float

    def __getitem__(self, key):  # dict-style access, e.g. est["c_t"]
        return getattr(self, key)

    def _tidy(self):
        s = ("seed",)
        done = bool(np.all(self.converged))
        data = TidyData(
            {"seed": np.array(self.seeds)},
            {"per_seed": (s, self.per_seed), "per_seed_nishimori": (s, self.per_seed_nishimori),
             "converged": (s, np.asarray(self.converged, dtype=bool)),
             "iterations": (s, self.iterations), "overlap": (s, self.overlap),
             "v_mean": (s, self.v_mean),
             **{k: float(getattr(self, k)) if done else np.nan
                for k in ("c_t", "se", "c_t_nishimori", "se_nishimori")}},
            {"psi_d": float(self.psi_d), "t": float(self.t)},
            {"d": int(self.d), "D": int(self.D), "activation": self.activation,
             "device": self.device, "seconds": float(self.seconds)})
        return data.masked("converged", ("per_seed", "per_seed_nishimori", "overlap", "v_mean"))


def _check(psi_d, t, d):
    try:
        psi = float(psi_d)
    except (TypeError, ValueError):
        raise ValueError(f"psi_d: expected a number in (0, 1], got {psi_d!r}") from None
    if not (math.isfinite(psi) and 0.0 < psi <= 1.0):
        raise ValueError(f"psi_d: latent ratio D/d must lie in (0, 1] (got {psi_d!r})")
    try:
        tt = float(t)
    except (TypeError, ValueError):
        raise ValueError(f"t: expected a number > 0, got {t!r}") from None
    if not (math.isfinite(tt) and tt > 0.0):
        raise ValueError(f"t: diffusion time must be finite and > 0 (got {t!r})")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"d: must be an integer >= 2 (got {d!r})")
    D = int(round(psi * int(d)))
    if D < 1:
        raise ValueError(f"d: psi_d * d = {psi * d:g} gives no latent dimension")
    return psi, tt, int(d), min(D, int(d))


def _centred_check(act):
    """Raise unless E phi(g) = 0 for g ~ N(0, 1) (Gauss-Hermite, 200 nodes)."""
    x, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / math.sqrt(2.0 * math.pi)
    with np.errstate(all="ignore"):
        f = np.asarray(act.fn(x), dtype=float)
    if not np.all(np.isfinite(f)):
        raise ValueError(f"activation {act.name!r}: not finite on the Gaussian quadrature nodes")
    mean = float(w @ f)
    scale = math.sqrt(max(float(w @ (f * f)), 1e-300))
    if abs(mean) > 1e-10 * scale:
        raise ValueError(f"activation {act.name!r}: must be centred, E phi(g) = 0 "
                         f"(got {mean:.3g})")


def draw_instance(psi_d, t, phi, d: int, seed: int, device=None) -> HiddenManifoldInstance:
    """Draw ``M, z, xi`` for one seed (streams keyed by ``("glm", part, d, D)``) and form ``y``."""
    psi, tt, d, D = _check(psi_d, t, d)
    dev = resolve_device(device)
    gm = make_generator(dev, seed, "glm", "M", d, D)
    gz = make_generator(dev, seed, "glm", "z", d, D)
    gx = make_generator(dev, seed, "glm", "xi", d, D)
    M = torch.randn(d, D, generator=gm, dtype=_DTYPE, device=dev)
    z = torch.randn(D, generator=gz, dtype=_DTYPE, device=dev)
    xi = torch.randn(d, generator=gx, dtype=_DTYPE, device=dev)
    F = M / math.sqrt(D)
    h = F @ z
    x = phi(h)
    a = math.exp(-tt)
    delta = -math.expm1(-2.0 * tt)
    y = a * x + math.sqrt(delta) * xi
    return HiddenManifoldInstance(F=F, z=z, h=h, x=x, xi=xi, y=y, a=a, delta=delta)


def _max_slope(phi, lo, hi, device):
    """max |phi'| on [lo, hi] by differences on a fine grid."""
    grid = torch.linspace(lo, hi, 4001, dtype=_DTYPE, device=device)
    vals = phi(grid)
    slope = torch.diff(vals).abs() / (grid[1] - grid[0])
    s = float(slope.max())
    return s if math.isfinite(s) else 1e6


def _output_moments(y, omega, V, phi, a, delta, *, want_phi=False):
    """Posterior moments of h_i under N(h; omega_i, V_i) N(y_i; a phi(h), Delta).

    Returns (mean of h - omega, variance of h, (mean, variance) of phi(h) or None).
    """
    dev = y.device
    sV = torch.sqrt(V)
    sd = math.sqrt(delta)
    lo = float((omega - _W_CUT * sV).min())
    hi = float((omega + _W_CUT * sV).max())
    slope = _max_slope(phi, lo, hi, dev)
    width = min(1.0, sd / max(a * slope * float(sV.max()), 1e-300))
    step = _W_STEP * width
    n = min(_MAX_NODES, 2 * int(math.ceil(_W_CUT / step)) + 1)
    w = torch.linspace(-_W_CUT, _W_CUT, n, dtype=_DTYPE, device=dev)
    log_prior = -0.5 * w * w
    m_out = torch.empty_like(omega)
    v_out = torch.empty_like(omega)
    p_out = torch.empty_like(omega) if want_phi else None
    pv_out = torch.empty_like(omega) if want_phi else None
    rows = max(1, _CHUNK // n)
    for i0 in range(0, omega.numel(), rows):
        sl = slice(i0, i0 + rows)
        h = omega[sl, None] + sV[sl, None] * w[None, :]
        ph = phi(h)
        r = (y[sl, None] - a * ph) / sd
        logp = log_prior[None, :] - 0.5 * r * r
        logp = logp - logp.max(dim=1, keepdim=True).values
        p = torch.exp(logp)
        Z = p.sum(dim=1)
        mw = (p * w[None, :]).sum(dim=1) / Z
        vw = (p * (w[None, :] - mw[:, None]) ** 2).sum(dim=1) / Z
        m_out[sl] = sV[sl] * mw
        v_out[sl] = V[sl] * vw
        if want_phi:
            mp = (p * ph).sum(dim=1) / Z
            p_out[sl] = mp
            pv_out[sl] = (p * (ph - mp[:, None]) ** 2).sum(dim=1) / Z
    return m_out, v_out, ((p_out, pv_out) if want_phi else None)


def _gamp_run(F, F2, y, phi, a, delta, max_iter, tol, damping):
    """One GAMP run at fixed damping; see :func:`gamp_posterior_mean`."""
    d, D = F.shape
    zhat = torch.zeros(D, dtype=F.dtype, device=F.device)
    vz = torch.ones(D, dtype=F.dtype, device=F.device)
    g = torch.zeros(d, dtype=F.dtype, device=F.device)
    converged = False
    change = math.inf
    it = 0
    for _ in range(max_iter):
        it += 1
        V = F2 @ vz
        omega = F @ zhat - V * g
        m, var, _ = _output_moments(y, omega, V, phi, a, delta)
        g_new = m / V
        dg = (var / V - 1.0) / V
        A = -(F2.T @ dg)
        B = F.T @ g_new + A * zhat
        z_new = B / (1.0 + A)
        vz_new = 1.0 / (1.0 + A)
        if not (bool(torch.isfinite(z_new).all()) and bool((vz_new > 0).all())
                and bool(torch.isfinite(vz_new).all())):
            change = math.inf
            break
        z_new = damping * z_new + (1.0 - damping) * zhat
        vz = damping * vz_new + (1.0 - damping) * vz
        g = damping * g_new + (1.0 - damping) * g
        change = float(torch.linalg.vector_norm(z_new - zhat)
                       / torch.linalg.vector_norm(z_new).clamp_min(1e-300))
        zhat = z_new
        if change < tol:
            converged = True
            break
    return zhat, vz, g, converged, it, change


def gamp_posterior_mean(F, y, phi, a, delta, *, max_iter=200, tol=1e-8,
                        damping="auto") -> GAMPResult:
    """Bayes-optimal GAMP for ``y ~ N(a phi(F z), Delta I)``, ``z ~ N(0, I)``.

    Parameters
    ----------
    F : Tensor, shape (d, D)
        Known sensing matrix (here ``M / sqrt(D)``).
    y : Tensor, shape (d,)
    phi : callable on tensors
    a, delta : float
        Signal factor and noise variance of the channel.
    max_iter : int
        Iterations per attempt.
    tol : float
        Convergence threshold on ``||z_new - z_old|| / ||z_new||``.
    damping : float in (0, 1] or "auto"
        Weight of the new iterate (1: undamped).  ``"auto"`` runs undamped first and, if that
        diverges or does not converge, restarts with damping 0.7, then 0.4 (a few draws at small
        ``d`` and small ``t`` need it).

    Returns
    -------
    GAMPResult
        ``iterations`` counts all attempts.
    """
    if damping == "auto":
        schedule = (1.0, 0.7, 0.4)
    else:
        if isinstance(damping, str) or not (0.0 < float(damping) <= 1.0):
            raise ValueError(f"damping: must lie in (0, 1] or be 'auto' (got {damping!r})")
        schedule = (float(damping),)
    F2 = F * F
    total = 0
    for beta in schedule:
        zhat, vz, g, converged, it, change = _gamp_run(F, F2, y, phi, a, delta, max_iter, tol,
                                                      beta)
        total += it
        if converged:
            break
    # output marginal at the final iterate
    V = F2 @ vz
    omega = F @ zhat - V * g
    _, _, (x_hat, x_var) = _output_moments(y, omega, V, phi, a, delta, want_phi=True)
    ok = converged and bool(torch.isfinite(x_hat).all())
    return GAMPResult(x_hat=x_hat, x_var=x_var, z_hat=zhat, converged=ok, iterations=total,
                      change=change, damping=beta, v_mean=float(V.mean()))


def estimate_exact_score_constant(psi_d, t, activation="tanh", *, d=1000, seeds=(0, 1, 2, 3, 4),
                                  device="auto", max_iter=200, tol=1e-8,
                                  damping="auto") -> ExactScoreEstimate:
    """Finite-size GAMP estimate of ``C_t = (1/d) E||xi - E[xi|y]||^2`` for hidden-manifold data.

    Parameters
    ----------
    psi_d : float
        ``D / d`` in ``(0, 1]``; ``D = round(psi_d d)``.
    t : float
        Diffusion time ``> 0``.
    activation : str, Activation or callable
        The centred manifold non-linearity (needs a torch implementation, see
        :func:`lowdim.simulate.activations.torch_activation`).
    d : int
        Ambient dimension.
    seeds : iterable of int
        One independent draw of ``(M, z, xi)`` per seed.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    max_iter, tol, damping
        GAMP controls (see :func:`gamp_posterior_mean`).

    Returns
    -------
    ExactScoreEstimate
        ``c_t`` (mean over seeds), ``se``, ``per_seed``, ``converged``, ``iterations``, ...
        A seed whose GAMP did not converge is kept in ``per_seed`` and flagged in
        ``converged``; callers decide whether to use it.
    """
    psi, tt, d, D = _check(psi_d, t, d)
    seeds = tuple(int(s) for s in (range(seeds) if isinstance(seeds, int) else seeds))
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError("seeds: need at least one non-negative integer seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: each seed must be distinct (got {seeds!r}); a repeated seed "
                         "is the same draw, not an independent one")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter: must be an integer >= 1 (got {max_iter!r})")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol: must be a finite number > 0 (got {tol!r})")
    if not (damping == "auto" or (isinstance(damping, (int, float)) and 0.0 < damping <= 1.0)):
        raise ValueError(f"damping: must lie in (0, 1] or be 'auto' (got {damping!r})")
    act = get_activation(activation)
    _centred_check(act)
    phi = torch_activation(act)
    dev = resolve_device(device)
    start = time.perf_counter()
    values, nish, conv, iters, overlaps, vmeans = [], [], [], [], [], []
    for seed in seeds:
        inst = draw_instance(psi, tt, phi, d, seed, dev)
        res = gamp_posterior_mean(inst.F, inst.y, phi, inst.a, inst.delta, max_iter=max_iter,
                                  tol=tol, damping=damping)
        xi_hat = (inst.y - inst.a * res.x_hat) / math.sqrt(inst.delta)
        values.append(float(torch.sum((inst.xi - xi_hat) ** 2)) / d)
        nish.append(inst.a**2 / inst.delta * float(res.x_var.mean()))
        conv.append(res.converged)
        iters.append(res.iterations)
        overlaps.append(float(res.z_hat @ inst.z) / D)
        vmeans.append(res.v_mean)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    per_seed = np.asarray(values)
    per_nish = np.asarray(nish)

    def stderr(v):
        return float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan

    return ExactScoreEstimate(
        c_t=float(per_seed.mean()), se=stderr(per_seed), per_seed=per_seed,
        c_t_nishimori=float(per_nish.mean()), se_nishimori=stderr(per_nish),
        per_seed_nishimori=per_nish, converged=np.asarray(conv),
        iterations=np.asarray(iters), overlap=np.asarray(overlaps), v_mean=np.asarray(vmeans),
        d=d, D=D, psi_d=psi, t=tt, activation=act.name, seeds=seeds, device=describe_device(dev),
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class InstanceEstimate(Tidy):
    """GAMP estimate of the ``C_t`` of one frozen ``F`` (see
    :func:`instance_exact_score_constant`).

    ``per_sample`` holds the Nishimori value of each converged draw and ``per_sample_realised``
    the realised ``(1/d) ||xi - E[xi|y]||^2``; ``c_t`` and ``se`` are the mean and standard
    error of ``per_sample``; ``n_failed`` counts draws whose GAMP did not converge (left out).
    ``to_pandas()`` and ``to_xarray()`` give the converged draws over ``sample``.
    """

    c_t: float
    se: float
    per_sample: np.ndarray
    per_sample_realised: np.ndarray
    n_failed: int

    def _tidy(self):
        s = ("sample",)
        per = np.ravel(self.per_sample)
        return TidyData({"sample": np.arange(per.size)},
                        {"per_sample": (s, per),
                         "per_sample_realised": (s, np.ravel(self.per_sample_realised)),
                         "c_t": float(self.c_t), "se": float(self.se),
                         "n_failed": int(self.n_failed)})


def instance_exact_score_constant(F, phi, t, *, n_samples=8, generator=None, max_iter=200,
                                  tol=1e-8) -> InstanceEstimate:
    """``C_t`` of one hidden-manifold instance ``x = phi(F z)``, ``F`` fixed, by GAMP.

    Draws ``n_samples`` fresh ``(z, xi)`` from ``generator``, runs GAMP on each
    ``y = a phi(F z) + sqrt(Delta) xi`` and averages the Nishimori form
    ``(a^2/Delta) (1/d) sum_i Var(phi(h_i) | y)``; over ``d`` coordinates a single draw already
    averages the per-coordinate noise, so a few draws give the instance's constant to a
    fraction of a percent.  This is what the random-features simulation subtracts from its
    test error to measure the score error on hidden-manifold data, whose exact score is
    unknown: ``score error = (test error - C_t) / Delta``.

    Parameters
    ----------
    F : Tensor, shape (d, D)
        The frozen embedding ``M / sqrt(D)`` (cast to float64).
    phi : callable on tensors
        The centred manifold non-linearity.
    t : float
        Diffusion time ``> 0``.
    n_samples : int
        Independent draws of ``(z, xi)``.
    generator : torch.Generator
        Source of the draws (its device is used).

    Returns
    -------
    InstanceEstimate

    Raises
    ------
    RuntimeError
        When GAMP converged on fewer than two draws.
    """
    tt = float(t)
    if not (math.isfinite(tt) and tt > 0):
        raise ValueError(f"t: must be a finite number > 0 (got {t!r})")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 2:
        raise ValueError(f"n_samples: must be an integer >= 2 (got {n_samples!r})")
    if generator is None:
        raise ValueError("generator: a torch.Generator is required")
    dev = generator.device
    F = F.to(device=dev, dtype=_DTYPE)
    d, D = F.shape
    a = math.exp(-tt)
    delta = -math.expm1(-2.0 * tt)
    nish, real = [], []
    for _ in range(int(n_samples)):
        z = torch.randn(D, generator=generator, dtype=torch.float32, device=dev).to(_DTYPE)
        xi = torch.randn(d, generator=generator, dtype=torch.float32, device=dev).to(_DTYPE)
        y = a * phi(F @ z) + math.sqrt(delta) * xi
        res = gamp_posterior_mean(F, y, phi, a, delta, max_iter=max_iter, tol=tol)
        if not res.converged:
            continue
        nish.append(a * a / delta * float(res.x_var.mean()))
        xi_hat = (y - a * res.x_hat) / math.sqrt(delta)
        real.append(float(torch.sum((xi - xi_hat) ** 2)) / d)
    if len(nish) < 2:
        raise RuntimeError(f"GAMP converged on {len(nish)} of {n_samples} draws: no estimate "
                           f"of the hidden manifold's C_t at t={tt:g} (d={d}, D={D})")
    per = np.asarray(nish)
    return InstanceEstimate(c_t=float(per.mean()), se=float(per.std(ddof=1) / math.sqrt(per.size)),
                            per_sample=per, per_sample_realised=np.asarray(real),
                            n_failed=int(n_samples) - per.size)
