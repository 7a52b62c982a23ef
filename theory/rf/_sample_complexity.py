"""Sample complexity of learning the score: the smallest n reaching a target excess error.

Definition (ours; the seed paper's exact normalisation could not be read, research note
rf_learning_curves.md section 3.11, [reconstructed]).  At fixed ``psi_p, m, t, lam``, the
test error falls from its no-data value ``L(0) = lim_{psi_n -> 0}`` to its infinite-data
value ``L(inf) = lim_{psi_n -> inf}`` (the approximation error of ``p`` random features).
The *relative excess error*

    e(psi_n) = (L(psi_n) - L(inf)) / (L(0) - L(inf))

is the fraction of the learnable error not yet learned; it does not depend on how the data
are normalised (``C_t`` cancels, so the score error, which is ``(L - C_t)/Delta``, gives the
same ``e``).  The sample complexity is ``n* = psi_n* d`` with ``psi_n*`` the smallest
``psi_n`` where ``e <= eps``.  ``criterion="par"`` uses the on-manifold part of the test
error (the directions that carry the data), ``"total"`` the whole test error.  In the
proportional limit ``n* = d f(D/d)``: ``n*`` proportional to ``D`` at fixed ``d`` is the
same statement as ``n*`` flat in ``d`` at fixed ``D``, both meaning ``f(psi_d) ~ psi_d``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import choice, floats, integer, number
from ..tidy import Tidy, grid_data
from ._predict import predict
from ._setting import _NUMERIC, RFSetting, check_setting

__all__ = ["SampleComplexity", "sample_complexity", "CRITERIA"]

CRITERIA = ("par", "total")
_NO_DATA = 1e-8
_ALL_DATA = 1e8
_GRID_MAX = 10**6     # psi_n points of the search grid (each point is one theory solve)
_RTOL_MIN = 1e-15     # the bisection cannot resolve psi_n better than float64 does


@dataclass(frozen=True, eq=False)
class SampleComplexity(Tidy):
    """Result of :func:`sample_complexity` (arrays of ``setting.shape``).

    ``to_pandas()`` and ``to_xarray()`` give it over the setting's parameters (not
    ``psi_n``, which is searched), with a ``converged`` column (``status != 3``) and NaN
    values where a theory point did not converge (:mod:`lowdim.theory.tidy`).

    Attributes
    ----------
    setting : RFSetting
        The settings (their ``psi_n`` is not used).
    eps : float
    criterion : str
    psi_n_star : ndarray
        ``n* / d``; NaN where not found (see ``status``).
    n_star_per_D : ndarray
        ``n* / D = psi_n_star / psi_d``.
    error_no_data, error_all_data : ndarray
        ``L(0)`` and ``L(inf)`` of the chosen part of the test error.
    monotone : ndarray of bool
        The relative excess stays ``<= eps`` for every grid ``psi_n`` beyond ``psi_n*``.
    status : ndarray of int
        0 found; 1 ``eps`` already met at the lower end of ``psi_n_range`` (``n*`` below
        it); 2 not met at its upper end; 3 a theory point did not converge.
    success : bool
    message : str
    """

    setting: RFSetting
    eps: float
    criterion: str
    psi_n_star: np.ndarray
    n_star_per_D: np.ndarray
    error_no_data: np.ndarray
    error_all_data: np.ndarray
    monotone: np.ndarray
    status: np.ndarray
    success: bool
    message: str

    def _tidy(self):
        coords, labels = self.setting.grid_coordinates()
        coords.pop("psi_n")
        names = ("psi_n_star", "n_star_per_D", "error_no_data", "error_all_data", "monotone",
                 "status")
        return grid_data(coords, {**{k: getattr(self, k) for k in names},
                                  "converged": np.asarray(self.status) != 3},
                         {**labels, "eps": float(self.eps), "criterion": self.criterion,
                          "success": bool(self.success), "message": self.message})


def _with_psi_n(setting: RFSetting, psi_n, extra_axis: bool) -> RFSetting:
    """``setting`` with ``psi_n`` replaced (optionally on a new trailing axis)."""
    kw = {}
    for k in _NUMERIC:
        if k == "psi_n" or (k == "psi_d" and setting.data == "gaussian"):
            continue
        v = getattr(setting, k)
        kw[k] = v[..., None] if extra_axis else v
    return setting.replace(psi_n=psi_n, **kw)


def _part(pred, criterion):
    return pred.test_error_par if criterion == "par" else pred.test_error


def sample_complexity(setting: RFSetting, eps: float = 0.01, *, criterion: str = "par",
                      psi_n_range=(1e-3, 1e4), grid: int = 141,
                      rtol: float = 1e-6) -> SampleComplexity:
    """Smallest ``n/d`` at which the relative excess test error drops to ``eps``.

    Parameters
    ----------
    setting : RFSetting
        Grid of settings; its ``psi_n`` is ignored.
    eps : float
        Target relative excess error, in ``(0, 1)``.
    criterion : {"par", "total"}
        On-manifold part of the test error, or all of it.
    psi_n_range : (float, float)
        Search range of ``n/d``; a log grid of ``grid`` points (an integer in ``3 .. 10^6``)
        locates the first crossing, then bisection refines it to ``rtol`` (relative, in
        ``psi_n``; in ``[1e-15, 1)``).

    Returns
    -------
    SampleComplexity

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.theory.rf import RFSetting, sample_complexity
    >>> s = RFSetting(psi_n=1.0, psi_p=16.0, m=np.inf, activation="relu",
    ...               data="linear-manifold", psi_d=np.array([0.05, 0.1, 0.2]))
    >>> res = sample_complexity(s, eps=0.01)
    >>> bool(np.all(np.abs(np.diff(np.log(res.psi_n_star)) / np.log(2) - 1) < 0.05))
    True
    """
    check_setting(setting)
    choice("criterion", criterion, CRITERIA)
    eps = number("eps", eps)
    if not (0.0 < eps < 1.0):
        raise ValueError(f"eps: relative excess error must be in (0, 1) (got {eps!r})")
    bounds = floats("psi_n_range", psi_n_range)
    if bounds.shape != (2,):
        raise ValueError(f"psi_n_range: expected two numbers (low, high) (got shape "
                         f"{bounds.shape})")
    lo, hi = (float(v) for v in bounds)
    if not (0 < lo < hi) or not np.isfinite(hi):
        raise ValueError(f"psi_n_range: need 0 < low < high < inf (got {psi_n_range!r})")
    grid = integer("grid", grid, low=3, high=_GRID_MAX, strict=True)
    rtol = number("rtol", rtol)
    if not _RTOL_MIN <= rtol < 1:
        raise ValueError(f"rtol: the relative precision of psi_n* must lie in "
                         f"[{_RTOL_MIN:g}, 1) (got {rtol!r})")

    shape = setting.shape
    zero = predict(_with_psi_n(setting, _NO_DATA, False))
    full = predict(_with_psi_n(setting, _ALL_DATA, False))
    L0, Linf = _part(zero, criterion), _part(full, criterion)
    span = L0 - Linf

    psi_grid = np.geomspace(lo, hi, grid)
    sweep = predict(_with_psi_n(setting, psi_grid, True))
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = (_part(sweep, criterion) - Linf[..., None]) / span[..., None]
    ok = zero.converged & full.converged & np.all(sweep.converged, axis=-1) & (span > 0)

    below = excess <= eps
    first = np.argmax(below, axis=-1)
    any_below = np.any(below, axis=-1)
    status = np.where(~ok, 3, np.where(~any_below, 2, np.where(first == 0, 1, 0)))
    after = np.arange(grid) >= first[..., None]
    monotone = np.all(np.where(after, below, True), axis=-1)

    # bisection in log(psi_n) between the grid points around the first crossing
    found = status == 0
    idx = np.clip(first, 1, grid - 1)
    a = np.log(psi_grid[idx - 1])
    b = np.log(psi_grid[idx])
    n_iter = int(np.ceil(np.log2(np.log(psi_grid[1] / psi_grid[0]) / rtol))) + 1
    for _ in range(n_iter):
        if not np.any(found):
            break
        mid = 0.5 * (a + b)
        pm = predict(_with_psi_n(setting, np.exp(mid), False))
        with np.errstate(invalid="ignore", divide="ignore"):
            e_mid = (_part(pm, criterion) - Linf) / span
        status = np.where(found & ~pm.converged, 3, status)
        found = status == 0
        go_left = e_mid <= eps
        b = np.where(found & go_left, mid, b)
        a = np.where(found & ~go_left, mid, a)
    psi_star = np.where(status == 0, np.exp(b), np.nan)
    psi_d = np.broadcast_to(setting.psi_d, shape)
    counts = {k: int(np.count_nonzero(status == k)) for k in (1, 2, 3)}
    parts = []
    if counts[1]:
        parts.append(f"{counts[1]} already within eps at psi_n = {lo:g} (lower psi_n_range)")
    if counts[2]:
        parts.append(f"{counts[2]} not within eps by psi_n = {hi:g} (raise psi_n_range)")
    if counts[3]:
        parts.append(f"{counts[3]} with a theory point that did not converge")
    message = "found at every point" if not parts else "; ".join(parts)
    return SampleComplexity(
        setting=setting, eps=eps, criterion=criterion,
        psi_n_star=psi_star.reshape(shape), n_star_per_D=(psi_star / psi_d).reshape(shape),
        error_no_data=np.where(ok, L0, np.nan).reshape(shape),
        error_all_data=np.where(ok, Linf, np.nan).reshape(shape),
        monotone=monotone.reshape(shape), status=status.reshape(shape),
        success=not parts, message=message)
