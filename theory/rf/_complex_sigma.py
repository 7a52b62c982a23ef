"""The general-covariance system at complex ``z``: the spectral problem for every data model.

:mod:`lowdim.theory.rf._system_sigma` holds the three equations ``E(q, r, h; z) = 0`` of data
with covariance spectrum ``rho``.  Solved at ``z = x + i eta`` with ``zeta = zeta_S = 0``
instead of at ``z = -lambda``, its unknowns are Stieltjes transforms [derived:
docs/dynamics.md sect. 6]:

    q(z) = (1/p) Tr (U - z)^{-1},     r(z) = (1/(p d)) Tr W^T (U - z)^{-1} W,
    h(z) = (1/(p d)) Tr Sigma^{1/2} W^T (U - z)^{-1} W Sigma^{1/2},

so ``Im q, Im r, Im h > 0`` in the upper half plane (the Herglotz branch), and the trace
functions ``T1, T2`` of the system are those of the weighted laws ``nu_1, nu_2`` of
:mod:`lowdim.theory.rf._dynamics`.  The spectral integrals of ``rho`` continue analytically
off the real axis (:func:`lowdim.theory.spectra._edge_root`).

The branch is reached as for isotropic data: continuation in ``log Im z`` at fixed ``Re z``
from ``Im z`` a hundred times the spread of the spectrum, where ``q = r = -1/z`` and
``h = -sigma_x^2/z`` up to a relative ``O(spread/|z|)``.  :class:`SigmaSystem` gathers what
the spectrum and the train errors need (Newton at fixed ``z``, the residual test, the
support test, fold edges), :func:`sigma_points` what the two-point function needs.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._system_sigma import SigmaCoefficients, _state, residual_and_jacobian

__all__ = ["SigmaPoint", "SigmaSystem", "sigma_points"]

RESIDUAL_TOL = 1e-9   # relative residual a solution must reach
RUNGS = 80            # rungs of the log Im z ladder (retried with 4 and 16 times as many)


def _component_key(c) -> tuple:
    """A spectral component's parameters at the point, hashable (a discrete law by the
    bytes of its atoms and probabilities)."""
    if c.kind == "discrete":
        return (float(np.ravel(c.weight)[0]), hash(c.loc.tobytes()), hash(c.ratio.tobytes()))
    return tuple(float(np.ravel(v)[0]) for v in (c.weight, c.loc, c.scale, c.ratio))


@dataclass(frozen=True)
class SigmaPoint:
    """The one-point data at complex ``z`` (arrays over the points) [derived:
    docs/dynamics.md sect. 6]: the unknowns ``q, r, h``; ``L1, L2``,
    ``P = eps/L1 + (1 - eps)/L2``, ``alpha, beta, s`` of ``G ~ (s + W (alpha + beta Sigma)
    W^T/d)^{-1}``, the spectral arguments ``A = 1 + psi_p q alpha``, ``B = psi_p q beta``; and
    the trace functions with their on-manifold parts (``r_par = q I0_par(A, B)``,
    ``psi_par`` the on-manifold weight):

        T1     = 1 - P + mu1^2 psi_p Delta r P^2,             T2     = psi_p mu1 sqrt(Delta) r P,
        T1_par = psi_par (1 - P) + mu1^2 psi_p Delta r_par P^2, T2_par = psi_p mu1 sqrt(Delta) r_par P.
    """

    z: np.ndarray
    q: np.ndarray
    r: np.ndarray
    h: np.ndarray
    L1: np.ndarray
    L2: np.ndarray
    P: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    s: np.ndarray
    A: np.ndarray
    B: np.ndarray
    r_par: np.ndarray
    T1: np.ndarray
    T2: np.ndarray
    T1_par: np.ndarray
    T2_par: np.ndarray


class SigmaSystem:
    """The general-covariance system of one setting point at complex ``z``.

    Unknowns are arrays of shape ``(k, 3)`` (``q, r, h`` per point), ``z`` arrays of shape
    ``(k,)``.  ``co`` is the :class:`SigmaCoefficients` of one point.
    """

    unknowns = 3

    def __init__(self, co: SigmaCoefficients):
        if co.psi_n.size != 1:
            raise ValueError("setting: give one grid point")
        self.co = co
        self._cache: dict = {}
        mean = float(co.spectrum.mean()[0])
        top = float(co.spectrum.support()[1][0])
        a = float(co.mu1sq[0] * (co.a2[0] * mean + co.delta[0]) + co.musq[0])
        self.sigma_x2 = mean
        self.scale = a + float(co.mu1sq[0] * co.a2[0]) * top   # trace scale of the features
        self.spread = (self.scale * (1.0 + float(co.psi_p[0]))
                       * (1.0 + float(co.psi_p[0] / co.psi_n[0])) + 1.0)
        pp, c = float(co.psi_p[0]), float(co.psi_p[0] / co.psi_n[0])
        self.scan_top = 2.0 * (a * (1.0 + np.sqrt(c)) ** 2
                               + float(co.mu1sq[0]) * (1.0 + top) * (1.0 + np.sqrt(pp)) ** 2)

    @property
    def key(self) -> tuple:
        """The setting point's constants and covariance spectrum, as a dictionary key."""
        co = self.co
        consts = tuple(float(getattr(co, f.name)[0]) for f in fields(co)
                       if f.name != "spectrum")
        parts = tuple((c.kind, c.on_manifold) + _component_key(c)
                      for c in co.spectrum.components)
        return ("sigma",) + consts + parts

    # ----------------------------------------------------------------- evaluation
    def _co(self, k: int) -> SigmaCoefficients:
        if k not in self._cache:
            self._cache[k] = self.co.take(np.zeros(k, dtype=int))
        return self._cache[k]

    def residual(self, X, z):
        """``(E, J, scale)`` of :func:`lowdim.theory.rf._system_sigma.residual_and_jacobian`
        at complex arguments."""
        X = np.asarray(X, dtype=complex)
        z = np.broadcast_to(np.asarray(z, dtype=complex), X.shape[:1])
        return residual_and_jacobian(self._co(X.shape[0]), X[:, 0], X[:, 1], X[:, 2], z)

    def start(self, z) -> np.ndarray:
        """The large-``|z|`` solution ``q = r = -1/z``, ``h = -sigma_x^2/z``."""
        z = np.asarray(z, dtype=complex)
        return np.stack([-1.0 / z, -1.0 / z, -self.sigma_x2 / z], -1)

    def newton(self, X, z, iters: int = 30) -> np.ndarray:
        """Newton at fixed ``z`` (3x3 solves); a point stops once its relative steps are
        below 1e-13."""
        X = np.array(X, dtype=complex)
        z = np.broadcast_to(np.asarray(z, dtype=complex), X.shape[:1])
        active = np.arange(X.shape[0])
        for _ in range(iters):
            E, J, _ = self.residual(X[active], z[active])
            try:
                step = np.linalg.solve(J, -E[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.full_like(E, np.nan)
            X[active] += step
            moving = np.any(np.abs(step) > 1e-13 * np.abs(X[active]), axis=1)
            moving &= np.all(np.isfinite(step), axis=1)
            active = active[moving]
            if active.size == 0:
                break
        return X

    def good(self, X, z) -> np.ndarray:
        """Solutions that are finite, solve the system and lie on the Herglotz branch."""
        with np.errstate(all="ignore"):
            E, _, scale = self.residual(X, z)
            # E_q = s q - 1 + ... with s = -z + (s + z): near an atom of U, q is huge and s
            # tiny, so judge E_q against the terms s is made of
            z = np.broadcast_to(np.asarray(z, dtype=complex), X.shape[:1])
            q = X[:, 0]
            st = _state(self._co(q.size), q, X[:, 1], X[:, 2], z, 0.0, 0.0)
            scale = scale.copy()
            scale[:, 2] += np.abs(q) * (np.abs(z) + np.abs(st["s"] + z))
            res = np.max(np.abs(E) / scale, axis=1)
            ok = np.all(np.isfinite(X), axis=1) & (res <= RESIDUAL_TOL)
            ok &= np.all(X.imag >= -1e-9 * np.abs(X), axis=1)
        return ok

    def dq_dz(self, X, z) -> np.ndarray:
        """``dq/dz`` by implicit differentiation (``dE/dz = (0, 0, -q)``)."""
        _, J, _ = self.residual(X, z)
        rhs = np.zeros_like(X)
        rhs[:, 2] = X[:, 0]
        return np.linalg.solve(J, rhs[..., None])[:, 0, 0]

    def x_of(self, X) -> np.ndarray:
        """The ``z`` at which ``(q, r, h)`` solves ``E_q`` (linear in ``z``, ``dE_q/dz = -q``)."""
        E, _, _ = self.residual(X, 0.0)
        return E[:, 2] / X[:, 0]

    def det_jacobian(self, X) -> np.ndarray:
        """``det dE/d(q, r, h)`` at ``z = x_of(X)``."""
        _, J, _ = self.residual(X, self.x_of(X))
        return np.linalg.det(J)

    def fold_equations(self, X) -> np.ndarray:
        """``(E_r, E_h, det J)``: none involves ``z`` once ``E_q`` fixes it."""
        E, _, _ = self.residual(X, 0.0)
        return np.stack([E[:, 0], E[:, 1], self.det_jacobian(X)], -1)

    def rank_point(self):
        """Where ``U`` is rank-deficient and the deficiency ratio [derived: docs/dynamics.md
        sect. 6]: the isotropic ranks (``min(p, n m)``; at ``m = inf`` ``U - s_t^2`` has rank
        ``n + d``), since the noise part ``mu1^2 Delta W W^T/d`` has rank ``d`` whatever
        ``Sigma``."""
        co = self.co
        pn, pp, eps = float(co.psi_n[0]), float(co.psi_p[0]), float(co.eps[0])
        if not co.musq[0] > 1e-14 * co.mu1sq[0]:     # linear features: the rank of W
            return 0.0, 1.0 - (min(pn / eps, 1.0) if eps > 0.0 else 1.0) / pp
        if eps > 0.0:
            return 0.0, 1.0 - pn / (eps * pp)
        return float(co.musq[0] * (1.0 - co.kappa[0])), 1.0 - (1.0 + pn) / pp

    # ----------------------------------------------------------------- trace functions
    def point(self, X, z) -> SigmaPoint:
        """:class:`SigmaPoint` at solutions ``X`` of the system at ``z``."""
        X = np.asarray(X, dtype=complex)
        co = self._co(X.shape[0])
        q, r, h = X[:, 0], X[:, 1], X[:, 2]
        z = np.broadcast_to(np.asarray(z, dtype=complex), q.shape)
        st = _state(co, q, r, h, z, 0.0, 0.0)
        r_par = q * co.spectrum._integrals(st["A"], st["B"], on_manifold=True).I0
        P = st["P"]
        k = co.mu1sq * co.psi_p * co.delta
        t2 = co.psi_p * np.sqrt(co.mu1sq * co.delta)
        return SigmaPoint(z=z, q=q, r=r, h=h, L1=st["L1"], L2=st["L2"], P=P,
                          alpha=st["alpha"], beta=st["beta"], s=st["s"], A=st["A"], B=st["B"],
                          r_par=r_par, T1=1.0 - P + k * r * P * P, T2=t2 * r * P,
                          T1_par=co.psi_par * (1.0 - P) + k * r_par * P * P,
                          T2_par=t2 * r_par * P)

    def t1(self, X) -> np.ndarray:
        """``T1`` at solutions ``X`` (the Stieltjes transform of ``nu_1``)."""
        co = self._co(X.shape[0])
        q, r, h = X[:, 0], X[:, 1], X[:, 2]
        st = _state(co, q, r, h, 0.0, 0.0, 0.0)
        P = st["P"]
        return 1.0 - P + co.mu1sq * co.psi_p * co.delta * r * P * P


def ladder(system, x, eta: float, rungs: int) -> np.ndarray:
    """Solutions at ``x + i eta`` by continuation in ``log Im z`` at fixed ``x`` from
    ``Im z = 100 spread`` and the system's large-``|z|`` start."""
    x = np.asarray(x, dtype=float)
    top = 100.0 * system.spread
    X = system.start(x + 1j * top)
    for im in np.geomspace(top, eta, rungs):
        X = system.newton(X, x + 1j * im)
    return X


def sigma_points(co: SigmaCoefficients, z) -> SigmaPoint:
    """The system of one setting point at complex ``z`` off the real axis (an array, both half
    planes) on the Herglotz branch: the ``log Im z`` ladder in the upper half plane and
    ``q(conj z) = conj q(z)`` in the lower one; points that fail are retried on finer
    ladders, then a ``RuntimeError``."""
    system = co if isinstance(co, SigmaSystem) else SigmaSystem(co)
    z = np.asarray(z, dtype=complex).ravel()
    up = z.imag >= 0.0
    zu = np.where(up, z, z.conj())
    X = np.full((z.size, 3), np.nan + 0j)
    todo = np.arange(z.size)
    for rungs in (RUNGS, 4 * RUNGS, 16 * RUNGS):
        with np.errstate(all="ignore"):
            Xs = ladder(system, zu[todo].real, zu[todo].imag, rungs)
        ok = system.good(Xs, zu[todo])
        X[todo[ok]] = Xs[ok]
        todo = todo[~ok]
        if todo.size == 0:
            X = np.where(up[:, None], X, X.conj())
            return system.point(X, z)
    raise RuntimeError(f"the continuation in Im z did not converge at {todo.size} of {z.size} "
                       f"points (first z = {z[todo[0]]:.6g})")
