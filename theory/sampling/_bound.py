"""KL bounds of the exponential-integrator VE sampler (Wang-He-Tao 2024, Theorem 2) and the
exact KL for Gaussian data.

Sampler analysed [paper: WHT24 eq. (10)] [derived: closed form]: with ``Delta v_j = v_j - v_{j+1}``,

    Y_{j+1} = Y_j + Delta v_j S(s_j, Y_j) + sqrt(Delta v_j) U_j,    Y_0 ~ N(0, v_0 I_d).

Target: ``p_delta = P_0 * N(0, v_N I)``.  Two forms of the bound are given, both
``E_I + E_S + E_D``:

* ``form="paper"`` (Theorem 2 as stated, constants of the ``<~`` set to 1) [paper: WHT24]:

    E_I = m2 / v_0,
    E_S = sum_j gamma_j sigma^2_{s_j} eps_j^2,
    E_D = d sum_j gamma_j int_{s_{j+1}}^{s_j} sigma_u^4 / sigma_bar_u^4 du
          + m2 Delta v_0 / (2 v_0^2)
          + (m2 + d) sum_{j=1}^{N-1} (1 - e^{-v_j}) (v_j^2 - v_{j+1} v_{j-1}) / (v_{j-1} v_j^2);

* ``form="explicit"`` (the same proof with the step integrals done exactly; an upper bound with
  explicit constants, depending only on the variance grid) [derived: design_space.md 2.2]:

    KL <= m2 / (2 v_0) + 1/2 sum_j Delta v_j eps_j^2 + d/2 sum_j (ln r_j - 1 + 1/r_j)
          + Delta v_0 / (2 v_0^2) min(m2, d v_0) + sum_{j=1}^{N-1} c_j^+ min(m2, d v_j),
    r_j = v_j / v_{j+1},   c_j = (v_j^2 - v_{j-1} v_{j+1}) / (2 v_{j-1} v_j^2).

Here ``m2 = E ||X_0||^2`` and ``eps_j^2 = E ||S(s_j, Y) - grad log p_{s_j}(Y)||^2`` (a whole-vector
error, not per coordinate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import ParameterTypeError, choice, floats, integer, number
from ..tidy import Tidy, TidyData
from ._schedules import SamplingGrid, check_grid

__all__ = ["BoundTerms", "kl_bound", "gaussian_kl", "score_error_profile", "FORMS"]

FORMS = ("paper", "explicit")

#: Largest data dimension: ``d`` enters the terms as a float, exact up to 2^53.
D_MAX = 2**53


@dataclass(frozen=True)
class BoundTerms(Tidy):
    """The terms of the bound on one grid.

    ``E_D`` is the sum of ``E_D1`` (the ``d``-proportional step term), ``E_D2`` (first step)
    and ``E_D3`` (curvature of the grid); ``total = E_I + E_S + E_D``.  ``to_pandas()``
    (one row) and ``to_xarray()`` (scalars) hold every term and the total.
    """

    E_I: float
    E_S: float
    E_D1: float
    E_D2: float
    E_D3: float
    form: str

    @property
    def E_D(self) -> float:
        return self.E_D1 + self.E_D2 + self.E_D3

    @property
    def total(self) -> float:
        return self.E_I + self.E_S + self.E_D

    def as_dict(self) -> dict:
        return {"E_I": self.E_I, "E_S": self.E_S, "E_D": self.E_D, "E_D1": self.E_D1,
                "E_D2": self.E_D2, "E_D3": self.E_D3, "total": self.total, "form": self.form}

    def _tidy(self):
        values = self.as_dict()
        form = values.pop("form")
        return TidyData({}, {k: float(v) for k, v in values.items()}, attrs={"form": form})


def _nonneg(name, value):
    v = number(name, value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name}: must be finite and >= 0 (got {value!r})")
    return v


def score_error_profile(grid: SamplingGrid, score_error=0.0) -> np.ndarray:
    """``eps_j^2`` at the N evaluation levels ``s_0 .. s_{N-1}``.

    ``score_error`` is a number (the same at every level), an array of length N, or a callable
    of the noise level ``sigma_bar`` returning ``E||S - grad log p||^2`` there.
    """
    sig = check_grid(grid).sigmas[:-1]
    value = score_error(sig) if callable(score_error) else score_error
    eps2 = floats("score_error", value)
    if callable(score_error):  # a callable may return one value for every level
        try:
            eps2 = np.broadcast_to(eps2, sig.shape).astype(float)
        except ValueError:
            raise ValueError(f"score_error: expected a number, a callable or {sig.size} "
                             f"values (one per step); the callable returned shape "
                             f"{eps2.shape}") from None
    if eps2.ndim == 0:
        eps2 = np.full(sig.shape, float(eps2))
    elif eps2.shape != sig.shape:
        raise ValueError(f"score_error: expected a number, a callable or {sig.size} values "
                         f"(one per step), got shape {eps2.shape}")
    if not np.all(np.isfinite(eps2)) or np.any(eps2 < 0):
        raise ValueError("score_error: squared score errors must be finite and >= 0")
    return eps2


def kl_bound(grid: SamplingGrid, d: int, m2: float, score_error=0.0, *,
             form: str = "explicit") -> BoundTerms:
    """Every term of the KL bound of Theorem 2 on ``grid``.

    Parameters
    ----------
    grid : SamplingGrid
    d : int
        Data dimension.
    m2 : float
        Second moment ``E ||X_0||^2`` of the data.
    score_error : float, array or callable
        ``eps_j^2`` (see :func:`score_error_profile`).
    form : {"explicit", "paper"}
        The explicit-constant bound [derived] or the paper's statement [paper: WHT24].
    """
    d = integer("d", d, low=1, high=D_MAX, strict=True)
    m2 = _nonneg("m2", m2)
    form = choice("form", form, FORMS)
    eps2 = score_error_profile(grid, score_error)
    v = grid.variances
    dv = v[:-1] - v[1:]
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, by name
        terms = _explicit_terms(v, dv, eps2, d, m2, grid.N) if form == "explicit" else \
            _paper_terms(grid, v, dv, eps2, d, m2)
    # the term's main ingredient besides the grid: m2, the score error, or the grid itself
    for (name, value), culprit in zip(terms.items(),
                                      ("m2", "score_error", "grid", "m2", "grid")):
        if not math.isfinite(value):
            raise ValueError(f"{culprit}: the bound's term {name} overflows float64 on this "
                             f"grid")
    return BoundTerms(**terms, form=form)


def _explicit_terms(v, dv, eps2, d, m2, N):
    # v_j / v_{j+1}, v_j^2 and v_{j-1} v_j^2 leave the float64 range on grids that reach
    # sigma = 1e100 or 1e-100: the terms are written in logs and ratios
    r = v[:-1] / v[1:]
    lr = np.where(np.isfinite(r), np.log(r), np.log(v[:-1]) - np.log(v[1:]))
    E_I = m2 / (2.0 * v[0])
    E_S = 0.5 * float(np.sum(dv * eps2))
    # ln r - 1 + 1/r, accurate for r near 1
    E_D1 = 0.5 * d * float(np.sum(lr + np.expm1(-lr)))
    E_D2 = dv[0] / v[0] / (2.0 * v[0]) * min(m2, d * v[0])
    if N >= 2:
        c = (1.0 - (v[:-2] / v[1:-1]) * (v[2:] / v[1:-1])) / (2.0 * v[:-2])
        E_D3 = float(np.sum(np.clip(c, 0.0, None) * np.minimum(m2, d * v[1:-1])))
    else:
        E_D3 = 0.0
    return {"E_I": float(E_I), "E_S": E_S, "E_D1": E_D1, "E_D2": float(E_D2), "E_D3": E_D3}


def _paper_terms(grid, v, dv, eps2, d, m2):
    s = grid.times
    gamma = grid.steps
    E_I = m2 / v[0]
    E_S = float(np.sum(gamma * grid.schedule.diffusion_sq(s[:-1]) * eps2))
    E_D1 = d * float(np.sum(gamma * grid.schedule.ed_integral(s[1:], s[:-1])))
    E_D2 = m2 * (dv[0] / v[0]) / (2.0 * v[0])
    if grid.N >= 2:
        c = (1.0 - (v[2:] / v[1:-1]) * (v[:-2] / v[1:-1])) / v[:-2]
        E_D3 = (m2 + d) * float(np.sum(-np.expm1(-v[1:-1]) * c))
    else:
        E_D3 = 0.0
    return {"E_I": float(E_I), "E_S": E_S, "E_D1": E_D1, "E_D2": float(E_D2), "E_D3": E_D3}


def gaussian_kl(grid: SamplingGrid, data_variance, d: int | None = None,
                mean_sq: float = 0.0, score_bias=None) -> float:
    """Exact ``KL(p_delta || q)`` of the sampler driven by the exact score, Gaussian data.

    Data ``N(m, diag(lambda_1..lambda_d))`` (a rotation does not change the KL).  In each
    eigen-direction the sampler is linear, and [paper: WHT24 Lemma 13/15, corrected here; re-derived from
    the variance recursion ``Sigma_{j+1} = ((lambda + v_{j+1}) / (lambda + v_j))^2 Sigma_j +
    Delta v_j`` started at ``Sigma_0 = v_0``]:

        A = v_0 / (lambda + v_0)^2 + sum_j Delta v_j / (lambda + v_{j+1})^2,
        E = 1 / ((lambda + v_N) A),
        KL = sum_directions (E - 1 - ln E) / 2  +  ||m||^2 (lambda + v_N) E / (2 (lambda + v_0)^2).

    Directions with ``lambda = 0`` (data on a subspace) are allowed.

    Parameters
    ----------
    grid : SamplingGrid
    data_variance : float or array
        One number (isotropic data, then ``d`` is required) or the ``d`` covariance eigenvalues.
    d : int, optional
        Dimension, for isotropic data.
    mean_sq : float
        ``||m||^2`` of the data mean (isotropic data only).
    score_bias : array of N numbers, optional
        A score error ``b_j e`` at step j along one fixed unit vector ``e`` (isotropic, centred
        data only).  It shifts the sampled mean to ``(lambda + v_N) sum_j Delta v_j b_j /
        (lambda + v_{j+1})`` along ``e`` (the drift contracts a shift made at step j by
        ``(lambda + v_N) / (lambda + v_{j+1})`` by the end) and adds ``E m_N^2 / (2 (lambda +
        v_N))`` to the KL [derived].
    """
    lam = floats("data_variance", data_variance)
    if d is not None:
        d = integer("d", d, low=1, high=D_MAX, strict=True)
    if lam.ndim == 0:
        if d is None:
            raise ParameterTypeError("d: must be an integer >= 1 for isotropic data (got None)")
        weight = float(d)
        lam = lam.reshape(1)
    else:
        lam = lam.ravel()
        if d is not None and d != lam.size:
            raise ValueError(f"d: {d} does not match the {lam.size} eigenvalues given")
        weight = 1.0
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError("data_variance: need finite variances >= 0")
    mean_sq = _nonneg("mean_sq", mean_sq)
    if mean_sq > 0 and np.ptp(lam) > 0:
        raise ValueError("mean_sq: a data mean is supported for isotropic data only")
    v = check_grid(grid).variances
    dv = v[:-1] - v[1:]
    # (lam + v_N) A in ratios: (lam + v)^2 leaves the float64 range for v or lam near 1e200
    sN = lam + v[-1]
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        A = (v[0] / (lam + v[0])) * (sN / (lam + v[0])) + np.sum(
            (dv[None, :] / (lam[:, None] + v[None, 1:]))
            * (sN[:, None] / (lam[:, None] + v[None, 1:])), axis=1)
        E = 1.0 / A
        x = np.log(E)
        kl = weight * float(np.sum(0.5 * (np.expm1(x) - x)))  # E - 1 - ln E, accurate near E = 1
    if not math.isfinite(kl):
        raise ValueError("data_variance: so large against the grid's noise levels that the KL "
                         "overflows float64")
    if mean_sq > 0:
        with np.errstate(over="ignore"):
            kl += 0.5 * mean_sq * float((lam[0] + v[-1]) / (lam[0] + v[0]) * E[0]
                                        / (lam[0] + v[0]))
        if not math.isfinite(kl):
            raise ValueError("mean_sq: the mean's part of the KL overflows float64")
    if score_bias is not None:
        b = floats("score_bias", score_bias)
        if b.shape != dv.shape or not np.all(np.isfinite(b)):
            raise ValueError(f"score_bias: expected {dv.size} finite numbers (one per step)")
        if np.ptp(lam) > 0 or mean_sq > 0:
            raise ValueError("score_bias: supported for isotropic centred data only")
        with np.errstate(over="ignore", invalid="ignore"):
            m_N = (lam[0] + v[-1]) * float(np.sum(dv * b / (lam[0] + v[1:])))
            kl += 0.5 * (m_N / (lam[0] + v[-1])) * m_N * float(E[0])
        if not math.isfinite(kl):
            raise ValueError("score_bias: the shifted mean's part of the KL overflows float64")
    return kl
