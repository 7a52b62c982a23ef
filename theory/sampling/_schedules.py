"""Variance-exploding schedules and sampling grids (Wang-He-Tao 2024; research note
design_space.md sections 1 and 5).

Forward VE SDE ``dX_t = sqrt(2 sigma_t^2) dW_t``: ``X_t = X_0 + sigma_bar(t) xi`` with
``sigma_bar(t)^2 = 2 int_0^t sigma_s^2 ds``, so the diffusion coefficient is
``sigma_t^2 = sigma_bar(t) sigma_bar'(t)`` [paper: WHT24].  A *variance schedule* is the map
``t -> sigma_bar(t)``; a *time grid* is the set of times at which the sampler evaluates the
score.  Backward grids are stored from the largest noise down:
``s_0 = T > s_1 > ... > s_N = delta`` with variances ``v_j = sigma_bar(s_j)^2``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._checks import ParameterTypeError, choice, floats, integer, number, positive_number
from .._checks import positive_floats as _positive

__all__ = ["VarianceSchedule", "SamplingGrid", "EDM", "SONG", "get_schedule", "custom_schedule",
           "edm_grid", "geometric_grid", "uniform_grid", "user_grid", "make_grid", "GRID_KINDS"]


def _representable(name, value, what):
    """``value`` if every entry is finite, else a ValueError naming ``name``."""
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name}: {what} overflows float64 here")
    return value


@dataclass(frozen=True)
class VarianceSchedule:
    """``sigma_bar(t)``, its inverse and the diffusion coefficient ``sigma_t^2``.

    ``ed_integral(a, b)`` is ``int_a^b sigma_u^4 / sigma_bar_u^4 du`` (the first
    discretization term of Theorem 2), in closed form where known.  The four fields are
    callables of arrays; those of :data:`EDM`, :data:`SONG` and :func:`custom_schedule` take
    times and noise levels that are finite and ``> 0`` and raise a ``ValueError`` naming the
    argument (``t``, ``s``, ``a``, ``b``) otherwise, or when the result overflows.
    """

    name: str
    sigma_bar: Callable
    inverse: Callable
    diffusion_sq: Callable
    ed_integral: Callable

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ParameterTypeError(f"name: a schedule's name must be a string (got {self.name!r})")
        for field in ("sigma_bar", "inverse", "diffusion_sq", "ed_integral"):
            if not callable(getattr(self, field)):
                raise ParameterTypeError(f"{field}: must be callable (got {getattr(self, field)!r})")

    def __repr__(self):
        return f"VarianceSchedule({self.name!r})"


def _edm_ed_integral(a, b):
    a, b = _positive("a", a), _positive("b", b)
    with np.errstate(over="ignore"):
        ia, ib = 1.0 / a, 1.0 / b
    _representable("a", ia, "1 / a")
    _representable("b", ib, "1 / b")
    return ia - ib


def _song_inverse(s):
    s = _positive("s", s)
    with np.errstate(over="ignore", under="ignore"):
        t = _representable("s", s ** 2, "s^2")
    if np.any(t <= 0):
        raise ValueError(f"s: s^2 underflows to 0 (got {s!r})")
    return t


EDM = VarianceSchedule(
    name="edm", sigma_bar=lambda t: _positive("t", t), inverse=lambda s: _positive("s", s),
    diffusion_sq=lambda t: _positive("t", t), ed_integral=_edm_ed_integral)
"""Karras et al. (EDM): ``sigma_bar(t) = t``, ``sigma_t^2 = t`` [paper: WHT24]."""

SONG = VarianceSchedule(
    name="song", sigma_bar=lambda t: np.sqrt(_positive("t", t)), inverse=_song_inverse,
    diffusion_sq=lambda t: np.full_like(_positive("t", t), 0.5),
    ed_integral=lambda a, b: 0.25 * _edm_ed_integral(a, b))
"""Song et al. VE in EDM's parametrisation: ``sigma_bar(t) = sqrt(t)``, ``sigma_t^2 = 1/2``
[paper: WHT24]."""


def custom_schedule(sigma_bar: Callable, name: str = "custom", *, t_max: float = 1e8,
                    h: float = 1e-6) -> VarianceSchedule:
    """A variance schedule from any increasing ``sigma_bar(t) > 0`` on ``t > 0``.

    The inverse is found by bracketing on ``(0, t_max]`` (``t_max > 1e-6``; a noise level
    outside ``sigma_bar((0, t_max])`` is a ``ValueError`` naming ``s``); ``sigma_t^2 =
    sigma_bar sigma_bar'`` uses a central difference of relative step ``h`` in ``(0, 1)``;
    ``ed_integral`` is adaptive quadrature.  Where ``sigma_bar`` turns out not finite, not
    positive or not increasing at a requested time, the error names ``schedule``.
    """
    if not callable(sigma_bar):
        raise ParameterTypeError("schedule: expected 'edm', 'song' or a callable sigma_bar(t)")
    if not isinstance(name, str):
        raise ParameterTypeError(f"name: a schedule's name must be a string (got {name!r})")
    t_max = positive_number("t_max", t_max)
    if not t_max > 1e-6:
        raise ValueError(f"t_max: must be a finite number > 1e-6 (got {t_max!r})")
    if not 0 < number("h", h) < 1:
        raise ValueError(f"h: the relative difference step must lie in (0, 1) (got {h!r})")

    def value(t):
        """``sigma_bar(t)`` at one time, a real number (else an error naming ``schedule``)."""
        return number("schedule", sigma_bar(t))

    def raw(t):
        with np.errstate(all="ignore"):  # a non-finite value is reported below, by name
            return np.asarray(np.vectorize(value, otypes=[float])(np.asarray(t, float)), float)

    def sb(t):
        t = _positive("t", t)
        out = raw(t)
        if not np.all(np.isfinite(out)) or np.any(out <= 0):
            raise ValueError(f"schedule: sigma_bar(t) must be finite and > 0 (it is not at "
                             f"t = {t[~(np.isfinite(out) & (out > 0))].ravel()[0]:g})")
        return out

    probe = raw(np.geomspace(1e-6, min(t_max, 1e6), 41))
    if not np.all(np.isfinite(probe)) or np.any(probe <= 0) or np.any(np.diff(probe) <= 0):
        raise ValueError("schedule: sigma_bar(t) must be finite, positive and increasing in t")

    def inverse(s):
        s = _positive("s", s)
        lo, hi = 1e-300, t_max
        s_lo, s_hi = float(raw(lo)), float(raw(hi))

        def f(t):
            with np.errstate(all="ignore"):
                return value(t)

        from scipy.optimize import brentq  # here: slow to import, and only inverses need it

        def one(x):
            if not (s_lo <= x <= s_hi):
                raise ValueError(f"s: sigma_bar never reaches {x:g} on (0, {t_max:g}]")
            try:
                t, res = brentq(lambda t: f(t) - x, lo, hi, xtol=1e-300, rtol=1e-14,
                                full_output=True, disp=False)
            except ValueError:  # f(lo) - x and f(hi) - x of one sign: not a bracket after all
                raise ValueError(f"schedule: sigma_bar is not increasing on (0, {t_max:g}]; "
                                 f"the level {x:g} cannot be bracketed") from None
            if not res.converged:
                raise RuntimeError(f"schedule: the inverse of sigma_bar at {x:g} did not "
                                   f"converge ({res.flag})")
            return t

        return np.vectorize(one, otypes=[float])(s)

    def diffusion_sq(t):
        t = _positive("t", t)
        dt = h * t
        with np.errstate(all="ignore"):
            out = sb(t) * (sb(t + dt) - sb(t - dt)) / (2.0 * dt)
        _representable("t", out, "sigma_t^2")
        if np.any(out < 0):
            raise ValueError("schedule: sigma_bar(t) is not increasing near the requested t")
        return out

    def ed_integral(a, b):
        from scipy.integrate import IntegrationWarning, quad  # here: slow to import, rarely used

        a, b = _positive("a", a), _positive("b", b)

        def f(u):
            with np.errstate(all="ignore"):  # inf or nan: reported below, by name
                r = np.float64(diffusion_sq(u)) / np.float64(sb(u)) ** 2
                return float(r * r)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrationWarning)
            out = np.vectorize(lambda x, y: quad(f, x, y, limit=200)[0], otypes=[float])(a, b)
        return _representable("a", out, "the integral of sigma_u^4 / sigma_bar_u^4")

    return VarianceSchedule(name=name, sigma_bar=sb, inverse=inverse, diffusion_sq=diffusion_sq,
                            ed_integral=ed_integral)


def get_schedule(schedule) -> VarianceSchedule:
    """``"edm"``, ``"song"``, a :class:`VarianceSchedule` or a callable ``sigma_bar(t)``."""
    if isinstance(schedule, VarianceSchedule):
        return schedule
    if isinstance(schedule, str):
        key = schedule.lower()
        if key == "edm":
            return EDM
        if key in ("song", "ve", "song-ve"):
            return SONG
        raise ValueError(f"schedule: unknown schedule {schedule!r}; use 'edm', 'song' or a "
                         "callable sigma_bar(t)")
    if callable(schedule):
        return custom_schedule(schedule)
    raise ParameterTypeError(f"schedule: expected 'edm', 'song' or a callable, got {schedule!r}")


SIGMA_RANGE = (1e-100, 1e100)  # noise levels whose square and reciprocal square are normal


@dataclass(frozen=True)
class SamplingGrid:
    """A backward grid: times ``s_0 = T > ... > s_N = delta`` of a variance schedule.

    Attributes (arrays of length ``N + 1`` unless stated): ``times``, ``sigmas``
    (``sigma_bar(s_j)``), ``variances`` (``v_j``); ``steps`` (``gamma_j = s_j - s_{j+1}``,
    length N); ``N``; ``kind`` (how it was built) and ``rho`` (polynomial exponent or None).
    Built directly, the times must be finite, ``> 0`` and strictly decreasing, with noise levels
    in ``[1e-100, 1e100]`` (a ValueError names the field otherwise).
    """

    schedule: VarianceSchedule
    times: np.ndarray
    kind: str = "user"
    rho: float | None = None

    def __post_init__(self):
        if not isinstance(self.schedule, VarianceSchedule):
            raise ParameterTypeError(f"schedule: expected a VarianceSchedule (get_schedule makes "
                                     f"one; got {type(self.schedule).__name__})")
        times = floats("times", self.times)
        if times.ndim != 1 or times.size < 2 or not np.all(np.isfinite(times)) \
                or np.any(times <= 0) or np.any(np.diff(times) >= 0):
            raise ValueError("times: need at least two finite times > 0, strictly decreasing")
        sig = floats("schedule", self.schedule.sigma_bar(times))
        if sig.shape != times.shape or np.any(np.diff(sig) >= 0) \
                or sig.min() < SIGMA_RANGE[0] or sig.max() > SIGMA_RANGE[1]:
            raise ValueError(f"times: the noise levels sigma_bar(times) must decrease strictly "
                             f"within [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}]")
        if not isinstance(self.kind, str):
            raise ParameterTypeError(f"kind: expected a string (got {self.kind!r})")
        if self.rho is not None:
            object.__setattr__(self, "rho", positive_number("rho", self.rho))
        object.__setattr__(self, "times", times)

    @property
    def N(self) -> int:
        return self.times.size - 1

    @property
    def sigmas(self) -> np.ndarray:
        return self.schedule.sigma_bar(self.times)

    @property
    def variances(self) -> np.ndarray:
        return self.sigmas ** 2

    @property
    def steps(self) -> np.ndarray:
        return self.times[:-1] - self.times[1:]

    def describe(self) -> str:
        r = f", rho={self.rho:g}" if self.rho is not None else ""
        return (f"{self.kind} grid{r}, {self.schedule.name} schedule, N={self.N}, "
                f"sigma {self.sigmas[-1]:g}..{self.sigmas[0]:g}")


def check_grid(grid, name="grid") -> SamplingGrid:
    """``grid`` if it is a :class:`SamplingGrid`, else a ParameterTypeError naming ``name``."""
    if not isinstance(grid, SamplingGrid):
        raise ParameterTypeError(f"{name}: expected a SamplingGrid (from make_grid, edm_grid, "
                                 f"...; got {type(grid).__name__})")
    return grid


#: Most steps of a built grid (its arrays hold N + 1 times, levels and variances).
N_MAX = 10**7


def _check_range(N, sigma_min, sigma_max):
    """``(N, sigma_min, sigma_max)`` checked: an int step count in ``1 .. N_MAX`` and two
    noise levels in :data:`SIGMA_RANGE`, ``sigma_min < sigma_max``, as floats."""
    N = integer("N", N, low=1, high=N_MAX, strict=True)
    levels = []
    for name, v in (("sigma_min", sigma_min), ("sigma_max", sigma_max)):
        v = positive_number(name, v)
        if not SIGMA_RANGE[0] <= v <= SIGMA_RANGE[1]:
            raise ValueError(f"{name}: must lie in [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}] so "
                             f"that sigma^2 and its reciprocal are representable (got {v!r})")
        levels.append(v)
    sigma_min, sigma_max = levels
    if not sigma_min < sigma_max:
        raise ValueError(f"sigma_min: must be smaller than sigma_max (got sigma_min={sigma_min:g}, "
                         f"sigma_max={sigma_max:g})")
    return N, sigma_min, sigma_max


def _check_times(times, sched):
    """The grid's times: finite, > 0 and strictly decreasing (else the schedule's inverse did
    not resolve the noise levels)."""
    times = floats("schedule", times)
    if not np.all(np.isfinite(times)) or np.any(times <= 0):
        raise ValueError(f"schedule: the inverse of {sched.name!r} gives times that are not "
                         f"finite and > 0")
    if np.any(np.diff(times) >= 0):
        raise ValueError(f"sigma_min: the grid's times under the {sched.name!r} schedule are "
                         f"not distinct in float64 (sigma_min too close to sigma_max for this N)")
    return times


def _from_sigmas(sigmas, schedule, kind, rho=None):
    if np.any(np.diff(np.asarray(sigmas, float)) >= 0):
        name = "rho" if kind == "edm" else ("sigmas" if kind == "user" else "sigma_min")
        raise ValueError(f"{name}: the grid's noise levels are not distinct in float64 "
                         f"(sigma_min too close to sigma_max for this N"
                         f"{', or rho too large' if kind == 'edm' else ''})")
    sched = get_schedule(schedule)
    times = _check_times(sched.inverse(np.asarray(sigmas, float)), sched)
    return SamplingGrid(schedule=sched, times=times, kind=kind, rho=rho)


def edm_grid(N: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
             schedule="edm") -> SamplingGrid:
    """Karras et al.'s polynomial grid: ``sigma_i = (smax^(1/rho) + i/N (smin^(1/rho) -
    smax^(1/rho)))^rho``, ``i = 0..N`` (``N`` intervals; EDM's final jump to 0 is not part of
    the analysed sampler) [code: NVlabs/edm generate.py] [paper: WHT24 App. H.3].

    ``N`` is an int in ``1 .. N_MAX`` (10^7; as for every grid builder), the noise levels are
    numbers in ``[1e-100, 1e100]`` with ``sigma_min < sigma_max`` and ``rho`` a finite number
    ``> 0``."""
    N, sigma_min, sigma_max = _check_range(N, sigma_min, sigma_max)
    rho = positive_number("rho", rho)
    if max(abs(math.log(sigma_max)), abs(math.log(sigma_min))) > 700 * float(rho):
        raise ValueError(f"rho: too small for this sigma range (sigma^(1/rho) overflows; "
                         f"got rho = {rho!r})")
    i = np.arange(N + 1) / N
    a, b = sigma_max ** (1.0 / rho), sigma_min ** (1.0 / rho)
    sig = (a + i * (b - a)) ** rho
    sig[0], sig[-1] = sigma_max, sigma_min
    return _from_sigmas(sig, schedule, "edm", float(rho))


def geometric_grid(N: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                   schedule="song") -> SamplingGrid:
    """Geometric noise levels (Song et al.'s VE grid): ``sigma_i = smax (smin/smax)^(i/N)``
    [code: yang-song/score_sde VESDE] [paper: WHT24 App. H.3].  The rho -> inf limit of
    :func:`edm_grid`."""
    N, sigma_min, sigma_max = _check_range(N, sigma_min, sigma_max)
    sig = sigma_max * (sigma_min / sigma_max) ** (np.arange(N + 1) / N)
    sig[0], sig[-1] = sigma_max, sigma_min
    return _from_sigmas(sig, schedule, "geometric")


def uniform_grid(N: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                 schedule="edm") -> SamplingGrid:
    """Uniform steps in the schedule's time ``t`` between ``T = sigma_bar^-1(smax)`` and
    ``delta = sigma_bar^-1(smin)``."""
    N, sigma_min, sigma_max = _check_range(N, sigma_min, sigma_max)
    sched = get_schedule(schedule)
    T, delta = floats("schedule", sched.inverse(np.array([sigma_max, sigma_min])))
    times = T + (delta - T) * np.arange(N + 1) / N
    times[0], times[-1] = T, delta
    times = _check_times(times, sched)
    return SamplingGrid(schedule=sched, times=times, kind="uniform")


def user_grid(sigmas, schedule="edm") -> SamplingGrid:
    """A grid from given noise levels ``sigma_bar``, strictly decreasing and positive."""
    sig = floats("sigmas", sigmas).ravel()
    if sig.size < 2:
        raise ValueError("sigmas: need at least two noise levels (one step)")
    if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError("sigmas: noise levels must be finite and > 0")
    if sig.min() < SIGMA_RANGE[0] or sig.max() > SIGMA_RANGE[1]:
        raise ValueError(f"sigmas: noise levels must lie in [{SIGMA_RANGE[0]:g}, "
                         f"{SIGMA_RANGE[1]:g}]")
    if np.any(np.diff(sig) >= 0):
        k = int(np.argmax(np.diff(sig) >= 0))
        raise ValueError(f"sigmas: must be strictly decreasing (from sigma_max down to "
                         f"sigma_min); entry {k + 1} = {sig[k + 1]:g} follows {sig[k]:g}")
    return _from_sigmas(sig, schedule, "user")


GRID_KINDS = ("edm", "geometric", "uniform")


def make_grid(kind: str, N: int, sigma_min: float = 0.002, sigma_max: float = 80.0, *,
              rho: float = 7.0, schedule=None) -> SamplingGrid:
    """One of :data:`GRID_KINDS`; the default schedule (``schedule=None``) is EDM's for
    ``edm`` and ``uniform`` grids and Song's for ``geometric``, i.e. the two designs the paper
    compares."""
    kind = choice("kind", kind, GRID_KINDS)
    if schedule is None:
        schedule = "song" if kind == "geometric" else "edm"
    if kind == "edm":
        return edm_grid(N, sigma_min, sigma_max, rho, schedule)
    if kind == "geometric":
        return geometric_grid(N, sigma_min, sigma_max, schedule)
    return uniform_grid(N, sigma_min, sigma_max, schedule)
