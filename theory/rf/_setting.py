"""The frozen description of a random-features DSM setting (asymptotic parameters only)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from ..activations import ActivationMoments, get_activation, moments
from ..processes import ou_coefficients

__all__ = ["RFSetting", "DATA_MODELS"]

DATA_MODELS = ("gaussian",)
_NUMERIC = ("psi_n", "psi_p", "t", "lam", "m")


def _positive(name: str, value, what: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {what} must be a number, got {value!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name}: empty")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].ravel()[0]
        raise ValueError(f"{name}: {what} must be finite and > 0 (got {bad:g})")
    return arr


def _noise_copies(value) -> np.ndarray:
    raw = np.array(value, dtype=object)
    flat = []
    for v in raw.ravel():
        if isinstance(v, str):
            if v.strip().lower() in ("inf", "infinity", "∞"):
                flat.append(np.inf)
                continue
            try:
                v = float(v)
            except ValueError:
                raise ValueError(f"m: expected an integer >= 1 or 'inf', got {v!r}") from None
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"m: expected an integer >= 1 or 'inf', got {v!r}") from None
        if np.isnan(fv) or fv < 1 or (np.isfinite(fv) and fv != np.floor(fv)) or fv == -np.inf:
            raise ValueError(f"m: number of noise samples per data point must be an integer "
                             f">= 1 or inf (got {v!r})")
        flat.append(fv)
    return np.array(flat, dtype=float).reshape(raw.shape)


@dataclass(frozen=True, eq=False)
class RFSetting:
    """Asymptotic parameters of random-features denoising score matching.

    The score model is ``s_A(x) = A sigma(W x / sqrt(d)) / sqrt(p)``, trained at one
    diffusion time ``t`` of the OU process on ``n`` data points with ``m`` frozen noise
    samples each and ridge ``(Delta_t lam / (d p)) ||A||_F^2``, in the limit
    ``d, n, p -> inf`` with ``psi_n = n/d`` and ``psi_p = p/d`` fixed.

    Numeric fields accept scalars or arrays; they are broadcast together, so one setting
    can describe a whole grid (``setting.shape``).

    Parameters
    ----------
    psi_n : array_like
        Samples per dimension, ``> 0``.
    psi_p : array_like
        Features per dimension, ``> 0``.
    t : array_like
        Diffusion time, ``> 0``.
    lam : array_like
        Ridge, ``> 0`` (approach the ridgeless limit with a small value).
    m : array_like
        Noise samples per data point: integers ``>= 1`` or ``inf`` (``"inf"`` accepted).
    activation : str, Activation or callable
        ``"tanh"`` (default), ``"relu"``, ``"erf"``, ``"linear"`` or a NumPy callable.
    data : str
        Data model; ``"gaussian"`` is isotropic ``N(0, I_d)``.

    Raises
    ------
    ValueError
        Naming the parameter, for any value outside its range, an unknown activation or data
        model, or an activation whose Gaussian moments diverge.
    """

    psi_n: Any
    psi_p: Any
    t: Any = 0.1
    lam: Any = 1e-3
    m: Any = 1
    activation: Any = "tanh"
    data: str = "gaussian"
    _moments: ActivationMoments = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        conv = {
            "psi_n": _positive("psi_n", self.psi_n, "samples per dimension"),
            "psi_p": _positive("psi_p", self.psi_p, "features per dimension"),
            "t": _positive("t", self.t, "diffusion time"),
            "lam": _positive("lam", self.lam, "ridge"),
            "m": _noise_copies(self.m),
        }
        try:
            arrays = np.broadcast_arrays(*[conv[k] for k in _NUMERIC])
        except ValueError:
            shapes = ", ".join(f"{k}{conv[k].shape}" for k in _NUMERIC)
            raise ValueError(f"psi_n, psi_p, t, lam, m: shapes do not broadcast ({shapes})") from None
        for k, a in zip(_NUMERIC, arrays):
            a = np.array(a, dtype=float)
            a.setflags(write=False)
            object.__setattr__(self, k, a)
        object.__setattr__(self, "activation", get_activation(self.activation))
        if not isinstance(self.data, str) or self.data not in DATA_MODELS:
            raise ValueError(f"data: unknown data model {self.data!r}; supported: "
                             f"{', '.join(DATA_MODELS)}")
        # Gaussian moments at the distinct times (validates the activation).
        a_t, _ = ou_coefficients(self.t)
        object.__setattr__(self, "_moments", moments(self.activation, 1.0, a_t**2))

    # ------------------------------------------------------------------ structure
    @property
    def shape(self) -> tuple:
        return self.psi_n.shape

    @property
    def size(self) -> int:
        return int(self.psi_n.size)

    @property
    def moments(self) -> ActivationMoments:
        """Gaussian moments of the activation at each point (pre-activation variance 1)."""
        return self._moments

    @cached_property
    def exact_score_test_error(self) -> np.ndarray:
        """``C_t``: the test error of the exact score; ``e^{-2t}`` for isotropic data."""
        a_t, _ = ou_coefficients(self.t)
        return a_t**2

    def point(self, index) -> "RFSetting":
        """The scalar setting at ``index`` of the grid."""
        vals = {k: getattr(self, k)[index] for k in _NUMERIC}
        if any(np.ndim(v) for v in vals.values()):
            raise ValueError("index: must select a single grid point")
        return RFSetting(**{k: float(v) for k, v in vals.items()}, activation=self.activation,
                         data=self.data)

    def points(self) -> Iterator["RFSetting"]:
        """Iterate over the grid as scalar settings, in C order."""
        for idx in np.ndindex(self.shape):
            yield self.point(idx)

    def replace(self, **changes) -> "RFSetting":
        """A copy with some fields changed (validated again)."""
        cur = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        cur.update(changes)
        return RFSetting(**cur)

    def to_dict(self) -> dict:
        """JSON-friendly description (scalars as floats, arrays as lists; m may be 'inf')."""
        def enc(a):
            a = np.asarray(a, dtype=float)
            if a.ndim == 0:
                return "inf" if np.isinf(a) else float(a)
            return [("inf" if np.isinf(x) else float(x)) for x in a.ravel()]

        out = {k: enc(getattr(self, k)) for k in _NUMERIC}
        out["shape"] = list(self.shape)
        out["activation"] = self.activation.name
        out["data"] = self.data
        return out

    def __repr__(self) -> str:
        if self.size == 1:
            vals = ", ".join(f"{k}={float(getattr(self, k)):g}" for k in _NUMERIC)
        else:
            vals = f"shape={self.shape}"
        return f"RFSetting({vals}, activation={self.activation.name!r}, data={self.data!r})"
