"""Asymptotic learning curves: solve the system on a whole grid, then read the errors."""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .._checks import ParameterTypeError
from ..threads import single_threaded
from ..solvers import continuation_newton, merge_results, path_newton
from ..tidy import Tidy, grid_data
from ._setting import RFSetting, check_setting
from . import _system_sigma as sigma_system
from ._system import Coefficients, log_system, observables, residual_and_jacobian

__all__ = ["RFPrediction", "predict", "QUANTITIES", "SelfConsistentSystem", "system"]

QUANTITIES = ("test_error", "train_error", "train_error_reg", "score_error")


@dataclass(frozen=True, eq=False)
class RFPrediction(Tidy):
    """Asymptotic errors on the grid of an :class:`RFSetting` (arrays of ``setting.shape``).

    ``to_pandas()`` gives one row per grid point and ``to_xarray()`` a Dataset over the
    grid's parameters (``psi_n``, ``psi_p``, ``m``, ``t``, ``lam``, ``psi_d``), with NaN
    where a point did not converge (:mod:`lowdim.theory.tidy`).

    Attributes
    ----------
    setting : RFSetting
    test_error : ndarray
        ``(1/d) E ||sqrt(Delta) s(x_t) + xi||^2`` on fresh data.
    train_error : ndarray
        The DSM loss on the training noises, without the ridge penalty.
    train_error_reg : ndarray
        The same with the penalty ``(Delta lam / (d p)) ||A||^2`` (the value of the objective).
    score_error : ndarray
        ``(1/d) E ||s(x_t) - grad log p_t(x_t)||^2 = (test_error - C_t) / Delta``.
    exact_score_test_error : ndarray
        ``C_t``, the test error of the exact score (``e^{-2t}`` for isotropic data).
    test_error_par, test_error_perp : ndarray
        The test error split along the manifold (the subspace or the column space of
        ``M``) and its orthogonal complement; ``par + perp = test_error``.  For isotropic
        data everything is ``par``.
    generalization_gap : ndarray
        ``test_error - train_error``.
    q, r, h : ndarray
        Normalised resolvent traces solving the system (``h = r`` for isotropic data).
    converged : ndarray of bool
    residual : ndarray
        Relative residual of the system at the returned (q, r).
    status : ndarray of int
        See :data:`lowdim.theory.solvers.STATUS_MESSAGES`.
    success : bool
        Every point converged.
    message : str
    """

    setting: RFSetting
    test_error: np.ndarray
    train_error: np.ndarray
    train_error_reg: np.ndarray
    score_error: np.ndarray
    exact_score_test_error: np.ndarray
    generalization_gap: np.ndarray
    test_error_par: np.ndarray
    test_error_perp: np.ndarray
    q: np.ndarray
    r: np.ndarray
    h: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    status: np.ndarray
    nit: np.ndarray
    success: bool
    message: str

    def _tidy(self):
        coords, labels = self.setting.grid_coordinates()
        names = ("test_error", "train_error", "train_error_reg", "score_error",
                 "exact_score_test_error", "generalization_gap", "test_error_par",
                 "test_error_perp", "q", "r", "h", "converged", "residual", "status", "nit")
        return grid_data(coords, {k: getattr(self, k) for k in names},
                         {**labels, "success": bool(self.success), "message": self.message})

    def rows(self) -> list[dict]:
        """One dict per grid point with the settings and the predicted errors."""
        s = self.setting
        out = []
        for idx in np.ndindex(s.shape):
            m = float(s.m[idx])
            out.append({
                "psi_n": float(s.psi_n[idx]), "psi_p": float(s.psi_p[idx]),
                "m": "inf" if np.isinf(m) else int(m), "t": float(s.t[idx]),
                "lam": float(s.lam[idx]), "activation": s.activation.name, "data": s.data,
                **({"psi_d": float(s.psi_d[idx])} if s.data != "gaussian" else {}),
                **({"manifold_activation": s.manifold_activation.name}
                   if s.data == "hidden-manifold" else {}),
                **{k: float(getattr(self, k)[idx]) for k in QUANTITIES},
                "test_error_par": float(self.test_error_par[idx]),
                "test_error_perp": float(self.test_error_perp[idx]),
                "exact_score_test_error": float(self.exact_score_test_error[idx]),
                "converged": bool(self.converged[idx]),
                "residual": float(self.residual[idx]),
            })
        return out


def _coefficients(setting: RFSetting) -> Coefficients:
    # a_t = e^{-t} and Delta_t = 1 - e^{-2t} (lowdim.theory.processes) from the validated times
    a_t = np.exp(-setting.t)
    delta = -np.expm1(-2.0 * setting.t)
    mom = setting.moments
    m = setting.m
    eps = np.where(np.isinf(m), 0.0, 1.0 / m)
    flat = {
        "psi_n": setting.psi_n, "psi_p": setting.psi_p, "eps": eps, "a2": a_t**2,
        "delta": delta, "mu1sq": mom.mu1**2, "musq": mom.mu_star_sq, "kappa": mom.kappa,
        "lam": setting.lam,
    }
    shape = setting.shape
    return Coefficients(**{k: np.broadcast_to(np.asarray(v, dtype=float), shape).reshape(-1)
                           for k, v in flat.items()})


def _spread(co: Coefficients) -> np.ndarray:
    """An upper estimate of the scale of the spectrum of ``U = F F^T / (n m)``."""
    return (co.mu1sq + co.musq) * (1.0 + co.psi_p) * (1.0 + co.psi_p / co.psi_n) + 1.0


def _start_ridge(co: Coefficients) -> np.ndarray:
    """A ridge well above the spectrum of U, where q = r = 1/lambda is an excellent guess."""
    return np.maximum(co.lam, 100.0 * _spread(co))


def _large_ridge_start(co: Coefficients):
    """Start of the fast path: a ridge ``lambda0`` above the bulk of the spectrum of ``U`` and
    the resummed large-ridge solution there.

    Expanding the system in ``u = 1/lambda`` with ``q = u - a u^2 + alpha u^3 + O(u^4)`` and
    ``r = u - b u^2 + O(u^3)``: the order ``u^0`` of ``F2`` gives ``(1 + psi_p) a - b =
    psi_p (B1 + (1-eps) E1)`` and that of ``F1`` gives ``b - a = psi_p (A1 + (1-eps) D1)``,
    hence (with ``A1 + (1-eps) D1 = mu1^2`` and ``B1 + (1-eps) E1 = mu*^2``)

        a = mu1^2 + mu*^2 = Tr U / p,        b = a + psi_p mu1^2,

    and the next order gives the variance of the spectrum of ``U``,

        alpha - a^2 = var = c (A1 + B1)^2 + psi_p mu1^4 + c eps (1-eps) (D1 + E1)^2.

    The guess ``q = 1/(lambda + a)``, ``r = 1/(lambda + b)`` (research note section 3.3:
    ``r ~ 1/(lambda + psi_p mu1^2)``) is off by about ``var / lambda^2`` plus higher moments;
    its slopes in ``log lambda`` are ``-lambda/(lambda + a)`` and ``-lambda/(lambda + b)``.
    The start ``lambda0 = max(lambda, min(spread, max(5 sqrt(var), 2 top)))`` keeps both the
    variance term (below 1/25) and the largest eigenvalues (``top = a (1 + sqrt c)^2 +
    mu1^2 (1 + sqrt psi_p)^2``, Marchenko-Pastur-type edges of the sample part and of the
    ``W W^T / d`` part; the higher moments are those of a spectrum with a far edge) in
    check, and is never above the crude bound :func:`_spread`.  [derived: the factors
    5 and 2 were checked on grids of (psi_n, psi_p, m, t, lambda, activation): every
    Newton correction along the path stays below 0.3]
    """
    a = co.mu1sq + co.musq
    b = a + co.psi_p * co.mu1sq
    c = co.c
    var = (c * (co.A1 + co.B1) ** 2 + co.psi_p * co.mu1sq**2
           + c * co.eps * (1.0 - co.eps) * (co.D1 + co.E1) ** 2)
    top = a * (1.0 + np.sqrt(c)) ** 2 + co.mu1sq * (1.0 + np.sqrt(co.psi_p)) ** 2
    lam0 = np.maximum(co.lam, np.minimum(_spread(co), np.maximum(5.0 * np.sqrt(var), 2.0 * top)))
    x0 = (-np.log(lam0 + a), -np.log(lam0 + b))
    dx0 = (-lam0 / (lam0 + a), -lam0 / (lam0 + b))
    return lam0, x0, dx0


def solve_system(co: Coefficients, *, tol: float = 1e-12):
    """Solve for (q, r) at z = -lam, zeta = 0.

    Fast path first: :func:`lowdim.theory.solvers.path_newton` along ``tau = log lambda`` from the
    resummed large-ridge start of :func:`_large_ridge_start` (steps of 1 in ``log lambda``,
    quadratic predictor, one Newton correction per step, closed-form 2x2 solves).  Every
    point whose path needed a large correction or whose polish did not converge is then
    solved again, from scratch, by the adaptive continuation of
    :func:`lowdim.theory.solvers.continuation_newton` (:func:`_solve_by_continuation`), so no point
    is worse off than with the continuation alone.
    """
    lam0, x0, dx0 = _large_ridge_start(co)
    res = path_newton(log_system(co), x0, dx0, np.log(lam0), np.log(co.lam), tol=tol)
    redo = np.flatnonzero(~res.converged)
    if redo.size:
        _, _, again = _solve_by_continuation(co.take(redo), tol=tol)
        res = merge_results(res, redo, again)
    return np.exp(res.x[:, 0]), np.exp(res.x[:, 1]), res


def _solve_by_continuation(co: Coefficients, *, tol: float = 1e-12):
    """Solve for (q, r) at z = -lam, zeta = 0 by adaptive continuation in log(lambda) from
    a ridge 100 times above the spread of the spectrum."""
    lam0 = _start_ridge(co)
    log_ratio = np.log(co.lam / lam0)

    def lam_of(s, sel):
        return lam0[sel] * np.exp(s * log_ratio[sel])

    def fun(x, s, sel):
        sub = co.take(sel)
        q, r = np.exp(x[:, 0]), np.exp(x[:, 1])
        lam = lam_of(s, sel)
        F, J, scale = residual_and_jacobian(sub, q, r, -lam, 0.0)
        J = J * np.stack([q, r], -1)[:, None, :]  # chain rule for log variables
        # dF/ds: only F2 depends on z = -lambda(s); dF2/dz = psi_p
        Fs = np.zeros_like(F)
        Fs[:, 1] = sub.psi_p * (-lam * log_ratio[sel])
        return F, J, Fs, scale

    n = co.psi_n.size
    x0 = np.stack([-np.log(lam0), -np.log(lam0)], -1)
    # steps of about 0.7 in log(lambda) to start with, at most 3
    span = np.maximum(np.abs(log_ratio), 1e-12)
    span = np.where(np.isnan(span), 1.0, span)  # an overflowed point fails in the solver
    res = continuation_newton(fun, x0, n, tol=tol, h0=np.clip(0.7 / span, 1e-3, 1.0),
                              h_max=np.clip(3.0 / span, 1e-3, 1.0))
    return np.exp(res.x[:, 0]), np.exp(res.x[:, 1]), res


def _sigma_coefficients(setting: RFSetting) -> sigma_system.SigmaCoefficients:
    co = _coefficients(setting)
    spectrum = setting.spectrum.flat(setting.shape)
    return sigma_system.SigmaCoefficients(**{f.name: getattr(co, f.name) for f in fields(co)},
                                          spectrum=spectrum,
                                          psi_par=spectrum.mass(True))


def _sigma_start_ridge(co: sigma_system.SigmaCoefficients) -> np.ndarray:
    """A ridge well above the spectrum of U for data with covariance spectrum ``rho``."""
    # the spectrum can be larger than 1 (Marchenko-Pastur edges): start above it
    _, hi = co.spectrum.support()
    return np.maximum(_start_ridge(co), 100.0 * (co.mu1sq + co.musq) * (1.0 + co.psi_p)
                      * (1.0 + hi))


def _sigma_log_system(co: sigma_system.SigmaCoefficients):
    """``fun(x, tau, want_scale)`` for :func:`lowdim.theory.solvers.path_newton`: the residuals of
    :func:`lowdim.theory.rf._system_sigma.residual_and_jacobian` in ``x = (log q, log r, log h)``
    along ``tau = log lambda`` (``z = -lambda``; only ``E_q`` depends on it, with
    ``dE_q/dz = -q``, so ``dE/dtau = (0, 0, q lambda)``)."""
    def fun(x, tau, want_scale=True):
        q, r, h = np.exp(x[0]), np.exp(x[1]), np.exp(x[2])
        lam = np.exp(tau)
        F, J, scale = sigma_system.residual_and_jacobian(co, q, r, h, -lam)
        cols = (q, r, h)
        Jl = tuple(tuple(J[:, i, j] * cols[j] for j in range(3)) for i in range(3))
        sc = (scale[:, 0], scale[:, 1], scale[:, 2]) if want_scale else None
        return (F[:, 0], F[:, 1], F[:, 2]), Jl, (0.0, 0.0, q * lam), sc

    return fun


def solve_sigma_system(co: sigma_system.SigmaCoefficients, *, tol: float = 1e-12):
    """Solve for (q, r, h) at z = -lam.

    Fast path first (:func:`lowdim.theory.solvers.path_newton` along ``log lambda``, closed-form
    3x3 solves) from a ridge 100 times above the spread of the spectrum, where
    ``q = r = 1/lambda`` and ``h = sigma_x^2/lambda`` with slopes -1 in ``log lambda``; the
    points it does not certify are solved again by the adaptive continuation
    (:func:`_solve_sigma_by_continuation`).
    """
    lam0 = _sigma_start_ridge(co)
    sx2 = co.spectrum.mean()
    x0 = (-np.log(lam0), -np.log(lam0), np.log(sx2) - np.log(lam0))
    dx0 = (-np.ones_like(lam0),) * 3
    res = path_newton(_sigma_log_system(co), x0, dx0, np.log(lam0), np.log(co.lam), tol=tol,
                      step=0.7)
    redo = np.flatnonzero(~res.converged)
    if redo.size:
        _, _, _, again = _solve_sigma_by_continuation(co.take(redo), tol=tol)
        res = merge_results(res, redo, again)
    return np.exp(res.x[:, 0]), np.exp(res.x[:, 1]), np.exp(res.x[:, 2]), res


def _solve_sigma_by_continuation(co: sigma_system.SigmaCoefficients, *, tol: float = 1e-12):
    """Solve for (q, r, h) at z = -lam by continuation in log(lambda) from a large ridge."""
    lam0 = _sigma_start_ridge(co)
    log_ratio = np.log(co.lam / lam0)

    def fun(x, s, sel):
        sub = co.take(sel)
        q, r, h = np.exp(x[:, 0]), np.exp(x[:, 1]), np.exp(x[:, 2])
        lam = lam0[sel] * np.exp(s * log_ratio[sel])
        F, J, scale = sigma_system.residual_and_jacobian(sub, q, r, h, -lam)
        J = J * np.stack([q, r, h], -1)[:, None, :]
        Fs = np.zeros_like(F)
        Fs[:, 2] = q * (lam * log_ratio[sel])  # dE_q/dz = -q, dz/ds = -lam log_ratio
        return F, J, Fs, scale

    sx2 = co.spectrum.mean()
    x0 = np.stack([-np.log(lam0), -np.log(lam0), np.log(sx2) - np.log(lam0)], -1)
    span = np.maximum(np.abs(log_ratio), 1e-12)
    span = np.where(np.isnan(span), 1.0, span)  # an overflowed point fails in the solver
    n = co.psi_n.size
    res = continuation_newton(fun, x0, n, tol=tol, h0=np.clip(0.7 / span, 1e-3, 1.0),
                              h_max=np.clip(3.0 / span, 1e-3, 1.0))
    return np.exp(res.x[:, 0]), np.exp(res.x[:, 1]), np.exp(res.x[:, 2]), res


@dataclass(frozen=True, eq=False)
class SelfConsistentSystem:
    """The self-consistent equations of an :class:`RFSetting`'s grid at ``(z, zeta) =
    (-lambda, 0)``, flattened over the grid: what :func:`predict` solves.

    Call it with the unknowns (arrays of ``setting.size`` values, or anything that
    broadcasts with them): ``(q, r)`` for Gaussian data, ``(q, r, h)`` for the other data
    models.  It returns ``(F, J, scale)``: the residuals ``(N, n)``, the Jacobian
    ``dF_i/dx_j`` ``(N, n, n)`` and per-equation scales ``(N, n)`` (sums of the absolute
    values of each equation's terms, so that ``|F| / scale`` is a relative residual).  The
    equations are those of the research note rf_learning_curves.md section 3.3
    [paper: UBBM26-DD Thm 2.1, Prop. C.2] for Gaussian data and of
    :mod:`lowdim.theory.rf._system_sigma` [derived] otherwise.

    Attributes
    ----------
    setting : RFSetting
    unknowns : tuple of str
        ``("q", "r")`` or ``("q", "r", "h")``.
    coefficients
        The flattened per-point constants (``psi_p, c, eps, A1, B1, D1, E1, lam``, ...).
    """

    setting: RFSetting
    unknowns: tuple
    coefficients: object

    def __call__(self, *x):
        if len(x) != len(self.unknowns):
            raise ParameterTypeError(f"x: expected {len(self.unknowns)} arrays "
                                     f"({', '.join(self.unknowns)}), got {len(x)}")
        co = self.coefficients
        if len(x) == 2:
            return residual_and_jacobian(co, x[0], x[1], -co.lam, 0.0)
        return sigma_system.residual_and_jacobian(co, x[0], x[1], x[2], -co.lam)


def system(setting: RFSetting) -> SelfConsistentSystem:
    """The self-consistent system of ``setting`` (see :class:`SelfConsistentSystem`), for
    checking a solution or timing one evaluation of the equations.

    Examples
    --------
    >>> from lowdim.theory.rf import RFSetting, predict, system
    >>> s = RFSetting(psi_n=2.0, psi_p=3.0, t=0.1, m=4)
    >>> p = predict(s)
    >>> F, J, scale = system(s)(p.q.ravel(), p.r.ravel())
    >>> bool(abs(F / scale).max() < 1e-10)
    True
    """
    check_setting(setting)
    if setting.data == "gaussian":
        return SelfConsistentSystem(setting, ("q", "r"), _coefficients(setting))
    return SelfConsistentSystem(setting, ("q", "r", "h"), _sigma_coefficients(setting))


@single_threaded   # grid-wide small arrays: extra BLAS threads only spin
def predict(setting: RFSetting, *, tol: float = 1e-12) -> RFPrediction:
    """Asymptotic test, train and score errors on the grid of ``setting``.

    The whole grid is solved at once (vectorised Newton with continuation from a large
    ridge down to ``lam``); each point reports ``converged`` and ``residual``.  Points that
    did not converge carry NaN errors and ``converged = False``.

    Parameters
    ----------
    setting : RFSetting
    tol : float
        Relative residual of the self-consistent system required for convergence.

    Returns
    -------
    RFPrediction

    Examples
    --------
    >>> import numpy as np
    >>> from lowdim.theory.rf import RFSetting, predict
    >>> pred = predict(RFSetting(psi_n=2.0, psi_p=np.array([0.5, 8.0]), t=0.1, m=1))
    >>> bool(pred.success)
    True
    """
    check_setting(setting)
    shape = setting.shape
    if setting.data == "gaussian":
        co = _coefficients(setting)
        # extreme ratios can overflow intermediate products; such points come out
        # non-finite and are reported as not converged below, never as numbers
        with np.errstate(all="ignore"):
            q, r, res = solve_system(co, tol=tol)
            obs = observables(co, q, r)
        h = r
        obs["test_error_par"] = obs["test_error"]
        obs["test_error_perp"] = np.zeros_like(obs["test_error"])
    else:
        co = _sigma_coefficients(setting)
        with np.errstate(all="ignore"):
            q, r, h, res = solve_sigma_system(co, tol=tol)
            obs = sigma_system.observables(co, q, r, h)
    c_t = np.broadcast_to(setting.exact_score_test_error, shape).ravel()
    delta = co.delta  # Delta_t on the flattened grid
    converged = res.converged & obs["well_posed"]
    with np.errstate(all="ignore"):
        score = (obs["test_error"] - c_t) / delta
    for value in (obs["test_error"], obs["train_error"], obs["train_error_reg"], score,
                  obs["test_error_par"], obs["test_error_perp"]):
        converged &= np.isfinite(value)
    status = np.where(res.converged & ~converged, 3, res.status)

    def out(a):
        a = np.where(converged, a, np.nan)
        return a.reshape(shape)

    test = obs["test_error"]
    n_bad = int(np.count_nonzero(~converged))
    n_singular = int(np.count_nonzero(res.converged & ~converged))
    message = res.message
    if n_singular:
        message = (f"{n_bad} of {converged.size} points did not converge ({n_singular} with a "
                   "numerically singular Jacobian or non-finite errors: a degenerate limit "
                   "such as psi_p -> 0 or t -> 0, or an exact-score constant that did not "
                   "converge)")
    return RFPrediction(
        setting=setting,
        test_error=out(test),
        train_error=out(obs["train_error"]),
        train_error_reg=out(obs["train_error_reg"]),
        score_error=out(score),
        exact_score_test_error=c_t.reshape(shape),
        generalization_gap=out(test - obs["train_error"]),
        test_error_par=out(obs["test_error_par"]),
        test_error_perp=out(obs["test_error_perp"]),
        q=q.reshape(shape), r=r.reshape(shape), h=h.reshape(shape),
        converged=converged.reshape(shape),
        residual=res.residual.reshape(shape),
        status=status.reshape(shape),
        nit=res.nit.reshape(shape),
        success=n_bad == 0,
        message=message,
    )
