"""The error calculator ``E(r; n, d)`` and the optimal localization radius (research note
localized.md sections 2.1, 2.2, 2.5 and 2.6).

The KL of the generated law is bounded (Girsanov for the OU reverse SDE, section 2.1) by

    KL(p_delta || q_delta) <= KL(p_T || N(0, I)) + int_delta^T E||s_t - hat s_t||^2 dt + E_disc,

and the integrand splits per site into ``eps_loc + eps_stat`` (section 1.5).  For the Gaussian
target the calculator takes ``eps_loc`` exactly and ``eps_stat ~ V / n`` to first order (module
``_errors``), integrates them with the sum the sampler sees (the score frozen at the upper end
of each step, ``sum_k h_k eps(t_{k+1})``), and adds the floor: the KL left with the exact score
(prior plus time discretization, computed exactly with the same grid).  So

    E(r; n) = floor + sum_i [ Bint_i(r) + Vint_i(r) / n ],

which is linear in d for a translation-invariant target; the per-site parts and r* are not.

Closed forms (derived here, on fitted models ``Bint ~ B0 e^{-c r}``, ``Vint ~ V0 + V1 r``):
``r* ~ log(c B0 n / V1) / c`` (parametric statistical error); the nonparametric rate
``n^{-2 beta / (2 beta + k(r))}`` gives ``r* ~ (beta log n / (c m 2^{D-1}))^{1/(D+1)}``
(reconstructed, research note section 2.5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..molrg._setting import check_samples
from ._errors import _radii, site_errors
from ._gaussian_law import gaussian_kl, reverse_covariance, time_grid
from ._noised import noised_covariance, noised_precision

__all__ = ["RadiusCurve", "error_curve", "discretization_floor", "grid_integral",
           "parametric_radius", "nonparametric_radius", "sample_complexity"]


def grid_integral(values, times) -> np.ndarray:
    """``sum_k (t_{k+1} - t_k) f(t_{k+1})`` along the last axis (the frozen-score sum)."""
    values = np.asarray(values, dtype=float)
    return np.sum(values[..., 1:] * np.diff(times), axis=-1)


def discretization_floor(target, times) -> float:
    """KL(p_delta || q_delta) when the exact score drives the sampler on ``times``."""
    A = noised_precision(target, times)
    Sigma = reverse_covariance(A, times)
    return float(gaussian_kl(noised_covariance(target, times[:1])[0], Sigma))


@dataclass
class RadiusCurve:
    """The calculator's answer.

    Attributes
    ----------
    radii : list
        Radii (``None`` for the global model).
    n : ndarray (Nn,)
        Sample sizes.
    loc, var : ndarray (R,)
        Site-summed time integrals of ``eps_loc`` and of ``V`` (so the statistical part is
        ``var / n``).
    floor : float
        KL with the exact score on the same grid (prior and discretization).
    total : ndarray (R, Nn)
        Predicted KL ``floor + loc + var / n``.
    r_star : ndarray (Nn,)
        Minimizer of ``total`` over the finite radii.
    closed_form : ndarray (Nn,)
        ``log(c B0 n / V1) / c`` from the fitted models (``fit``).
    success : bool
        False when some ``r_star`` sits at the largest finite radius (the minimum may lie
        beyond the radii given); ``message`` says which.
    """

    radii: list
    n: np.ndarray
    times: np.ndarray
    dim: int
    loc: np.ndarray
    var: np.ndarray
    floor: float
    total: np.ndarray
    r_star: np.ndarray
    closed_form: np.ndarray
    fit: dict
    success: bool
    message: str
    per_time: dict = field(repr=False, default_factory=dict)

    @property
    def per_coordinate(self) -> np.ndarray:
        return self.total / self.dim


def _fit_models(radii, loc, var):
    r = np.array([x for x in radii if x is not None], dtype=float)
    B = np.array([b for x, b in zip(radii, loc) if x is not None])
    V = np.array([v for x, v in zip(radii, var) if x is not None])
    keep = B > 1e-300
    fit = {"c": math.nan, "B0": math.nan, "V0": math.nan, "V1": math.nan}
    if keep.sum() >= 2:
        slope, icpt = np.polyfit(r[keep], np.log(B[keep]), 1)
        fit["c"], fit["B0"] = float(-slope), float(np.exp(icpt))
    if r.size >= 2:
        V1, V0 = np.polyfit(r, V, 1)
        fit["V0"], fit["V1"] = float(V0), float(V1)
    return fit


def parametric_radius(n, c, B0, V1) -> np.ndarray:
    """``r* = log(c B0 n / V1) / c`` (clipped at 0): minimizer of ``B0 e^{-cr} + V1 r / n``."""
    n = np.asarray(n, dtype=float)
    if not (c > 0 and B0 > 0 and V1 > 0):
        return np.full(n.shape, np.nan)
    return np.maximum(np.log(c * B0 * n / V1) / c, 0.0)


def nonparametric_radius(n, c, beta=1.0, m=1, lattice_dim=1) -> np.ndarray:
    """``r* ~ (beta log n / (c m 2^{D-1}))^{1/(D+1)}`` for the nonparametric rate
    ``n^{-2 beta / (2 beta + m (2r)^D)}`` against ``e^{-c r}`` (reconstructed)."""
    n = np.asarray(n, dtype=float)
    D = int(lattice_dim)
    return (beta * np.log(n) / (c * m * 2.0 ** (D - 1))) ** (1.0 / (D + 1))


def sample_complexity(eps, sites, c, B0, V1) -> tuple[float, float]:
    """``(r, n)`` reaching joint KL ``eps`` with the parametric model: the radius
    ``r = log(2 b B0 / eps) / c`` makes localization cost eps/2, and ``n = 2 b V1 r / eps``
    makes estimation cost the other half, i.e. ``n = O(d log d / eps)``."""
    r = max(0.0, math.log(2 * sites * B0 / eps) / c)
    return r, 2 * sites * V1 * max(r, 1.0) / eps


def error_curve(target, n, radii=None, *, delta=1e-2, T=6.0, steps=60) -> RadiusCurve:
    """Predicted KL of the localized linear estimator against the radius, for each n.

    Parameters
    ----------
    target : GaussianTarget
    n : int or sequence of int
        Training-set sizes (``>= 1``).
    radii : sequence, optional
        Radii to evaluate (``None`` entries mean the global model); default ``0 .. 12`` capped
        below the lattice diameter, plus the global model.
    delta, T, steps : float, float, int
        The sampler's log-spaced grid (``steps + 1`` times on ``[delta, T]``).
    """
    ns = np.atleast_1d(check_samples("n", n)).astype(float)
    if radii is None:
        radii = list(range(0, min(12, target.lattice.diameter - 1) + 1)) + [None]
    radii = _radii(radii)
    times = time_grid(delta, T, steps)
    eps, V = site_errors(target, radii, times)
    eps_site, V_site = eps.mean(axis=2), V.mean(axis=2)       # (R, T)
    b = target.dim
    loc = b * grid_integral(eps_site, times)
    var = b * grid_integral(V_site, times)
    floor = discretization_floor(target, times)
    total = floor + loc[:, None] + var[:, None] / ns[None, :]
    finite = [k for k, r in enumerate(radii) if r is not None]
    if finite:
        best = np.array(finite)[np.argmin(total[finite], axis=0)]
        r_star = np.array([radii[k] for k in best])
        top = max(radii[k] for k in finite)
        edge = [int(n_) for n_, r in zip(ns, r_star) if r == top and top < target.lattice.diameter]
    else:
        r_star, edge = np.full(ns.shape, -1), []
    fit = _fit_models(radii, loc, var)
    closed = parametric_radius(ns, fit["c"], fit["B0"], fit["V1"])
    ok = not edge
    msg = "r* inside the radii given" if ok else (
        f"r* sits at the largest radius {top} for n = {edge}: extend the radii")
    return RadiusCurve(radii=radii, n=ns, times=times, dim=b, loc=loc, var=var, floor=floor,
                       total=total, r_star=r_star, closed_form=closed, fit=fit, success=ok,
                       message=msg, per_time={"eps_loc": eps_site, "V": V_site})
