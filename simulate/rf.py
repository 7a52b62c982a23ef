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
from dataclasses import dataclass, field

import numpy as np
import torch

from lowdim.theory.rf import RFSetting
from lowdim.theory.tidy import Tidy, TidyData

from ._checks import integer
from .activations import activation_in_place
from .data import make_data, ou_forward
from .device import describe_device, make_generator, resolve_device, resolve_dtype
from .linalg import gram_update, matmul, ridge_solve

__all__ = ["RFSize", "RFMeasurement", "run", "fit_seed", "measurement", "STREAMS",
           "SeedProblem", "SeedResult", "seed_generator", "seed_draws"]

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
class RFMeasurement(Tidy):
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

    ``to_pandas()`` gives one row per (quantity, seed) with the summary of the quantity
    alongside, ``to_xarray()`` the same over the dimensions ``quantity`` and ``seed``; the
    setting's parameters are scalar coordinates, the sizes and device attributes.
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

    def _tidy(self):
        coords, labels = self.setting.grid_coordinates()
        qs = list(self.per_seed)
        q, qs_seed = ("quantity",), ("quantity", "seed")

        def per(fn):
            return (q, np.array([fn(k) for k in qs], dtype=float))

        return TidyData(
            {"quantity": np.array(qs, dtype=object), "seed": np.array(self.size.seeds)},
            {"value": (qs_seed, np.array([self.per_seed[k] for k in qs], dtype=float)),
             "mean": per(self.mean.get), "se": per(self.se.get), "mc_se": per(self.mc_se.get),
             "uncertainty": per(self.uncertainty), "dof": per(self.dof)},
            {k: float(np.ravel(v)[0]) for k, v in coords.items()},
            {**labels, "d": self.size.d, "n": self.n, "p": self.p, "D": self.D,
             "n_seeds": self.n_seeds, "device": self.device, "dtype": self.dtype,
             "seconds": float(self.seconds),
             **{f"seconds_{k}": float(v) for k, v in self.timings.items()}})


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
#: (:meth:`SeedProblem.generator`): the features' weights, the data model's frozen matrix,
#: the training inputs, noise copy ``j``, test unit ``k`` (``TEST_UNIT`` samples each) and
#: the exact-score constant's Monte Carlo.  Results do not depend on how they are batched.
STREAMS = ("W", "M", "X", ("noise", "j"), ("test", "k"), "C_t")

#: Normal variates are drawn in float32 (about 6x faster than float64 on the CPU) and cast:
#: all arithmetic is in the run's dtype, and a float32 run sees exactly the same data as a
#: float64 run with the same seed, so their difference is pure precision.
_DRAW = torch.float32


@dataclass(frozen=True)
class SeedProblem:
    """One seed of one setting, as :func:`fit_seed` simulates it: the sizes ``n = psi_n d``,
    ``p = psi_p d`` and ``m``, the forward process at ``t`` (``a_t``, ``Delta_t``), the
    device and dtype, and the named random streams (:data:`STREAMS`) under the prefix
    ``size.stream``.  Build it with :meth:`of`."""

    setting: RFSetting
    size: RFSize
    seed: int
    device: torch.device
    dtype: torch.dtype
    n: int
    p: int
    m: int
    a_t: float
    delta: float

    @classmethod
    def of(cls, setting: RFSetting, size: RFSize, seed: int, *, device=None) -> SeedProblem:
        n, p, m = _sizes(setting, size.d)
        a_t, delta = ou_forward(float(setting.t))
        return cls(setting, size, seed, resolve_device(size.device if device is None else device),
                   resolve_dtype(size.dtype), n, p, m, a_t, delta)

    @property
    def d(self) -> int:
        return self.size.d

    def generator(self, *name) -> torch.Generator:
        """The generator of stream ``name`` (one of :data:`STREAMS`, e.g. ``("noise", 3)``)."""
        prefix = (self.size.stream,) if self.size.stream else ()
        return make_generator(self.device, self.seed, *prefix, *name)

    def normal(self, rows: int, gen: torch.Generator) -> torch.Tensor:
        """``(rows, d)`` standard normals from ``gen``, drawn in float32, in the run's dtype."""
        return torch.randn(rows, self.d, generator=gen, dtype=_DRAW,
                           device=self.device).to(self.dtype)

    def inputs(self, data=None):
        """``(W, data, X)``: the features' weights ``(p, d)``, the data model (the setting's,
        unless ``data`` is given, e.g. a :class:`~lowdim.simulate.data.DataRows`), the inputs."""
        W = self.normal(self.p, self.generator("W"))
        if data is None:
            data = make_data(self.setting, self.d, self.generator("M"), self.dtype, self.device)
        X = data.sample(self.n, self.generator("X"), _DRAW, self.device).to(self.dtype)
        return W, data, X

    def noise(self, js) -> torch.Tensor:
        """The noise copies ``j`` in ``js`` stacked: ``(n len(js), d)``."""
        return torch.cat([self.normal(self.n, self.generator("noise", j)) for j in js])

    def noise_blocks(self):
        """The ranges of noise copies accumulated together (``size.noise_block`` each)."""
        step = self.size.noise_block
        return [range(j0, min(self.m, j0 + step)) for j0 in range(0, self.m, step)]


@dataclass
class SeedResult(Tidy):
    """What one seed measures (:func:`fit_seed`).

    ``values[q]`` for every quantity ``q`` of :data:`MEASURED` the data model has (and
    ``exact_score_test_error``); ``mc_se[q]`` its Monte Carlo standard error (0 for the
    exact train errors); ``n, p, m`` the sizes and ``D`` the intrinsic dimension;
    ``seconds`` the seed's wall time and ``timings`` its seconds by step (``draw``,
    ``features_gram``, ``solve``, ``train_error``, ``test_error``, ``exact_score``).
    Plain data: ``dataclasses.asdict`` of it is what the cache stores.  ``to_pandas()`` and
    ``to_xarray()`` give ``value`` and ``mc_se`` over ``quantity``.
    """

    seed: int
    n: int
    p: int
    m: int
    D: int
    values: dict
    mc_se: dict
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    def _tidy(self):
        qs = list(self.values)
        q = ("quantity",)
        return TidyData({"quantity": np.array(qs, dtype=object)},
                        {"value": (q, np.array([self.values[k] for k in qs], dtype=float)),
                         "mc_se": (q, np.array([self.mc_se.get(k, np.nan) for k in qs],
                                               dtype=float))},
                        {"seed": int(self.seed)},
                        {"n": self.n, "p": self.p, "m": self.m, "D": self.D,
                         "seconds": float(self.seconds),
                         **{f"seconds_{k}": float(v) for k, v in self.timings.items()}})


def seed_generator(size: RFSize, seed: int, *name, device=None) -> torch.Generator:
    """The generator of the stream ``name`` (one of :data:`STREAMS`) of one seed: the
    stream of :meth:`SeedProblem.generator` without a setting."""
    prefix = (size.stream,) if size.stream else ()
    return make_generator(resolve_device(size.device if device is None else device), seed,
                          *prefix, *name)


def seed_draws(setting: RFSetting, size: RFSize, seed: int, *, device=None):
    """``(W, X, Xi)`` of one seed exactly as :func:`fit_seed` draws them: the features'
    weights ``(p, d)``, the training inputs ``(n, d)`` and the ``m`` noise copies stacked
    ``(n m, d)`` (normal variates drawn in float32, then cast to ``size.dtype``)."""
    prob = SeedProblem.of(setting, size, seed, device=device)
    W, _, X = prob.inputs()
    return W, X, prob.noise(range(prob.m))


class _Clock:
    """Seconds by step, added into ``timings`` (synchronising CUDA before reading)."""

    def __init__(self, device, timings):
        self.device, self.timings = device, timings

    def __call__(self, key):
        return _Step(self, key)


class _Step:
    def __init__(self, clock, key):
        self.clock, self.key = clock, key

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        _sync(self.clock.device)
        t = self.clock.timings
        t[self.key] = t.get(self.key, 0.0) + time.perf_counter() - self.t0


def fit_seed(setting: RFSetting, size: RFSize, seed: int, *, device=None,
             timings=None, data=None) -> SeedResult:
    """Train on one seed and measure: draw, accumulate ``U`` and ``V``, solve the ridge,
    the exact train errors, the Monte Carlo test (and score) errors; a :class:`SeedResult`.
    ``timings`` (a dict), when given, also receives the seconds by step.  ``data`` replaces
    the setting's data model (a :class:`~lowdim.simulate.data.DataRows` trains and tests on
    a real data set's rows; without an exact score it has no score error)."""
    t_start = time.perf_counter()
    prob = SeedProblem.of(setting, size, seed, device=device)
    if data is not None and getattr(data, "d", size.d) != size.d:
        raise ValueError(f"d: the data have d = {data.d}, the size asks d = {size.d}")
    steps: dict = {}
    clock = _Clock(prob.device, steps)
    act = activation_in_place(setting.activation)   # applied to fresh products only
    with clock("draw"):
        W, data, X = prob.inputs(data)
        WT = (W.T * (1.0 / math.sqrt(prob.d))).contiguous()
    with clock("features_gram"):
        G, V, xi_sq = _accumulate(prob, act, WT, X)
    with clock("solve"):
        Z = _solve(prob, G, V)
    with clock("train_error"):
        train, train_reg = _train_errors(prob, act, WT, X, Z, V, xi_sq)
    values = {"test_error": None, "train_error": train, "train_error_reg": train_reg}
    mc = {"test_error": None, "train_error": 0.0, "train_error_reg": 0.0}
    with clock("test_error"):
        sums, has_score = _test_sums(prob, act, data, WT, Z)
        values["test_error"], mc["test_error"] = sums.mean_se("test")
        if data.par_basis is not None:
            for q, key in (("test_error_par", "par"), ("test_error_perp", "perp")):
                values[q], mc[q] = sums.mean_se(key)
    with clock("exact_score"):
        exact = data.exact_score_test_error(float(setting.t), prob.generator("C_t"))
    if exact is not None:   # data rows have no exact score: neither C_t nor a score error
        c_t, c_se = exact
        values["exact_score_test_error"], mc["exact_score_test_error"] = c_t, c_se
        if has_score:
            values["score_error"], mc["score_error"] = sums.mean_se("score")
        else:
            # no exact score (hidden manifold): E||s - grad log p_t||^2 / d = (test - C_t) / Delta
            values["score_error"] = (values["test_error"] - c_t) / prob.delta
            mc["score_error"] = math.hypot(mc["test_error"], c_se) / prob.delta
    if timings is not None:
        for k, v in steps.items():
            timings[k] = timings.get(k, 0.0) + v
    return SeedResult(seed=int(seed), n=prob.n, p=prob.p, m=prob.m, D=data.D, values=values,
                      mc_se=mc, seconds=time.perf_counter() - t_start, timings=steps)


def _accumulate(prob: SeedProblem, act, WT, X):
    """``(G, V, ||Xi||^2)``: the Gram ``F^T F`` (upper triangle) and
    ``V = F^T Xi / (sqrt(Delta) n m)`` summed over the noise blocks."""
    p, d = prob.p, prob.d
    G = torch.zeros(p, p, dtype=prob.dtype, device=prob.device)
    H = torch.zeros(p, d, dtype=prob.dtype, device=prob.device)
    xi_sq = 0.0
    sq_delta = math.sqrt(prob.delta)
    aX = prob.a_t * X
    for js in prob.noise_blocks():
        Xi = prob.noise(js)
        Y = aX.repeat(len(js), 1) + sq_delta * Xi
        F = act(matmul(Y, WT))
        gram_update(G, F)
        H.add_(matmul(F.T, Xi))
        xi_sq += float((Xi * Xi).sum())
        del Xi, Y, F
    return G, H.div_(sq_delta * prob.n * prob.m), xi_sq


def _solve(prob: SeedProblem, G, V):
    """``Z`` with ``(U + lam I) Z = V``, ``U = G / (n m)`` formed in ``G``'s memory (only
    its upper triangle is read, the one ``gram_update`` fills on the CPU); ``B = -Z^T``."""
    lam = float(prob.setting.lam)
    M = G.div_(prob.n * prob.m)
    M.diagonal().add_(lam)
    Z, info = ridge_solve(M, V)
    if info != 0:
        raise RuntimeError(f"Cholesky of U + lam I failed (lam={lam:g}); try float64 or a "
                           "larger ridge")
    return Z


def _train_errors(prob: SeedProblem, act, WT, X, Z, V, xi_sq):
    """The exact train error and its ridge-penalised version."""
    # In float64 the quadratic term comes from the normal equations, <Z, U Z> = <Z, V> -
    # lam ||Z||^2, which saves the p x p x d product U Z.  The Cholesky solve is backward
    # stable, so this is as accurate as forming U Z: both agree with the summed squared
    # residuals to about 1e-8 relative at lam = 1e-8 and to 1e-14 at lam = 1e-3 (checked
    # on n = 400, p = 400..1600).  In float32 the same cancellation would cost more digits
    # than the small train errors of the interpolating regime have.
    d, nm, delta = prob.d, prob.n * prob.m, prob.delta
    lam = float(prob.setting.lam)
    Z64 = Z.double()
    norm_sq = float((Z64 * Z64).sum())
    if prob.dtype == torch.float64:
        cross = float((Z64 * V).sum())
        train = xi_sq / (d * nm) - delta / d * (cross + lam * norm_sq)
    else:
        # In float32, U, V and ||Xi||^2 carry relative errors ~1e-7 and the O(1) terms above
        # cancel down to the (tiny) train error: sum the squared residuals instead, over the
        # same noise blocks regenerated from their generators (no cancellation).
        sq_delta = math.sqrt(delta)
        aX = prob.a_t * X
        res_sq = 0.0
        for js in prob.noise_blocks():
            Xi = prob.noise(js)
            Y = aX.repeat(len(js), 1) + sq_delta * Xi
            R = Xi - sq_delta * matmul(act(matmul(Y, WT)), Z)
            res_sq += float((R.double() ** 2).sum())
            del Xi, Y, R
        train = res_sq / (d * nm)
    return train, train + delta * lam / d * norm_sq


class _Sums:
    """Running sums ``sum x`` and ``sum x^2`` (float64, on the device) of per-sample losses."""

    def __init__(self, device, keys):
        self.count = 0
        self.s = {k: torch.zeros((), dtype=torch.float64, device=device) for k in keys}
        self.s2 = {k: torch.zeros((), dtype=torch.float64, device=device) for k in keys}

    def add(self, key, values):
        self.s[key] += values.sum()
        self.s2[key] += (values * values).sum()

    def mean_se(self, key):
        """The mean and its standard error."""
        count = self.count
        mu = float(self.s[key]) / count
        var = max(float(self.s2[key]) / count - mu * mu, 0.0) * count / max(count - 1, 1)
        return mu, math.sqrt(var / count)


def _test_draws(prob: SeedProblem, data, block: int):
    """Fresh test samples ``(xi, y)`` (``y = a_t x_0 + sqrt(Delta) xi``) in blocks of
    ``block`` samples (a multiple of ``TEST_UNIT``), ``size.n_test`` in all; one generator per
    ``TEST_UNIT`` samples, so the draws do not depend on ``block``."""
    unit, n_test, d, device = TEST_UNIT, prob.size.n_test, prob.d, prob.device
    sq_delta = math.sqrt(prob.delta)
    draw = getattr(data, "sample_test", data.sample)   # held-out rows for real data
    for start in range(0, n_test, block):
        nb = min(block, n_test - start)
        parts_x, parts_xi = [], []
        for u0 in range(start, start + nb, unit):
            k = min(unit, start + nb - u0)
            gen = prob.generator("test", u0 // unit)
            parts_x.append(draw(unit, gen, _DRAW, device)[:k])
            parts_xi.append(torch.randn(unit, d, generator=gen, dtype=_DRAW, device=device)[:k])
        x0 = torch.cat(parts_x).to(prob.dtype)
        xi = torch.cat(parts_xi).to(prob.dtype)
        yield xi, prob.a_t * x0 + sq_delta * xi


def _test_sums(prob: SeedProblem, act, data, WT, Z):
    """Monte Carlo sums of the test, score and on/off-manifold losses over ``size.n_test``
    fresh ``(x_0, xi)`` (:func:`_test_draws`, so results do not depend on ``test_block``);
    also whether the data model has an exact score."""
    t, d, delta = float(prob.setting.t), prob.d, prob.delta
    sq_delta = math.sqrt(delta)
    score_sq_mean = data.score_sq_mean(t)
    basis = data.par_basis
    block = max(TEST_UNIT, (prob.size.test_block // TEST_UNIT) * TEST_UNIT)
    sums = _Sums(prob.device, ("test", "score", "par", "perp"))
    has_score = True
    for xi, y in _test_draws(prob, data, block):
        nb = len(xi)
        s = -matmul(act(matmul(y, WT)), Z)  # the learned score, (nb, d)
        # ||sqrt(D) s + xi||^2 with ||xi||^2/d replaced by its mean 1 (an exact control
        # variate: unbiased, and it removes the largest source of Monte Carlo noise)
        ss = (s * s).sum(1)
        lt = (delta * ss + 2.0 * sq_delta * (s * xi).sum(1)).double() / d + 1.0
        sums.add("test", lt)
        score_true = data.score(y, t)
        if score_true is None:
            has_score = False
        else:
            ls = (ss - 2.0 * (s * score_true).sum(1)).double() / d
            if score_sq_mean is None:
                ls = ls + (score_true * score_true).sum(1).double() / d
            else:
                ls = ls + score_sq_mean
            sums.add("score", ls)
        if basis is not None:
            # on-manifold part ||Q^T (sqrt(D) s + xi)||^2 / d, with ||Q^T xi||^2 / d replaced
            # by its mean D/d (control variate); the off-manifold part is the remainder
            sp, xp = s @ basis, xi @ basis
            lp = (delta * (sp * sp).sum(1) + 2.0 * sq_delta * (sp * xp).sum(1)).double() / d
            lp = lp + data.D / d
            sums.add("par", lp)
            sums.add("perp", lt - lp)
        sums.count += nb
    return sums, has_score


def run(setting: RFSetting, size: RFSize | None = None, *, callback=None,
        data=None) -> RFMeasurement:
    """Simulate one scalar setting over ``size.seeds``.

    Parameters
    ----------
    setting : RFSetting
        A single point (``setting.size == 1``) with finite ``m``.
    size : RFSize, optional
        Defaults to ``RFSize()`` (d = 200, five seeds, CUDA when available).
    callback : callable, optional
        Called as ``callback(seed_index, n_seeds)`` after each seed (progress bars).
    data : lowdim.simulate.data.DataRows, optional
        Train and test on these rows instead of the setting's data model (``size.d`` must
        be their dimension); the setting then only gives the sizes, ``t``, the ridge and
        the activation.

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
    results = []
    for i, seed in enumerate(size.seeds):
        results.append(fit_seed(setting, size, seed, device=device, data=data))
        if callback is not None:
            callback(i, len(size.seeds))
    return measurement(setting, size, results, device=device)


def measurement(setting: RFSetting, size: RFSize, results: list, *,
                device=None) -> RFMeasurement:
    """Assemble the :class:`SeedResult` of every seed of ``size.seeds`` (in order) into an
    :class:`RFMeasurement`: means, seed standard errors, Monte Carlo standard errors, the
    seconds and step timings summed over seeds.  A non-finite value raises ``RuntimeError``."""
    if len(results) != len(size.seeds) or not results:
        raise ValueError(f"results: need one per seed ({len(size.seeds)}, got {len(results)})")
    if len(set(size.seeds)) != len(size.seeds):
        raise ValueError(f"size: seeds must be distinct (got {size.seeds!r})")
    device = resolve_device(size.device) if device is None else device
    first = results[0]
    measured = [q for q in MEASURED + ("exact_score_test_error",) if q in first.values]
    per_seed = {q: np.array([r.values[q] for r in results]) for q in measured}
    k = len(results)
    mean = {q: float(np.mean(v)) for q, v in per_seed.items()}
    se = {q: (float(np.std(v, ddof=1) / math.sqrt(k)) if k > 1 else float("nan"))
          for q, v in per_seed.items()}
    mc = {q: float(math.sqrt(sum(r.mc_se[q] ** 2 for r in results)) / k) for q in measured}
    for q in measured:
        if not np.all(np.isfinite(per_seed[q])):
            raise RuntimeError(f"simulation produced a non-finite {q}; check the setting "
                               f"({setting!r}) and dtype")
    timings: dict = {}
    for r in results:
        for key, v in r.timings.items():
            timings[key] = timings.get(key, 0.0) + v
    return RFMeasurement(
        setting=setting, size=size, n=first.n, p=first.p, m=first.m, D=first.D,
        per_seed=per_seed, mean=mean, se=se, mc_se=mc,
        seconds=sum(r.seconds for r in results), timings=timings,
        device=describe_device(device), dtype=str(size.dtype),
    )
