"""Device, dtype and seeding for the simulations.

One generator per (seed, purpose, block): a noise block or test batch always receives the
same random numbers whatever the chunk sizes, so results do not depend on batching.
Streams differ between devices (CPU and CUDA generators differ); on one device a seed
reproduces the same numbers.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib

import numpy as np
import torch

from lowdim.theory.threads import single_threaded

__all__ = ["resolve_device", "resolve_dtype", "derive_seed", "make_generator", "describe_device",
           "one_thread"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(device=None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else CPU.  Raises on unavailable CUDA."""
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA requested but torch reports no CUDA device")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device: unsupported device type {dev.type!r}; use 'cpu' or 'cuda'")
    return dev


def resolve_dtype(dtype) -> torch.dtype:
    """``"float64"`` (default everywhere) or ``"float32"``."""
    if isinstance(dtype, torch.dtype):
        if dtype in _DTYPES.values():
            return dtype
        raise ValueError(f"dtype: unsupported {dtype}; use float64 or float32")
    key = str(dtype).lower().replace("torch.", "")
    if key not in _DTYPES:
        raise ValueError(f"dtype: unsupported {dtype!r}; use 'float64' or 'float32'")
    return _DTYPES[key]


def derive_seed(seed: int, *keys) -> int:
    """A 63-bit seed for the stream ``(seed, *keys)``; keys are strings or integers."""
    words = [int(seed) & 0xFFFFFFFF, int(seed) >> 32]
    for k in keys:
        if isinstance(k, str):
            words.append(int.from_bytes(hashlib.blake2b(k.encode(), digest_size=4).digest(), "little"))
        else:
            words.append(int(k) & 0xFFFFFFFF)
    state = np.random.SeedSequence(words).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def make_generator(device: torch.device, seed: int, *keys) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(derive_seed(seed, *keys))
    return gen


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return "cpu"


@contextlib.contextmanager
def _one_thread():
    with single_threaded():
        before = torch.get_num_threads()
        if before == 1:
            yield
            return
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def one_thread(func=None):
    """``with one_thread(): ...`` or ``@one_thread``: one torch intra-op thread and one
    thread in every loaded BLAS library inside, the previous counts restored after.

    For small work on the CPU: batches of small matrices (eigh, QR of tens of rows), tiny
    networks, elementwise passes over a few thousand points.  Each piece is too small to
    split, and torch's threads then spin against each other and against any other process
    on the machine (measured on 2 cores: a batched 48 x 48 ``eigh`` of 300 matrices took 12 s
    at 2 threads on a loaded machine and 0.3 s at 1), which also leaves Ctrl-C waiting for
    the call to return.  Large products and factorisations (the random-features Gram matrix)
    keep their threads.  On CUDA only the host side is affected."""
    if func is None:
        return _one_thread()

    @functools.wraps(func)
    def inner(*args, **kwargs):
        with _one_thread():
            return func(*args, **kwargs)
    return inner
