"""Data distributions with exact scores of their OU-noised laws."""
from __future__ import annotations

import math

import torch

__all__ = ["IsotropicGaussian", "data_model", "ou_forward"]


def ou_forward(t: float) -> tuple[float, float]:
    """``(a_t, Delta_t) = (e^{-t}, 1 - e^{-2t})`` of the OU process ``dX = -X dt + sqrt(2) dB``.

    Written here rather than imported from :mod:`theory`, so that the simulation shares no
    numerics with the theory it checks (the package's one-way dependency rule).
    """
    return math.exp(-t), -math.expm1(-2.0 * t)


class IsotropicGaussian:
    """``x_0 ~ N(0, I_d)``.  Under the OU process ``p_t = N(0, I_d)`` for every t, so the
    exact score is ``-y`` and the test error of the exact score is ``C_t = e^{-2t}``."""

    name = "gaussian"

    def __init__(self, d: int):
        self.d = int(d)

    def sample(self, n: int, generator: torch.Generator, dtype, device) -> torch.Tensor:
        return torch.randn(n, self.d, generator=generator, dtype=dtype, device=device)

    def score(self, y: torch.Tensor, t: float) -> torch.Tensor:
        return -y

    def score_sq_mean(self, t: float) -> float:
        """``E ||grad log p_t(y)||^2 / d = E ||y||^2 / d = 1``."""
        return 1.0

    def exact_score_test_error(self, t: float) -> float:
        return math.exp(-2.0 * t)


def data_model(name: str, d: int):
    if name == "gaussian":
        return IsotropicGaussian(d)
    raise ValueError(f"data: unknown data model {name!r}")
