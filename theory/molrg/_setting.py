"""The MoLRG setting: a mixture of K zero-mean low-rank Gaussians on subspaces of equal dimension
(Wang, Zhang, Zhang, Chen, Ma, Qu 2024, arXiv:2409.02426; research note molrg_subspace.md
section 1) [paper: WZZ24].

    x = U_k a + e,   a ~ N(0, I_d),   Pr(k) = pi_k,   U_k in O^{D x d},

with optional additive noise ``e ~ N(0, (noise^2 / D) I_D)`` so that ``E||e||^2 = noise^2``.
The paper's sample-complexity theorem assumes mutually orthogonal subspaces, equal dimensions
and equal weights [paper: WZZ24]; independent random subspaces are offered for robustness checks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import flag, floats, integer, positive_number
from .._checks import sample_counts as check_samples
from .._subspaces import MAX_ENTRIES, orthonormal_blocks

__all__ = ["MoLRG", "check_samples", "NOISE_MAX", "K_MAX"]

#: Largest number of subspaces (the weights are held as a K-tuple).
K_MAX = 10**6

#: Largest RMS noise norm: the samples' Gram matrices hold ``noise^2`` times counts, which
#: stays far inside the float64 range below this (at 1e155 they overflow and eigh fails).
NOISE_MAX = 1e100


@dataclass(frozen=True)
class MoLRG:
    """A validated MoLRG setting.

    Parameters
    ----------
    D : int
        Ambient dimension (the paper's ``n``), at most 10^8.
    K : int
        Number of subspaces.
    d : int
        Dimension of every subspace, ``1 <= d <= D``.
    noise : float
        Root-mean-square norm of the additive noise, ``E||e||^2 = noise^2`` (0: noiseless).
    orthogonal : bool
        Mutually orthogonal subspaces (disjoint column blocks of one random orthogonal matrix,
        as in the paper's generator); then ``K d <= D`` is required.
    weights : sequence of K floats, optional
        Mixture weights ``pi_k`` (uniform by default, the theorem's assumption).

    Raises
    ------
    ValueError
        Naming the parameter: ``d > D``, ``K d > D`` for orthogonal subspaces, negative or
        non-finite noise or noise above :data:`NOISE_MAX`, weights that are negative or do not sum to 1.
    """

    D: int
    K: int
    d: int
    noise: float = 0.0
    orthogonal: bool = True
    weights: tuple = None

    def __post_init__(self):
        D, K, d = (integer(name, value, low=1, strict=True)
                   for name, value in (("D", self.D), ("K", self.K), ("d", self.d)))
        if D > MAX_ENTRIES:  # a basis alone holds D d entries
            raise ValueError(f"D: at most {MAX_ENTRIES} (got {D})")
        if K > K_MAX:
            raise ValueError(f"K: at most {K_MAX} subspaces (got {K})")
        if d > D:
            raise ValueError(f"d: subspace dimension {d} exceeds the ambient dimension D = {D}")
        orthogonal = flag("orthogonal", self.orthogonal)
        if orthogonal and K * d > D:
            raise ValueError(f"K, d: {K} mutually orthogonal subspaces of dimension {d} need "
                             f"K d = {K * d} <= D = {D}")
        noise = positive_number("noise", self.noise, allow_zero=True)
        if noise > NOISE_MAX:
            raise ValueError(f"noise: must be <= {NOISE_MAX:g} (sample Gram matrices square "
                             f"it; got {noise:g})")
        if self.weights is None:
            w = (1.0 / K,) * K
        else:
            arr = floats("weights", self.weights)
            if arr.shape != (K,) or not np.all(np.isfinite(arr)) or np.any(arr < 0) \
                    or abs(arr.sum() - 1) > 1e-9:
                raise ValueError(f"weights: need {K} finite non-negative weights summing to 1 "
                                 f"(got {self.weights!r})")
            w = tuple(float(v) for v in arr)
        object.__setattr__(self, "D", D)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "d", d)
        object.__setattr__(self, "noise", noise)
        object.__setattr__(self, "orthogonal", orthogonal)
        object.__setattr__(self, "weights", w)

    def bases(self, seed: int = 0) -> np.ndarray:
        """The ``(K, D, d)`` orthonormal bases of one random instance (numpy generator
        ``seed``, an integer >= 0)."""
        rng = np.random.default_rng(integer("seed", seed, low=0))
        return np.stack(orthonormal_blocks(self.D, [self.d] * self.K, rng, self.orthogonal))

    def describe(self) -> str:
        kind = "orthogonal" if self.orthogonal else "random"
        return f"MoLRG(D={self.D}, K={self.K}, d={self.d}, noise={self.noise:g}, {kind})"
