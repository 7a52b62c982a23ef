"""Spectrum of the feature Gram matrix and the train errors along training, isotropic data.

Both come from the isotropic system of :mod:`lowdim.theory.rf._system`, solved at complex
``z = x + i eta`` with ``zeta = 0`` instead of at ``z = -lambda``.  Its unknown ``q`` is then the
Stieltjes transform of the limiting spectral law ``rho`` of ``U = F^T F/(n m)`` (p x p), and
the trace function ``T1`` that of the weighted law ``nu_1`` [derived: docs/dynamics.md
sect. 2, checked against finite-size traces]:

    q(z)  = (1/p) Tr (U - z)^{-1}                 = int rho(du) / (u - z),
    T1(z) = (Delta/d) Tr [V V^T (U - z)^{-1}]     = int nu_1(du) / (u - z),
    rho(x) = Im q(x + i0) / pi,                     nu_1(x) = Im T1(x + i0) / pi,

with ``V = F^T Xi / (sqrt(Delta) n m)``.  Gradient flow on the ridge-regularised DSM loss from
``A = 0`` gives ``A(tau)/sqrt(p) = -V^T g_tau(U)`` with

    g_tau(u) = (1 - exp(-(u + lam) tau)) / (u + lam),

and ``k`` steps of gradient descent with step ``c`` replace ``exp(-(u + lam) tau)`` by
``(1 - c (u + lam))^k`` [derived: docs/dynamics.md sect. 1; BUBM25 has the
m = inf, lam = 0 case].  The train errors are then one-point spectral integrals [derived:
docs/dynamics.md sect. 2]:

    L_train(tau)     = 1 + int nu_1(du) [u g(u)^2 - 2 g(u)],
    L_train_reg(tau) = L_train(tau) + lam int nu_1(du) g(u)^2,

which at ``tau = inf`` are ``1 - T1 - lam dT1/dz`` and ``1 - T1`` at ``z = -lam``, the values
of :func:`lowdim.theory.rf.predict`.

Numerics.  The solution at ``x + i eta`` is reached by continuation in ``log Im z`` at fixed
``Re z`` from ``Im z`` far above the spectrum, where ``q = 1/(a - z)`` and ``r = 1/(b - z)``
(``a = mu1^2 + mu*^2``, ``b = a + psi_p mu1^2``, the large-ridge start of
:func:`lowdim.theory.rf._predict._large_ridge_start`); this stays on the Herglotz branch
(``Im q, Im r > 0``).  The edges of the bulks are fold points of the real system (``F = 0``
and ``det dF/d(q, r) = 0``), the atoms come from ranks, and integrals over a bulk use nested
Gauss-Chebyshev nodes of the second kind between its edges (the densities vanish like square
roots there), doubled until two levels agree.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, fields

import numpy as np

from .._checks import floats, positive_number
from ..tidy import Tidy, TidyData
from ._complex_sigma import SigmaSystem, ladder
from ._predict import _coefficients, _sigma_coefficients, _spread
from ._setting import RFSetting, check_setting
from ._system import Coefficients, _components, _parts

__all__ = ["USpectrum", "spectrum", "train_curve"]

ETA = 1e-12            # Im z of the real-axis evaluations, relative to the spectral scale
RUNGS = 80             # rungs of the log Im z ladder (retried with 4 and 16 times as many)
FAST_RUNGS = 24        # rungs of a first, short try (kept where it solves on the right branch)
RESIDUAL_TOL = 1e-9    # relative residual a solution must reach
QUAD_TOL = 1e-11       # agreement of two quadrature levels
FIRST_LEVEL, LAST_LEVEL = 8, 13   # 2^level - 1 Chebyshev nodes per bulk
SCAN_POINTS = 600      # points of the support scan (four times more when a bulk is missed)
MASS_SLACK = 10.0      # a mass off by at most this many quadrature error estimates is kept


@dataclass(frozen=True, eq=False)
class USpectrum(Tidy):
    """Limiting spectral law of ``U = F^T F/(n m)`` (isotropic data).

    ``to_pandas()`` is the density table over ``x`` (the atoms and bulks in ``df.attrs``);
    ``to_xarray()`` also has them, over the dimensions ``atom`` and ``bulk``.

    Attributes
    ----------
    x : ndarray
        Where the density is given.
    density : ndarray
        Density of the continuous part at ``x`` (atoms excluded).
    atoms : tuple of (location, mass)
    bulks : tuple of (lower_edge, upper_edge)
        The intervals of the continuous part, edges from the fold condition.
    mass : float
        Mass of the continuous part (``1 - sum of the atom masses``, up to quadrature error).
    """

    x: np.ndarray
    density: np.ndarray
    atoms: tuple
    bulks: tuple
    mass: float

    def _tidy(self):
        atoms = np.array(self.atoms, dtype=float).reshape(-1, 2)
        bulks = np.array(self.bulks, dtype=float).reshape(-1, 2)
        return TidyData({"x": self.x, "atom": None, "bulk": None},
                        {"density": (("x",), np.ravel(self.density)),
                         "atom_location": (("atom",), atoms[:, 0]),
                         "atom_mass": (("atom",), atoms[:, 1]),
                         "bulk_lower": (("bulk",), bulks[:, 0]),
                         "bulk_upper": (("bulk",), bulks[:, 1]),
                         "mass": float(self.mass)}, table=("x",))

    def cdf(self, at, *, closed: bool = True) -> np.ndarray:
        """The distribution function at ``at``: the density integrated by the trapezoid rule
        over ``x`` and the bulk edges (accurate on the default, edge-clustered grid), plus
        the atoms at or below ``at`` (``closed``) or strictly below (the left limit)."""
        at = np.asarray(at, dtype=float)
        x = np.concatenate([self.x.ravel()] + [np.array(b) for b in self.bulks])
        rho = np.concatenate([self.density.ravel(), np.zeros(2 * len(self.bulks))])
        order = np.argsort(x)
        x, rho = x[order], rho[order]
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(x))])
        out = np.interp(at, x, cum, left=0.0)
        for where, weight in self.atoms:
            out = out + weight * ((at >= where) if closed else (at > where))
        return out

    def kolmogorov_distance(self, eigenvalues) -> float:
        """``sup |F - F_emp|`` against the empirical law of ``eigenvalues``, from both
        one-sided limits at every eigenvalue; eigenvalues within ``1e-9`` (relative) of an
        atom, numerical zeros for instance, are put on it."""
        ev = np.sort(np.asarray(eigenvalues, dtype=float).ravel())
        if ev.size == 0 or not np.all(np.isfinite(ev)):
            raise ValueError("eigenvalues: need at least one, all finite")
        scale = max(abs(ev[-1]), abs(ev[0]), 1e-300)
        for where, _ in self.atoms:
            ev[np.abs(ev - where) <= 1e-9 * scale] = where
        right = np.searchsorted(ev, ev, side="right") / ev.size
        left = np.searchsorted(ev, ev, side="left") / ev.size
        return float(max(np.max(np.abs(self.cdf(ev) - right)),
                         np.max(np.abs(self.cdf(ev, closed=False) - left))))

    def wasserstein_distance(self, eigenvalues) -> float:
        """``int |F - F_emp| dx`` against the empirical law of ``eigenvalues`` (the W1
        distance: the mean shift that moves one law onto the other), over the eigenvalues,
        ``x`` and the bulk edges."""
        ev = np.sort(np.asarray(eigenvalues, dtype=float).ravel())
        if ev.size == 0 or not np.all(np.isfinite(ev)):
            raise ValueError("eigenvalues: need at least one, all finite")
        grid = np.unique(np.concatenate([ev, self.x.ravel(), np.ravel(self.bulks),
                                         [w for w, _ in self.atoms]]))
        gap = np.abs(self.cdf(grid) - np.searchsorted(ev, grid, side="right") / ev.size)
        return float(np.sum(gap[:-1] * np.diff(grid)))


# --------------------------------------------------------------------------- validation
def _isotropic_coefficients(setting) -> Coefficients:
    """The system's constants of a one-point isotropic setting, else a ``ValueError``."""
    check_setting(setting)
    if setting.data != "gaussian":
        raise ValueError(f"setting: data={setting.data!r} is not yet supported here "
                         "(isotropic 'gaussian' data only)")
    if setting.size != 1:
        raise ValueError(f"setting: give one grid point (got shape {setting.shape}; "
                         "iterate over setting.points())")
    return _coefficients(setting)


def _system_of(setting):
    """The spectral problem of a one-point setting: :class:`_IsotropicSystem` for Gaussian
    data, :class:`lowdim.theory.rf._complex_sigma.SigmaSystem` for the other data models."""
    check_setting(setting)
    if setting.size != 1:
        raise ValueError(f"setting: give one grid point (got shape {setting.shape}; "
                         "iterate over setting.points())")
    if setting.data == "gaussian":
        return _IsotropicSystem(_coefficients(setting))
    return SigmaSystem(_sigma_coefficients(setting))


def _check_times(taus, gd_step) -> np.ndarray:
    """``taus`` as a 1-d float array of times ``>= 0`` (``inf`` allowed); whole step counts
    for gradient descent."""
    arr = np.atleast_1d(np.array(floats("taus", taus), dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"taus: give a 1-d sequence of at least one time (got shape "
                         f"{arr.shape})")
    if np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError("taus: every time must be >= 0 (inf allowed, NaN not)")
    if gd_step is not None:
        finite = arr[np.isfinite(arr)]
        if np.any(finite != np.round(finite)):
            raise ValueError("taus: with gd_step the times are step counts and must be whole")
    return arr


def _check_stable(c, u_max: float, lam: float):
    """A ``ValueError`` unless gradient descent with step ``c`` converges:
    ``c (u_max + lam) < 2``."""
    if c is not None and c * (u_max + lam) >= 2.0:
        raise ValueError(f"gd_step: c (u_max + lam) = {c * (u_max + lam):.4g} >= 2, gradient "
                         f"descent diverges; take gd_step < {2.0 / (u_max + lam):.4g}")


# --------------------------------------------------------------------------- complex solve
def _newton(co: Coefficients, q, r, z, iters: int = 30):
    """Newton on ``(F1, F2) = 0`` in ``(q, r)`` at fixed complex ``z`` (explicit 2x2 solves,
    ``z`` an array like ``q``); a point stops when its relative steps are below 1e-13."""
    q, r = q.copy(), r.copy()
    active = np.arange(q.size)
    for _ in range(iters):
        qa, ra = q[active], r[active]
        F1, F2, a, b, c, d, _, _ = _components(co, qa, ra, z[active], 0.0)
        det = a * d - b * c
        dq = (b * F2 - d * F1) / det
        dr = (c * F1 - a * F2) / det
        q[active], r[active] = qa + dq, ra + dr
        moving = (np.abs(dq) > 1e-13 * np.abs(qa + dq)) | (np.abs(dr) > 1e-13 * np.abs(ra + dr))
        active = active[moving]
        if active.size == 0:
            break
    return q, r


def _ladder(co: Coefficients, x, eta: float, rungs: int):
    """``(q, r)`` at ``x + i eta`` by continuation in ``log Im z`` at fixed ``x`` from
    ``Im z = 100 spread`` and the large-ridge guess continued to complex ``z``."""
    X = ladder(_IsotropicSystem(co), x, eta, rungs)
    return X[:, 0], X[:, 1]


def _relative_residual(co: Coefficients, q, r, z):
    """``max_i |F_i| / scale_i`` with scales the sums of the moduli of each equation's terms."""
    F1, F2, *_ = _components(co, q, r, z, 0.0)
    _, eps, w, A1, B1, D1, E1, L1, L2 = _parts(co, q, r)
    pp = co.psi_p
    s1 = (np.abs(1.0 / r) + np.abs(1.0 / q) + np.abs(pp * A1 / L1)
          + np.abs(pp * w * D1 / L2))
    s2 = (np.abs(z * pp) + np.abs((1.0 - pp) / q) + np.abs(r / q**2)
          + np.abs(pp * B1 / L1) + np.abs(pp * w * E1 / L2))
    return np.maximum(np.abs(F1) / s1, np.abs(F2) / s2)


def _good(co, q, r, z):
    """Solutions that are finite, solve the system and lie on the Herglotz branch."""
    with np.errstate(all="ignore"):
        res = _relative_residual(co, q, r, z)
        ok = np.isfinite(q) & np.isfinite(r) & (res <= RESIDUAL_TOL)
        ok &= (q.imag >= -1e-9 * np.abs(q)) & (r.imag >= -1e-9 * np.abs(r))
    return ok


class _IsotropicSystem:
    """The isotropic system of one setting point at complex ``z``, with the interface of
    :class:`lowdim.theory.rf._complex_sigma.SigmaSystem`: unknowns ``(k, 2)`` (``q, r``)."""

    unknowns = 2

    def __init__(self, co: Coefficients):
        self.co = co
        self.spread = float(_spread(co)[0])
        a = co.mu1sq + co.musq
        self.scan_top = float(2.0 * (a * (1.0 + np.sqrt(co.c)) ** 2
                                     + co.mu1sq * (1.0 + np.sqrt(co.psi_p)) ** 2)[0])

    def start(self, z) -> np.ndarray:
        """The large-ridge guess continued to complex ``z``: ``q = 1/(a - z)``,
        ``r = 1/(b - z)``, ``a = mu1^2 + mu*^2``, ``b = a + psi_p mu1^2``."""
        a = self.co.mu1sq + self.co.musq
        b = a + self.co.psi_p * self.co.mu1sq
        return np.stack([1.0 / (a - z), 1.0 / (b - z)], -1)

    def newton(self, X, z) -> np.ndarray:
        z = np.broadcast_to(np.asarray(z, dtype=complex), X.shape[:1])
        return np.stack(_newton(self.co, X[:, 0], X[:, 1], z), -1)

    def good(self, X, z) -> np.ndarray:
        return _good(self.co, X[:, 0], X[:, 1], z)

    def dq_dz(self, X, z) -> np.ndarray:
        """``dq/dz`` by implicit differentiation (``dF/dz = (0, psi_p)``)."""
        _, _, a, b, c, d, _, _ = _components(self.co, X[:, 0], X[:, 1], 0.0, 0.0)
        return b * self.co.psi_p / (a * d - b * c)

    def x_of(self, X) -> np.ndarray:
        """The ``z`` at which ``(q, r)`` solves ``F2`` (linear in ``z``)."""
        return -_components(self.co, X[:, 0], X[:, 1], 0.0, 0.0)[1] / self.co.psi_p

    def fold_equations(self, X) -> np.ndarray:
        """``(F1, det dF/d(q, r))``: neither involves ``z``."""
        F1, _, a, b, c, d, _, _ = _components(self.co, X[:, 0], X[:, 1], 0.0, 0.0)
        return np.stack([F1, a * d - b * c], -1)

    def rank_point(self):
        return _rank_point(self.co)

    @property
    def key(self) -> tuple:
        """The setting point's constants, as a dictionary key."""
        return ("gaussian",) + tuple(float(getattr(self.co, f.name)[0]) for f in fields(self.co))

    def t1(self, X) -> np.ndarray:
        return _t1(self.co, X[:, 0], X[:, 1])


def _as_system(co_or_system):
    return _IsotropicSystem(co_or_system) if isinstance(co_or_system, Coefficients) else co_or_system


def _traces(system, x, eta: float, *, on_axis: bool = False) -> np.ndarray:
    """The unknowns at ``x + i eta`` (1-d real ``x``), shape ``(len(x), unknowns)``, or with
    ``on_axis`` at ``x + i0`` (the ladder down to ``eta``, then Newton at real ``x``: the
    boundary value inside a bulk, where the Herglotz root is regular).  Points that fail are
    retried on finer ladders, and a ``RuntimeError`` names those that still fail."""
    x = np.asarray(x, dtype=float)
    X = np.full((x.size, system.unknowns), np.nan + 0j)
    todo = np.arange(x.size)
    for rungs in (FAST_RUNGS, RUNGS, 4 * RUNGS, 16 * RUNGS):
        z = x[todo] + (0j if on_axis else 1j * eta)
        with np.errstate(all="ignore"):
            Xs = ladder(system, x[todo], eta, rungs)
            if on_axis:
                Xs = system.newton(Xs, z)
        ok = system.good(Xs, z)
        X[todo[ok]] = Xs[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return X
    raise RuntimeError(f"spectrum: the continuation in Im z did not converge at "
                       f"{todo.size} of {x.size} points (first x = {x[todo[0]]:.6g}, "
                       f"eta = {eta:.3g})")


# --------------------------------------------------------------------------- atoms, edges
def _rank_point(co: Coefficients):
    """Where ``U`` is rank-deficient and the deficiency ratio (negative when it has full
    rank) [derived: rank of U for finite m; paper: BUBM25 Thm 3.1 for m = inf]: finite
    ``m``, ``U`` has rank ``min(p, n m)``, so ``(0, 1 - m psi_n/psi_p)``; ``m = inf``,
    ``U - s_t^2`` has rank ``n + d``, so ``(s_t^2, 1 - (1 + psi_n)/psi_p)`` with
    ``s_t^2 = mu*^2 (1 - kappa)``; linear features (``mu* = 0``) have at most the rank ``d``
    of ``W``."""
    pn, pp, eps = float(co.psi_n[0]), float(co.psi_p[0]), float(co.eps[0])
    if not co.musq[0] > 1e-14 * co.mu1sq[0]:
        # linear features: U = mu1^2 W S W^T/d has the rank of W, at most d
        return 0.0, 1.0 - (min(pn / eps, 1.0) if eps > 0.0 else 1.0) / pp
    if eps > 0.0:
        return 0.0, 1.0 - pn / (eps * pp)
    return float(co.musq[0] * (1.0 - co.kappa[0])), 1.0 - (1.0 + pn) / pp


def _atoms(system) -> tuple:
    """The atoms of ``rho``: the rank point when its ratio is > 0."""
    where, mass = _as_system(system).rank_point()
    return ((where, mass),) if mass > 0.0 else ()


def _atom_part(atoms, x, eta):
    """``Im q / pi`` of the atoms at ``x + i eta`` (their Lorentzians)."""
    out = np.zeros_like(x)
    for where, mass in atoms:
        out += mass * eta / (np.pi * ((x - where) ** 2 + eta**2))
    return out


def _in_support(system, X, x, eta: float):
    """True inside a bulk: there ``Im q`` stays finite as ``eta -> 0``, while in a gap (and on
    an atom's tail) ``Im q = eta |dq/dz| (1 + O(eta))`` [derived: q is real-analytic there]."""
    with np.errstate(all="ignore"):
        return X[:, 0].imag > 10.0 * eta * np.abs(system.dq_dz(X, x + 1j * eta))


def _scan_grid(system, hi: float, points: int) -> np.ndarray:
    """Sorted points of ``(0, hi]``: geometric near 0, uniform, and geometric about the rank
    point (where an atom sits, or a bulk may start)."""
    parts = [np.geomspace(1e-10 * hi, hi, points), np.linspace(0.0, hi, points)[1:]]
    where, _ = system.rank_point()
    if where > 0.0:
        off = where * np.geomspace(1e-14, 0.5, points // 4)
        parts += [where - off, where + off]
    return np.unique(np.concatenate(parts))


def _fold(system, X0):
    """A real fold point of the system (the equations not involving ``z`` and ``det`` of the
    Jacobian, :meth:`fold_equations`), by damped Newton with a central-difference Jacobian
    (the point and its ``2n`` neighbours in one evaluation); the unknowns or None."""
    v = np.array(X0, dtype=float)
    n = v.size
    for _ in range(60):
        e = np.diag(1e-7 * np.abs(v))
        pts = np.concatenate([v[None, :], v + e, v - e]).astype(complex)
        g = system.fold_equations(pts).real
        jac = (g[1:n + 1] - g[n + 1:]).T / (2.0 * np.diag(e))
        try:
            step = np.linalg.solve(jac, -g[0])
        except np.linalg.LinAlgError:
            return None
        v = v + step * min(1.0, float(np.min(0.2 * np.abs(v) / (np.abs(step) + 1e-300))))
        if np.all(np.abs(step) <= 1e-13 * np.abs(v)):
            return v
        if not np.all(np.isfinite(v)):
            return None
    return None


EDGE_ROUNDS, EDGE_HALVINGS = 6, 8   # fold tries, and bracket halvings between two tries
EDGE_BRACKET = 1e-9                 # a bracket this narrow (relative) is the edge itself


def _halved(system, x_out: float, x_in: float, eta: float):
    """The bracket ``(x_out, x_in)`` of an edge halved by the support test at its middle."""
    mid = 0.5 * (x_out + x_in)
    Xm = _traces(system, np.array([mid]), eta)
    return (x_out, mid) if _in_support(system, Xm, np.array([mid]), eta)[0] else (mid, x_in)


def _edge(system, x_out: float, x_in: float, eta: float, X_out=None) -> float:
    """The fold edge between a point outside the support and one inside: Newton on the fold
    from the real solution at the outside point (``X_out`` when the scan has it); where it
    does not land in the bracket, the bracket is halved a few times by the support test and
    the fold tried again from its new outside end.  A bracket narrowed to ``EDGE_BRACKET``
    (a fold Newton cannot reach, as next to a cusp) gives its middle."""
    for _ in range(EDGE_ROUNDS):
        X = _traces(system, np.array([x_out]), eta) if X_out is None else X_out[None, :]
        X_out = None
        with np.errstate(all="ignore"):
            v = _fold(system, X[0].real)
        if v is not None:
            x_e = float(system.x_of(v[None, :].astype(complex))[0].real)
            if min(x_out, x_in) <= x_e <= max(x_out, x_in):
                return x_e
        for _ in range(EDGE_HALVINGS):
            x_out, x_in = _halved(system, x_out, x_in, eta)
        if abs(x_in - x_out) <= EDGE_BRACKET * max(abs(x_in), abs(x_out)):
            return 0.5 * (x_in + x_out)
    for _ in range(60):       # no fold: the support test alone, to the narrow bracket
        if abs(x_in - x_out) <= EDGE_BRACKET * max(abs(x_in), abs(x_out)):
            return 0.5 * (x_in + x_out)
        x_out, x_in = _halved(system, x_out, x_in, eta)
    raise RuntimeError(f"spectrum: no fold edge found between {x_out:.6g} and {x_in:.6g}"
                       f"{_critical_hint(system)}")


def _critical_hint(system) -> str:
    """A note for error messages near the critical ratio, where a bulk edge comes within
    ``~ ratio^2`` of the rank point and is not resolved."""
    where, ratio = system.rank_point()
    if abs(ratio) >= 1e-2:
        return ""
    crit = "1 + psi_n" if system.co.eps[0] == 0.0 else "m psi_n"
    return (f" (psi_p is within a relative {abs(ratio):.2g} of the critical {crit}, where a "
            f"bulk edge approaches the rank point {where:.6g}; not resolved so close)")


# --------------------------------------------------------------------------- quadrature
class _BulkQuadrature:
    """Nested Gauss-Chebyshev nodes of the second kind on every bulk, with the unknowns solved
    at each node: level ``j`` has the ``2^j - 1`` nodes ``x = mid - half cos(k pi/2^j)`` and
    weights ``half (pi/2^j) sin(k pi/2^j)``, and the even ``k`` are the nodes of level
    ``j - 1`` (their weights there are twice as large), so a refinement solves only the new
    nodes [derived: the trapezoid rule in theta for ``int f(x) dx``, spectrally accurate when
    ``f`` vanishes like a square root at both edges]."""

    def __init__(self, system, bulks, hard, eta: float):
        self.system, self.bulks, self.eta, self.level = system, tuple(bulks), eta, FIRST_LEVEL
        self.hard = np.asarray(hard, dtype=bool)
        k = np.arange(1, 2**FIRST_LEVEL)
        self.theta = k * np.pi / 2**FIRST_LEVEL
        self.X = self._solve(self.theta)

    def _points(self, theta):
        mids = [0.5 * (lo + hi) for lo, hi in self.bulks]
        halves = [0.5 * (hi - lo) for lo, hi in self.bulks]
        return np.concatenate([m - h * np.cos(theta) for m, h in zip(mids, halves)])

    def _solve(self, theta):
        X = _traces(self.system, self._points(theta), self.eta, on_axis=True)
        return X.reshape(len(self.bulks), theta.size, -1)

    def _solve_between(self, new):
        """The new nodes of a refinement (``new[j]`` lies between the present nodes ``j - 1``
        and ``j``): Newton on the real axis from the mean of the two neighbours, kept where it
        converges on the Herglotz branch with ``Im q`` at least half the smaller neighbour's
        (a bulk's interior, where the boundary value is smooth); the ladder of :meth:`_solve`
        for the rest and for the two nodes next to each edge."""
        guess = 0.5 * (self.X[:, :-1] + self.X[:, 1:])
        inner = np.empty((len(self.bulks), new.size), dtype=bool)
        inner[:] = False
        inner[:, 1:-1] = True
        x = self._points(new).reshape(len(self.bulks), new.size)
        X = np.full((len(self.bulks), new.size, self.X.shape[2]), np.nan + 0j)
        xi = x[:, 1:-1].ravel()
        with np.errstate(all="ignore"):
            Xi = self.system.newton(guess.reshape(xi.size, -1), xi + 0j)
            floor = 0.5 * np.minimum(self.X[:, :-1, 0].imag, self.X[:, 1:, 0].imag).ravel()
            ok = self.system.good(Xi, xi + 0j) & (Xi[:, 0].imag >= floor)
        X[:, 1:-1] = np.where(ok[:, None], Xi, np.nan).reshape(len(self.bulks), -1, X.shape[2])
        redo = ~np.all(np.isfinite(X), axis=2)
        if np.any(redo):
            X[redo] = _traces(self.system, x[redo], self.eta, on_axis=True)
        return X

    def refine(self):
        """Solve the nodes of the next level and interleave them with the present ones."""
        self.level += 1
        size = 2**self.level - 1
        new = np.arange(1, size + 1, 2) * np.pi / 2**self.level
        X_new = self._solve_between(new)
        theta = np.empty(size)
        X = np.empty((len(self.bulks), size, self.X.shape[2]), dtype=complex)
        theta[0::2], theta[1::2] = new, self.theta
        X[:, 0::2], X[:, 1::2] = X_new, self.X
        self.theta, self.X = theta, X

    def nodes(self):
        """``(x, weights, X)`` of the present level, flattened over the bulks (``X`` the
        unknowns, shape ``(nodes, unknowns)``)."""
        halves = np.repeat([0.5 * (hi - lo) for lo, hi in self.bulks], self.theta.size)
        w = halves * np.tile(np.pi / 2**self.level * np.sin(self.theta), len(self.bulks))
        return self._points(self.theta), w, self.X.reshape(-1, self.X.shape[2])

    def estimate(self, integrand):
        """The quadrature of ``integrand(x, X)`` (values of shape ``(nodes,)`` or
        ``(nodes, k)``) and its change from the level below.  On a bulk with a hard lower edge
        the integrand tends to a constant ``c`` at ``theta = 0`` and the rule misses the
        endpoint term ``h c/2`` (``h = pi/2^level``), so the estimate there is the
        extrapolation ``2 S_j - S_(j-1)`` [derived: the trapezoid rule in theta]."""
        x, w, X = self.nodes()
        f = np.asarray(integrand(x, X))
        wf = w.reshape((-1,) + (1,) * (f.ndim - 1)) * f
        wf = wf.reshape((len(self.bulks), self.theta.size) + f.shape[1:])
        s0, s1, s2 = wf.sum(1), 2.0 * wf[:, 1::2].sum(1), 4.0 * wf[:, 3::4].sum(1)
        hard = self.hard.reshape((-1,) + (1,) * (f.ndim - 1))
        fine = np.where(hard, 2.0 * s0 - s1, s0)
        coarse = np.where(hard, 2.0 * s1 - s2, s1)
        return fine.sum(0), np.abs(fine - coarse).sum(0)

    def integrate(self, integrand, tol: float = QUAD_TOL):
        """The quadrature, refined until two levels agree within ``tol`` (or the last level);
        returns ``(value, error estimate)``."""
        value, error = self.estimate(integrand)
        while np.max(error) > tol and self.level < LAST_LEVEL:
            self.refine()
            value, error = self.estimate(integrand)
        return value, error


def _density(atoms, x, q, eta):
    """The continuous density ``Im q(x + i eta)/pi`` less the atoms' Lorentzians, >= 0."""
    return np.maximum(q.imag / np.pi - _atom_part(atoms, x, eta), 0.0)


def _scan(system, eta: float, points: int):
    """The support scan: sorted points, which of them lie inside a bulk, and the solutions
    there; the range is doubled until its last point is outside."""
    hi = system.scan_top
    for _ in range(20):
        x = _scan_grid(system, hi, points)
        X = _traces(system, x, eta)
        inside = _in_support(system, X, x, eta)
        if not inside[-1]:
            return x, inside, X
        hi *= 2.0
    raise RuntimeError("spectrum: the support has no upper end below "
                       f"{hi:.3g} (the scan did not close)")


def _bulks_from_scan(system, x, inside, X, eta: float):
    """Bulks as ``(lower, upper)`` fold edges bracketed by the scan, and which lower edges are
    hard: 0 when the first scan point is inside a bulk, and the rank point at the critical
    ratio (``psi_p = m psi_n``, or ``psi_p = 1 + psi_n`` at ``m = inf``), where the density
    diverges like an inverse square root instead of folding."""
    where, ratio = system.rank_point()
    critical = abs(ratio) <= 1e-9
    edges, hard = ([0.0], [True]) if inside[0] else ([], [])
    for i in np.flatnonzero(inside[1:] != inside[:-1]):
        lower = bool(inside[i + 1])
        if lower and critical and x[i] <= where + 1e3 * eta and x[i + 1] >= where:
            edges.append(where)
            hard.append(True)
            continue
        out, inn = (i, i + 1) if lower else (i + 1, i)
        edges.append(_edge(system, float(x[out]), float(x[inn]), eta, X[out]))
        if lower:
            hard.append(False)
    return tuple(zip(edges[0::2], edges[1::2])), tuple(hard)


_SUPPORTS: dict = {}      # system key -> the support's quadrature as first built
_SUPPORTS_KEPT = 32


def _support(system, atoms) -> _BulkQuadrature:
    """The bulks and their quadrature; a scan that misses mass (a bulk narrower than its
    spacing) is repeated at four times the resolution, then a ``RuntimeError``.  ``system``
    is a system object or isotropic :class:`Coefficients`.  The last few supports are kept
    (the spectrum, the train and the test errors of one setting share one), and every caller
    gets a copy as first built, so a result does not depend on what was computed before."""
    system = _as_system(system)
    kept = _SUPPORTS.get(system.key)
    if kept is not None:
        return copy.copy(kept)
    eta = ETA * system.spread
    expected = 1.0 - sum(mass for _, mass in atoms)
    for points in (SCAN_POINTS, 4 * SCAN_POINTS):
        x, inside, X = _scan(system, eta, points)
        quad = _BulkQuadrature(system, *_bulks_from_scan(system, x, inside, X, eta), eta)
        mass, error = quad.integrate(lambda xs, X: _density(atoms, xs, X[:, 0], 0.0), 1e-12)
        # after the finer scan, a miss the quadrature's own error explains (a density with a
        # narrow neck, close to splitting into two bulks, converges slowly) is kept, and the
        # callers' error estimates say so; a miss beyond it means a bulk was not found
        slack = MASS_SLACK * float(error) if points > SCAN_POINTS else 0.0
        if abs(float(mass) - expected) < max(1e-7, slack):
            if len(_SUPPORTS) >= _SUPPORTS_KEPT:
                _SUPPORTS.pop(next(iter(_SUPPORTS)))
            _SUPPORTS[system.key] = quad
            return copy.copy(quad)
    raise RuntimeError(f"spectrum: the bulks found carry mass {float(mass):.9f}, expected "
                       f"{expected:.9f} (1 less the atoms){_critical_hint(system)}")


# --------------------------------------------------------------------------- spectrum
def _check_grid(x) -> np.ndarray:
    """``x`` as a float array (a copy), non-empty and finite."""
    arr = np.array(floats("x", x), dtype=float)
    if arr.size == 0:
        raise ValueError("x: empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x: every point must be finite")
    return arr


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def spectrum(setting: RFSetting, x=None, *, eta: float = 1e-12) -> USpectrum:
    """Limiting spectral law of ``U = F^T F/(n m)``, every data model, any ``m``.

    The density is ``Im q(x + i eta)/pi`` with ``q`` the solution of the system at complex
    ``z`` on the Herglotz branch (the isotropic system for Gaussian data, the
    general-covariance one of :mod:`lowdim.theory.rf._complex_sigma` otherwise), less the
    atoms' Lorentzians [derived: docs/dynamics.md sects. 3 and 6]; the atoms come from ranks
    (:func:`_atoms`) and the bulk edges from the fold condition.  With ``x`` None the density
    is given at the Chebyshev nodes of every bulk (the quadrature nodes of ``mass``, clustered
    at the edges), as the boundary value ``eta -> 0`` solved there for the quadrature;
    ``mass`` is always the quadrature over the bulks, not over ``x``.

    Parameters
    ----------
    setting : RFSetting
        One point, any data model.
    x : array_like, optional
        Where to give the density (any shape, finite).
    eta : float
        ``Im z`` of the evaluation, ``> 0``.

    Raises
    ------
    ValueError
        Naming the parameter.
    RuntimeError
        When the continuation does not converge or the bulks found miss mass.
    """
    system = _system_of(setting)
    eta = positive_number("eta", eta)
    grid = None if x is None else _check_grid(x)
    atoms = _atoms(system)
    quad = _support(system, atoms)
    mass, _ = quad.integrate(lambda xs, X: _density(atoms, xs, X[:, 0], 0.0), 1e-12)
    if grid is None:
        grid, _, X = quad.nodes()
        density = _density(atoms, grid, X[:, 0], 0.0)
    else:
        X = _traces(system, grid.ravel(), eta)
        density = _density(atoms, grid.ravel(), X[:, 0], eta).reshape(grid.shape)
    return USpectrum(x=_read_only(grid), density=_read_only(density), atoms=atoms,
                     bulks=quad.bulks, mass=float(mass))


# --------------------------------------------------------------------------- train errors
def _time_factor(u, lam: float, times, gd_step: float | None = None) -> np.ndarray:
    """``g(u)`` at every time, shape ``(len(u), len(times))`` [derived]:

        gradient flow:     g = (1 - exp(-(u + lam) tau)) / (u + lam),
        gradient descent:  g = (1 - (1 - c (u + lam))^k) / (u + lam),

    with the limits ``tau`` and ``c k`` at ``u + lam = 0`` and ``1/(u + lam)`` at infinite time
    (0 there when ``u + lam = 0``): the semantics of the finite-size simulation."""
    s = np.asarray(u, dtype=float)[:, None] + lam
    t = np.asarray(times, dtype=float)[None, :]
    tiny = np.abs(s) <= 1e-12 * max(1.0, float(np.max(np.abs(s), initial=0.0)))
    s = np.where(tiny, 1.0, s)
    tf = np.where(np.isinf(t), 0.0, t)
    with np.errstate(all="ignore"):
        if gd_step is None:
            decay, limit = np.expm1(-s * tf), t
        else:
            base = 1.0 - gd_step * s
            log_base = np.log1p(-gd_step * np.minimum(s, 1.0 / gd_step))
            decay = np.where(base > 0.0, np.expm1(tf * log_base), base**tf - 1.0)
            limit = gd_step * t
        g = np.where(tiny, limit, -decay / s)
        return np.where(np.isinf(t), np.where(tiny, 0.0, 1.0 / s), g)


def _t1(co: Coefficients, q, r):
    """``T1 = 1 - P + mu1^2 psi_p Delta r P^2`` with ``P = eps/L1 + (1 - eps)/L2``
    [paper: UBBM26-DD Thm 2.1], at any (complex) solution ``(q, r)``."""
    _, eps, w, *_, L1, L2 = _parts(co, q, r)
    P = eps / L1 + w / L2
    return 1.0 - P + co.mu1sq * co.psi_p * co.delta * r * P * P


def train_curve(setting: RFSetting, taus, *, gd_step: float | None = None) -> dict:
    """Train errors along gradient flow (or gradient descent) from ``A = 0``, isotropic data.

    One-point spectral integrals against ``nu_1(x) = Im T1(x + i0)/pi`` over the bulks
    [derived: docs/dynamics.md sect. 2; module docstring]:

        L_train(tau)     = 1 + int nu_1(du) [u g(u)^2 - 2 g(u)],
        L_train_reg(tau) = L_train(tau) + lam int nu_1(du) g(u)^2,

    with ``g`` of :func:`_time_factor`; ``tau = inf`` is the ridge minimiser (the train
    errors of :func:`lowdim.theory.rf.predict`).

    Parameters
    ----------
    setting : RFSetting
        One point, ``data="gaussian"``.
    taus : array_like
        Gradient-flow times ``>= 0``, or with ``gd_step`` whole step counts; ``inf`` allowed.
    gd_step : float, optional
        The step ``c`` of gradient descent; ``c (u_max + lam) < 2`` is required.

    Returns
    -------
    dict
        ``taus``, ``train_error``, ``train_error_reg`` and ``quadrature_error`` (arrays over
        ``taus``: the change between the last two quadrature levels), ``converged`` (every
        quadrature error below 1e-9) and ``bulks``.
    """
    system = _system_of(setting)
    times = _check_times(taus, gd_step)
    c = None if gd_step is None else positive_number("gd_step", gd_step)
    atoms = _atoms(system)
    quad = _support(system, atoms)
    lam = float(system.co.lam[0])
    _check_stable(c, max([quad.bulks[-1][1]] + [where for where, _ in atoms]), lam)

    def integrand(x, X):
        nu_1 = system.t1(X).imag / np.pi
        g = _time_factor(x, lam, times, c)
        return nu_1[:, None] * np.concatenate([x[:, None] * g * g - 2.0 * g, g * g], axis=1)

    value, error = quad.integrate(integrand)
    k = times.size
    train = 1.0 + value[:k]
    err = np.maximum(error[:k], error[:k] + lam * error[k:])
    return {"taus": times, "train_error": train, "train_error_reg": train + lam * value[k:],
            "quadrature_error": err, "converged": bool(np.all(err <= 1e-9)),
            "bulks": quad.bulks}
