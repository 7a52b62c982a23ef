"""Random subspaces shared by the subspace-mixture families (``molrmog``, ``molrg``)."""
from __future__ import annotations

import numpy as np

__all__ = ["MAX_ENTRIES", "orthonormal_blocks"]

#: Largest number of basis entries ``D sum_k d_k`` a random model may hold (800 MB).
MAX_ENTRIES = 10 ** 8


def orthonormal_blocks(D, dims, rng, orthogonal):
    """``K`` random ``(D, d_k)`` bases with orthonormal columns, Haar-distributed (QR of a
    Gaussian matrix); with ``orthogonal`` the subspaces are also mutually orthogonal (one QR
    of ``D x sum d_k``, which needs ``sum d_k <= D``)."""
    if D * sum(dims) > MAX_ENTRIES:
        raise ValueError(f"D: the bases would hold D sum d_k = {D * sum(dims)} entries "
                         f"(at most {MAX_ENTRIES})")
    if orthogonal:
        if sum(dims) > D:
            raise ValueError(f"dims: mutually orthogonal subspaces need sum d_k = {sum(dims)} "
                             f"<= D = {D}")
        q, _ = np.linalg.qr(rng.standard_normal((D, sum(dims))))
        edges = np.cumsum([0, *dims])
        return [q[:, edges[i]:edges[i + 1]] for i in range(len(dims))]
    return [np.linalg.qr(rng.standard_normal((D, dk)))[0] for dk in dims]
