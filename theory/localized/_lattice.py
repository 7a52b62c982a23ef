"""Sites, graph distance and neighbourhoods of a lattice (research note localized.md section 1.1,
notation ours).

A chain of ``b`` sites or an ``L1 x L2`` grid, with periodic or open boundary.  The distance
between two sites is the l-infinity graph distance, ``min(|i - j|, L - |i - j|)`` per axis when
periodic.  The radius-r neighbourhood of site i is ``N_i^r = {j : dist(i, j) <= r}``; it has
``2r + 1`` sites on a periodic chain and ``(2r + 1)^2`` on a periodic grid (as long as that fits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import flag, integer, integers, is_tensor

__all__ = ["Lattice", "check_radius", "MAX_SITES"]

#: Most sites of a lattice (its coordinates are held as a ``(b, dim)`` integer array).
MAX_SITES = 10**7
#: Most entries of the dense per-site tables (distances, windows) a lattice builds.
_MAX_TABLE = 10**8
#: Largest radius or bandwidth: they enter ratios as floats (beyond the diameter every radius
#: is the global model anyway).
RADIUS_MAX = 2**53


def check_radius(r, name="r"):
    """A localization radius: an integer in ``0 .. 2^53`` (an integral float too), or ``None``
    for the global model."""
    if r is None:
        return None
    return integer(name, r, low=0, high=RADIUS_MAX)


def _sides(shape) -> list:
    """The sides of a lattice shape: one int (a chain), a tuple or list of ints, or an
    integer array or tensor of them."""
    if isinstance(shape, (tuple, list)):
        return list(shape)
    if isinstance(shape, np.ndarray) or is_tensor(shape):
        return integers("shape", shape, strict=True)
    return [shape]


@dataclass(frozen=True)
class Lattice:
    """A chain (``shape=(b,)``) or a 2-D grid (``shape=(L1, L2)``) of sites.

    Parameters
    ----------
    shape : int, or tuple of 1 or 2 ints
        Number of sites along each axis, each ``>= 2`` (one int: a chain), at most
        :data:`MAX_SITES` sites in all.
    periodic : bool
        Periodic (ring or torus) or open boundary.
    """

    shape: tuple
    periodic: bool = True

    def __post_init__(self):
        sides = _sides(self.shape)
        if len(sides) not in (1, 2):
            raise ValueError(f"shape: a chain (b,) or a grid (L1, L2) (got {self.shape!r})")
        shape = tuple(integer("shape", s, low=2, strict=True) for s in sides)
        if math.prod(shape) > MAX_SITES:
            raise ValueError(f"shape: at most {MAX_SITES} sites (got {shape})")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "periodic", flag("periodic", self.periodic))

    @property
    def size(self) -> int:
        """The number of sites ``b``."""
        return int(np.prod(self.shape))

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def diameter(self) -> int:
        """The largest distance between two sites (a neighbourhood of this radius is global)."""
        return max((L // 2 if self.periodic else L - 1) for L in self.shape)

    def coordinates(self) -> np.ndarray:
        """Integer coordinates of the sites, shape ``(b, dim)``, in row-major order."""
        grids = np.meshgrid(*[np.arange(L) for L in self.shape], indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1)

    def distances(self) -> np.ndarray:
        """The ``(b, b)`` matrix of l-infinity graph distances (a ValueError naming ``shape``
        when it would hold more than 10^8 entries)."""
        if self.size ** 2 > _MAX_TABLE:
            raise ValueError(f"shape: the ({self.size}, {self.size}) distance matrix of this "
                             f"lattice would hold more than {_MAX_TABLE:g} entries")
        x = self.coordinates()
        diff = np.abs(x[:, None, :] - x[None, :, :])
        if self.periodic:
            diff = np.minimum(diff, np.asarray(self.shape) - diff)
        return diff.max(axis=2)

    def neighbourhood_size(self, r) -> int:
        """``|N_i^r|`` of an interior site (every site when periodic)."""
        r = check_radius(r)
        if r is None:
            return self.size
        return int(np.prod([min(2 * r + 1, L) for L in self.shape]))

    def neighbourhoods(self, r) -> list:
        """Index arrays ``N_i^r`` for every site, sorted (``r=None``: every site)."""
        r = check_radius(r)
        if r is None:
            full = np.arange(self.size)
            return [full] * self.size
        dist = self.distances()
        return [np.flatnonzero(row <= r) for row in dist]

    def window_index(self, r) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-size windows for networks: ``index`` and ``valid``, both ``(b, (2r+1)^dim)``.

        Entry ``[i, k]`` is the site at offset ``k`` (row-major over ``-r..r`` per axis) from
        site i, so a weight shared over sites sees the same relative position in every window.
        Offsets that leave an open lattice are marked invalid (index 0, ``valid`` False); on a
        periodic lattice smaller than the window, sites repeat.
        """
        r = check_radius(r)
        if r is None:
            raise ValueError("r: windows need a finite radius")
        if self.size * (2 * r + 1) ** self.dim > _MAX_TABLE:
            raise ValueError(f"r: windows of radius {r} on {self.size} sites would hold more "
                             f"than {_MAX_TABLE:g} entries")
        offsets = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * self.dim, indexing="ij"),
                           axis=-1).reshape(-1, self.dim)
        x = self.coordinates()[:, None, :] + offsets[None, :, :]
        shape = np.asarray(self.shape)
        if self.periodic:
            valid = np.ones(x.shape[:2], dtype=bool)
            x = np.mod(x, shape)
        else:
            valid = np.all((x >= 0) & (x < shape), axis=2)
            x = np.where(valid[..., None], x, 0)
        index = np.ravel_multi_index(tuple(x[..., a] for a in range(self.dim)), self.shape)
        return index, valid
