"""The frozen description of a random-features DSM setting (asymptotic parameters only)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, Iterator

import numpy as np

from .._checks import ParameterTypeError, choice, floats, instance, number, plain
from ..activations import ActivationMoments, get_activation, moments
from ..processes import ou_coefficients
from ..spectra import Spectrum, empirical, marchenko_pastur, mixture, point_mass

__all__ = ["RFSetting", "DATA_MODELS"]

DATA_MODELS = ("gaussian", "subspace", "linear-manifold", "hidden-manifold", "spectrum")
_NUMERIC = ("psi_n", "psi_p", "t", "lam", "m", "psi_d")
PSI_D_MIN = 1e-6  # smallest intrinsic ratio D/d: below it the spectral integrals overflow
_CENTRED_TOL = 1e-10


def _positive(name: str, value, what: str) -> np.ndarray:
    """A numeric field: a number or an array of numbers (see :mod:`lowdim.theory._checks`), finite
    and ``> 0``; a copy."""
    arr = np.array(floats(name, value))
    if arr.size == 0:
        raise ValueError(f"{name}: empty")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].ravel()[0]
        raise ValueError(f"{name}: {what} must be finite and > 0 (got {bad:g})")
    return arr


_INF_SPELLINGS = ("inf", "infinity", "∞")


def _noise_copies(value) -> np.ndarray:
    """``m``: integers ``>= 1`` or infinity, where infinity may also be spelled ``"inf"``
    (``"infinity"``, ``"∞"``); any other string, and any other kind of value, is a
    ParameterTypeError."""
    try:
        raw = np.array(plain("m", value), dtype=object)
    except (TypeError, RuntimeError, ValueError) as exc:
        if str(exc).startswith("m:"):
            raise
        floats("m", value)  # names a tensor that cannot be read
        raise ParameterTypeError(f"m: expected integers >= 1 or 'inf' (got {value!r})") \
            from None
    if raw.size == 0:
        raise ValueError("m: empty")
    flat = []
    for v in raw.ravel():
        if isinstance(v, str):
            if v.strip().lower() in _INF_SPELLINGS:
                flat.append(np.inf)
                continue
            raise ParameterTypeError(f"m: expected an integer >= 1 or 'inf' (got the string "
                                     f"{v!r})")
        fv = number("m", v)
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
        Data model (research note rf_learning_curves.md section 2.2):

        * ``"gaussian"``: isotropic ``N(0, I_d)``;
        * ``"subspace"``: ``N(0, Pi)`` with ``Pi`` the projector on a D-dimensional
          subspace (``Tr Sigma / d = psi_d``);
        * ``"linear-manifold"``: ``x = M z / sqrt(D)``, ``z ~ N(0, I_D)``, ``M`` a frozen
          ``d x D`` Gaussian matrix (``Sigma = M M^T / D``, Marchenko-Pastur spectrum);
        * ``"hidden-manifold"``: ``x = phi(M z / sqrt(D))`` with a centred non-linearity
          ``phi`` (``manifold_activation``), entering the random-features theory through
          its Gaussian-equivalent covariance ``kappa1^2 M M^T / D + kappa*^2 I``;
        * ``"spectrum"``: ``N(0, Sigma)`` with the eigenvalues of ``Sigma`` given
          (``eigenvalues``), taken as they are (``Tr Sigma / d`` is their mean): the
          Gaussian-covariate model of a real data set's covariance.
    psi_d : array_like, optional
        Intrinsic ratio ``D / d`` in ``(0, 1]``; required by the manifold and subspace
        models, not accepted for ``"gaussian"`` and ``"spectrum"`` (where it is read off
        as the share of non-zero eigenvalues).
    manifold_activation : str, Activation or callable, optional
        ``phi`` of the hidden manifold (default ``"tanh"``); must be centred,
        ``E phi(g) = 0`` for ``g ~ N(0, 1)``.
    eigenvalues : array_like, optional
        The covariance eigenvalues of ``data="spectrum"`` (1-d, ``>= 0``, not all zero;
        :func:`lowdim.theory.spectra.empirical`).  One spectrum for the whole grid.

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
    psi_d: Any = None
    manifold_activation: Any = None
    eigenvalues: Any = None
    _moments: ActivationMoments = field(init=False, repr=False, compare=False)
    _manifold_moments: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        choice("data", self.data, DATA_MODELS)
        if self.data == "spectrum":
            if self.eigenvalues is None:
                raise ValueError("eigenvalues: data='spectrum' needs the covariance "
                                 "eigenvalues")
            if self.psi_d is not None:
                raise ValueError("psi_d: data='spectrum' reads D/d off its eigenvalues (the "
                                 "share that are not zero); do not pass it")
            spec = empirical(self.eigenvalues)
            frozen = np.array(floats("eigenvalues", self.eigenvalues), dtype=float)
            frozen.setflags(write=False)
            object.__setattr__(self, "eigenvalues", frozen)
            object.__setattr__(self, "psi_d", float(spec.mass(on_manifold=True)))
            object.__setattr__(self, "spectrum", spec)   # the cached property, built once
        elif self.eigenvalues is not None:
            raise ValueError("eigenvalues: only used with data='spectrum'")
        if self.data == "gaussian":
            if self.psi_d is not None and not np.all(_positive("psi_d", self.psi_d,
                                                               "intrinsic ratio D/d") == 1.0):
                raise ValueError("psi_d: isotropic 'gaussian' data has psi_d = 1; use "
                                 "data='subspace' or a manifold model for D < d")
            psi_d = np.ones(())
        elif self.data == "spectrum":
            psi_d = np.array(self.psi_d)
        else:
            if self.psi_d is None:
                raise ValueError(f"psi_d: data={self.data!r} needs the intrinsic ratio "
                                 "psi_d = D/d in (0, 1]")
            psi_d = _positive("psi_d", self.psi_d, "intrinsic ratio D/d")
            if np.any(psi_d > 1.0):
                raise ValueError(f"psi_d: intrinsic ratio D/d must be in (0, 1] "
                                 f"(got {psi_d[psi_d > 1.0].ravel()[0]:g})")
            if np.any(psi_d < PSI_D_MIN):
                raise ValueError(f"psi_d: ratios below {PSI_D_MIN:g} are outside the range "
                                 f"where the manifold's spectral integrals are representable "
                                 f"(got {psi_d[psi_d < PSI_D_MIN].ravel()[0]:g})")
        if self.data == "hidden-manifold":
            phi = get_activation("tanh" if self.manifold_activation is None
                                 else self.manifold_activation)
            mm = moments(phi, 1.0, 0.0)
            scale = float(np.sqrt(mm.mu1**2 + mm.mu_star_sq))
            if abs(float(mm.mu0)) > _CENTRED_TOL * max(scale, 1.0):
                raise ValueError(f"manifold_activation: {phi.name!r} is not centred "
                                 f"(E phi(g) = {float(mm.mu0):.3g} for g ~ N(0, 1)); the "
                                 "hidden-manifold theory needs E phi(g) = 0 (use a centred "
                                 "version, e.g. lowdim.theory.activations.centred)")
            object.__setattr__(self, "manifold_activation", phi)
            object.__setattr__(self, "_manifold_moments", mm)
        else:
            if self.manifold_activation is not None:
                raise ValueError("manifold_activation: only used with data='hidden-manifold'")
            object.__setattr__(self, "_manifold_moments", None)
        conv = {
            "psi_n": _positive("psi_n", self.psi_n, "samples per dimension"),
            "psi_p": _positive("psi_p", self.psi_p, "features per dimension"),
            "t": _positive("t", self.t, "diffusion time"),
            "lam": _positive("lam", self.lam, "ridge"),
            "m": _noise_copies(self.m),
            "psi_d": psi_d,
        }
        try:
            arrays = np.broadcast_arrays(*[conv[k] for k in _NUMERIC])
        except ValueError:
            shapes = ", ".join(f"{k}{conv[k].shape}" for k in _NUMERIC)
            raise ValueError(f"psi_n, psi_p, t, lam, m, psi_d: shapes do not broadcast "
                             f"({shapes})") from None
        for k, a in zip(_NUMERIC, arrays):
            a = np.array(a, dtype=float)
            a.setflags(write=False)
            object.__setattr__(self, k, a)
        object.__setattr__(self, "activation", get_activation(self.activation))
        # Gaussian moments at pre-activation variance a^2 sigma_x^2 + Delta and noise-copy
        # covariance a^2 sigma_x^2 (validates the activation)
        a_t, delta = ou_coefficients(self.t)
        sx2 = self.data_variance
        object.__setattr__(self, "_moments",
                           moments(self.activation, a_t**2 * sx2 + delta, a_t**2 * sx2))

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

    @property
    def gaussian_data(self) -> bool:
        """True when the data are exactly Gaussian (every model but the hidden manifold)."""
        return self.data != "hidden-manifold"

    @property
    def data_variance(self) -> np.ndarray:
        """``sigma_x^2 = Tr Sigma / d``: 1, ``psi_d`` (subspace), 1, ``E phi(g)^2``, the
        mean eigenvalue (spectrum)."""
        if self.data == "subspace":
            return self.psi_d
        if self.data == "hidden-manifold":
            mm = self._manifold_moments
            return np.full(self.shape, float(mm.mu1**2 + mm.mu_star_sq))
        if self.data == "spectrum":
            return np.full(self.shape, float(np.mean(self.eigenvalues)))
        return np.ones(self.shape)

    @cached_property
    def spectrum(self) -> Spectrum:
        """Limiting spectral measure of the (Gaussian-equivalent) data covariance.

        Components spanned by the manifold (the subspace, the column space of ``M``) are
        flagged on-manifold; the rest (its orthogonal complement) off-manifold.
        """
        g = self.psi_d
        if self.data == "gaussian":
            return point_mass(np.ones(self.shape))
        if self.data == "subspace":
            return mixture((g, point_mass(1.0)), (1.0 - g, point_mass(0.0, on_manifold=False)))
        if self.data == "linear-manifold":
            # nonzero eigenvalues of M M^T / D = those of M^T M / D: MP(psi_d) / psi_d
            return mixture((g, marchenko_pastur(g, 1.0 / g)),
                           (1.0 - g, point_mass(0.0, on_manifold=False)))
        mm = self._manifold_moments
        k1sq, kssq = float(mm.mu1**2), float(mm.mu_star_sq)
        return mixture((g, marchenko_pastur(g, k1sq / g, kssq)),
                       (1.0 - g, point_mass(kssq, on_manifold=False)))

    @cached_property
    def exact_score_test_error(self) -> np.ndarray:
        """``C_t = (1/d) E ||xi - E[xi | x_t]||^2``, the test error of the exact score.

        Gaussian data: ``int rho(dl) a^2 l / (a^2 l + Delta)`` (``e^{-2t}`` for isotropic
        data, ``psi_d e^{-2t}`` for the subspace).  Hidden manifold: the Bayes-optimal
        (GLM replica) value of :func:`lowdim.theory.rf.hidden_manifold_exact_score`.
        """
        a_t, delta = ou_coefficients(self.t)
        if self.gaussian_data:
            return np.broadcast_to(self.spectrum.expect_ratio(delta, a_t**2), self.shape).copy()
        from ._exact_score import hidden_manifold_exact_score

        res = hidden_manifold_exact_score(self.psi_d, self.t, self.manifold_activation)
        return np.where(res.converged, res.c_t, np.nan)

    @cached_property
    def exact_score_test_error_par(self) -> np.ndarray:
        """The on-manifold part of ``C_t`` (Gaussian data only; the off-manifold part of
        the noise is read off exactly where ``Sigma`` vanishes)."""
        if not self.gaussian_data:
            raise ValueError("data: the on/off-manifold split of C_t is defined here for "
                             "Gaussian data only")
        a_t, delta = ou_coefficients(self.t)
        return np.broadcast_to(self.spectrum.expect_ratio(delta, a_t**2, on_manifold=True),
                               self.shape).copy()

    def point(self, index) -> "RFSetting":
        """The scalar setting at ``index`` of the grid (``()`` for a scalar setting); a
        ``ValueError`` names ``index`` when it does not select one point of the grid."""
        try:
            vals = {k: getattr(self, k)[index] for k in _NUMERIC}
        except (IndexError, TypeError, OverflowError, RuntimeError) as exc:
            raise ValueError(f"index: {index!r} is not a point of the grid of shape "
                             f"{self.shape} ({exc})") from None
        if any(np.ndim(v) for v in vals.values()):
            raise ValueError("index: must select a single grid point")
        if self.data in ("gaussian", "spectrum"):
            vals.pop("psi_d")
        return RFSetting(**{k: float(v) for k, v in vals.items()}, activation=self.activation,
                         data=self.data, manifold_activation=self._manifold_activation_arg(),
                         eigenvalues=self.eigenvalues if self.data == "spectrum" else None)

    def points(self) -> Iterator["RFSetting"]:
        """Iterate over the grid as scalar settings, in C order."""
        for idx in np.ndindex(self.shape):
            yield self.point(idx)

    def replace(self, **changes) -> "RFSetting":
        """A copy with some fields changed (validated again); an unknown field is a
        ParameterTypeError naming it."""
        cur = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        for key in changes:
            if key not in cur:
                raise ParameterTypeError(f"{key}: not a field of RFSetting (fields: "
                                         f"{', '.join(cur)})")
        new_data = changes.get("data", self.data)
        # a field the new data model does not take is dropped, unless changed explicitly
        cur["manifold_activation"] = (self._manifold_activation_arg()
                                      if new_data == "hidden-manifold" else None)
        if "gaussian" in (self.data, new_data) or "spectrum" in (self.data, new_data):
            cur["psi_d"] = None
        if new_data != "spectrum":
            cur["eigenvalues"] = None
        cur.update(changes)
        return RFSetting(**cur)

    def _manifold_activation_arg(self):
        return self.manifold_activation if self.data == "hidden-manifold" else None

    def grid_coordinates(self) -> tuple[dict, dict]:
        """The grid's parameters and labels, as tidy results name them: ``({"psi_n": ...,
        "psi_p": ..., "m": ..., "t": ..., "lam": ...}, {"activation": ..., "data": ...})``,
        arrays of ``shape`` (``m`` may be ``inf``); ``psi_d`` for every data model but
        ``"gaussian"`` and ``manifold_activation`` for the hidden manifold."""
        coords = {k: np.asarray(getattr(self, k), dtype=float)
                  for k in ("psi_n", "psi_p", "m", "t", "lam")}
        if self.data != "gaussian":
            coords["psi_d"] = np.broadcast_to(np.asarray(self.psi_d, dtype=float), self.shape)
        labels = {"activation": self.activation.name, "data": self.data}
        if self.data == "hidden-manifold":
            labels["manifold_activation"] = self.manifold_activation.name
        return coords, labels

    def to_dict(self) -> dict:
        """JSON-friendly description (scalars as floats, arrays as lists; m may be 'inf')."""
        def enc(a):
            a = np.asarray(a, dtype=float)
            if a.ndim == 0:
                return "inf" if np.isinf(a) else float(a)
            return [("inf" if np.isinf(x) else float(x)) for x in a.ravel()]

        out = {k: enc(getattr(self, k)) for k in _NUMERIC if k != "psi_d"}
        if self.data != "gaussian":
            out["psi_d"] = enc(self.psi_d)
        if self.data == "spectrum":
            out["eigenvalues"] = [float(v) for v in self.eigenvalues]
        out["shape"] = list(self.shape)
        out["activation"] = self.activation.name
        out["data"] = self.data
        if self.data == "hidden-manifold":
            out["manifold_activation"] = self.manifold_activation.name
        return out

    def __repr__(self) -> str:
        keys = [k for k in _NUMERIC if k != "psi_d" or self.data != "gaussian"]
        if self.size == 1:
            vals = ", ".join(f"{k}={float(np.ravel(getattr(self, k))[0]):g}" for k in keys)
        else:
            vals = f"shape={self.shape}"
        extra = (f", manifold_activation={self.manifold_activation.name!r}"
                 if self.data == "hidden-manifold" else "")
        if self.data == "spectrum":
            ev = self.eigenvalues
            extra = f", eigenvalues=<{ev.size} in [{ev.min():g}, {ev.max():g}]>"
        return (f"RFSetting({vals}, activation={self.activation.name!r}, data={self.data!r}"
                f"{extra})")


def check_setting(setting) -> RFSetting:
    """``setting`` itself when it is an :class:`RFSetting`, else a ``TypeError`` naming it."""
    return instance("setting", setting, RFSetting)

