"""Linear-algebra kernels of the simulations: one code path, the fastest backend per device.

On the CPU every kernel here calls SciPy's BLAS and LAPACK on the tensors' own memory; on
CUDA they are torch's.  One BLAS library on the CPU matters as much as the kernels: NumPy,
SciPy and torch each bring their own (two OpenBLAS copies and MKL), and the worker threads
of one keep spinning for a while after a call, so alternating libraries makes each call run
against the previous library's threads.  Measured on the 2-core development machine, in the
random-features feature loop (d = 400, n m = 3200, p = 1600): ``F^T Xi`` took 105 ms right
after SciPy's ``syrk`` on NumPy's BLAS against 50 ms on SciPy's own, and the ridge solve
115 ms in torch against 50 ms in SciPy's LAPACK.

* ``gram_update(G, F)``: ``G += F^T F`` by BLAS ``syrk`` on the CPU (one triangle, half the
  cost of a general product; the upper one in row-major terms), ``addmm`` on CUDA.
* ``symmetrize(G)``: copy that triangle onto the other.
* ``matmul(A, B)``: ``A @ B`` by BLAS ``gemm`` on the CPU (transposed views without a copy).
* ``ridge_solve(M, V)``: ``M^{-1} V`` by Cholesky for symmetric positive definite ``M`` of
  which only the upper triangle is read; ``M`` is overwritten by its factor.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import blas, lapack

__all__ = ["gram_update", "symmetrize", "matmul", "ridge_solve"]

_SYRK = {torch.float64: blas.dsyrk, torch.float32: blas.ssyrk}
_GEMM = {torch.float64: blas.dgemm, torch.float32: blas.sgemm}
_POTRF = {torch.float64: lapack.dpotrf, torch.float32: lapack.spotrf}
_POTRS = {torch.float64: lapack.dpotrs, torch.float32: lapack.spotrs}


def _on_cpu_blas(*tensors) -> bool:
    """Whether SciPy's BLAS can take these tensors as they are (CPU, float, no autograd)."""
    first = tensors[0]
    return all(t.device.type == "cpu" and t.dtype == first.dtype and not t.requires_grad
               and t.dim() == 2 and t.numel() > 0 for t in tensors) and first.dtype in _GEMM


def gram_update(G: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """``G += F^T F`` in place; on the CPU only the upper triangle of ``G`` is updated."""
    if not (_on_cpu_blas(G, F) and G.is_contiguous()):
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


def _fortran_operand(a: np.ndarray):
    """``(x, trans)`` with ``x`` Fortran-contiguous and ``op(x) = a^T`` (``trans`` 0: ``x`` is
    ``a^T``, a free view of a C-ordered ``a``; 1: ``x`` is ``a`` itself)."""
    if a.flags.c_contiguous:
        return a.T, 0
    if a.flags.f_contiguous:
        return a, 1
    return np.ascontiguousarray(a).T, 0


def matmul(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """``A @ B`` for 2-D tensors of one float dtype, C-ordered; BLAS ``gemm`` on the CPU
    (see the module docstring), torch's product elsewhere and for tensors needing gradients.

    ``C = A B`` is formed as the Fortran-ordered ``C^T = B^T A^T``, which is ``C`` in
    row-major order, so neither operand nor the result is copied."""
    if not _on_cpu_blas(A, B):
        return A @ B
    x, tx = _fortran_operand(B.numpy())   # op(x) = B^T
    y, ty = _fortran_operand(A.numpy())   # op(y) = A^T
    out = _GEMM[A.dtype](1.0, x, y, trans_a=tx, trans_b=ty)
    return torch.from_numpy(out.T)


def ridge_solve(M: torch.Tensor, V: torch.Tensor):
    """``(Z, info)``: ``Z = M^{-1} V`` by Cholesky, reading the upper triangle of ``M``
    only and overwriting ``M``; ``info`` is 0 on success, else positive (``M`` is not
    positive definite to working precision and ``Z`` is undefined)."""
    if not (_on_cpu_blas(M, V) and M.is_contiguous()):
        R, info = torch.linalg.cholesky_ex(M, upper=True)
        if int(info) != 0:
            return None, int(info)
        return torch.cholesky_solve(V, R, upper=True), 0
    m = M.numpy().T  # Fortran view: the row-major upper triangle is its lower one
    c, info = _POTRF[M.dtype](m, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return None, int(info)
    z, info = _POTRS[M.dtype](c, V.numpy(), lower=1)
    if info != 0:  # pragma: no cover - only an invalid argument can fail here
        return None, int(info)
    return torch.from_numpy(np.ascontiguousarray(z)), 0
