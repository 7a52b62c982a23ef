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

:func:`path_newton` is the fast path for the same problems when the homotopy parameter is a
scalar ``tau`` per point (for example ``log lambda``) and the unknowns are few: a fixed
schedule of equal steps in ``tau`` with a second-order predictor and one Newton correction
per step, small linear systems solved in closed form (:func:`solve_small`), one residual
evaluation per step on component arrays (no stacking or copying).  Points where a
correction was large, or the polish at the target did not converge, are marked and left to
:func:`continuation_newton`; :func:`merge_results` puts the two together.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import floats, integer, positive_number
from .tidy import Tidy, TidyData

# path_newton, merge_results and solve_small are building blocks of the family solvers
# (lowdim.theory.rf), not entry points of their own
__all__ = ["SolverResult", "continuation_newton", "STATUS_MESSAGES"]

STATUS_MESSAGES = {
    0: "converged",
    1: "Newton iterations exhausted at the target",
    2: "continuation step fell below the minimum",
    3: "non-finite residual or Jacobian",
}


@dataclass
class SolverResult(Tidy):
    """Per-point outcome of a vectorised solve (arrays over the flattened grid).

    ``to_pandas()`` and ``to_xarray()`` give one row per ``point`` with the unknowns as
    ``x0, x1, ...``, NaN where the point did not converge.

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

    def _tidy(self):
        x = np.asarray(self.x, dtype=float)
        x = x.reshape(x.shape[0], -1)
        point = ("point",)
        return TidyData({"point": np.arange(x.shape[0])},
                        {**{f"x{j}": (point, x[:, j]) for j in range(x.shape[1])},
                         "converged": (point, self.converged),
                         "residual": (point, self.residual), "status": (point, self.status),
                         "nit": (point, self.nit)},
                        attrs={"success": bool(self.success), "message": self.message}
                        ).masked("converged")


#: Largest iteration cap accepted (a loop count, far beyond any run that can finish).
_MAX_ITERATIONS = 2**31 - 1


def _relres(F, scale):
    return np.max(np.abs(F) / scale, axis=-1)


def solve_small(J, b):
    """Solve ``J x = b`` for a batch of 1x1, 2x2 or 3x3 systems given by components.

    ``J`` is a sequence of ``n`` rows of ``n`` arrays (all broadcasting together), ``b`` a
    sequence of ``n`` arrays; returns a tuple of ``n`` arrays.  The inverse is the adjugate
    over the determinant (Cramer's rule; ``inf``/``NaN`` where the determinant vanishes,
    which callers treat as a failed point).  For batches of tiny systems this is several
    times cheaper than ``np.linalg.solve``, whose per-call and per-matrix overhead
    dominates at these sizes.
    """
    return _apply(_inverse_small(J), b)


def _inverse_small(J):
    """Rows of ``J^{-1}`` (adjugate / determinant) for n = 1, 2, 3, on component arrays."""
    n = len(J)
    if n == 1:
        return ((1.0 / J[0][0],),)
    if n == 2:
        (a, c), (d, e) = J
        idet = 1.0 / (a * e - c * d)
        return ((e * idet, -c * idet), (-d * idet, a * idet))
    if n == 3:
        (a, c, e), (f, g, h), (k, l, m) = J
        C00, C01, C02 = g * m - h * l, h * k - f * m, f * l - g * k
        idet = 1.0 / (a * C00 + c * C01 + e * C02)
        return ((C00 * idet, (e * l - c * m) * idet, (c * h - e * g) * idet),
                (C01 * idet, (a * m - e * k) * idet, (e * f - a * h) * idet),
                (C02 * idet, (c * k - a * l) * idet, (a * g - c * f) * idet))
    raise ValueError(f"J: solve_small handles 1 to 3 unknowns (got {n})")


def _apply(inv, b):
    """``inv @ b`` on components; a component of ``b`` given as the float 0.0 is skipped."""
    out = []
    for row in inv:
        acc = None
        for Mij, bj in zip(row, b):
            if isinstance(bj, float) and bj == 0.0:
                continue
            acc = Mij * bj if acc is None else acc + Mij * bj
        out.append(np.zeros_like(row[0]) if acc is None else acc)
    return tuple(out)


def _solve_batch(J, F):
    """``J^{-1} F`` for stacked ``J (k, n, n)``, ``F (k, n)``: closed form for n <= 3, with
    least squares for the points where the closed form is not finite (singular J)."""
    k, n = F.shape
    if n <= 3:
        cols = solve_small([[J[:, i, j] for j in range(n)] for i in range(n)],
                           [F[:, i] for i in range(n)])
        dx = np.empty((k, n))
        for i, col in enumerate(cols):
            dx[:, i] = col
    else:
        try:
            return np.linalg.solve(J, F[..., None])[..., 0]
        except np.linalg.LinAlgError:
            dx = np.full((k, n), np.nan)
    bad = np.flatnonzero(~np.all(np.isfinite(dx), axis=-1))
    for i in bad:
        dx[i] = np.linalg.lstsq(J[i], F[i], rcond=None)[0]
    return dx


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
        dx = -_solve_batch(J[step_idx], F[step_idx])
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
    return _result(x, converged, residual, status, nit)


def _result(x, converged, residual, status, nit):
    n_points = converged.size
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


def path_newton(fun, x0, dx0, tau0, tau1, *, tol=1e-12, step=1.0, max_correction=0.3,
                polish_maxiter=6, max_step=2.0):
    """Solve ``F(x, tau1) = 0`` at every point by a fixed-schedule path from ``tau0``.

    The path ``x(tau)`` of each point runs from a known approximate solution ``x0`` at
    ``tau0`` (with slope ``dx0 = dx/dtau`` there) to the target ``tau1``, in ``K`` equal steps
    ``dt = (tau1 - tau0) / K`` with ``K = ceil(max |tau1 - tau0| / step)`` shared by the grid.
    Step ``k`` predicts with the second-order Taylor polynomial

        x_pred = x_k + t_k dt + c_k dt^2 / 2,

    evaluates ``F`` and ``J = dF/dx`` once at ``(x_pred, tau_{k+1})`` and corrects with one
    Newton step ``x_{k+1} = x_pred - J^{-1} F``; the same inverse gives the new slope
    ``t_{k+1} = -J^{-1} dF/dtau`` (implicit differentiation of ``F(x(tau), tau) = 0``, with
    ``J`` taken at ``x_pred``, which differs from ``x_{k+1}`` by the correction) and the
    curvature estimate ``c_{k+1} = (t_{k+1} - t_k) / dt``; with equal steps the predictor is
    ``x_k + dt (3 t_k - t_{k-1}) / 2``.  At the target, plain Newton
    iterations polish each point until ``max_i |F_i| / scale_i < tol``; the returned ``x`` is
    the iterate at which that residual was measured.  This is the classical Euler-Newton
    predictor-corrector of numerical continuation (E. L. Allgower, K. Georg, *Introduction to
    Numerical Continuation Methods*, SIAM 2003) [paper: Allgower-Georg 2003 ch. 2-3] with a
    quadratic predictor; the schedule is fixed so that the whole grid advances with one
    vectorised evaluation per step.

    A point is reported converged only if every Newton correction along the path stayed
    below ``max_correction`` (in the units of ``x``: the predictor was accurate, so the
    corrector stayed in the basin of the point it is tracking, and the path cannot have
    jumped to another branch) and the polish reached ``tol``; the others (status 1, or 3 for
    a non-finite value) are left for :func:`continuation_newton`.

    Parameters
    ----------
    fun : callable
        ``fun(x, tau, want_scale) -> (F, J, F_tau, scale)`` with ``x`` a tuple of ``n``
        arrays of shape ``(N,)`` and ``tau`` of shape ``(N,)``; ``F``, ``F_tau`` and
        ``scale`` are sequences of ``n`` arrays and ``J`` a sequence of ``n`` rows of ``n``
        arrays (``J[i][j] = dF_i/dx_j``).  ``n`` is 1, 2 or 3.  A component of ``F_tau``
        may be the float ``0.0`` (skipped in the products), and ``scale`` may be ``None``
        when ``want_scale`` is false (the path steps do not read it).
    x0, dx0 : sequence of n arrays of shape (N,)
        Starting point at ``tau0`` and its slope ``dx/dtau``.
    tau0, tau1 : ndarray, shape (N,)
        Start and target of the path parameter (``tau0 = tau1`` gives plain Newton).
    tol : float
        Relative residual required at the target.
    step : float
        Largest step in ``tau``.
    max_correction : float
        Largest Newton correction accepted along the path.
    polish_maxiter : int
        Newton iterations allowed at the target.
    max_step : float
        Largest change of any unknown in one polishing iteration (damping).

    Returns
    -------
    SolverResult
        ``x`` of shape ``(N, n)``; ``nit`` counts the residual evaluations spent on each point
        (one Newton step each).
    """
    n = len(x0)
    x = tuple(np.array(v, dtype=float) for v in x0)
    t = tuple(np.array(v, dtype=float) for v in dx0)
    tau0 = np.asarray(tau0, dtype=float)
    tau1 = np.asarray(tau1, dtype=float)
    span = np.abs(tau1 - tau0)
    finite = np.isfinite(span)
    n_steps = int(np.ceil(np.max(span[finite]) / step)) if np.any(finite) else 0
    n_points = tau0.size
    worst = np.zeros(n_points)
    with np.errstate(all="ignore"):
        if n_steps:
            dt = (tau1 - tau0) / n_steps
            if n == 2:
                x, worst = _path_2(fun, x, t, tau0, tau1, dt, n_steps)
            else:
                x, worst = _path_n(fun, x, t, tau0, tau1, dt, n_steps)
        on_path = worst <= max_correction  # False for NaN as well
        polish = _polish_2 if n == 2 else _polish_n
        x, residual, done, extra = polish(fun, x, tau1, tol, polish_maxiter, max_step)
        nit = n_steps + extra
    residual = np.where(np.isfinite(residual), residual, np.inf)
    converged = done & on_path
    status = np.where(converged, 0, np.where(np.isfinite(residual) & np.isfinite(worst), 1, 3))
    return _result(np.stack(x, axis=-1), converged, residual, status, nit)


def _polish_n(fun, x, tau1, tol, maxiter, max_step):
    """Damped Newton at the target; a point stops at the first iterate whose relative
    residual is below ``tol`` (the residual returned is measured there)."""
    n_points = tau1.size
    nit = np.zeros(n_points, dtype=int)
    residual = np.full(n_points, np.inf)
    done = np.zeros(n_points, dtype=bool)
    for it in range(maxiter + 1):
        F, J, _, scale = fun(x, tau1, True)
        r = _largest([f / sc for f, sc in zip(F, scale)])
        act = ~done
        residual = np.where(act, r, residual)
        done |= act & (r < tol)
        if it == maxiter or np.all(done | ~np.isfinite(r)):
            break
        move = solve_small(J, F)
        big = _largest(move)
        damp = np.where(big > max_step, max_step / big, 1.0)
        grow = ~done & np.isfinite(r)
        x = tuple(np.where(grow, xi - damp * mi, xi) for xi, mi in zip(x, move))
        nit += grow
    return x, residual, done, nit


def _polish_2(fun, x, tau1, tol, maxiter, max_step):
    """:func:`_polish_n` written out for two unknowns."""
    x0, x1 = x
    n_points = tau1.size
    nit = np.zeros(n_points, dtype=int)
    residual = np.full(n_points, np.inf)
    done = np.zeros(n_points, dtype=bool)
    for it in range(maxiter + 1):
        (F0, F1), ((a, b), (c, d)), _, (s0, s1) = fun((x0, x1), tau1, True)
        r = np.maximum(np.abs(F0) / s0, np.abs(F1) / s1)
        act = ~done
        np.copyto(residual, r, where=act)
        done |= act & (r < tol)
        if it == maxiter or np.all(done | ~np.isfinite(r)):
            break
        idet = 1.0 / (a * d - b * c)
        m0 = (d * F0 - b * F1) * idet
        m1 = (a * F1 - c * F0) * idet
        big = np.maximum(np.abs(m0), np.abs(m1))
        grow = ~done & np.isfinite(r)
        fac = np.where(big > max_step, max_step / big, 1.0)
        x0 = np.where(grow, x0 - fac * m0, x0)  # the others keep their measured iterate
        x1 = np.where(grow, x1 - fac * m1, x1)
        nit += grow
    return (x0, x1), residual, done, nit


def _path_n(fun, x, t, tau0, tau1, dt, n_steps):
    """The path steps of :func:`path_newton` for any n (component tuples)."""
    # with equal steps the quadratic predictor x + t dt + (t - t_prev) dt / 2 is
    # x + dt (3 t - t_prev) / 2; g = -t = J^{-1} dF/dtau is what the solve gives
    a_dt, b_dt = 1.5 * dt, 0.5 * dt
    g = tuple(-v for v in t)
    g_prev = g
    worst = np.zeros(tau0.shape)
    for k in range(1, n_steps + 1):
        tau = tau0 + k * dt if k < n_steps else tau1
        pred = tuple(xi - gi * a_dt + gp * b_dt for xi, gi, gp in zip(x, g, g_prev))
        F, J, F_tau, _ = fun(pred, tau, False)
        inv = _inverse_small(J)
        corr = _apply(inv, F)
        worst = np.maximum(worst, _largest(corr))
        x = tuple(p - c for p, c in zip(pred, corr))
        if k < n_steps:
            g_prev, g = g, _apply(inv, F_tau)
    return x, worst


def _path_2(fun, x, t, tau0, tau1, dt, n_steps):
    """:func:`_path_n` written out for two unknowns (the same arithmetic, fewer calls)."""
    a_dt, b_dt = 1.5 * dt, 0.5 * dt
    x0, x1 = x
    g0, g1 = -t[0], -t[1]
    p0, p1 = g0, g1
    worst = np.zeros(tau0.shape)
    for k in range(1, n_steps + 1):
        tau = tau0 + k * dt if k < n_steps else tau1
        y0 = x0 - g0 * a_dt + p0 * b_dt
        y1 = x1 - g1 * a_dt + p1 * b_dt
        (F0, F1), ((a, b), (c, d)), (e0, e1), _ = fun((y0, y1), tau, False)
        idet = 1.0 / (a * d - b * c)
        c0 = (d * F0 - b * F1) * idet
        c1 = (a * F1 - c * F0) * idet
        worst = np.maximum(worst, np.maximum(np.abs(c0), np.abs(c1)))
        x0, x1 = y0 - c0, y1 - c1
        if k < n_steps:
            p0, p1 = g0, g1
            if isinstance(e0, float) and e0 == 0.0:
                g0, g1 = -b * e1 * idet, a * e1 * idet
            else:
                g0, g1 = (d * e0 - b * e1) * idet, (a * e1 - c * e0) * idet
    return (x0, x1), worst


def _largest(parts):
    """Elementwise ``max_i |parts[i]|`` (NaN if any part is NaN)."""
    out = np.abs(parts[0])
    for v in parts[1:]:
        out = np.maximum(out, np.abs(v))
    return out


def merge_results(first: SolverResult, sel, second: SolverResult) -> SolverResult:
    """``first`` with the points ``sel`` (integer indices) replaced by ``second`` (solved on
    exactly those points, in that order); iterations add up."""
    x = first.x.copy()
    converged, residual = first.converged.copy(), first.residual.copy()
    status, nit = first.status.copy(), first.nit.copy()
    x[sel] = second.x
    converged[sel] = second.converged
    residual[sel] = second.residual
    status[sel] = second.status
    nit[sel] += second.nit
    return _result(x, converged, residual, status, nit)
