"""Thread caps around small work: every loaded BLAS copy (NumPy's and SciPy's OpenBLAS are two)
and torch at one thread inside, the previous counts restored after; large work untouched."""
import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (loads SciPy's own BLAS copy before the caps are taken)
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from lowdim.simulate.device import one_thread
from lowdim.theory.threads import SMALL_SIDE, single_threaded, small_matrices


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def two_threads():
    """Two threads everywhere for the test (one-core machines cannot show a cap)."""
    before = torch.get_num_threads()
    with threadpool_limits(2):
        torch.set_num_threads(2)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def test_single_threaded_reaches_every_blas_copy_and_restores(two_threads):
    assert len(_blas_threads()) >= 1 and set(_blas_threads()) == {2}
    with single_threaded():
        assert set(_blas_threads()) == {1}
    assert set(_blas_threads()) == {2}

    @single_threaded
    def inside():
        return _blas_threads()

    assert set(inside()) == {1} and set(_blas_threads()) == {2}


def test_small_matrices_caps_only_small_sides(two_threads):
    with small_matrices(SMALL_SIDE):
        assert set(_blas_threads()) == {1}
    with small_matrices(SMALL_SIDE + 1):
        assert set(_blas_threads()) == {2}


def test_one_thread_caps_torch_and_blas_and_restores_on_error(two_threads):
    with pytest.raises(ZeroDivisionError):
        with one_thread():
            assert torch.get_num_threads() == 1 and set(_blas_threads()) == {1}
            raise ZeroDivisionError
    assert torch.get_num_threads() == 2 and set(_blas_threads()) == {2}

    @one_thread
    def inside(x):
        return torch.get_num_threads(), x

    assert inside(3) == (1, 3) and torch.get_num_threads() == 2


def test_small_work_entry_points_run_capped(two_threads, monkeypatch):
    """The simulations' small-work entry points and the localized theory's batched matrix
    exponentials run under the cap (seen from inside the kernels they call)."""
    import lowdim.simulate.molrg as molrg
    import lowdim.theory.localized._gaussian_law as law

    seen = []
    real_eigh, real_expm = torch.linalg.eigh, law.expm

    def eigh(a):
        seen.append(("eigh", torch.get_num_threads(), tuple(_blas_threads())))
        return real_eigh(a)

    def expm(a):
        seen.append(("expm", None, tuple(_blas_threads())))
        return real_expm(a)

    monkeypatch.setattr(torch.linalg, "eigh", eigh)
    monkeypatch.setattr(law, "expm", expm)
    X = torch.randn(3, 20, 8, dtype=torch.float64)
    molrg.pca(X, torch.ones(3, 20, dtype=torch.bool), 2)
    law._step_maps(-np.eye(4)[None].repeat(2, 0), 0.1)
    assert {s[0] for s in seen} == {"eigh", "expm"}
    for _, torch_threads, blas in seen:
        assert torch_threads in (None, 1) and set(blas) == {1}
