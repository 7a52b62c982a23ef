"""Design-space quantities of Wang-He-Tao (2024): the bound's optimal rho, asymptotic step counts,
training weightings and the score-error amplification of each design (research note
design_space.md sections 2.3, 3.4 and 4.2)."""
from __future__ import annotations

import math

import numpy as np

from .._checks import choice, positive_number
from .._checks import number as _number
from .._checks import positive_floats as _positive_array
from ._bound import kl_bound
from ._schedules import SIGMA_RANGE, edm_grid, geometric_grid

DESIGNS = ("edm", "song")

__all__ = ["bound_optimal_rho", "rho_scan", "edm_leading_discretization", "steps_needed",
           "beta_edm", "beta_song", "score_error_factor"]


def _check_sigmas(sigma_min, sigma_max):
    """``(sigma_min, sigma_max)`` as floats, ``0 < sigma_min < sigma_max`` within
    :data:`SIGMA_RANGE`."""
    sigma_min, sigma_max = _number("sigma_min", sigma_min), _number("sigma_max", sigma_max)
    for name, value in (("sigma_min", sigma_min), ("sigma_max", sigma_max)):
        if not math.isfinite(value):
            raise ValueError(f"{name}: must be finite (got {value!r})")
    if not (math.isfinite(sigma_min) and math.isfinite(sigma_max) and 0 < sigma_min < sigma_max):
        raise ValueError(f"sigma_min: need 0 < sigma_min < sigma_max (got {sigma_min!r}, "
                         f"{sigma_max!r})")
    if sigma_min < SIGMA_RANGE[0] or sigma_max > SIGMA_RANGE[1]:
        raise ValueError(f"sigma_min: noise levels must lie in [{SIGMA_RANGE[0]:g}, "
                         f"{SIGMA_RANGE[1]:g}] (got {sigma_min!r}, {sigma_max!r})")
    return sigma_min, sigma_max


def bound_optimal_rho(sigma_min: float = 0.002, sigma_max: float = 80.0) -> float:
    """``rho* = ln(sigma_max / sigma_min) / 2``, the minimiser of the asymptotic upper bound
    ``rho^2 (T/delta)^(1/rho)`` of EDM's discretization term [paper: WHT24 Remark 3].  The actual
    sums decrease monotonically in rho (see :func:`rho_scan`), so this is a property of the
    bound, not of the discretization error."""
    sigma_min, sigma_max = _check_sigmas(sigma_min, sigma_max)
    return 0.5 * math.log(sigma_max / sigma_min)


def rho_scan(N: int, rhos, sigma_min: float = 0.002, sigma_max: float = 80.0, *,
             form: str = "explicit", d: int = 1, m2: float = 0.0):
    """``E_D`` of EDM's polynomial grid (EDM schedule) for each rho, and of the geometric grid
    (the rho -> inf limit).  Returns ``(rhos, E_D array, geometric E_D, argmin rho)``; the
    argmin is ``inf`` when the geometric limit is lowest [derived]."""
    rhos = _positive_array("rhos", rhos).ravel()
    if rhos.size == 0:
        raise ValueError("rhos: at least one rho is needed")
    ed = np.array([kl_bound(edm_grid(N, sigma_min, sigma_max, r), d, m2, form=form).E_D
                   for r in rhos])
    geo = kl_bound(geometric_grid(N, sigma_min, sigma_max, schedule="edm"), d, m2,
                   form=form).E_D
    best = float(rhos[np.argmin(ed)]) if ed.min() < geo else math.inf
    return rhos, ed, float(geo), best


def edm_leading_discretization(N, sigma_min=0.002, sigma_max=80.0, rho=7.0, d=1):
    """``d rho^2 [(T/delta)^(1/(2 rho)) - (delta/T)^(1/(2 rho))]^2 / N``: the large-N value of
    ``d sum_j gamma_j^2 / s_j^2`` on EDM's grid [derived: research note 2.3(a)]."""
    sigma_min, sigma_max = _check_sigmas(sigma_min, sigma_max)
    rho = _number("rho", rho)
    if not (math.isfinite(rho) and rho > 0):
        raise ValueError(f"rho: must be finite and > 0 (got {rho!r})")
    d = _number("d", d)
    if not (math.isfinite(d) and d >= 1):
        raise ValueError(f"d: must be finite and >= 1 (got {d!r})")
    N = _positive_array("N", N)
    if np.any(N < 1):
        raise ValueError(f"N: the number of steps must be >= 1 (got {N!r})")
    log_q = math.log(sigma_max / sigma_min) / (2.0 * rho)
    if log_q > 350:  # q^2 would overflow
        raise ValueError(f"rho: too small, (sigma_max/sigma_min)^(1/rho) overflows "
                         f"(got {rho!r})")
    with np.errstate(over="ignore"):  # an overflow is reported below, by name
        out = d * (2.0 * rho * math.sinh(log_q)) ** 2 / N   # finite for any large rho
    if not np.all(np.isfinite(out)):
        raise ValueError(f"d: too large, the leading term overflows (got d = {d!r})")
    return out


def steps_needed(eps, m2, d, sigma_min=0.002, sigma_max=80.0, *, design="edm", rho=7.0):
    """Order of the number of steps making ``E_I + E_D <~ eps`` [paper: WHT24 App. I.1], constants 1:

    * ``"edm"`` (sigma_bar = t, polynomial grid): ``rho^2 (smax/smin)^(1/rho) (m2 + d) / eps``;
    * ``"song"`` (geometric grid): ``ln^2(smax/smin) (m2 + d) / eps``.

    (The paper writes the EDM count through ``T = m2^(1/2) / eps^(1/2)``; with the grid's
    ``sigma_max`` given, the ratio ``smax/smin`` is used directly.)"""
    sigma_min, sigma_max = _check_sigmas(sigma_min, sigma_max)
    eps, m2, d = _number("eps", eps), _number("m2", m2), _number("d", d)
    if not (eps > 0 and math.isfinite(eps)):
        raise ValueError(f"eps: must be finite and > 0 (got {eps!r})")
    if not (m2 >= 0 and math.isfinite(m2)):
        raise ValueError(f"m2: must be finite and >= 0 (got {m2!r})")
    if not (d >= 1 and math.isfinite(d)):
        raise ValueError(f"d: must be finite and >= 1 (got {d!r})")
    design = choice("design", design, DESIGNS)
    if design == "edm":
        rho = _number("rho", rho)
        if not (rho > 0 and math.isfinite(rho)):
            raise ValueError(f"rho: must be finite and > 0 (got {rho!r})")
    ratio = sigma_max / sigma_min
    if design == "edm":
        if math.log(ratio) > 700 * float(rho):
            raise ValueError(f"rho: too small, (sigma_max/sigma_min)^(1/rho) overflows "
                             f"(got {rho!r})")
        with np.errstate(over="ignore"):  # an overflow is reported below, by name
            count = float(np.float64(rho) ** 2 * ratio ** (1.0 / rho) * (m2 + d) / eps)
    else:
        with np.errstate(over="ignore"):
            count = float(np.float64(math.log(ratio)) ** 2 * (m2 + d) / eps)
    if not math.isfinite(count):
        raise ValueError(f"eps: too small for these m2, d and rho: the step count overflows "
                         f"(got eps = {eps!r})")
    return count


def beta_edm(sigma, p_mean=-1.2, p_std=1.2, sigma_data=0.5):
    """EDM's total weighting on ``E||sigma s + xi||^2`` per unit ``sigma`` (unnormalised,
    without ``1/(sqrt(2 pi) P_std)``) [paper: WHT24 eq. (12)]:
    ``exp(-(ln sigma - P_mean)^2 / (2 P_std^2)) (sigma^2 + sigma_data^2) / (sigma sigma_data^2)``.
    Bell-shaped in ``ln sigma``.  ``sigma``, ``p_std`` and ``sigma_data`` must be finite and
    ``> 0``; a value beyond the float64 range is a ``ValueError``."""
    s = _positive_array("sigma", sigma)
    p_mean = _number("p_mean", p_mean)
    if not math.isfinite(p_mean):
        raise ValueError(f"p_mean: must be finite (got {p_mean!r})")
    p_std = float(_positive_array("p_std", _number("p_std", p_std)))
    sd = float(_positive_array("sigma_data", _number("sigma_data", sigma_data)))
    ls, lsd = np.log(s), math.log(sd)
    with np.errstate(over="ignore"):  # in logs; exp(-inf) = 0 is the right limit
        z = (ls - p_mean) / p_std
        log_b = -0.5 * z * z + np.logaddexp(2.0 * ls, 2.0 * lsd) - ls - 2.0 * lsd
        out = np.exp(log_b)
    if not np.all(np.isfinite(out)):
        raise ValueError("sigma: beta_EDM overflows float64 for these sigma and sigma_data")
    return out


def beta_song(sigma, sigma_min=0.02, sigma_max=100.0):
    """Song's VE total weighting (log-uniform sigma, weight ``1/sigma^2`` on ``||D - y||^2``):
    ``1/sigma`` on ``[sigma_min, sigma_max]``, zero outside [derived] (monotone, not bell).
    ``sigma`` must be finite and ``> 0``."""
    s = _positive_array("sigma", sigma)
    sigma_min, sigma_max = _check_sigmas(sigma_min, sigma_max)
    inside = (s >= sigma_min) & (s <= sigma_max)
    return np.divide(1.0, s, out=np.zeros_like(s), where=inside)


def score_error_factor(N, sigma_min=0.002, sigma_max=80.0, *, design="edm", rho=7.0,
                       p_mean=-1.2, p_std=1.2, sigma_data=0.5, C1=1.0):
    """``max_j sigma^2_{t_j} / w(t_j)`` with EDM's total weighting imposed on both designs,
    ``w(t_j) = C1 sigma_bar(t_j) beta_EDM(sigma_bar(t_j)) / (t_j - t_{j-1})`` on the forward grid
    [paper: WHT24 Thm 3, section 4.2; Table 2 rebuilt in the research note]: the factor by which a
    training error is amplified into the sampling KL.  Computed by direct maximisation;
    ``C1`` is a finite number ``> 0``."""
    design = choice("design", design, DESIGNS)
    C1 = positive_number("C1", C1)
    if design == "edm":
        g = edm_grid(N, sigma_min, sigma_max, rho)
    else:
        g = geometric_grid(N, sigma_min, sigma_max, schedule="song")
    t = g.times[::-1]                       # forward grid t_0 = delta < ... < t_N = T
    sb = g.schedule.sigma_bar(t[1:])
    w = C1 * sb * beta_edm(sb, p_mean, p_std, sigma_data) / np.diff(t)
    with np.errstate(divide="ignore", over="ignore"):  # reported below, by name
        factor = float(np.max(g.schedule.diffusion_sq(t[1:]) / w))
    if not math.isfinite(factor):
        raise ValueError("p_mean, p_std, sigma_data, C1: EDM's weighting underflows to 0 at "
                         "some noise level of the grid (the amplification is infinite)")
    return factor
