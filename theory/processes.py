"""Forward noising processes.

The variance-preserving Ornstein-Uhlenbeck process ``dX = -X dt + sqrt(2) dB`` used by the
random-features learning-curve papers (George-Veiga-Macris 2025; research note
rf_learning_curves.md section 2.1) [paper: GVM25]:

    x_t = a_t x_0 + sqrt(Delta_t) xi,    a_t = exp(-t),    Delta_t = 1 - exp(-2 t).

Variance-exploding schedules and sampling grids live in :mod:`lowdim.theory.sampling`.
"""
from __future__ import annotations

import numpy as np

from ._checks import floats

__all__ = ["ou_mean_factor", "ou_noise_variance", "ou_coefficients"]


def _check_t(t) -> np.ndarray:
    """Diffusion times: numbers or arrays of them (see :mod:`lowdim.theory._checks`), finite and
    ``> 0``."""
    t = floats("t", t)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("t: diffusion time must be finite and > 0")
    return t


def ou_mean_factor(t) -> np.ndarray:
    """``a_t = exp(-t)``: the factor multiplying the clean sample."""
    return np.exp(-_check_t(t))


def ou_noise_variance(t) -> np.ndarray:
    """``Delta_t = 1 - exp(-2 t)``, computed as ``-expm1(-2 t)`` for accuracy at small t."""
    return -np.expm1(-2.0 * _check_t(t))


def ou_coefficients(t) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(a_t, Delta_t)``."""
    return ou_mean_factor(t), ou_noise_variance(t)
