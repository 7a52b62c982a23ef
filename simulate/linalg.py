"""Linear-algebra kernels of the simulations.

``gram_update(G, F)`` adds ``F^T F`` to ``G``.  On the CPU it calls BLAS ``syrk`` (SciPy),
which computes one triangle and costs half a general matrix product; on CUDA it uses
``addmm``.  Call :func:`symmetrize` once at the end (the CPU path fills one triangle).

``matmul(A, B)`` is ``A @ B``; on the CPU it runs NumPy's BLAS on the same memory, which is
about 1.4x faster than torch's CPU product for the feature matrices of the random-features
simulation (measured on the 2-core development machine), and on CUDA it is torch's.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import blas

__all__ = ["gram_update", "symmetrize", "matmul"]

_SYRK = {torch.float64: blas.dsyrk, torch.float32: blas.ssyrk}


def gram_update(G: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """``G += F^T F`` in place; on the CPU only the upper triangle of ``G`` is updated."""
    if G.device.type != "cpu" or G.dtype not in _SYRK or not G.is_contiguous():
        return G.addmm_(F.T, F)
    g = G.numpy().T  # Fortran-ordered view of the same memory
    a = np.ascontiguousarray(F.numpy()).T  # (p, rows), Fortran-ordered
    out = _SYRK[G.dtype](1.0, a, beta=1.0, c=g, trans=0, lower=1, overwrite_c=1)
    if not np.shares_memory(out, g):  # pragma: no cover - BLAS wrapper made a copy
        g[...] = out
    return G


def symmetrize(G: torch.Tensor) -> torch.Tensor:
    """Copy the upper triangle onto the lower one (no-op cost on CUDA results)."""
    if G.device.type != "cpu":
        return G
    upper = torch.triu(G)
    return upper + torch.triu(G, 1).T


def matmul(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``A @ B`` for 2-D tensors of one dtype; NumPy's BLAS on the CPU (see the module
    docstring), torch's elsewhere and for tensors that need gradients."""
    if (A.device.type != "cpu" or A.requires_grad or B.requires_grad
            or A.dtype not in _SYRK or B.dtype != A.dtype):
        return A @ B
    return torch.from_numpy(A.numpy() @ B.numpy())
