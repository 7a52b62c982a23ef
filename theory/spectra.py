"""Spectral measures of data covariances: point masses, Marchenko-Pastur laws, mixtures.

The learning-curve theory of random features on Gaussian(-equivalent) data sees the data
covariance ``Sigma`` only through its limiting spectral measure ``rho`` and, in the
self-consistent equations, only through the resolvent-type integrals [derived: research note
rf_learning_curves.md section 3.7]

    I_k(A, B) = int rho(dl) l^k / (A + B l),          k = 0, 1,
    K_k(A, B) = int rho(dl) l^k / (A + B l)^2,        k = 0, 1, 2,

with ``A > 0`` and ``B >= 0``.  A :class:`Spectrum` is a finite mixture of components,
each a point mass, an affine image ``shift + scale * Y`` of a Marchenko-Pastur variable
``Y`` (ratio ``gamma``, mean 1), or an empirical law of K atoms shared by every grid point
(:func:`empirical`: the eigenvalues of a given covariance, summed over exactly).  Every
other parameter may be an array, so one spectrum describes a whole grid of settings, and
every integral is evaluated in closed form: vectorised, exact, and stable from ``B/A = 0``
to ``B/A -> inf``.

Marchenko-Pastur closed forms [derived] (from the Stieltjes transform
``g(z) = 2 / (1 - gamma - z + sqrt((1 + gamma - z)^2 - 4 gamma))``, written so that every
term is positive for ``gamma <= 1``): with ``b = B / A``,

    R  = sqrt(1 + 2 b (1 + gamma) + b^2 (1 - gamma)^2),   D = 1 + b (1 - gamma) + R,
    int 1 / (1 + b Y)     = 2 / D,
    int Y / (1 + b Y)     = [(1 - gamma) + (2 (1 + gamma) + b (1 - gamma)^2) / (R + 1)] / D,
    int 1 / (1 + b Y)^2   = 2 (R + 1 + b (1 + gamma)) / (R D^2),
    int Y / (1 + b Y)^2   = 2 D' / D^2,   D' = (1 - gamma) + ((1 + gamma) + b (1 - gamma)^2) / R,
    int Y^2 / (1 + b Y)^2 = (int Y/(1+bY) - int Y/(1+bY)^2) / b   (a moment series for small b).

A law with ``gamma > 1`` is stored as its atom ``(1 - 1/gamma) delta_0`` plus
``gamma * MP(1/gamma)`` weighted ``1/gamma``, so only ``gamma <= 1`` is ever evaluated.

Each component carries a flag ``on_manifold``: the integrals can be restricted to the
flagged components, which is how the test error is split into its on-manifold (``par``)
and off-manifold (``perp``) parts.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from math import comb

import numpy as np

from ._checks import ParameterTypeError, flag, floats, integer, integers

__all__ = ["Spectrum", "point_mass", "marchenko_pastur", "mixture", "empirical",
           "covariance_eigenvalues", "Integrals"]

_FLAT_MAX = 10**8  # points of a flattened spectrum (each parameter is a float64 array)
_SERIES_B = 1e-3  # below this b, int Y^2/(1+bY)^2 by its moment series
_SERIES_TERMS = 8


def _param(name, value, *, low=None, strict=False, high=None):
    """A parameter of a spectrum: a number or an array of numbers (see :mod:`lowdim.theory._checks`),
    non-empty, finite and within the bounds given; a copy."""
    arr = np.array(floats(name, value))
    if arr.size == 0:
        raise ValueError(f"{name}: empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must be finite")
    if low is not None:
        bad = arr <= low if strict else arr < low
        if np.any(bad):
            rel = ">" if strict else ">="
            raise ValueError(f"{name}: must be {rel} {low:g} (got {arr[bad].ravel()[0]:g})")
    if high is not None and np.any(arr > high):
        raise ValueError(f"{name}: must be <= {high:g} (got {arr[arr > high].ravel()[0]:g})")
    return arr


@dataclass(frozen=True, eq=False)
class _Component:
    kind: str  # "atom", "mp" or "discrete"
    weight: np.ndarray
    loc: np.ndarray  # atom location, the shift of the MP image, or the K atoms (discrete)
    scale: np.ndarray  # MP scale (1 for atoms and discrete)
    ratio: np.ndarray  # MP ratio in (0, 1]; the K probabilities (discrete); unused for atoms
    on_manifold: bool

    def map(self, f):
        """``f`` applied to the parameters that vary over the grid (a discrete component's
        atoms and probabilities are one law shared by every point)."""
        if self.kind == "discrete":
            return _Component(self.kind, f(self.weight), self.loc, f(self.scale), self.ratio,
                              self.on_manifold)
        return _Component(self.kind, f(self.weight), f(self.loc), f(self.scale), f(self.ratio),
                          self.on_manifold)

    def grid_params(self):
        """The parameters that broadcast over the grid."""
        if self.kind == "discrete":
            return (self.weight, self.scale)
        return (self.weight, self.loc, self.scale, self.ratio)


@dataclass(frozen=True)
class Integrals:
    """``I0, I1, K0, K1, K2`` of a spectrum (see the module docstring), arrays."""

    I0: np.ndarray
    I1: np.ndarray
    K0: np.ndarray
    K1: np.ndarray
    K2: np.ndarray


def _mp_moments(gamma: np.ndarray, k_max: int) -> list[np.ndarray]:
    """Moments ``E Y^k`` (k = 0..k_max) of MP(gamma) with mean 1 (Narayana polynomials)."""
    out = [np.ones_like(gamma)]
    for k in range(1, k_max + 1):
        out.append(sum(comb(k, i) * comb(k, i - 1) / k * gamma ** (i - 1) for i in range(1, k + 1)))
    return out


@functools.lru_cache(maxsize=256)
def _mp_moments_of(gammas: tuple, k_max: int) -> list[np.ndarray]:
    """:func:`_mp_moments` of the distinct ratios ``gammas``, remembered (the solvers ask for
    the same few ratios thousands of times)."""
    return _mp_moments(np.array(gammas), k_max)


def _edge_root(s, t, gamma):
    """``sqrt((s + t Y_+)(s + t Y_-))`` with ``Y_+- = (1 +- sqrt(gamma))^2`` the edges of
    MP(gamma), as the product of two principal roots: real and positive for ``s, t >= 0``,
    and for complex ``s, t`` analytic wherever ``s + t Y`` does not vanish on the support
    (the two cuts on the real axis beyond the edges cancel) [derived], so every closed form
    below continues the integral itself off the real axis."""
    if not (np.iscomplexobj(s) or np.iscomplexobj(t)):   # the expanded form, as always
        return np.sqrt(s * s + 2.0 * s * t * (1.0 + gamma) + (t * (1.0 - gamma)) ** 2)
    sg = np.sqrt(gamma)
    return np.sqrt(s + t * (1.0 + sg) ** 2) * np.sqrt(s + t * (1.0 - sg) ** 2)


def _mp_standard(gamma, b):
    """``int (1, Y)/(1+bY)`` and ``int (1, Y, Y^2)/(1+bY)^2`` for MP(gamma <= 1), b >= 0
    (or complex, ``1 + bY`` not vanishing on the support)."""
    g1 = 1.0 - gamma
    R = _edge_root(1.0, b, gamma)
    D = 1.0 + b * g1 + R
    f0 = 2.0 / D
    f1 = (g1 + (2.0 * (1.0 + gamma) + b * g1**2) / (R + 1.0)) / D
    k0 = 2.0 * (R + 1.0 + b * (1.0 + gamma)) / (R * D**2)
    dD = g1 + ((1.0 + gamma) + b * g1**2) / R
    k1 = 2.0 * dD / D**2
    small = np.abs(b) < _SERIES_B
    with np.errstate(divide="ignore", invalid="ignore"):
        k2 = (f1 - k1) / np.where(small, 1.0, b)
    if np.any(small):
        g = np.asarray(gamma)   # the moments once per distinct ratio (often one per grid)
        distinct, where = np.unique(g, return_inverse=True)
        mom = [v[where].reshape(g.shape)
               for v in _mp_moments_of(tuple(distinct.tolist()), _SERIES_TERMS + 2)]
        series = sum((j + 1) * (-b) ** j * mom[j + 2] for j in range(_SERIES_TERMS))
        k2 = np.where(small, series, k2)
    return f0, f1, k0, k1, k2


def _mp_integrals(gamma, A1, B1):
    """``int (1, Y)/(A1 + B1 Y)`` and ``int (1, Y, Y^2)/(A1 + B1 Y)^2`` for MP(gamma <= 1).

    For ``b = B1 / A1 <= 1`` the closed forms of :func:`_mp_standard` divided by powers of
    ``A1``; above, the same forms rewritten in ``u = A1 / B1`` (``R = b R_u``,
    ``D = b D_u``) and scaled by ``B1``, so that neither ``b^2`` nor ``A1^2`` is formed and
    the integrals stay finite up to ``B1 / A1 = inf``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = B1 / A1
    big = np.abs(b) > 1.0
    f0, f1, k0, k1, k2 = _mp_standard(gamma, np.where(big, 0.0, b))
    small = (f0 / A1, f1 / A1, k0 / A1**2, k1 / A1**2, k2 / A1**2)
    if not np.any(big):
        return small
    B1 = np.where(big, B1, 1.0)
    u = np.where(big, A1 / B1, 1.0)
    g1, gp = 1.0 - gamma, 1.0 + gamma
    Ru = _edge_root(u, 1.0, gamma)
    Du = u + g1 + Ru
    i0 = 2.0 / (B1 * Du)
    i1 = (g1 + (2.0 * gp * u + g1**2) / (Ru + u)) / (B1 * Du)
    kk0 = 2.0 * (Ru + u + gp) / (Ru * Du**2 * B1**2)
    kk1 = 2.0 * (g1 + (gp * u + g1**2) / Ru) / (Du**2 * B1**2)
    kk2 = (i1 - A1 * kk1) / B1
    return tuple(np.where(big, lg, sm) for lg, sm in zip((i0, i1, kk0, kk1, kk2), small))


class Spectrum:
    """A finite mixture of point masses and affine Marchenko-Pastur laws.

    Build with :func:`point_mass`, :func:`marchenko_pastur`, :func:`mixture` and the
    methods :meth:`scaled` / :meth:`shifted`; parameters broadcast to ``self.shape``.
    """

    def __init__(self, components):
        self._components = tuple(components)
        shapes = []
        for c in self._components:
            shapes += [np.shape(a) for a in c.grid_params()]
        try:
            self.shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError("spectrum: parameter shapes do not broadcast") from None

    # ------------------------------------------------------------------ algebra
    @property
    def components(self):
        return self._components

    def scaled(self, factor) -> "Spectrum":
        """The law of ``factor * X``."""
        f = _broadcasting("factor", _param("factor", factor, low=0.0, strict=True), self.shape)
        self._shared_only("factor", f)
        with np.errstate(over="ignore"):
            return _representable("factor", _spectrum("factor", [
                _Component(c.kind, c.weight, c.loc * f, c.scale * f, c.ratio, c.on_manifold)
                for c in self._components]))

    def shifted(self, shift) -> "Spectrum":
        """The law of ``X + shift`` (``shift >= 0`` keeps it a covariance spectrum)."""
        s = _broadcasting("shift", _param("shift", shift, low=0.0), self.shape)
        self._shared_only("shift", s)
        with np.errstate(over="ignore"):
            return _representable("shift", _spectrum("shift", [
                _Component(c.kind, c.weight, c.loc + s, c.scale, c.ratio, c.on_manifold)
                for c in self._components]))

    def _shared_only(self, name, value):
        """A discrete law is shared by every grid point: it scales and shifts by scalars."""
        if np.ndim(value) and any(c.kind == "discrete" for c in self._components):
            raise ValueError(f"{name}: an empirical spectrum is scaled or shifted by one "
                             f"number (got shape {np.shape(value)})")

    def flagged(self, on_manifold: bool) -> "Spectrum":
        """The same law with every component flagged on (True) or off the manifold."""
        on_manifold = flag("on_manifold", on_manifold)
        return Spectrum([_Component(c.kind, c.weight, c.loc, c.scale, c.ratio, on_manifold)
                         for c in self._components])

    def flat(self, shape=None) -> "Spectrum":
        """Parameters broadcast to ``shape`` (default ``self.shape``) and flattened (the
        solvers' layout)."""
        shape = self.shape if shape is None else tuple(integers("shape", shape, low=0,
                                                                 strict=True))
        try:
            ok = np.broadcast_shapes(self.shape, shape) == shape
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"shape: the spectrum's shape {self.shape} does not broadcast to "
                             f"{shape!r}")
        if math.prod(shape) > _FLAT_MAX:
            raise ValueError(f"shape: at most {_FLAT_MAX:g} points (got {shape})")

        def f(a):
            return np.ascontiguousarray(np.broadcast_to(a, shape)).ravel().astype(float)
        return Spectrum([c.map(f) for c in self._components])

    def take(self, sel) -> "Spectrum":
        """Points ``sel`` (an index, a slice, an integer or boolean index array) of a flat
        spectrum; an index that does not select points is a ValueError naming ``sel``."""
        try:
            return Spectrum([c.map(lambda a: a[sel] if a.ndim else a) for c in self._components])
        except (TypeError, RuntimeError) as exc:  # not an index at all
            raise ParameterTypeError(f"sel: expected an index (got {type(sel).__name__}: "
                                     f"{exc})") from None
        except (IndexError, OverflowError) as exc:
            raise ValueError(f"sel: {sel!r} does not select points of the spectrum of shape "
                             f"{self.shape} ({exc})") from None

    # ------------------------------------------------------------------ summaries
    def mass(self, on_manifold=None) -> np.ndarray:
        """Total weight (of the flagged components when ``on_manifold`` is a bool)."""
        return sum((np.broadcast_to(c.weight, self.shape) for c in self._select(on_manifold)),
                   np.zeros(self.shape))

    def mean(self) -> np.ndarray:
        """``int l rho(dl)`` (= ``Tr Sigma / d``)."""
        return sum((np.broadcast_to(c.weight * _component_mean(c), self.shape)
                    for c in self._components), np.zeros(self.shape))

    def support(self):
        """``(lower, upper)`` edges of the support, arrays of ``self.shape``."""
        lo = np.full(self.shape, np.inf)
        hi = np.full(self.shape, -np.inf)
        for c in self._components:
            if c.kind == "atom":
                a, b = c.loc, c.loc
            elif c.kind == "discrete":
                a, b = np.min(c.loc), np.max(c.loc)
            else:
                a = c.loc + c.scale * (1.0 - np.sqrt(c.ratio)) ** 2
                b = c.loc + c.scale * (1.0 + np.sqrt(c.ratio)) ** 2
            live = np.broadcast_to(c.weight > 0, self.shape)
            lo = np.where(live, np.minimum(lo, a), lo)
            hi = np.where(live, np.maximum(hi, b), hi)
        return lo, hi

    def _select(self, on_manifold):
        if on_manifold is None:
            return self._components
        on_manifold = flag("on_manifold", on_manifold)
        return tuple(c for c in self._components if c.on_manifold == on_manifold)

    # ------------------------------------------------------------------ integrals
    def integrals(self, A, B, on_manifold=None) -> Integrals:
        """Resolvent integrals ``I0, I1, K0, K1, K2`` at ``(A, B)`` (``A > 0``, ``B >= 0``).

        ``on_manifold=True/False`` restricts them to the flagged / unflagged components.

        Raises
        ------
        ValueError
            Naming ``A`` or ``B`` when they are out of range or do not broadcast against
            the spectrum, or ``A, B`` when an integral is beyond the float range (``A``
            tiny, ``B / A`` huge).
        """
        A, B = self._check_AB(A, B)
        with np.errstate(all="ignore"):
            out = self._integrals(A, B, on_manifold)
        if not all(np.all(np.isfinite(v)) for v in out.__dict__.values()):
            raise ValueError("A, B: outside the range where the integrals are representable "
                             "(A too small or B / A too large)")
        return out

    def _check_AB(self, A, B):
        A = _param("A", A, low=0.0, strict=True)
        B = _param("B", B, low=0.0)
        try:
            np.broadcast_shapes(A.shape, B.shape, self.shape)
        except ValueError:
            raise ValueError(f"A, B: shapes {A.shape} and {B.shape} do not broadcast against "
                             f"the spectrum's {self.shape}") from None
        return A, B

    def _integrals(self, A, B, on_manifold=None) -> Integrals:
        """:meth:`integrals` without validation (the solvers' iterates may leave the range;
        their residuals then come out non-finite and the point is flagged)."""
        kind = complex if np.iscomplexobj(A) or np.iscomplexobj(B) else float
        A = np.asarray(A, dtype=kind)
        B = np.asarray(B, dtype=kind)
        shape = np.broadcast_shapes(A.shape, B.shape, self.shape)
        acc = [np.zeros(shape, dtype=kind) for _ in range(5)]
        for c in self._select(on_manifold):
            w, c0 = c.weight, c.loc
            if c.kind == "atom":
                den = A + B * c0
                parts = (1.0 / den, c0 / den, 1.0 / den**2, c0 / den**2, c0**2 / den**2)
            elif c.kind == "discrete":
                parts = _discrete_integrals(c.loc, c.ratio, A, B)
            else:
                s = c.scale
                A1 = A + B * c0
                B1 = B * s
                i0, i1, kk0, kk1, kk2 = _mp_integrals(c.ratio, A1, B1)
                parts = (i0, c0 * i0 + s * i1, kk0, c0 * kk0 + s * kk1,
                         c0**2 * kk0 + 2.0 * c0 * s * kk1 + s**2 * kk2)
            for i, v in enumerate(parts):
                acc[i] = acc[i] + w * v
        return Integrals(*acc)

    def expect_ratio(self, A, B, on_manifold=None) -> np.ndarray:
        """``int rho(dl) B l / (A + B l)``, e.g. ``C_t`` with ``A = Delta, B = a^2`` (in
        ``[0, 1]``; ``A`` and ``B`` validated as in :meth:`integrals`)."""
        A, B = self._check_AB(A, B)
        with np.errstate(all="ignore"):
            out = B * self._integrals(A, B, on_manifold).I1
        if not np.all(np.isfinite(out)):
            raise ValueError("A, B: outside the range where the integrals are representable "
                             "(A too small or B / A too large)")
        return out

    # ------------------------------------------------------------------ densities
    def _scalar(self):
        if self.shape != ():
            raise ValueError("spectrum: select a single point first (shape is "
                             f"{self.shape}); use flat().take([i])")

    def atoms(self):
        """``(locations, weights)`` of the point masses of a scalar spectrum."""
        self._scalar()
        loc, wt = [], []
        for c in self._components:
            if c.kind == "atom" and float(c.weight) > 0:
                loc.append(float(c.loc))
                wt.append(float(c.weight))
            elif c.kind == "discrete" and float(c.weight) > 0:
                loc += list(c.loc)
                wt += list(float(c.weight) * c.ratio)
        return np.array(loc), np.array(wt)

    def density(self, x) -> np.ndarray:
        """Density of the continuous part of a scalar spectrum at ``x``."""
        self._scalar()
        x = floats("x", x)
        if x.size:
            x = _param("x", x)
        out = np.zeros_like(x)
        for c in self._components:
            if c.kind != "mp":
                continue
            g = float(c.ratio)
            with np.errstate(over="ignore"):  # far outside the support: density 0
                y = (x - float(c.loc)) / float(c.scale)
            lo, hi = (1 - np.sqrt(g)) ** 2, (1 + np.sqrt(g)) ** 2
            inside = (y > lo) & (y < hi)
            ys = np.where(inside, y, 1.0)
            dens = np.sqrt(np.clip((hi - ys) * (ys - lo), 0.0, None)) / (2 * np.pi * g * ys)
            out = out + np.where(inside, float(c.weight) * dens / float(c.scale), 0.0)
        return out

    def quadrature(self, n: int = 200):
        """Nodes and weights integrating a scalar spectrum (atoms exactly).

        Each Marchenko-Pastur part uses Gauss-Chebyshev nodes of the second kind in
        ``Y = 1 + gamma + 2 sqrt(gamma) x``, which absorb the square-root edges: smooth
        integrands converge geometrically for ``gamma < 1`` (algebraically at ``gamma = 1``,
        where the density has an inverse square-root singularity at 0).
        """
        self._scalar()
        n = integer("n", n, strict=True)
        if not 2 <= n <= 10**7:
            raise ValueError(f"n: number of nodes must be an integer in [2, 1e7] (got {n!r})")
        nodes, weights = [], []
        i = np.arange(1, n + 1)
        theta = i * np.pi / (n + 1)
        xc, wc = np.cos(theta), np.pi / (n + 1) * np.sin(theta) ** 2
        for c in self._components:
            w = float(c.weight)
            if w == 0:
                continue
            if c.kind == "atom":
                nodes.append(np.array([float(c.loc)]))
                weights.append(np.array([w]))
                continue
            if c.kind == "discrete":
                nodes.append(np.array(c.loc, dtype=float))
                weights.append(w * c.ratio)
                continue
            g = float(c.ratio)
            y = 1.0 + g + 2.0 * np.sqrt(g) * xc
            wy = wc * (2.0 / np.pi) / y
            nodes.append(float(c.loc) + float(c.scale) * y)
            weights.append(w * wy)
        return np.concatenate(nodes), np.concatenate(weights)

    def __repr__(self) -> str:
        parts = []
        for c in self._components:
            tag = "par" if c.on_manifold else "perp"
            if c.kind == "atom":
                parts.append(f"{_fmt(c.weight)}*delta({_fmt(c.loc)})[{tag}]")
            elif c.kind == "discrete":
                parts.append(f"{_fmt(c.weight)}*empirical({c.loc.size} atoms in "
                             f"[{c.loc.min():g}, {c.loc.max():g}])[{tag}]")
            else:
                parts.append(f"{_fmt(c.weight)}*({_fmt(c.loc)} + {_fmt(c.scale)}*MP({_fmt(c.ratio)}))"
                             f"[{tag}]")
        return "Spectrum(" + " + ".join(parts) + ")"


def _broadcasting(name, arr, *shapes):
    """``arr`` if its shape broadcasts with ``shapes``, else a ValueError naming ``name``."""
    try:
        np.broadcast_shapes(arr.shape, *shapes)
    except ValueError:
        raise ValueError(f"{name}: shape {arr.shape} does not broadcast with "
                         f"{', '.join(map(str, shapes))}") from None
    return arr


def _spectrum(name, components) -> Spectrum:
    """``Spectrum(components)``, or a ValueError naming ``name`` when the shapes of the
    parameters do not broadcast."""
    try:
        return Spectrum(components)
    except ValueError:
        raise ValueError(f"{name}: parameter shapes do not broadcast") from None


def _representable(name, spec: Spectrum) -> Spectrum:
    """``spec`` if its parameters, mean and support are finite, else a ValueError naming
    ``name`` (a finite scale or shift whose image overflows)."""
    with np.errstate(all="ignore"):
        vals = [spec.mean(), *spec.support()]
        vals += [a for c in spec.components for a in (c.loc, c.scale)]
    if not all(np.all(np.isfinite(v)) for v in vals):
        raise ValueError(f"{name}: too large, the spectrum's support overflows")
    return spec


def _fmt(a):
    a = np.asarray(a)
    return f"{float(a):g}" if a.ndim == 0 else f"<{a.shape}>"


def point_mass(location=1.0, *, on_manifold: bool = True) -> Spectrum:
    """``delta(l - location)``, ``location >= 0``."""
    loc = _param("location", location, low=0.0)
    return Spectrum([_Component("atom", np.ones(()), loc, np.ones(()), np.ones(()),
                                flag("on_manifold", on_manifold))])


def marchenko_pastur(ratio, scale=1.0, shift=0.0, *, on_manifold: bool = True) -> Spectrum:
    """The law of ``shift + scale * Y``, ``Y`` Marchenko-Pastur with ratio ``gamma`` and mean 1.

    ``Y`` is the limiting eigenvalue law of ``G G^T / N`` for a ``P x N`` standard Gaussian
    ``G`` with ``P / N -> gamma``: support ``[(1 - sqrt(gamma))^2, (1 + sqrt(gamma))^2]``,
    plus an atom ``1 - 1/gamma`` at 0 when ``gamma > 1``.
    """
    g = _param("ratio", ratio, low=0.0, strict=True)
    s = _param("scale", scale, low=0.0, strict=True)
    c0 = _param("shift", shift, low=0.0)
    _broadcasting("ratio, scale, shift", g, s.shape, c0.shape)
    on_manifold = flag("on_manifold", on_manifold)
    if np.all(g <= 1.0):
        return _representable("scale", _spectrum("ratio, scale, shift", [
            _Component("mp", np.ones(()), c0, s, g, on_manifold)]))
    # gamma > 1 somewhere: atom (1 - 1/gamma) at the shift, continuous part gamma*MP(1/gamma)
    big = g > 1.0
    g_small = np.where(big, 1.0 / np.where(big, g, 1.0), g)
    w_cont = np.where(big, 1.0 / np.where(big, g, 1.0), 1.0)
    with np.errstate(over="ignore"):
        s_cont = np.where(big, s * g, s)
    return _representable("scale", _spectrum("ratio, scale, shift", [
        _Component("mp", w_cont, c0, s_cont, g_small, on_manifold),
        _Component("atom", 1.0 - w_cont, c0, np.ones(()), np.ones(()), on_manifold),
    ]))


def _component_mean(c):
    """The mean of one component's law."""
    if c.kind == "discrete":
        return float(np.dot(c.ratio, c.loc))
    return c.loc + (c.scale if c.kind == "mp" else 0.0)


#: Grid points times atoms evaluated at once by :func:`_discrete_integrals`.
_DISCRETE_BLOCK = 2**21


def _discrete_integrals(loc, prob, A, B) -> tuple:
    """``I0, I1, K0, K1, K2`` of ``sum_k prob_k delta(l - loc_k)`` at ``(A, B)``: a sum
    over the atoms, in blocks of grid points."""
    A, B = np.broadcast_arrays(A, B)
    shape = A.shape
    a, b = A.reshape(-1, 1), B.reshape(-1, 1)
    out = [np.empty(a.shape[0], dtype=a.dtype) for _ in range(5)]
    step = max(1, _DISCRETE_BLOCK // max(loc.size, 1))
    for lo in range(0, a.shape[0], step):
        inv = 1.0 / (a[lo:lo + step] + b[lo:lo + step] * loc)
        inv2 = inv * inv
        for i, term in enumerate((inv, inv * loc, inv2, inv2 * loc, inv2 * loc**2)):
            out[i][lo:lo + step] = term @ prob
    return tuple(v.reshape(shape) for v in out)


def empirical(eigenvalues, weights=None) -> Spectrum:
    """The empirical law ``sum_k w_k delta(l - lambda_k)`` of covariance eigenvalues.

    ``eigenvalues``: a 1-d array of ``lambda_k >= 0`` (the spectrum of a d x d covariance,
    say), taken as given: not centred, not normalised (``Tr Sigma / d`` is their mean, 1
    for the identity).  ``weights`` default to ``1/K`` each.  Exact zeros form an atom
    flagged off the manifold (the directions the data do not span), the rest one discrete
    component flagged on it, so the test error splits as for a subspace.
    """
    lam = floats("eigenvalues", eigenvalues)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigenvalues: expected a non-empty 1-d array (got shape {lam.shape})")
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        bad = lam[~(np.isfinite(lam) & (lam >= 0))][0]
        raise ValueError(f"eigenvalues: covariance eigenvalues must be finite and >= 0 "
                         f"(got {bad:g})")
    if weights is None:
        w = np.full(lam.size, 1.0 / lam.size)
    else:
        w = floats("weights", weights)
        if w.shape != lam.shape:
            raise ValueError(f"weights: shape {w.shape} differs from the eigenvalues' "
                             f"{lam.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-12:
            raise ValueError("weights: must be finite, >= 0 and sum to 1")
    if not np.any(lam > 0):
        raise ValueError("eigenvalues: all zero; the data covariance must not vanish")
    zero = lam == 0
    # equal eigenvalues merged: one atom each (exact, and fewer terms to sum)
    values, inverse = np.unique(lam[~zero], return_inverse=True)
    prob = np.bincount(inverse, weights=w[~zero], minlength=values.size)
    mass = float(prob.sum())
    comps = [_Component("discrete", np.array(mass), values, np.ones(()), prob / mass, True)]
    if np.any(zero):
        comps.append(_Component("atom", np.array(float(w[zero].sum())), np.zeros(()),
                                np.ones(()), np.ones(()), False))
    return Spectrum(comps)


def covariance_eigenvalues(data, *, center=True, normalize=True) -> np.ndarray:
    """Eigenvalues (ascending) of the sample covariance ``X^T X / N`` of a data matrix
    ``data`` (``N`` samples in rows, ``d`` features).

    ``center``: subtract the column means first (the theory's data have mean zero).
    ``normalize``: scale so that the mean eigenvalue is 1 (``Tr Sigma = d``, the
    isotropic model's scale; the diffusion's signal-to-noise ratio depends on it).
    """
    x = floats("data", data)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"data: expected a matrix of N >= 2 samples (rows) by d features "
                         f"(got shape {x.shape})")
    if not np.all(np.isfinite(x)):
        raise ValueError("data: must be finite")
    if center:
        x = x - x.mean(axis=0)
    eig = np.clip(np.linalg.eigvalsh(x.T @ x / x.shape[0]), 0.0, None)
    eig[eig < eig.max() * 1e-13] = 0.0      # rounding below the largest: exact zeros
    if not np.any(eig > 0):
        raise ValueError("data: its covariance vanishes (constant features)")
    return eig / eig.mean() if normalize else eig


def mixture(*parts) -> Spectrum:
    """``sum_i w_i rho_i`` from ``(w_i, rho_i)`` pairs; weights ``>= 0`` summing to 1."""
    if not parts:
        raise ValueError("parts: a mixture needs at least one (weight, spectrum) pair")
    comps = []
    total = 0.0
    for i, item in enumerate(parts):
        try:
            w, spec = item
        except (TypeError, ValueError):
            raise ParameterTypeError(f"parts[{i}]: expected a (weight, Spectrum) pair") from None
        if not isinstance(spec, Spectrum):
            raise ParameterTypeError(f"parts[{i}]: expected a Spectrum, got "
                                     f"{type(spec).__name__}")
        w = _param(f"weight[{i}]", w, low=0.0)
        total = total + w
        comps += [_Component(c.kind, c.weight * w, c.loc, c.scale, c.ratio, c.on_manifold)
                  for c in spec.components]
    if np.any(np.abs(np.asarray(total) - 1.0) > 1e-12):
        raise ValueError(f"weights: must sum to 1 (got {np.asarray(total).ravel()[0]:.15g})")
    return _spectrum("parts", comps)
