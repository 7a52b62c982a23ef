"""Variance-exploding schedules and sampling grids (Wang-He-Tao 2024; research note
design_space.md sections 1 and 5).

Forward VE SDE ``dX_t = sqrt(2 sigma_t^2) dW_t``: ``X_t = X_0 + sigma_bar(t) xi`` with
``sigma_bar(t)^2 = 2 int_0^t sigma_s^2 ds``, so the diffusion coefficient is
``sigma_t^2 = sigma_bar(t) sigma_bar'(t)`` [PAPER].  A *variance schedule* is the map
``t -> sigma_bar(t)``; a *time grid* is the set of times at which the sampler evaluates the
score.  Backward grids are stored from the largest noise down:
``s_0 = T > s_1 > ... > s_N = delta`` with variances ``v_j = sigma_bar(s_j)^2``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

__all__ = ["VarianceSchedule", "SamplingGrid", "EDM", "SONG", "get_schedule", "custom_schedule",
           "edm_grid", "geometric_grid", "uniform_grid", "user_grid", "make_grid", "GRID_KINDS"]


@dataclass(frozen=True)
class VarianceSchedule:
    """``sigma_bar(t)``, its inverse and the diffusion coefficient ``sigma_t^2``.

    ``ed_integral(a, b)`` is ``int_a^b sigma_u^4 / sigma_bar_u^4 du`` (the first
    discretization term of Theorem 2), in closed form where known.
    """

    name: str
    sigma_bar: Callable
    inverse: Callable
    diffusion_sq: Callable
    ed_integral: Callable

    def __repr__(self):
        return f"VarianceSchedule({self.name!r})"


EDM = VarianceSchedule(
    name="edm", sigma_bar=lambda t: np.asarray(t, float), inverse=lambda s: np.asarray(s, float),
    diffusion_sq=lambda t: np.asarray(t, float),
    ed_integral=lambda a, b: 1.0 / np.asarray(a, float) - 1.0 / np.asarray(b, float))
"""Karras et al. (EDM): ``sigma_bar(t) = t``, ``sigma_t^2 = t`` [PAPER]."""

SONG = VarianceSchedule(
    name="song", sigma_bar=lambda t: np.sqrt(np.asarray(t, float)),
    inverse=lambda s: np.asarray(s, float) ** 2,
    diffusion_sq=lambda t: np.full_like(np.asarray(t, float), 0.5),
    ed_integral=lambda a, b: 0.25 * (1.0 / np.asarray(a, float) - 1.0 / np.asarray(b, float)))
"""Song et al. VE in EDM's parametrisation: ``sigma_bar(t) = sqrt(t)``, ``sigma_t^2 = 1/2``
[PAPER]."""


def custom_schedule(sigma_bar: Callable, name: str = "custom", *, t_max: float = 1e8,
                    h: float = 1e-6) -> VarianceSchedule:
    """A variance schedule from any increasing ``sigma_bar(t) > 0`` on ``t > 0``.

    The inverse is found by bracketing on ``(0, t_max]``; ``sigma_t^2 = sigma_bar sigma_bar'``
    uses a central difference of relative step ``h``; ``ed_integral`` is adaptive quadrature.
    """
    if not callable(sigma_bar):
        raise ValueError("schedule: expected 'edm', 'song' or a callable sigma_bar(t)")

    def sb(t):
        return np.asarray(np.vectorize(lambda x: float(sigma_bar(x)))(np.asarray(t, float)),
                          float)

    probe = sb(np.geomspace(1e-6, min(t_max, 1e6), 41))
    if not np.all(np.isfinite(probe)) or np.any(probe <= 0) or np.any(np.diff(probe) <= 0):
        raise ValueError("schedule: sigma_bar(t) must be finite, positive and increasing in t")

    def inverse(s):
        s = np.asarray(s, float)

        def one(x):
            lo, hi = 1e-300, float(t_max)
            if not (sb(lo) <= x <= sb(hi)):
                raise ValueError(f"schedule: sigma_bar never reaches {x:g} on (0, {t_max:g}]")
            return brentq(lambda t: float(sigma_bar(t)) - x, lo, hi, xtol=1e-300, rtol=1e-14)

        return np.vectorize(one)(s).astype(float)

    def diffusion_sq(t):
        t = np.asarray(t, float)
        dt = h * t
        return sb(t) * (sb(t + dt) - sb(t - dt)) / (2.0 * dt)

    def ed_integral(a, b):
        f = (lambda u: (float(diffusion_sq(u)) / float(sb(u)) ** 2) ** 2)
        return np.vectorize(lambda x, y: quad(f, x, y, limit=200)[0])(np.asarray(a, float),
                                                                     np.asarray(b, float))

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
    raise ValueError(f"schedule: expected 'edm', 'song' or a callable, got {schedule!r}")


@dataclass(frozen=True)
class SamplingGrid:
    """A backward grid: times ``s_0 = T > ... > s_N = delta`` of a variance schedule.

    Attributes (arrays of length ``N + 1`` unless stated): ``times``, ``sigmas``
    (``sigma_bar(s_j)``), ``variances`` (``v_j``); ``steps`` (``gamma_j = s_j - s_{j+1}``,
    length N); ``N``; ``kind`` (how it was built) and ``rho`` (polynomial exponent or None).
    """

    schedule: VarianceSchedule
    times: np.ndarray
    kind: str = "user"
    rho: float | None = None

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


SIGMA_RANGE = (1e-100, 1e100)  # noise levels whose square and reciprocal square are normal


def _check_range(N, sigma_min, sigma_max):
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"N: the number of steps must be an integer >= 1 (got {N!r})")
    for name, v in (("sigma_min", sigma_min), ("sigma_max", sigma_max)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)
                and v > 0):
            raise ValueError(f"{name}: must be a finite number > 0 (got {v!r})")
        if not SIGMA_RANGE[0] <= v <= SIGMA_RANGE[1]:
            raise ValueError(f"{name}: must lie in [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}] so "
                             f"that sigma^2 and its reciprocal are representable (got {v!r})")
    if not sigma_min < sigma_max:
        raise ValueError(f"sigma_min: must be smaller than sigma_max (got sigma_min={sigma_min:g}, "
                         f"sigma_max={sigma_max:g})")


def _from_sigmas(sigmas, schedule, kind, rho=None):
    if np.any(np.diff(np.asarray(sigmas, float)) >= 0):
        name = "rho" if kind == "edm" else "sigma_min"
        raise ValueError(f"{name}: the grid's noise levels are not distinct in float64 "
                         f"(sigma_min too close to sigma_max for this N"
                         f"{', or rho too large' if kind == 'edm' else ''})")
    sched = get_schedule(schedule)
    times = np.asarray(sched.inverse(np.asarray(sigmas, float)), float)
    return SamplingGrid(schedule=sched, times=times, kind=kind, rho=rho)


def edm_grid(N: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
             schedule="edm") -> SamplingGrid:
    """Karras et al.'s polynomial grid: ``sigma_i = (smax^(1/rho) + i/N (smin^(1/rho) -
    smax^(1/rho)))^rho``, ``i = 0..N`` (``N`` intervals; EDM's final jump to 0 is not part of
    the analysed sampler) [CODE: NVlabs/edm generate.py; PAPER App. H.3]."""
    _check_range(N, sigma_min, sigma_max)
    if not (isinstance(rho, (int, float, np.floating, np.integer)) and math.isfinite(rho)
            and rho > 0):
        raise ValueError(f"rho: must be a finite number > 0 (got {rho!r})")
    if max(abs(math.log(sigma_max)), abs(math.log(sigma_min))) / rho > 700:
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
    [CODE: score_sde VESDE; PAPER App. H.3].  The rho -> inf limit of :func:`edm_grid`."""
    _check_range(N, sigma_min, sigma_max)
    sig = sigma_max * (sigma_min / sigma_max) ** (np.arange(N + 1) / N)
    sig[0], sig[-1] = sigma_max, sigma_min
    return _from_sigmas(sig, schedule, "geometric")


def uniform_grid(N: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                 schedule="edm") -> SamplingGrid:
    """Uniform steps in the schedule's time ``t`` between ``T = sigma_bar^-1(smax)`` and
    ``delta = sigma_bar^-1(smin)``."""
    _check_range(N, sigma_min, sigma_max)
    sched = get_schedule(schedule)
    T, delta = (float(x) for x in sched.inverse(np.array([sigma_max, sigma_min])))
    times = T + (delta - T) * np.arange(N + 1) / N
    times[0], times[-1] = T, delta
    return SamplingGrid(schedule=sched, times=times, kind="uniform")


def user_grid(sigmas, schedule="edm") -> SamplingGrid:
    """A grid from given noise levels ``sigma_bar``, strictly decreasing and positive."""
    try:
        sig = np.asarray(sigmas, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError("sigmas: expected a sequence of numbers") from None
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
    """One of :data:`GRID_KINDS`; the default schedule is EDM's for ``edm`` and ``uniform``
    grids and Song's for ``geometric``, i.e. the two designs the paper compares."""
    if kind == "edm":
        return edm_grid(N, sigma_min, sigma_max, rho, schedule or "edm")
    if kind == "geometric":
        return geometric_grid(N, sigma_min, sigma_max, schedule or "song")
    if kind == "uniform":
        return uniform_grid(N, sigma_min, sigma_max, schedule or "edm")
    raise ValueError(f"kind: unknown grid {kind!r}; use one of {', '.join(GRID_KINDS)}")
