"""The law of the exponential-integrator sampler in one dimension, by density propagation.

One step of the chain is ``Y' = mu_j(Y) + sqrt(Delta v_j) U`` with the step map ``mu_j(x) = x +
Delta v_j S_j(x)``. So the density is pushed forward by ``mu_j`` and then convolved with ``N(0,
Delta v_j)``:

    q_{j+1} = ((q_j / mu_j') o mu_j^{-1}) * N(0, Delta v_j).

For a mixture's exact score, ``mu_j' = 1 + Delta v_j S_j' >= v_{j+1} / v_j > 0`` [derived: ``S' >=
-1/(lambda_min + v)``], so the map is increasing and the push-forward is a change of variables. Each
step puts the push-forward on a fresh uniform grid (cubic interpolation), trims tails below
``1e-25`` of the peak, and convolves exactly in Fourier space; the grid spans the push-forward plus
nine kernel standard deviations either side, so the periodic wrap is below ``e^-40``. A learned
score need not give an increasing map; such a step is handled when its noise is wide (standard
deviation at least eight grid spacings): the mass at each mapped node is shared between its two
neighbouring grid points (mass and mean kept) before the convolution, whose smoothing makes the
sharing error second order in the spacing over the width; the same sharing is used when an
increasing map pushes the density onto fewer than 16 grid spacings. Otherwise the step is refused
with a ``ValueError``, as is a grid that does not resolve the target. Accuracy is set by
``n_nodes``; :func:`sampler_law_1d` can report the change when
the node count is halved. The result is a reference for the Monte Carlo sampler and the exact KL of
what is sampled, ``KL(p_delta || q_N)``, for non-Gaussian data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._checks import ParameterTypeError, flag, floats, integer
from ._mixture import GaussianMixture, _check_1d
from ..tidy import Tidy, TidyData
from ._schedules import SamplingGrid, check_grid

__all__ = ["SamplerLaw1D", "sampler_law_1d", "mixture_score_1d"]

_TRIM = 1e-25
_KERNEL_SDS = 9.0
_DEPOSIT_MIN_WIDTH = 8.0
_SPLINE_MIN_SPAN = 16.0     # grid spacings the push-forward must span to be interpolated
_TARGET_MASS_TOL = 1e-3     # the target's mass on the final grid must be 1 to this


def _deposit(y, mass, z):
    """Masses at points ``y`` shared linearly between their two neighbours on the uniform grid
    ``z`` (mass and mean preserved)."""
    h = z[1] - z[0]
    t = (y - z[0]) / h
    i = np.clip(np.floor(t).astype(int), 0, z.size - 2)
    frac = t - i
    out = np.bincount(i, mass * (1 - frac), minlength=z.size)
    out += np.bincount(i + 1, mass * frac, minlength=z.size)
    return out


@dataclass(frozen=True)
class SamplerLaw1D(Tidy):
    """Final density of the chain on a uniform grid.

    ``x``, ``density`` (normalised), ``target`` (``p_delta`` on ``x``), ``kl`` (``KL(p_delta ||
    q_N)``; ``inf`` where ``q_N`` vanishes to round-off where ``p_delta`` does not),
    ``mass_error`` (``1 - int q_N`` before normalisation), ``kl_change`` (``kl`` minus the value
    with half the nodes, ``nan`` unless requested), ``n_nodes``.  ``to_pandas()`` and
    ``to_xarray()`` give ``density`` and ``target`` over ``x`` with the scalars alongside."""

    x: np.ndarray
    density: np.ndarray
    target: np.ndarray
    kl: float
    mass_error: float
    kl_change: float
    n_nodes: int

    def _tidy(self):
        return TidyData({"x": self.x},
                        {"density": (("x",), np.ravel(self.density)),
                         "target": (("x",), np.ravel(self.target)),
                         **{k: float(getattr(self, k)) for k in ("kl", "mass_error",
                                                                 "kl_change")}},
                        attrs={"n_nodes": int(self.n_nodes)})

    def expectation(self, f) -> float:
        """``E_q f(Y_N)`` by the trapezoid rule."""
        return float(np.trapezoid(f(self.x) * self.density, self.x))


def mixture_score_1d(mixture: GaussianMixture, score_shift=None):
    """``(score, dscore)`` callables ``(x, v, j)`` of a one-dimensional mixture's exact score,
    plus a constant ``score_shift[j]`` at step j when given (a controlled score error with
    squared size ``score_shift[j]**2``).  ``x`` is an array of points (any shape), ``v`` the
    noise variance and ``j`` the step, an integer index into ``score_shift``."""
    _check_1d(mixture)
    shift = None
    if score_shift is not None:
        shift = floats("score_shift", score_shift)
        if shift.ndim != 1 or not np.all(np.isfinite(shift)):
            raise ValueError("score_shift: expected a vector of finite shifts, one per step")

    def shift_at(j):
        j = integer("j", j, strict=True)
        if not 0 <= j < shift.size:
            raise ValueError(f"j: step index out of range for {shift.size} score shifts "
                             f"(got {j!r})")
        return shift[j]

    def score(x, v, j):
        s = mixture.score(floats("x", x)[..., None], v)[..., 0]
        return s if shift is None else s + shift_at(j)

    def dscore(x, v, j):
        return mixture.score_derivative_1d(floats("x", x)[..., None], v)

    return score, dscore


def sampler_law_1d(grid: SamplingGrid, mixture: GaussianMixture, score: Callable | None = None,
                   dscore: Callable | None = None, *, n_nodes: int = 8192,
                   check: bool = False) -> SamplerLaw1D:
    """Density of ``Y_N`` for the chain on ``grid`` and its KL from ``p_delta`` of ``mixture``.

    Parameters
    ----------
    grid : SamplingGrid
    mixture : GaussianMixture
        One-dimensional data; defines the target ``p_delta`` and, when ``score`` is None, the
        exact score driving the chain.
    score, dscore : callables ``(x, v, j) -> array``, optional
        Any score (e.g. a trained network wrapped to numpy) and its derivative in ``x``; when
        ``dscore`` is None the step map is differentiated numerically on the grid.
    n_nodes : int
        Grid points per step, ``256 .. 2^24``.
    check : bool
        Also run with ``n_nodes // 2`` and report the change of the KL in ``kl_change``.

    Raises
    ------
    ValueError
        Naming the parameter: a score or derivative that is not finite or not of the shape of
        ``x``, a step map that cannot be propagated (``score``), or a grid too coarse for the
        density or the target (``n_nodes``).
    """
    check_grid(grid)
    _check_1d(mixture)
    n_nodes = integer("n_nodes", n_nodes, low=256, strict=True)
    if n_nodes > 2**24:
        raise ValueError(f"n_nodes: at most 2^24 grid points (got {n_nodes!r})")
    if score is not None and not callable(score):
        raise ParameterTypeError(f"score: expected a callable (x, v, j) -> array (got "
                                 f"{score!r})")
    if dscore is not None and not callable(dscore):
        raise ParameterTypeError(f"dscore: expected a callable (x, v, j) -> array (got "
                                 f"{dscore!r})")
    check = flag("check", check)
    mixture.check_v(grid.variances[-1])
    if score is None:
        score, dscore = mixture_score_1d(mixture)
    x, q, target, kl, mass = _law(grid, mixture, score, dscore, int(n_nodes))
    change = math.nan
    if check:
        kl_half = _law(grid, mixture, score, dscore, int(n_nodes) // 2)[3]
        change = kl - kl_half if math.isfinite(kl) or math.isfinite(kl_half) else 0.0
    return SamplerLaw1D(x=x, density=q, target=target, kl=kl, mass_error=1.0 - mass,
                        kl_change=change, n_nodes=int(n_nodes))


def _law(grid, mixture, score, dscore, M):
    """``(x, q, target, kl, mass)`` on ``M`` nodes; a grid that does not resolve the sampled
    density or the target is a ValueError naming ``n_nodes``."""
    x, q = _propagate(grid, mixture, score, dscore, M)
    mass = float(np.trapezoid(q, x))
    if not (math.isfinite(mass) and mass > 0):
        raise ValueError(f"n_nodes: the grid of {M} points does not resolve the sampled density "
                         f"(its mass on the grid is {mass:g})")
    q = q / mass
    target = np.exp(mixture.log_density(x, grid.variances[-1]))
    tmass = float(np.trapezoid(target, x))
    if not abs(tmass - 1.0) <= _TARGET_MASS_TOL:
        raise ValueError(f"n_nodes: the grid of {M} points (spacing {x[1] - x[0]:.3g}) does not "
                         f"resolve the target p_delta (its mass on the grid is {tmass:.6g})")
    return x, q, target, _kl_on_grid(x, target, q), mass


def _evaluate(fn, name, xs, v, j):
    """``fn(xs, v, j)`` as a finite float array of the shape of ``xs``."""
    out = floats(name, fn(xs, v, j))
    if out.shape != xs.shape:
        raise ValueError(f"{name}: must return an array of the shape of x ({xs.shape}), got "
                         f"{out.shape} at step {j}")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name}: returned non-finite values at step {j}")
    return out


def _kl_on_grid(x, p, q):
    tiny = np.finfo(float).tiny
    mask = p > 1e-14 * p.max()
    if np.any(q[mask] <= tiny):
        return math.inf
    return float(np.trapezoid(np.where(mask, p * (np.log(np.where(mask, p, 1.0))
                                                  - np.log(np.where(mask, q, 1.0))), 0.0), x))


def _propagate(grid, mixture, score, dscore, M):
    from scipy.interpolate import CubicSpline  # here: half a second to import

    v = grid.variances
    sd0 = math.sqrt(v[0])
    x = np.linspace(-12 * sd0, 12 * sd0, M)
    f = np.exp(-0.5 * x**2 / v[0]) / math.sqrt(2 * math.pi * v[0])
    mu_k = mixture.means[:, 0]
    for j in range(grid.N):
        dv = v[j] - v[j + 1]
        if not f.max() > 0:
            raise ValueError(f"n_nodes: the grid of {M} points lost the density at step {j}")
        keep = np.flatnonzero(f > _TRIM * f.max())
        a, b = keep[0], keep[-1]
        if b - a < 8:
            raise ValueError(f"n_nodes: too few grid points resolve the density at step {j}")
        xs, fs = x[a:b + 1], f[a:b + 1]
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            y = xs + dv * _evaluate(score, "score", xs, v[j], j)
            if dscore is None:
                dmu = np.gradient(y, xs, edge_order=2)   # second order, one-sided at the edges
            else:
                dmu = 1.0 + dv * _evaluate(dscore, "dscore", xs, v[j], j)
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(dmu))):
            raise ValueError(f"score: the step map x + Delta v S(x) overflows at step {j}")
        monotone = bool(np.all(dmu > 0) and np.all(np.diff(y) > 0))
        sd = math.sqrt(dv)
        lo, hi = y.min() - _KERNEL_SDS * sd, y.max() + _KERNEL_SDS * sd
        if j == grid.N - 1:
            spread = 12.0 * math.sqrt(mixture.variances.max() + v[-1])
            lo, hi = min(lo, mu_k.min() - spread), max(hi, mu_k.max() + spread)
        z = np.linspace(lo, hi, M)
        h = z[1] - z[0]
        if not (h > 0 and np.all(np.diff(z) > 0)):
            raise ValueError(f"mixture: its means are so far from 0 against the noise levels "
                             f"that the grid of step {j} is not resolved in float64")
        if monotone and y[-1] - y[0] >= _SPLINE_MIN_SPAN * h:
            gz = CubicSpline(y, fs / dmu, extrapolate=False)(z)
            gz = np.where(np.isfinite(gz) & (gz > 0), gz, 0.0)
        elif sd >= _DEPOSIT_MIN_WIDTH * h:
            gz = _deposit(y, fs * (x[1] - x[0]), z) / h
        elif monotone:
            raise ValueError(f"n_nodes: the grid of {M} points resolves neither the pushed "
                             f"density nor the step's noise at step {j}")
        else:
            raise ValueError(f"score: the step map x + Delta v S(x) is not increasing at step {j} "
                             f"and the step's noise is too narrow to smooth it on the grid; "
                             f"no reliable density can be propagated")
        omega = 2 * math.pi * np.fft.rfftfreq(M, h)
        f = np.fft.irfft(np.fft.rfft(gz) * np.exp(-0.5 * dv * omega**2), M)
        f = np.maximum(f, 0.0)
        x = z
    return x, f
