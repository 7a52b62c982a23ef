"""Local curvature of the score-matching loss of the MoE-latent MoG network at the truth, and
the linear rate of gradient descent (Yang et al. 2026, Section 6; research note molr_mog.md
section 5.4).

Setting [paper: YLJ26, secondary digest]: fixed ``t``, population loss
``L(theta) = E_{x ~ p_t} ||s_theta(x) - s*(x)||^2`` over
``theta = {mu_{k,l}, U_{k,l}}`` with rank-one factors ``||U|| = 1``, modes separated well
enough that the gates are hard.  At the truth the residual vanishes, so
``H = 2 E[J^T J]``; with hard gates ``H`` is block diagonal over modes, and within a mode
the ``mu`` and ``U`` blocks decouple (the ``U`` Jacobian is linear in the centred
``y = x - s mu``, whose mean is zero).  With ``c = s^2 + gamma^2``, ``alpha = s^2 / c`` and
mode weight ``omega = w_k pi_{k,l}``:

* ``mu`` block [paper: YLJ26, secondary digest; confirmed here]:
  ``2 omega s^2 / gamma^4 (I - alpha U U^T)^2``, eigenvalues
  ``2 omega s^2 / c^2`` along ``U`` and ``2 omega s^2 / gamma^4`` (``d_k - 1`` times);
* ``U`` block [derived: checked against autograd Hessians; the digest's transcription does
  not match, see :func:`transcribed_u_block_min`]:
  ``2 omega alpha^2 / gamma^4 [(U^T Sigma U) I + 2 c U U^T + Sigma]``, ``Sigma = s^2 U U^T +
  gamma^2 I``, eigenvalues ``2 omega s^4 (s^2 + 2 gamma^2) / (gamma^4 c^2)`` (``d_k - 1``
  times) and, along ``U``, ``8 omega s^4 / (gamma^4 c)`` for the paper's ``alpha``-form expert
  or ``8 omega s^4 / c^3`` for the Woodbury form (whose derivative along ``U`` carries an
  extra factor ``1 - alpha``).

Gradient descent with step ``2 / (a + L)`` (``a``, ``L`` the extreme eigenvalues) contracts
``||theta_m - theta*||`` by ``(kappa - 1) / (kappa + 1)`` per step, ``kappa = L / a``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import choice, integers, number
from .._checks import floats as _floats

from ..tidy import Tidy, TidyData
from ._bound import process_coefficients

__all__ = ["FORMS", "HessianSpectrum", "local_hessian_spectrum", "gd_rate",
           "transcribed_u_block_min"]

FORMS = ("woodbury", "paper")
DIM_MAX = 2**53  # largest d_k (multiplicities are counted as int64)


@dataclass(frozen=True)
class HessianSpectrum(Tidy):
    """Predicted Hessian eigenvalues at the truth (hard gates); ``to_pandas()`` and
    ``to_xarray()`` give one row per ``mode`` (with its ``block``) and the scalars
    alongside.

    Attributes
    ----------
    eigenvalues : numpy.ndarray
        Distinct eigenvalues, one row per (block, mode).
    multiplicity : numpy.ndarray
        How often each appears.
    block : tuple of str
        ``"mu-along"``, ``"mu-perp"``, ``"U-along"``, ``"U-perp"`` per row.
    alpha, L : float
        Smallest and largest eigenvalue.
    kappa : float
        ``L / alpha``.
    step : float
        ``2 / (alpha + L)``.
    rate : float
        ``(kappa - 1) / (kappa + 1)``.
    """

    eigenvalues: np.ndarray
    multiplicity: np.ndarray
    block: tuple
    alpha: float
    L: float
    kappa: float
    step: float
    rate: float

    @property
    def n_parameters(self) -> int:
        return int(self.multiplicity.sum())

    def _tidy(self):
        mode = ("mode",)
        ev = np.ravel(self.eigenvalues)
        return TidyData({"mode": np.arange(ev.size)},
                        {"eigenvalue": (mode, ev),
                         "multiplicity": (mode, np.ravel(self.multiplicity)),
                         **{k: float(getattr(self, k)) for k in ("alpha", "L", "kappa", "step",
                                                                 "rate")}},
                        {"block": (mode, np.array(self.block, dtype=object))},
                        {"n_parameters": self.n_parameters})


def gd_rate(kappa):
    """``(kappa - 1) / (kappa + 1)``: the per-step contraction of gradient descent with step
    ``2 / (alpha + L)`` on an ``alpha``-strongly convex, ``L``-smooth quadratic."""
    kappa = _floats("kappa", kappa)
    if np.any(~np.isfinite(kappa)) or np.any(kappa < 1):
        raise ValueError("kappa: condition numbers must be finite and >= 1")
    return (kappa - 1.0) / (kappa + 1.0)


def local_hessian_spectrum(t: float, dims, weights, *, process: str = "vp",
                           form: str = "woodbury") -> HessianSpectrum:
    """Eigenvalues of ``H = 2 E[J^T J]`` at the truth for rank-one unit factors.

    Parameters
    ----------
    t : float
        Diffusion time.
    dims : sequence of ints
        Latent dimension ``d_k`` of each mode's subspace, one entry per mode.
    weights : sequence of floats
        ``omega = w_k pi_{k,l}`` of each mode (its share of the data), same length.
    process : {"vp", "ve"}
    form : {"woodbury", "paper"}
        The expert's factor term: exact Woodbury ``s^2 U (gamma^2 + s^2 U^T U)^{-1} U^T`` or
        the paper's ``alpha U U^T``; they agree at ``||U|| = 1`` but curve differently along
        ``U``.
    """
    form = choice("form", form, FORMS)
    dims = integers("dims", dims, high=DIM_MAX)
    weights = np.atleast_1d(_floats("weights", weights))
    if len(dims) != len(weights) or not dims:
        raise ValueError("dims, weights: need one value each per mode")
    if min(dims) < 1:
        raise ValueError("dims: every d_k must be >= 1")
    if np.any(~np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError("weights: mode weights must be finite and > 0")
    t = number("t", t)  # one diffusion time
    s, g2 = process_coefficients(t, process)
    s, g2 = np.float64(s), np.float64(g2)  # NumPy scalars: a degenerate t gives inf, not an exception
    with np.errstate(all="ignore"):
        s2, c = s * s, s * s + g2
        u_along = 8 * s2 ** 2 / (g2 ** 2 * c) if form == "paper" else 8 * s2 ** 2 / c ** 3
        per = [("mu-along", 2 * s2 / c ** 2, 1), ("mu-perp", 2 * s2 / g2 ** 2, None),
               ("U-along", u_along, 1),
               ("U-perp", 2 * s2 ** 2 * (s2 + 2 * g2) / (g2 ** 2 * c ** 2), None)]
    vals = np.array([v for _, v, _ in per], dtype=float)
    if not np.all(np.isfinite(vals)) or np.any(vals <= 0):
        raise ValueError(f"t: the Hessian spectrum is not representable at t = {t!r} "
                         f"(s_t^2 = {float(s2):.3g}, gamma_t^2 = {float(g2):.3g}: an "
                         f"eigenvalue under- or overflows); use a moderate diffusion time")
    ev, mult, block = [], [], []
    for dk, om in zip(dims, weights):
        for name, val, m in per:
            m = dk - 1 if m is None else m
            if m > 0:
                ev.append(float(om * val))
                mult.append(m)
                block.append(name)
    ev, mult = np.array(ev), np.array(mult)
    a, L = float(ev.min()), float(ev.max())
    kappa = L / a
    return HessianSpectrum(eigenvalues=ev, multiplicity=mult, block=tuple(block), alpha=a, L=L,
                           kappa=kappa, step=2.0 / (a + L), rate=float(gd_rate(kappa)))


def transcribed_u_block_min(u, mu) -> float:
    """The ``U``-block smallest eigenvalue as a secondary digest transcribes the paper
    [paper: YLJ26, secondary digest]:
    ``(4 (U^T mu)^2 + |U|^2 |mu|^2 - |U| |mu| sqrt(8 (U^T mu)^2 + |U|^2 |mu|^2)) / 2``.
    It vanishes for ``U`` orthogonal to ``mu``, which the autograd Hessian does not; kept to
    show the discrepancy.

    ``u`` and ``mu`` are finite vectors of one length.  Evaluated in the cancellation-free
    form ``8 a^2 / (4 a + b + sqrt(b (8 a + b)))`` (``a = (U^T mu)^2``, ``b = |U|^2 |mu|^2``)
    on the vectors scaled to unit maximum, so it is non-negative and does not overflow
    early; a value beyond the float range raises a ``ValueError``."""
    vecs = []
    for name, v in (("u", u), ("mu", mu)):
        arr = _floats(name, v)
        if arr.ndim != 1 or arr.size < 1 or not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: expected a non-empty finite vector (got {v!r})")
        vecs.append(arr)
    u, mu = vecs
    if u.size != mu.size:
        raise ValueError(f"u, mu: lengths differ ({u.size} and {mu.size})")
    su, sm = float(np.max(np.abs(u))), float(np.max(np.abs(mu)))
    if su == 0 or sm == 0:
        return 0.0
    uh, mh = u / su, mu / sm
    a = float(uh @ mh) ** 2
    b = float(uh @ uh) * float(mh @ mh)
    val = 8 * a * a / (4 * a + b + math.sqrt(b * (8 * a + b)))
    if val == 0:  # U orthogonal to mu (or a^2 underflows): 0 at any scale
        return 0.0
    with np.errstate(over="ignore", under="ignore"):
        out = np.float64(val) * (np.float64(su) * np.float64(sm)) ** 2
    if not np.isfinite(out):
        raise ValueError("u, mu: too large, the eigenvalue exceeds the float range")
    return float(out)
