"""One BLAS thread for small work: batches of small matrices (``expm``, ``inv``, ``eigh`` of
tens of rows), where each problem is too small to split and a multi-threaded BLAS only spins.

NumPy and SciPy each load their own OpenBLAS, so a limit must reach every copy that is
loaded when the work runs; :func:`single_threaded` asks threadpoolctl for all of them at
entry (not once at start-up, when SciPy's copy may not be loaded yet).  Measured on 2 cores:
the localized calculator's batched ``scipy.linalg.expm`` took 13.2 s at 2 threads and 1.15 s
at 1.  Large products and factorisations (the random-features Gram matrix and its Cholesky)
are left alone: they gain from every core.

The simulations' counterpart, which also caps torch's intra-op threads, is
:func:`lowdim.simulate.device.one_thread`.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import threading

from ._checks import integer

__all__ = ["single_threaded", "small_matrices", "SMALL_SIDE"]

#: Matrices with at most this many rows count as small: batches of them are faster on one
#: BLAS thread per process on a busy machine, and at most a little slower on a quiet one.
SMALL_SIDE = 512

_lock = threading.Lock()
_controller = None
_modules_seen = -1


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS/OpenMP libraries, rebuilt when modules were
    imported since the last look (a new one may have loaded a new library); None without
    threadpoolctl."""
    global _controller, _modules_seen
    with _lock:
        if _modules_seen != len(sys.modules):
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # pragma: no cover - a dependency; without it, no cap
                return None
            _controller = ThreadpoolController()
            _modules_seen = len(sys.modules)
        return _controller


@contextlib.contextmanager
def _one_blas_thread():
    controller = _blas_controller()
    if controller is None or all(lib.num_threads <= 1 for lib in controller.lib_controllers):
        yield
        return
    limit = controller.limit(limits=1)
    try:
        yield
    finally:
        limit.restore_original_limits()


def single_threaded(func=None):
    """``with single_threaded(): ...`` or ``@single_threaded``: every loaded BLAS/OpenMP
    library at one thread inside, the previous counts restored after (see the module
    docstring)."""
    if func is None:
        return _one_blas_thread()

    @functools.wraps(func)
    def inner(*args, **kwargs):
        with _one_blas_thread():
            return func(*args, **kwargs)
    return inner


def small_matrices(side: int):
    """:func:`single_threaded` when batched matrices have at most :data:`SMALL_SIDE` rows,
    else a context that changes nothing (large factorisations keep their threads).  ``side``
    is an integer >= 0 (a ValueError or ParameterTypeError names it otherwise)."""
    side = integer("side", side, low=0)
    return single_threaded() if side <= SMALL_SIDE else contextlib.nullcontext()
