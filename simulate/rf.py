"""Finite-size random-features score trained by denoising score matching (closed-form ridge).

For one seed: draw ``W`` (p x d, frozen), ``X`` (n x d) and ``m`` frozen noises per data
point; with ``Y = a_t X + sqrt(Delta_t) Xi`` and features ``F = sigma(Y W^T / sqrt(d))``
accumulate, one noise block at a time,

    U = F^T F / (n m),      V = F^T Xi / (sqrt(Delta_t) n m),

so memory does not grow with m.  The ridge minimiser of
``(1/(d n m)) sum ||sqrt(Delta) s_A(y) + xi||^2 + (Delta lam/(d p)) ||A||^2`` is
``A / sqrt(p) = -V^T (U + lam I)^{-1}`` (one Cholesky factorisation).  The train error is
exact; test and score errors are Monte Carlo averages over fresh ``(x_0, xi)`` with their
standard errors.  Terms whose mean is known exactly (``||xi||^2/d`` and, when the data model
provides it, ``||grad log p_t||^2/d``) enter through their means: unbiased control variates.
Research note rf_learning_curves.md section 2.4 and section 5 [paper: GVM25].
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from lowdim.theory.rf import RFSetting

from ._checks import integer
from .activations import activation_in_place
from .data import make_data, ou_forward
from .device import describe_device, make_generator, resolve_device, resolve_dtype
from .linalg import gram_update, matmul, ridge_solve

__all__ = ["RFSize", "RFMeasurement", "run", "fit_seed", "measurement", "STREAMS",
           "seed_generator", "seed_draws"]

MEASURED = ("test_error", "train_error", "train_error_reg", "score_error", "test_error_par",
            "test_error_perp")
TEST_UNIT = 256  # test samples per generator
#: The largest size a simulation takes (d, n_test, blocks): the int32 range of the backends.
#: The largest seed (the generators take 63-bit seeds).
MAX_SEED = 2**63 - 1
#: The most seeds one size may hold.
MAX_SEEDS = 10**6


@dataclass(frozen=True)
class RFSize:
    """What only the simulation needs.

    Parameters
    ----------
    d : int
        Ambient dimension; ``n = round(psi_n d)`` and ``p = round(psi_p d)``.
    seeds : tuple of int, or a count
        One independent draw of (W, X, noises, test set) per seed: distinct integers in
        ``0 .. 2**63 - 1`` (at most :data:`MAX_SEEDS`); a count ``k`` means ``0 .. k-1``.
    n_test : int
        Fresh test samples per seed for the Monte Carlo test and score errors.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    noise_block : int
        Noise copies processed together (memory knob; results do not depend on it).
    test_block : int
        Test samples evaluated together, rounded to a multiple of 256 (memory knob; each
        256-sample unit has its own generator, so results do not depend on it).
    stream : str
        Extra key of every random stream: runs that differ only in ``stream`` are
        independent (used for the d/2 runs of a finite-size extrapolation).
    """

    d: int = 200
    seeds: tuple = (0, 1, 2, 3, 4)
    n_test: int = 2048
    device: str = "auto"
    dtype: str = "float64"
    noise_block: int = 8
    test_block: int = 2048
    stream: str = ""

    def __post_init__(self):
        integer("d", self.d, 2)
        integer("n_test", self.n_test, 2)
        integer("noise_block", self.noise_block, 1)
        integer("test_block", self.test_block, 1)
        if isinstance(self.seeds, (int, np.integer)) and not isinstance(self.seeds, bool):
            integer("seeds", self.seeds, 1, MAX_SEEDS)
            seeds = tuple(range(int(self.seeds)))
        else:
            if hasattr(self.seeds, "__len__") and len(self.seeds) > MAX_SEEDS:
                raise ValueError(f"seeds: at most {MAX_SEEDS} seeds (got {len(self.seeds)})")
            seeds = tuple(self.seeds)
        if len(seeds) == 0:
            raise ValueError("seeds: need at least one seed")
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) \
                    or not 0 <= s <= MAX_SEED:
                raise ValueError(f"seeds: seeds must be integers between 0 and {MAX_SEED} "
                                 f"(got {s!r})")
        seeds = tuple(int(s) for s in seeds)
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds: each seed must be distinct (got {seeds!r}); a repeated "
                             "seed is the same draw, not an independent one")
        object.__setattr__(self, "seeds", seeds)
        resolve_dtype(self.dtype)
        if not isinstance(self.stream, str):
            raise ValueError(f"stream: must be a string (got {self.stream!r})")


@dataclass
class RFMeasurement:
    """Per-seed measurements and their summary at one setting.

    ``per_seed[q]`` holds one value per seed; ``mean[q]`` and ``se[q]`` are the mean over
    seeds and its standard error (``std / sqrt(n_seeds)``, ``nan`` with one seed, in which
    case ``mc_se`` is the only uncertainty available).  ``mc_se[q]`` is the Monte Carlo
    standard error of the seed-averaged test/score estimate (zero for the exact train
    errors).  The quantities present depend on the data model: ``test_error_par`` and
    ``test_error_perp`` need a manifold (not isotropic data).  ``exact_score_test_error`` is
    the ``C_t`` of the drawn instance: exact for the Gaussian models, a GAMP estimate (with
    its Monte Carlo error in ``mc_se``) for the hidden manifold, whose ``score_error`` is
    then ``(test_error - C_t) / Delta`` rather than a direct average of
    ``||s - grad log p_t||^2``.  ``D`` is the intrinsic dimension (``d`` for isotropic data).
    """

    setting: RFSetting
    size: RFSize
    n: int
    p: int
    m: int
    D: int
    per_seed: dict
    mean: dict
    se: dict
    mc_se: dict
    seconds: float
    timings: dict
    device: str
    dtype: str

    @property
    def n_seeds(self) -> int:
        """Distinct seeds: independent draws (a repeated seed would be the same draw)."""
        return len(set(self.size.seeds))

    def uncertainty(self, quantity: str) -> float:
        """Standard error of the mean: across seeds, never below the Monte Carlo part."""
        se = self.se[quantity]
        mc = self.mc_se[quantity]
        if not np.isfinite(se):
            return float(mc)
        return float(max(se, mc))

    def dof(self, quantity: str) -> float:
        """Degrees of freedom of :meth:`uncertainty`: ``n_seeds - 1`` when it comes from the
        spread over seeds, infinite when only the Monte Carlo error is available."""
        se = self.se[quantity]
        if not np.isfinite(se) or self.mc_se[quantity] > se:
            return float("inf")
        return float(self.n_seeds - 1)


def _sizes(setting: RFSetting, d: int):
    n = int(round(float(setting.psi_n) * d))
    p = int(round(float(setting.psi_p) * d))
    if n < 1:
        raise ValueError(f"d: psi_n * d = {float(setting.psi_n) * d:g} gives no data point")
    if p < 1:
        raise ValueError(f"d: psi_p * d = {float(setting.psi_p) * d:g} gives no feature")
    m = float(setting.m)
    if not np.isfinite(m):
        raise ValueError("m: a simulation needs a finite number of noise samples; "
                         "approach m = inf with a large m")
    return n, p, int(m)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


#: The named random streams of one seed of :func:`fit_seed`, each its own generator
#: (:func:`seed_generator`): the features' weights, the data model's frozen matrix, the
#: training inputs, noise copy ``j``, test unit ``k`` (``TEST_UNIT`` samples each) and the
#: exact-score constant's Monte Carlo.  Results do not depend on how they are batched.
STREAMS = ("W", "M", "X", ("noise", "j"), ("test", "k"), "C_t")


def seed_generator(size: RFSize, seed: int, *name, device=None) -> torch.Generator:
    """The generator of the stream ``name`` (one of :data:`STREAMS`, e.g. ``("noise", 3)``) of
    one seed, under the stream prefix ``size.stream``."""
    return _generator(resolve_device(size.device if device is None else device), size, seed,
                      *name)


def _generator(device, size, seed, *name):
    """:func:`seed_generator` on an already resolved device."""
    prefix = (size.stream,) if size.stream else ()
    return make_generator(device, seed, *prefix, *name)


#: Normal variates are drawn in float32 (about 6x faster than float64 on the CPU) and cast:
#: all arithmetic is in the run's dtype, and a float32 run sees exactly the same data as a
#: float64 run with the same seed, so their difference is pure precision.
_DRAW = torch.float32


def _normal(rows, d, gen, dtype, device):
    return torch.randn(rows, d, generator=gen, dtype=_DRAW, device=device).to(dtype)


def _inputs(setting, size, seed, device, dtype, n, p):
    """``(W, data, X)`` of one seed: the features' weights, the data model, the inputs."""
    d = size.d
    W = _normal(p, d, _generator(device, size, seed, "W"), dtype, device)
    data = make_data(setting, d, _generator(device, size, seed, "M"), dtype, device)
    X = data.sample(n, _generator(device, size, seed, "X"), _DRAW, device).to(dtype)
    return W, data, X


def seed_draws(setting: RFSetting, size: RFSize, seed: int, *, device=None):
    """``(W, X, Xi)`` of one seed exactly as :func:`fit_seed` draws them: the features'
    weights ``(p, d)``, the training inputs ``(n, d)`` and the ``m`` noise copies stacked
    ``(n m, d)`` (normal variates drawn in float32, then cast to ``size.dtype``)."""
    device = resolve_device(size.device if device is None else device)
    dtype = resolve_dtype(size.dtype)
    n, p, m = _sizes(setting, size.d)
    W, _, X = _inputs(setting, size, seed, device, dtype, n, p)
    Xi = torch.cat([_normal(n, size.d, _generator(device, size, seed, "noise", j), dtype, device)
                    for j in range(m)])
    return W, X, Xi


def fit_seed(setting: RFSetting, size: RFSize, seed: int, *, device=None, timings=None):
    """Train on one seed and measure; returns a dict of values (and MC standard errors)."""
    device = resolve_device(size.device if device is None else device)
    dtype = resolve_dtype(size.dtype)
    d = size.d
    n, p, m = _sizes(setting, d)
    t = float(setting.t)
    lam = float(setting.lam)
    a_t, delta = ou_forward(t)
    sq_delta = math.sqrt(delta)
    act = activation_in_place(setting.activation)   # applied to fresh products only
    timings = {} if timings is None else timings
    scale = 1.0 / math.sqrt(d)

    def tick(key, t0):
        _sync(device)
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0

    def normal(rows, gen):
        return _normal(rows, d, gen, dtype, device)

    def stream(*name):   # the generators of STREAMS
        return _generator(device, size, seed, *name)

    t0 = time.perf_counter()
    W, data, X = _inputs(setting, size, seed, device, dtype, n, p)
    WT = (W.T * scale).contiguous()
    tick("draw", t0)

    # ---- accumulate U and V over noise blocks
    t0 = time.perf_counter()
    G = torch.zeros(p, p, dtype=dtype, device=device)
    H = torch.zeros(p, d, dtype=dtype, device=device)
    xi_sq = 0.0
    aX = a_t * X
    for j0 in range(0, m, size.noise_block):
        js = range(j0, min(m, j0 + size.noise_block))
        Xi = torch.cat([normal(n, stream("noise", j)) for j in js])
        Y = aX.repeat(len(js), 1) + sq_delta * Xi
        F = act(matmul(Y, WT))
        gram_update(G, F)
        H.add_(matmul(F.T, Xi))
        xi_sq += float((Xi * Xi).sum())
        del Xi, Y, F
    nm = n * m
    V = H.div_(sq_delta * nm)
    tick("features_gram", t0)

    # ---- ridge solve: (U + lam I) Z = V, B = -Z^T.  U + lam I is formed in G's memory and
    # only its upper triangle is read (the one gram_update fills on the CPU).
    t0 = time.perf_counter()
    M = G.div_(nm)
    M.diagonal().add_(lam)
    Z, info = ridge_solve(M, V)
    if info != 0:
        raise RuntimeError(f"Cholesky of U + lam I failed (lam={lam:g}); try float64 or a "
                           "larger ridge")
    tick("solve", t0)

    t0 = time.perf_counter()
    # In float64 the quadratic term comes from the normal equations, <Z, U Z> = <Z, V> -
    # lam ||Z||^2, which saves the p x p x d product U Z.  The Cholesky solve is backward
    # stable, so this is as accurate as forming U Z: both agree with the summed squared
    # residuals to about 1e-8 relative at lam = 1e-8 and to 1e-14 at lam = 1e-3 (checked
    # on n = 400, p = 400..1600).  In float32 the same cancellation would cost more digits
    # than the small train errors of the interpolating regime have.
    Z64 = Z.double()
    norm_sq = float((Z64 * Z64).sum())
    if dtype == torch.float64:
        cross = float((Z64 * V).sum())
        train = xi_sq / (d * nm) - delta / d * (cross + lam * norm_sq)
    else:
        # In float32, U, V and ||Xi||^2 carry relative errors ~1e-7 and the O(1) terms above
        # cancel down to the (tiny) train error: sum the squared residuals instead, over the
        # same noise blocks regenerated from their generators (no cancellation).
        res_sq = 0.0
        for j0 in range(0, m, size.noise_block):
            js = range(j0, min(m, j0 + size.noise_block))
            Xi = torch.cat([normal(n, stream("noise", j))
                            for j in js])
            Y = aX.repeat(len(js), 1) + sq_delta * Xi
            R = Xi - sq_delta * matmul(act(matmul(Y, WT)), Z)
            res_sq += float((R.double() ** 2).sum())
            del Xi, Y, R
        train = res_sq / (d * nm)
    del Z64
    train_reg = train + delta * lam / d * norm_sq
    tick("train_error", t0)

    # ---- Monte Carlo test and score errors over fresh samples
    t0 = time.perf_counter()
    score_sq_mean = data.score_sq_mean(t)
    basis = data.par_basis
    D = data.D
    # one generator per TEST_UNIT samples: results do not depend on test_block
    unit = TEST_UNIT
    block = max(unit, (size.test_block // unit) * unit)
    n_blocks = math.ceil(size.n_test / block)
    s_test = torch.zeros((), dtype=torch.float64, device=device)
    s_test2 = torch.zeros((), dtype=torch.float64, device=device)
    s_score = torch.zeros((), dtype=torch.float64, device=device)
    s_score2 = torch.zeros((), dtype=torch.float64, device=device)
    s_par = torch.zeros((), dtype=torch.float64, device=device)
    s_par2 = torch.zeros((), dtype=torch.float64, device=device)
    s_perp = torch.zeros((), dtype=torch.float64, device=device)
    s_perp2 = torch.zeros((), dtype=torch.float64, device=device)
    has_score = True
    count = 0
    for b in range(n_blocks):
        start = b * block
        nb = min(block, size.n_test - start)
        parts_x, parts_xi = [], []
        for u0 in range(start, start + nb, unit):
            k = min(unit, start + nb - u0)
            gen = stream("test", u0 // unit)
            parts_x.append(data.sample(unit, gen, _DRAW, device)[:k])
            parts_xi.append(torch.randn(unit, d, generator=gen, dtype=_DRAW, device=device)[:k])
        x0 = torch.cat(parts_x).to(dtype)
        xi = torch.cat(parts_xi).to(dtype)
        y = a_t * x0 + sq_delta * xi
        s = -matmul(act(matmul(y, WT)), Z)  # the learned score, (nb, d)
        # ||sqrt(D) s + xi||^2 with ||xi||^2/d replaced by its mean 1 (an exact control
        # variate: unbiased, and it removes the largest source of Monte Carlo noise)
        ss = (s * s).sum(1)
        lt = (delta * ss + 2.0 * sq_delta * (s * xi).sum(1)).double() / d + 1.0
        s_test += lt.sum()
        s_test2 += (lt * lt).sum()
        score_true = data.score(y, t)
        if score_true is None:
            has_score = False
        else:
            ls = (ss - 2.0 * (s * score_true).sum(1)).double() / d
            if score_sq_mean is None:
                ls = ls + (score_true * score_true).sum(1).double() / d
            else:
                ls = ls + score_sq_mean
            s_score += ls.sum()
            s_score2 += (ls * ls).sum()
        if basis is not None:
            # on-manifold part ||Q^T (sqrt(D) s + xi)||^2 / d, with ||Q^T xi||^2 / d replaced
            # by its mean D/d (control variate); the off-manifold part is the remainder
            sp, xp = s @ basis, xi @ basis
            lp = (delta * (sp * sp).sum(1) + 2.0 * sq_delta * (sp * xp).sum(1)).double() / d
            lp = lp + D / d
            lq = lt - lp
            s_par += lp.sum()
            s_par2 += (lp * lp).sum()
            s_perp += lq.sum()
            s_perp2 += (lq * lq).sum()
        count += nb

    def mean_se(s1, s2):
        mu = float(s1) / count
        var = max(float(s2) / count - mu * mu, 0.0) * count / max(count - 1, 1)
        return mu, math.sqrt(var / count)

    test, test_se = mean_se(s_test, s_test2)
    out = {"test_error": test, "train_error": train, "train_error_reg": train_reg,
           "_mc_se": {"test_error": test_se, "train_error": 0.0, "train_error_reg": 0.0},
           "n": n, "p": p, "m": m, "D": D}
    if basis is not None:
        out["test_error_par"], out["_mc_se"]["test_error_par"] = mean_se(s_par, s_par2)
        out["test_error_perp"], out["_mc_se"]["test_error_perp"] = mean_se(s_perp, s_perp2)
    tick("test_error", t0)
    t0 = time.perf_counter()
    c_t, c_se = data.exact_score_test_error(t, stream("C_t"))
    out["exact_score_test_error"] = c_t
    out["_mc_se"]["exact_score_test_error"] = c_se
    if has_score:
        out["score_error"], out["_mc_se"]["score_error"] = mean_se(s_score, s_score2)
    else:
        # no exact score (hidden manifold): E||s - grad log p_t||^2 / d = (test error - C_t) / Delta
        out["score_error"] = (test - c_t) / delta
        out["_mc_se"]["score_error"] = math.hypot(test_se, c_se) / delta
    tick("exact_score", t0)
    return out


def run(setting: RFSetting, size: RFSize | None = None, *, callback=None) -> RFMeasurement:
    """Simulate one scalar setting over ``size.seeds``.

    Parameters
    ----------
    setting : RFSetting
        A single point (``setting.size == 1``) with finite ``m``.
    size : RFSize, optional
        Defaults to ``RFSize()`` (d = 200, five seeds, CUDA when available).
    callback : callable, optional
        Called as ``callback(seed_index, n_seeds)`` after each seed (progress bars).

    Returns
    -------
    RFMeasurement
    """
    if not isinstance(setting, RFSetting):
        raise ValueError(f"setting: expected an RFSetting, got {type(setting).__name__}")
    if setting.size != 1:
        raise ValueError(f"setting: simulate one grid point at a time (got shape {setting.shape})")
    if setting.shape != ():
        setting = setting.point((0,) * len(setting.shape))
    size = RFSize() if size is None else size
    device = resolve_device(size.device)
    timings: dict = {}
    t_start = time.perf_counter()
    rows = []
    for i, seed in enumerate(size.seeds):
        rows.append(fit_seed(setting, size, seed, device=device, timings=timings))
        if callback is not None:
            callback(i, len(size.seeds))
    return measurement(setting, size, rows, seconds=time.perf_counter() - t_start,
                       timings=timings, device=device)


def measurement(setting: RFSetting, size: RFSize, rows: list, *, seconds: float = 0.0,
                timings: dict | None = None, device=None) -> RFMeasurement:
    """Assemble the per-seed results of :func:`fit_seed` (one dict per seed of ``size.seeds``,
    in order) into an :class:`RFMeasurement`: means, seed standard errors, Monte Carlo
    standard errors.  A non-finite value raises ``RuntimeError``."""
    if len(rows) != len(size.seeds) or not rows:
        raise ValueError(f"rows: need one result per seed ({len(size.seeds)}, got {len(rows)})")
    if len(set(size.seeds)) != len(size.seeds):
        raise ValueError(f"size: seeds must be distinct (got {size.seeds!r})")
    device = resolve_device(size.device) if device is None else device
    measured = [q for q in MEASURED + ("exact_score_test_error",) if q in rows[0]]
    per_seed = {q: np.array([r[q] for r in rows]) for q in measured}
    k = len(rows)
    mean = {q: float(np.mean(v)) for q, v in per_seed.items()}
    se = {q: (float(np.std(v, ddof=1) / math.sqrt(k)) if k > 1 else float("nan"))
          for q, v in per_seed.items()}
    mc = {q: float(math.sqrt(sum(r["_mc_se"][q] ** 2 for r in rows)) / k) for q in measured}
    for q in measured:
        if not np.all(np.isfinite(per_seed[q])):
            raise RuntimeError(f"simulation produced a non-finite {q}; check the setting "
                               f"({setting!r}) and dtype")
    return RFMeasurement(
        setting=setting, size=size, n=rows[0]["n"], p=rows[0]["p"], m=rows[0]["m"],
        D=rows[0]["D"],
        per_seed=per_seed, mean=mean, se=se, mc_se=mc, seconds=seconds, timings=timings or {},
        device=describe_device(device), dtype=str(size.dtype),
    )
