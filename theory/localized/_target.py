"""Gaussian targets with a banded precision matrix (research note localized.md sections 1.2 and
4.1; the paper's Fig. 1 studies this family, its construction of P was not seen).

``pi = N(0, C)`` with ``P = C^{-1}`` banded: ``P_ij = 0`` whenever ``dist(i, j) > r0``.  The
standard member used throughout is [derived: ours, the paper's construction unseen]

    P = I + (kappa - 1) L / lambda_max(L),

with ``L`` the graph Laplacian of the lattice graph joining sites at distance ``1 .. r0``.  Its
smallest eigenvalue is 1 (the constant vector) and its largest is ``kappa``, so ``C <= I`` and the
condition number is exactly ``kappa``.  Any other symmetric positive-definite precision can be
supplied directly.
"""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from .._checks import floats, instance, integer, number
from ._lattice import RADIUS_MAX, Lattice

__all__ = ["GaussianTarget", "banded_gaussian"]


_ENTRY_RANGE = (1e-100, 1e100)  # |P| entries: the covariance and its products stay normal


def _lattice(lattice) -> Lattice:
    """A :class:`Lattice`, or what builds one (an int ``b``, a shape tuple); an error names
    ``lattice``."""
    if isinstance(lattice, Lattice):
        return lattice
    try:
        return Lattice(lattice)
    except ValueError as exc:  # Lattice names its field, shape; the caller passed lattice
        raise type(exc)(f"lattice: {str(exc).split(': ', 1)[-1]}") from None


class GaussianTarget:
    """A centred Gaussian target on a lattice, given by its precision matrix.

    Parameters
    ----------
    precision : (d, d) array
        Symmetric positive-definite precision ``P``; ``d`` equals the number of sites; its
        largest entry lies in ``[1e-100, 1e100]`` in magnitude and its condition number is
        below ``1e12``.
    lattice : Lattice or int or tuple
        The sites (an int ``b`` means a periodic chain of b sites).
    r0 : int, optional
        The bandwidth: ``P_ij = 0`` for ``dist(i, j) > r0``, an integer in ``0 .. 2^53``.
        Inferred when omitted.

    Raises
    ------
    ValueError
        Naming the parameter: a precision that is not square of the lattice's size, not finite,
        not symmetric, not positive definite, or not banded within ``r0``.
    """

    def __init__(self, precision, lattice, r0=None):
        lat = _lattice(lattice)
        P = np.array(floats("precision", precision))
        b = lat.size
        if P.shape != (b, b):
            raise ValueError(f"precision: expected shape ({b}, {b}) for {b} sites "
                             f"(got {P.shape})")
        if not np.all(np.isfinite(P)):
            raise ValueError("precision: entries must be finite")
        scale = np.abs(P).max()
        if not _ENTRY_RANGE[0] <= scale <= _ENTRY_RANGE[1]:
            raise ValueError(f"precision: the largest entry must lie in [{_ENTRY_RANGE[0]:g}, "
                             f"{_ENTRY_RANGE[1]:g}] in magnitude (got {scale:.3g})")
        if np.abs(P - P.T).max() > 1e-12 * scale:
            raise ValueError("precision: must be symmetric")
        P = 0.5 * (P + P.T)
        evals, evecs = np.linalg.eigh(P)
        if evals[0] <= 1e-12 * abs(evals[-1]):
            raise ValueError(f"precision: must be positive definite with condition number "
                             f"below 1e12 (smallest eigenvalue {evals[0]:.3g}, largest "
                             f"{evals[-1]:.3g})")
        dist = lat.distances()
        support = dist[np.abs(P) > 1e-14 * scale]
        width = int(support.max()) if support.size else 0
        if r0 is None:
            r0 = width
        else:
            r0 = integer("r0", r0, low=0, high=RADIUS_MAX, strict=True)
            if width > r0:
                raise ValueError(f"precision: has entries at distance {width} > r0 = {r0}")
        self.lattice = lat
        self.r0 = int(r0)
        self.precision = P
        self._evals, self._evecs = evals, evecs

    @property
    def dim(self) -> int:
        return self.lattice.size

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``P`` in ascending order."""
        return self._evals

    @property
    def eigenvectors(self) -> np.ndarray:
        return self._evecs

    @property
    def kappa(self) -> float:
        """Condition number ``lambda_max(P) / lambda_min(P)``."""
        return float(self._evals[-1] / self._evals[0])

    @cached_property
    def covariance(self) -> np.ndarray:
        V, lam = self._evecs, self._evals
        return (V / lam) @ V.T

    @cached_property
    def translation_invariant(self) -> bool:
        """True when every site sees the same law (periodic lattice, P invariant under shifts)."""
        lat = self.lattice
        if not lat.periodic:
            return False
        idx = np.arange(lat.size).reshape(lat.shape)
        P = self.precision
        for axis in range(lat.dim):
            perm = np.roll(idx, 1, axis=axis).ravel()
            if np.abs(P[np.ix_(perm, perm)] - P).max() > 1e-12 * np.abs(P).max():
                return False
        return True

    def kl_to_standard_normal(self) -> float:
        """``KL(pi || N(0, I))``, the prior term before the ``exp(-2T)`` contraction."""
        lam = 1.0 / self._evals
        return float(0.5 * np.sum(lam - 1.0 - np.log(lam)))

    def __repr__(self):
        return (f"GaussianTarget(sites={self.lattice.shape}, periodic={self.lattice.periodic}, "
                f"r0={self.r0}, kappa={self.kappa:.4g})")


def check_target(target) -> GaussianTarget:
    """``target`` if it is a :class:`GaussianTarget`, else a ValueError naming it."""
    return instance("target", target, GaussianTarget)


def banded_gaussian(lattice, r0=1, kappa=20.0) -> GaussianTarget:
    """The standard banded target ``P = I + (kappa - 1) L / lambda_max(L)`` (see module doc).

    Parameters
    ----------
    lattice : Lattice, int or tuple
        Sites; an int ``b`` means a periodic chain of ``b`` sites.
    r0 : int
        Bandwidth, ``1 <= r0 < L/2`` for the shortest side ``L`` (otherwise the band wraps onto
        itself and the precision is not banded).
    kappa : float
        Condition number of ``P``, ``1 <= kappa <= 1e11``.
    """
    lat = _lattice(lattice)
    r0 = integer("r0", r0, low=1, high=RADIUS_MAX, strict=True)
    side = min(lat.shape)
    if 2 * r0 >= side:
        what = "d" if lat.dim == 1 else "the shortest side"
        raise ValueError(f"r0: bandwidth must be < {what}/2 = {side / 2:g} (got {r0})")
    kappa = number("kappa", kappa)
    if not math.isfinite(kappa) or kappa < 1:
        raise ValueError(f"kappa: condition number must be a finite number >= 1 (got {kappa!r})")
    # near 1e12 the smallest eigenvalue (1) is lost to rounding: eigh resolves it to about
    # 2e-16 kappa, and GaussianTarget refuses condition numbers of 1e12
    if kappa > 1e11:
        raise ValueError(f"kappa: condition numbers above 1e11 are not resolved in float64 "
                         f"(got {kappa!r})")
    dist = lat.distances()
    adj = ((dist >= 1) & (dist <= r0)).astype(float)
    lap = np.diag(adj.sum(axis=1)) - adj
    top = np.linalg.eigvalsh(lap)[-1]
    P = np.eye(lat.size) + (float(kappa) - 1.0) * lap / top
    return GaussianTarget(P, lat, r0=r0)
