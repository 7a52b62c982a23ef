"""The MoLR-MoG data model: a union of K linear subspaces, each carrying a mixture of low-rank
Gaussians (Yang, Li, Jiang, Chen, Li 2026, arXiv:2601.01475; research note molr_mog.md
section 1) [paper: YLJ26, read through secondary digests].

    p_0 = sum_k w_k sum_l pi_{k,l} N(A_k mu_{k,l}, A_k U_{k,l} U_{k,l}^T A_k^T),

with orthonormal bases ``A_k`` (D x d_k), latent means ``mu_{k,l}`` (d_k), low-rank factors
``U_{k,l}`` (d_k x r_k), mode weights ``pi_{k,l}`` and subspace weights ``w_k`` (the paper's
are uniform, ``1/K``).  The noise-free data lie exactly on the union of the subspaces.  The
MoLRG model of Wang et al. (2024) is the special case of one zero-mean full-rank mode per
subspace (:func:`molrg`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import ParameterTypeError, choice, flag, floats, integer, number, plain
from .._subspaces import MAX_ENTRIES, orthonormal_blocks

__all__ = ["MoLRMoG", "random_molrmog", "molrg", "ORTHONORMAL_TOL"]

#: Largest ``|A^T A - I|`` entry accepted as orthonormal.
ORTHONORMAL_TOL = 1e-8
_WEIGHT_TOL = 1e-9


def _int(name, x, low=1):
    """A size: a Python or NumPy integer ``>= low`` (a float is a wrong kind here)."""
    return integer(name, x, low=low, strict=True)


def _sequence(name, seq):
    if isinstance(seq, (str, bytes)):
        raise ParameterTypeError(f"{name}: expected a sequence, one entry per subspace (got "
                                 f"{type(seq).__name__})")
    try:
        len(seq)
    except TypeError:
        raise ParameterTypeError(f"{name}: expected a sequence, one entry per subspace (got "
                                 f"{type(seq).__name__})") from None
    return seq


def _array(name, value) -> np.ndarray:
    """An array of numbers (see :mod:`lowdim.theory._checks`) as a new float64 array."""
    return np.array(floats(name, value))


def _seed(seed) -> int:
    """A numpy generator seed: an integer >= 0."""
    return integer("seed", seed, low=0)


def _weights(name, w, n):
    w = _array(name, w)
    if w.shape != (n,):
        raise ValueError(f"{name}: expected {n} weights (got shape {w.shape})")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name}: weights must be finite and >= 0 (got {w.tolist()})")
    if abs(w.sum() - 1.0) > _WEIGHT_TOL:
        raise ValueError(f"{name}: weights must sum to 1 (they sum to {w.sum():.12g})")
    return w


@dataclass(frozen=True, eq=False)
class MoLRMoG:
    """A validated MoLR-MoG specification (all arrays float64, read-only).

    Parameters
    ----------
    bases : sequence of (D, d_k) arrays
        Orthonormal columns (``|A_k^T A_k - I| <= 1e-8``), ``d_k <= D``.
    means : sequence of (n_k, d_k) arrays
        Latent mode means.
    factors : sequence of (n_k, d_k, r_k) arrays
        Latent low-rank factors, ``r_k <= d_k``; the latent covariance of mode ``l`` is
        ``U_{k,l} U_{k,l}^T``.  Any scale is allowed: the exact score uses the Woodbury form.
    mode_weights : sequence of (n_k,) arrays
        ``pi_{k,l}``, each summing to 1.
    subspace_weights : (K,) array, optional
        ``w_k``; uniform by default (the paper's choice).

    Raises
    ------
    ValueError
        Naming the parameter, for non-orthonormal bases, ``d_k > D``, weights that are
        negative or do not sum to 1, or shapes that do not match.
    """

    bases: tuple
    means: tuple
    factors: tuple
    mode_weights: tuple
    subspace_weights: np.ndarray = None

    def __post_init__(self):
        bases = [_array(f"bases[{k}]", a) for k, a in enumerate(_sequence("bases", self.bases))]
        K = len(bases)
        if K < 1:
            raise ValueError("bases: need at least one subspace")
        for name, seq in (("means", self.means), ("factors", self.factors),
                          ("mode_weights", self.mode_weights)):
            if len(_sequence(name, seq)) != K:
                raise ValueError(f"{name}: expected one entry per subspace ({K}), got {len(seq)}")
        if any(a.ndim != 2 for a in bases):
            raise ValueError("bases: each basis must be a (D, d_k) matrix")
        D = bases[0].shape[0]
        means, factors, pis = [], [], []
        for k, a in enumerate(bases):
            Dk, dk = a.shape
            if Dk != D:
                raise ValueError(f"bases[{k}]: every basis needs D = {D} rows (got {Dk})")
            if dk < 1 or dk > D:
                raise ValueError(f"bases[{k}]: subspace dimension d_k = {dk} must be in [1, D = {D}]")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"bases[{k}]: entries must be finite")
            with np.errstate(all="ignore"):
                dev = float(np.max(np.abs(a.T @ a - np.eye(dk))))
            if not dev <= ORTHONORMAL_TOL:  # NaN (overflowing entries) is not orthonormal
                raise ValueError(f"bases[{k}]: columns must be orthonormal "
                                 f"(max |A^T A - I| = {dev:.2e} > {ORTHONORMAL_TOL:g})")
            mu = _array(f"means[{k}]", self.means[k])
            if mu.ndim != 2 or mu.shape[1] != dk or mu.shape[0] < 1:
                raise ValueError(f"means[{k}]: expected an (n_k, {dk}) array (got shape {mu.shape})")
            nk = mu.shape[0]
            u = _array(f"factors[{k}]", self.factors[k])
            if u.ndim != 3 or u.shape[0] != nk or u.shape[1] != dk or not 1 <= u.shape[2] <= dk:
                raise ValueError(f"factors[{k}]: expected an ({nk}, {dk}, r) array with "
                                 f"1 <= r <= {dk} (got shape {u.shape})")
            if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(u))):
                raise ValueError(f"means[{k}] / factors[{k}]: entries must be finite")
            with np.errstate(over="ignore"):
                sq = np.sum(mu ** 2, 1) + np.sum(u ** 2, (1, 2))
            if not np.all(np.isfinite(sq)):
                raise ValueError(f"means[{k}] / factors[{k}]: too large, ||mu||^2 + ||U||_F^2 "
                                 "overflows")
            means.append(mu)
            factors.append(u)
            pis.append(_weights(f"mode_weights[{k}]", self.mode_weights[k], nk))
        w = (np.full(K, 1.0 / K) if self.subspace_weights is None
             else _weights("subspace_weights", self.subspace_weights, K))
        for arr in [*bases, *means, *factors, *pis, w]:
            arr.setflags(write=False)
        object.__setattr__(self, "bases", tuple(bases))
        object.__setattr__(self, "means", tuple(means))
        object.__setattr__(self, "factors", tuple(factors))
        object.__setattr__(self, "mode_weights", tuple(pis))
        object.__setattr__(self, "subspace_weights", w)

    # ------------------------------------------------------------------ sizes
    @property
    def K(self) -> int:
        """Number of subspaces."""
        return len(self.bases)

    @property
    def D(self) -> int:
        """Ambient dimension."""
        return self.bases[0].shape[0]

    @property
    def dims(self) -> tuple:
        """Subspace dimensions ``d_k``."""
        return tuple(a.shape[1] for a in self.bases)

    @property
    def n_modes(self) -> tuple:
        """Modes per subspace ``n_k``."""
        return tuple(m.shape[0] for m in self.means)

    @property
    def ranks(self) -> tuple:
        """Factor ranks ``r_k`` (the paper's ``d_{k,l}``)."""
        return tuple(u.shape[2] for u in self.factors)

    @property
    def mean_bound(self) -> float:
        """``B_mu = max ||mu_{k,l}||``."""
        return float(max(np.max(np.linalg.norm(m, axis=1)) for m in self.means))

    def second_moment(self) -> float:
        """``E||x_0||^2 = sum_k w_k sum_l pi (||mu||^2 + ||U||_F^2)`` (orthonormal ``A_k``)."""
        return float(sum(w * np.sum(p * (np.sum(m ** 2, 1) + np.sum(u ** 2, (1, 2))))
                         for w, p, m, u in zip(self.subspace_weights, self.mode_weights,
                                               self.means, self.factors)))

    def describe(self) -> str:
        return (f"MoLR-MoG(D={self.D}, K={self.K}, d_k={list(self.dims)}, n_k={list(self.n_modes)}, "
                f"r_k={list(self.ranks)})")


def random_molrmog(D: int, K: int, d, n_modes, *, rank=1, separation: float = 4.0,
                   mode_weights="uniform", orthogonal: bool = True, seed: int = 0) -> MoLRMoG:
    """A random MoLR-MoG with well-separated modes.

    Parameters
    ----------
    D, K : int
        Ambient dimension and number of subspaces.
    d, n_modes, rank : int or sequence of K ints
        Subspace dimensions ``d_k``, modes ``n_k`` and factor ranks ``r_k <= d_k``.
    separation : float
        Every latent mean has norm ``separation / 2``, in a random direction, so two opposite
        modes are ``separation`` apart; factors have orthonormal columns (unit latent variance
        along each factor direction, as the paper's closed form assumes).  For ``n_k = 2`` the
        means are ``+-mu_k`` (the paper's optimization case).
    mode_weights : "uniform" or "random"
        ``pi_{k,l}``: equal, or Dirichlet(2) draws.
    orthogonal : bool
        Mutually orthogonal subspaces (disjoint blocks of one random orthonormal matrix, the
        MoLRG construction) or independent random subspaces.
    seed : int
        Seed of the numpy generator, an integer ``>= 0``.
    """
    D, K = _int("D", D), _int("K", K)
    dims = _per_subspace("d", d, K)
    nks = _per_subspace("n_modes", n_modes, K)
    ranks = _per_subspace("rank", rank, K)
    for k, (dk, rk) in enumerate(zip(dims, ranks)):
        if dk > D:
            raise ValueError(f"d: subspace dimension d_k = {dk} exceeds D = {D}")
        if rk > dk:
            raise ValueError(f"rank: r_k = {rk} exceeds d_k = {dk} (subspace {k})")
    latent = sum(nk * dk * (1 + rk) for dk, nk, rk in zip(dims, nks, ranks))
    if latent > MAX_ENTRIES:
        raise ValueError(f"n_modes: the latent means and factors would hold sum n_k d_k "
                         f"(1 + r_k) = {latent} entries (at most {MAX_ENTRIES})")
    separation = number("separation", separation)
    if not (math.isfinite(separation) and separation >= 0):
        raise ValueError(f"separation: must be a finite number >= 0 (got {separation!r})")
    with np.errstate(over="ignore"):
        if not np.isfinite(np.float64(0.5 * separation) ** 2 + max(ranks)):
            raise ValueError(f"separation: too large, the second moment ||mu||^2 overflows "
                             f"(got {separation!r})")
    mode_weights = choice("mode_weights", mode_weights, ("uniform", "random"))
    orthogonal = flag("orthogonal", orthogonal)
    rng = np.random.default_rng(_seed(seed))
    bases = orthonormal_blocks(D, dims, rng, orthogonal)
    means, factors, pis = [], [], []
    for dk, nk, rk in zip(dims, nks, ranks):
        dirs = rng.standard_normal((nk, dk))
        if nk == 2:
            dirs[1] = -dirs[0]
        mu = 0.5 * separation * dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
        u = np.stack([np.linalg.qr(rng.standard_normal((dk, rk)))[0] for _ in range(nk)])
        means.append(mu)
        factors.append(u)
        pis.append(np.full(nk, 1.0 / nk) if mode_weights == "uniform"
                   else rng.dirichlet(np.full(nk, 2.0)))
    return MoLRMoG(bases, means, factors, pis)


def molrg(D: int, K: int, d, *, orthogonal: bool = True, seed: int = 0) -> MoLRMoG:
    """The MoLRG model of Wang et al. (2024): ``x = A_k a``, ``a ~ N(0, I_{d_k})``, one mode per
    subspace, uniform weights."""
    D, K = _int("D", D), _int("K", K)
    dims = _per_subspace("d", d, K)
    if max(dims) > D:
        raise ValueError(f"d: subspace dimension d_k = {max(dims)} exceeds D = {D}")
    orthogonal = flag("orthogonal", orthogonal)
    rng = np.random.default_rng(_seed(seed))
    bases = orthonormal_blocks(D, dims, rng, orthogonal)
    return MoLRMoG(bases, [np.zeros((1, dk)) for dk in dims],
                   [np.eye(dk)[None] for dk in dims], [np.ones(1) for _ in dims])


def _per_subspace(name, x, K):
    if K > MAX_ENTRIES:
        raise ValueError(f"K: {K} subspaces exceed the size of any model (at most "
                         f"{MAX_ENTRIES} basis entries)")
    x = plain(name, x)
    try:
        vals = [x] * K if np.ndim(x) == 0 else list(x)
    except (TypeError, ValueError, RuntimeError):  # ragged, or a tensor that cannot be read
        raise ValueError(f"{name}: expected an integer or one per subspace (got {x!r})") \
            from None
    if len(vals) != K:
        raise ValueError(f"{name}: expected one value per subspace ({K}), got {len(vals)}")
    return [_int(name, v) for v in vals]
