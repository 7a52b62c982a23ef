"""Generalization and memorization times of gradient-flow training, every data model, any ``m``.

Along gradient flow from ``A = 0`` the test error of the random-features score falls from
``L(0) = 1``, reaches its minimum ``L*`` at ``tau*`` and then rises to the ridge value
``L(inf)`` [derived: docs/dynamics.md sect. 5].  The two times of Bonnaire, Urfin, Biroli and
Mezard (2025), who find at ``m = inf``, ``lam -> 0`` that generalization sets in at a time
independent of ``n`` and memorization at a time growing like ``n``, are read off that curve
[derived: docs/dynamics.md sect. 8]:

    tau_gen = min { tau <= tau*  :  L(tau) - L* <= (1 - GEN_FRACTION) (L(0) - L*) },
    tau_mem = min { tau >= tau*  :  L(tau) - L* >= MEM_FRACTION (L(inf) - L*) },

with ``GEN_FRACTION = 0.9`` (90 % of the useful drop is made) and ``MEM_FRACTION = 0.5``
(half of the eventual damage is done).  Both are functionals of the exact test curve of
:func:`lowdim.theory.rf.generalization_curve`, so they need no identification of bulks and
hold at every ``m`` and ``lam``; the score error is an affine function of the test error and
gives the same times.  Their spectral counterparts, reported beside them, are the relaxation
times of the two groups of modes of ``U = F^T F/(n m)`` [derived: docs/dynamics.md sect. 8]:

    tau_gen_spectral = 1 / (<u>_top + lam),    <u>_top = mean of rho over the top bulk,
    tau_mem_spectral = 1 / (u_- + lam),        u_- = lower edge of the bulk below the top,
    tau_slowest      = 1 / (u_min + lam),      u_min = lowest edge of all bulks,

the top bulk being the ``d`` directions of the population covariance (``<u>_top`` close to
``mu1^2 psi_p``) and the bulk below it, at ``m = inf`` and ``psi_n < psi_p``, the
memorization bulk of BUBM25 (edges close to ``s_t^2 + v_t^2 (1 -+ sqrt(psi_p/psi_n))^2``);
``tau_slowest`` is when the last modes are learned (the train error has converged).  The
atoms of ``rho`` carry no weight of ``V`` and play no part.

The spectral times explain the scalings (``<u>_top`` does not depend on ``psi_n``, ``u_-``
falls like ``psi_p/psi_n``) but are not the definitions: at ``m = 1`` the noise is fitted on
the top bulk's time scale, at ``m = inf`` the rise of the test error is carried by a second
bulk below the memorization bulk as well, and bulks merge and split as the parameters move
(docs/dynamics.md sect. 8 has the measurements).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import floats, positive_number
from ..tidy import Tidy, TidyData
from ._dynamics import spectrum
from ._setting import RFSetting, check_setting
from ._two_point import generalization_curve

__all__ = ["TimeScales", "time_scales", "times_from_curve", "GEN_FRACTION", "MEM_FRACTION"]

#: fraction of the drop ``L(0) - L*`` made by ``tau_gen``
GEN_FRACTION = 0.9
#: fraction of the rise ``L(inf) - L*`` made by ``tau_mem``
MEM_FRACTION = 0.5
#: points per decade of the time grid
PER_DECADE = 25
#: the grid runs from ``SPAN^-1 / (u_max + lam)`` to ``SPAN / (u_min + lam)``
SPAN = 100.0
#: a rise ``L(inf) - L*`` below this (relative to ``max(1, L*)``) counts as none
FLAT_TOL = 1e-9


@dataclass(frozen=True)
class TimeScales(Tidy):
    """Generalization and memorization times of one setting (module docstring for the
    definitions).  Times are gradient-flow ``tau``, or step counts with ``gd_step``.
    ``to_pandas()`` (one row) and ``to_xarray()`` (scalars) split the bulks into
    ``*_lower`` and ``*_upper`` (NaN without a memorization bulk).

    Attributes
    ----------
    tau_star : float
        Time of the smallest test error (``inf`` when the test error never rises).
    test_at_tau_star, test_converged : float
        The test error there and at convergence (the ridge minimiser).
    gain : float
        ``test_converged - test_at_tau_star``, what early stopping buys (``>= 0``).
    tau_gen : float
        When 90 % of the drop of the test error is made.
    tau_mem : float
        When half of its rise above the minimum is made (``inf`` without a rise).
    window : float
        ``tau_mem / tau_gen``.
    tau_gen_spectral, tau_mem_spectral, tau_slowest : float
        The spectral counterparts: ``1/(<u>_top + lam)``, ``1/(u_- + lam)`` (NaN when
        ``U`` has a single bulk) and ``1/(u_min + lam)``; with ``gd_step`` the e-folding step
        count ``-1/log(1 - c (u + lam))`` instead of ``1/(u + lam)``.
    generalization_bulk : tuple of float
        ``(lower, upper)`` edges of the top bulk of ``U``.
    memorization_bulk : tuple of float or None
        Edges of the bulk below it (None when there is none).
    gd_step : float or None
        The step of gradient descent, or None for gradient flow.
    """

    tau_star: float
    test_at_tau_star: float
    test_converged: float
    gain: float
    tau_gen: float
    tau_mem: float
    window: float
    tau_gen_spectral: float
    tau_mem_spectral: float
    tau_slowest: float
    generalization_bulk: tuple
    memorization_bulk: tuple | None
    gd_step: float | None = None

    def _tidy(self):
        names = ("tau_star", "test_at_tau_star", "test_converged", "gain", "tau_gen",
                 "tau_mem", "window", "tau_gen_spectral", "tau_mem_spectral", "tau_slowest")
        values = {k: float(getattr(self, k)) for k in names}
        for name in ("generalization_bulk", "memorization_bulk"):
            lo, hi = getattr(self, name) or (math.nan, math.nan)
            values[f"{name}_lower"], values[f"{name}_upper"] = float(lo), float(hi)
        attrs = {"dynamics": "gradient flow" if self.gd_step is None else "gradient descent"}
        if self.gd_step is not None:
            attrs["gd_step"] = float(self.gd_step)
        return TidyData({}, values, attrs=attrs)


def _check(setting) -> None:
    """A ``ValueError`` (naming ``setting``) unless it is one setting point with
    ``lam > 0``."""
    check_setting(setting)
    if setting.size != 1:
        raise ValueError(f"setting: give one grid point (got shape {setting.shape}; "
                         "iterate over setting.points())")
    if not float(np.ravel(setting.lam)[0]) > 0.0:
        raise ValueError("setting: time_scales needs lam > 0")


def _bulk_mean(sp, lo: float, hi: float) -> float:
    """``int u rho(du) / int rho(du)`` over one bulk, from the density at the spectrum's
    nodes: the trapezoid rule in ``theta`` (``u = mid - half cos theta``), which is the
    Gauss-Chebyshev rule of the second kind on the spectrum's own nodes."""
    sel = (sp.x >= lo) & (sp.x <= hi)
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    theta = np.arccos(np.clip((mid - sp.x[sel]) / half, -1.0, 1.0))
    order = np.argsort(theta)
    theta = np.concatenate([[0.0], theta[order], [np.pi]])
    rho = np.concatenate([[0.0], sp.density[sel][order], [0.0]])
    u = mid - half * np.cos(theta)
    w = np.sin(theta)
    mass = np.trapezoid(rho * w, theta)
    if not mass > 0.0:
        return mid
    return float(np.trapezoid(rho * u * w, theta) / mass)


def _relaxation(u: float, lam: float, gd_step) -> float:
    """The e-folding time of a mode of eigenvalue ``u``: ``1/(u + lam)`` under gradient flow,
    ``-1/log(1 - c (u + lam))`` steps under gradient descent."""
    s = u + lam
    if gd_step is None:
        return 1.0 / s
    return -1.0 / math.log1p(-gd_step * s)


def _grid(bulks, lam: float, gd_step) -> np.ndarray:
    """Times from ``1/(SPAN (u_max + lam))`` to ``SPAN/(u_min + lam)`` (relaxation times of
    :func:`_relaxation`), ``PER_DECADE`` per decade; whole step counts ``>= 1`` with
    ``gd_step``."""
    u_min, u_max = bulks[0][0], bulks[-1][1]
    lo = _relaxation(u_max, lam, gd_step) / SPAN
    hi = _relaxation(u_min, lam, gd_step) * SPAN
    if gd_step is not None:
        lo = 1.0
    k = max(int(math.ceil(PER_DECADE * math.log10(hi / lo))), 8) + 1
    grid = np.geomspace(lo, hi, k)
    if gd_step is not None:
        grid = np.unique(np.round(grid))
    return grid


def _crossing(times, values, level: float, start: int, upward: bool) -> float:
    """The first time at or after index ``start`` where ``values`` reaches ``level``
    (from above, or from below with ``upward``), linear in ``log time`` between grid points;
    ``inf`` if it never does."""
    v = np.asarray(values) - level
    reached = (v >= 0.0) if upward else (v <= 0.0)
    idx = np.flatnonzero(reached[start:])
    if idx.size == 0:
        return math.inf
    k = start + int(idx[0])
    if k == 0 or k == start:
        return float(times[k])
    a, b = v[k - 1], v[k]
    f = a / (a - b) if a != b else 1.0
    la, lb = math.log(times[k - 1]), math.log(times[k])
    return float(math.exp(la + f * (lb - la)))


def _minimum(times, test, gd_step) -> tuple:
    """Index, time and value of the smallest test error, time and value refined by a parabola
    in ``log time`` through the grid minimum and its neighbours (gradient flow only)."""
    j = int(np.argmin(test))
    best, low = float(times[j]), float(test[j])
    if 0 < j < len(times) - 1 and gd_step is None:
        lx = np.log(times[j - 1:j + 2])
        a, b, c = np.polyfit(lx, test[j - 1:j + 2], 2)
        if a > 0:
            x = float(np.clip(-b / (2 * a), lx[0], lx[-1]))
            best, low = math.exp(x), min(low, float((a * x + b) * x + c))
    return j, best, low


def times_from_curve(times, test, *, start: float, converged: float,
                     gd_step: float | None = None) -> dict:
    """``tau_gen``, ``tau*``, ``tau_mem``, the gain and the test error at ``tau*`` of one test
    curve, by the definitions of :func:`time_scales` [derived: docs/dynamics.md sect. 8]:
    ``test`` on the increasing positive ``times`` (a log grid), ``start`` its value at
    ``tau = 0`` and ``converged`` at ``tau = inf``.  A curve that never rises has ``tau* =
    tau_mem = inf`` and no gain.  Returns a dict with those keys and ``test_converged``."""
    times = np.asarray(floats("times", times), dtype=float)
    test = np.asarray(floats("test", test), dtype=float)
    if times.ndim != 1 or times.shape != test.shape or times.size < 3:
        raise ValueError(f"times, test: give two 1-d arrays of one length >= 3 (got shapes "
                         f"{times.shape} and {test.shape})")
    if not (np.all(times > 0) and np.all(np.diff(times) > 0) and np.all(np.isfinite(times))):
        raise ValueError("times: must be finite, positive and increasing")
    if not (np.all(np.isfinite(test)) and math.isfinite(start) and math.isfinite(converged)):
        raise ValueError("test: the curve, start and converged must be finite")
    j, best, minimum = _minimum(times, test, gd_step)
    rise = converged - minimum
    if j == len(times) - 1 or rise <= FLAT_TOL * max(1.0, abs(minimum)):
        tau_star, minimum, gain, tau_mem = math.inf, converged, 0.0, math.inf
    else:
        tau_star, gain = best, rise
        tau_mem = _crossing(times, test, minimum + MEM_FRACTION * rise, j, upward=True)
    tau_gen = _crossing(times, test, minimum + (1.0 - GEN_FRACTION) * (start - minimum), 0,
                        upward=False)
    # the minimum itself is below the level: when the drop is tiny against the grid's
    # resolution the crossing can miss it, and tau_gen <= tau* by definition
    tau_gen = min(tau_gen, tau_star)
    return {"tau_gen": tau_gen, "tau_star": tau_star, "tau_mem": tau_mem, "gain": gain,
            "test_at_tau_star": minimum, "test_converged": converged}


def time_scales(setting: RFSetting, *, gd_step: float | None = None) -> TimeScales:
    """Generalization and memorization times of gradient flow (or gradient descent) from
    ``A = 0``, every data model, any ``m``, ``lam > 0``.

    With ``L(tau)`` the test error of :func:`lowdim.theory.rf.generalization_curve`,
    ``L* = L(tau*) = min L`` and ``L(0) = 1`` [derived: docs/dynamics.md sect. 8]:

        tau*    = argmin_tau L(tau),
        gain    = L(inf) - L*,
        tau_gen = min { tau <= tau* : L(tau) - L* <= 0.1 (L(0) - L*) },
        tau_mem = min { tau >= tau* : L(tau) - L* >= 0.5 (L(inf) - L*) },
        window  = tau_mem / tau_gen,

    and the spectral counterparts, with ``rho`` the law of ``U`` of
    :func:`lowdim.theory.rf.spectrum`::

        tau_gen_spectral = 1 / (<u>_top + lam),   <u>_top = int_top u rho(du) / int_top rho(du),
        tau_mem_spectral = 1 / (u_- + lam),       u_- = lower edge of the bulk below the top,
        tau_slowest      = 1 / (u_min + lam),     u_min = lowest edge of all bulks.

    The curve is evaluated once on a log grid of 25 times per decade from
    ``0.01/(u_max + lam)`` to ``100/(u_min + lam)`` (``u_min``, ``u_max`` the ends of the
    bulks), where the test error has converged; ``tau*`` and ``L*`` are refined by a
    parabola in ``log tau`` (as :func:`lowdim.compare.rf_dynamics.early_stopping` refines its
    time on a fixed grid) and the crossings are linear in ``log tau``.  When the test error
    does not rise after its minimum (a rise below 1e-9), ``tau*``, ``tau_mem`` and ``window``
    are ``inf`` and the gain is 0.

    Parameters
    ----------
    setting : RFSetting
        One point (any data model), ``lam > 0``.
    gd_step : float, optional
        Gradient descent with step ``c`` (``c (u_max + lam) < 2``): the times are then step
        counts.

    Returns
    -------
    TimeScales

    Raises
    ------
    ValueError
        Naming the parameter: not a one-point setting, ``lam`` not ``> 0``, a
        step that is not positive or makes gradient descent diverge.
    RuntimeError
        From the spectrum or the test curve when their numerics fail.
    """
    _check(setting)
    c = None if gd_step is None else positive_number("gd_step", gd_step)
    lam = float(np.ravel(setting.lam)[0])
    sp = spectrum(setting)
    bulks = tuple(tuple(float(e) for e in b) for b in sp.bulks)
    u_max = max([bulks[-1][1]] + [float(w) for w, _ in sp.atoms])
    if c is not None and c * (u_max + lam) >= 2.0:
        raise ValueError(f"gd_step: c (u_max + lam) = {c * (u_max + lam):.4g} >= 2, gradient "
                         f"descent diverges; take gd_step < {2.0 / (u_max + lam):.4g}")
    grid = _grid(bulks, lam, c)
    curve = generalization_curve(setting, np.concatenate([[0.0], grid, [np.inf]]),
                                 gd_step=c)
    test = np.asarray(curve["test_error"], dtype=float)
    read = times_from_curve(grid, test[1:-1], start=float(test[0]), converged=float(test[-1]),
                            gd_step=c)
    top = bulks[-1]
    below = bulks[-2] if len(bulks) > 1 else None
    return TimeScales(
        tau_star=read["tau_star"], test_at_tau_star=read["test_at_tau_star"],
        test_converged=read["test_converged"], gain=read["gain"], tau_gen=read["tau_gen"],
        tau_mem=read["tau_mem"], window=read["tau_mem"] / read["tau_gen"],
        tau_gen_spectral=_relaxation(_bulk_mean(sp, *top), lam, c),
        tau_mem_spectral=math.nan if below is None else _relaxation(below[0], lam, c),
        tau_slowest=_relaxation(bulks[0][0], lam, c),
        generalization_bulk=top, memorization_bulk=below, gd_step=c)
