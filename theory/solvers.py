"""Vectorised Newton solver with natural-parameter continuation.

Self-consistent equations of learning-curve theory are small systems (2-4 unknowns) to be
solved at thousands of grid points.  :func:`continuation_newton` solves all points at once:
each point follows its own homotopy parameter ``s`` from 0 (an easy problem, e.g. a large
ridge) to 1 (the target), with a tangent predictor, a damped Newton corrector and a step
size that adapts per point.  Every point reports ``converged``, ``residual`` (measured at
the returned point) and ``status``; nothing is returned silently.

The problem is given as one callable

    fun(x, s, sel) -> (F, J, F_s, scale)

with ``x`` of shape ``(k, n)`` (the unknowns of the ``k`` selected points), ``s`` of shape
``(k,)``, ``sel`` the integer indices of those points in the flattened grid, and outputs
the residual ``F`` ``(k, n)``, its Jacobian ``J`` ``(k, n, n)`` with respect to ``x``, the
derivative ``F_s`` ``(k, n)`` with respect to ``s`` and a positive ``scale`` ``(k, n)``
such that ``|F| / scale`` is a relative residual (for example the sum of the absolute
values of the terms of each equation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import floats, integer, positive_number

__all__ = ["SolverResult", "continuation_newton", "STATUS_MESSAGES"]

STATUS_MESSAGES = {
    0: "converged",
    1: "Newton iterations exhausted at the target",
    2: "continuation step fell below the minimum",
    3: "non-finite residual or Jacobian",
}


@dataclass
class SolverResult:
    """Per-point outcome of a vectorised solve (arrays over the flattened grid).

    Attributes
    ----------
    x : ndarray, shape (N, n)
    converged : ndarray of bool, shape (N,)
    residual : ndarray, shape (N,)
        Largest relative residual ``max_i |F_i| / scale_i`` at the returned ``x``.
    status : ndarray of int, shape (N,)
        0 converged, 1 Newton iterations exhausted, 2 continuation stalled, 3 non-finite.
    nit : ndarray of int, shape (N,)
        Newton iterations spent on the point, continuation included.
    success : bool
        All points converged.
    message : str
    """

    x: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    status: np.ndarray
    nit: np.ndarray
    success: bool
    message: str


#: Largest iteration cap accepted (a loop count, far beyond any run that can finish).
_MAX_ITERATIONS = 2**31 - 1


def _relres(F, scale):
    return np.max(np.abs(F) / scale, axis=-1)


def _newton(fun, x, s, sel, tol, maxiter, max_step):
    """Damped Newton at fixed s.  Returns x, relative residual, converged mask, iterations."""
    k = x.shape[0]
    done = np.zeros(k, dtype=bool)
    bad = np.zeros(k, dtype=bool)
    res = np.full(k, np.inf)
    nit = np.zeros(k, dtype=int)
    for _ in range(maxiter + 1):
        act = np.flatnonzero(~done & ~bad)
        if act.size == 0:
            break
        F, J, _, scale = fun(x[act], s[act], sel[act])
        r = _relres(F, scale)
        finite = np.isfinite(r) & np.all(np.isfinite(J), axis=(1, 2))
        res[act] = r
        ok = finite & (r < tol)
        done[act[ok]] = True
        bad[act[~finite]] = True
        step_idx = np.flatnonzero(finite & ~ok & (nit[act] < maxiter))
        if step_idx.size == 0:
            break
        a = act[step_idx]
        try:
            dx = -np.linalg.solve(J[step_idx], F[step_idx][..., None])[..., 0]
        except np.linalg.LinAlgError:
            dx = np.stack([-np.linalg.lstsq(Ji, Fi, rcond=None)[0]
                           for Ji, Fi in zip(J[step_idx], F[step_idx])])
        big = np.max(np.abs(dx), axis=-1, keepdims=True)
        dx = np.where(big > max_step, dx * (max_step / np.maximum(big, 1e-300)), dx)
        x[a] = x[a] + dx
        nit[a] += 1
    return x, res, done, nit


def continuation_newton(fun, x0, n_points, *, tol=1e-12, h0=0.05, h_min=1e-6, h_max=0.5,
                        newton_maxiter=8, final_maxiter=30, max_step=2.0, max_steps=2000):
    """Solve ``F(x, s=1) = 0`` at ``n_points`` grid points by continuation from ``s = 0``.

    Parameters
    ----------
    fun : callable
        ``fun(x, s, sel) -> (F, J, F_s, scale)``; see the module docstring.
    x0 : ndarray, shape (n_points, n)
        Starting guesses at ``s = 0``.
    tol : float
        Relative residual required for convergence.
    h0, h_max : float or ndarray of shape (n_points,)
        Initial and largest continuation step in ``s`` (per point if arrays).
    h_min : float
        Smallest step; a point whose step falls below it is reported as stalled.
    newton_maxiter : int
        Newton iterations allowed per continuation step (fewer means smaller steps).
    final_maxiter : int
        Newton iterations allowed for the final polish at ``s = 1``.
    max_step : float
        Largest change of any unknown in one Newton iteration (damping).
    max_steps : int
        Safety cap on the number of continuation rounds.

    Returns
    -------
    SolverResult
        ``x`` holds the last iterate of every point; rows of points that did not converge
        may be non-finite (``status`` says why).

    Raises
    ------
    ValueError
        Naming the parameter: ``x0`` not an ``(n_points, n)`` array, a negative or
        non-integral count, or a tolerance, step or iteration cap out of range.
    """
    n_points = integer("n_points", n_points, low=0)
    x0 = np.array(floats("x0", x0), dtype=float)
    if x0.ndim != 2 or x0.shape[0] != n_points or x0.shape[1] < 1:
        raise ValueError(f"x0: expected shape ({n_points}, n) with n >= 1 (got {x0.shape})")
    tol, h_min, max_step = (positive_number(name, v) for name, v in (
        ("tol", tol), ("h_min", h_min), ("max_step", max_step)))
    steps = []
    for name, v in (("h0", h0), ("h_max", h_max)):
        arr = floats(name, v)
        try:
            arr = np.broadcast_to(arr, (n_points,))
        except ValueError:
            raise ValueError(f"{name}: expected a number or an array of shape ({n_points},) "
                             f"(got shape {arr.shape})") from None
        if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
            raise ValueError(f"{name}: steps must be finite and > 0")
        steps.append(arr)
    h0, h_max = steps
    newton_maxiter = integer("newton_maxiter", newton_maxiter, low=1, high=_MAX_ITERATIONS)
    final_maxiter = integer("final_maxiter", final_maxiter, low=1, high=_MAX_ITERATIONS)
    max_steps = integer("max_steps", max_steps, low=1, high=_MAX_ITERATIONS)
    with np.errstate(all="ignore"):
        return _continuation(fun, x0, n_points, tol=tol, h0=h0, h_min=h_min, h_max=h_max,
                             newton_maxiter=newton_maxiter, final_maxiter=final_maxiter,
                             max_step=max_step, max_steps=max_steps)


def _continuation(fun, x0, n_points, *, tol, h0, h_min, h_max, newton_maxiter, final_maxiter,
                  max_step, max_steps):
    x = np.array(x0, dtype=float, copy=True)
    sel_all = np.arange(n_points)
    s = np.zeros(n_points)
    h = np.broadcast_to(np.asarray(h0, dtype=float), (n_points,)).copy()
    h_max = np.broadcast_to(np.asarray(h_max, dtype=float), (n_points,)).copy()
    nit = np.zeros(n_points, dtype=int)
    status = np.zeros(n_points, dtype=int)

    # converge at s = 0 first
    x, res, conv, it = _newton(fun, x, s, sel_all, tol, final_maxiter, max_step)
    nit += it
    status[~conv] = 3
    alive = conv.copy()

    for _ in range(max_steps):
        act = np.flatnonzero(alive & (s < 1.0))
        if act.size == 0:
            break
        s_try = np.minimum(s[act] + h[act], 1.0)
        ds = s_try - s[act]
        # tangent predictor: J dx/ds = -F_s
        _, J, Fs, _ = fun(x[act], s[act], act)
        try:
            tangent = -np.linalg.solve(J, Fs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            tangent = np.zeros_like(Fs)
        tangent = np.where(np.isfinite(tangent), tangent, 0.0)
        move = tangent * ds[:, None]
        big = np.max(np.abs(move), axis=-1, keepdims=True)
        move = np.where(big > max_step, move * (max_step / np.maximum(big, 1e-300)), move)
        pred = x[act] + move
        xn, res_n, conv_n, it = _newton(fun, pred, s_try, act, tol * 100, newton_maxiter, max_step)
        nit[act] += it
        acc = act[conv_n]
        rej = act[~conv_n]
        x[acc] = xn[conv_n]
        s[acc] = s_try[conv_n]
        h[acc] = np.minimum(h[acc] * 1.6, h_max[acc])
        h[rej] *= 0.35
        stalled = rej[h[rej] < h_min]
        status[stalled] = 2
        alive[stalled] = False

    # polish at the target
    target = np.flatnonzero(alive & (s >= 1.0))
    residual = np.full(n_points, np.inf)
    if target.size:
        xt, res_t, conv_t, it = _newton(fun, x[target], np.ones(target.size), target, tol,
                                        final_maxiter, max_step)
        nit[target] += it
        x[target] = xt
        residual[target] = res_t
        status[target[~conv_t]] = 1
    # residual at the returned point for the others too
    others = np.flatnonzero(~np.isin(sel_all, target))
    if others.size:
        F, _, _, scale = fun(x[others], np.ones(others.size), others)
        residual[others] = _relres(F, scale)
        status[others] = np.where(status[others] == 0, 2, status[others])
    residual = np.where(np.isfinite(residual), residual, np.inf)
    converged = (status == 0) & (residual < tol * 10)
    status = np.where((status == 0) & ~converged, 1, status)
    n_bad = int(np.count_nonzero(~converged))
    if n_bad == 0:
        message = f"all {n_points} points converged"
    else:
        kinds = {STATUS_MESSAGES[k]: int(np.count_nonzero(status == k)) for k in (1, 2, 3)
                 if np.any(status == k)}
        detail = "; ".join(f"{v} {k}" for k, v in kinds.items())
        message = f"{n_bad} of {n_points} points did not converge ({detail})"
    return SolverResult(x=x, converged=converged, residual=residual, status=status, nit=nit,
                        success=n_bad == 0, message=message)
