"""Gaussian moments of activation functions.

For a pre-activation ``u ~ N(0, v)`` the random-features theory needs

* ``mu0 = E[sigma(u)]`` (the mean; it only adds a rank-one spike, see
  :func:`lowdim.theory.rf.mean_spike_note`),
* ``mu1 = E[sigma'(u)] = E[u sigma(u)] / v`` (Stein's lemma; the linear part),
* ``mu_star^2 = E[sigma(u)^2] - mu0^2 - mu1^2 v`` (the non-linear part),
* the *dual kernel* ``k(v, c) = E[sigma(u) sigma(u')]`` for a pair ``(u, u')`` of
  variance ``v`` and covariance ``c``.  Two noisy copies of one data point,
  ``y = a x + sqrt(Delta) xi`` and ``y' = a x + sqrt(Delta) xi'``, have
  ``c = a^2 sigma_x^2``; the correlation of the non-linear parts of their features is
  ``kappa = (k(v, c) - mu0^2 - mu1^2 c) / mu_star^2``.

In Hermite terms (``sigma = sum_s c_s He_s / s!`` for ``v = 1``)
``k(1, rho) = sum_s c_s^2 rho^s / s!`` (Mehler), so ``kappa`` is the share of the
non-linear power that survives at correlation ``rho``.  Provenance: definitions as in
George-Veiga-Macris (2025) and its follow-ups (research note rf_learning_curves.md
section 3.1) [paper: GVM25]; the numerics are ours.

Numerics.  ``relu``, ``erf`` and ``linear`` use closed forms.  Every other activation
(``tanh`` and user callables) is integrated by Gauss-Hermite quadrature at two
resolutions; if they disagree (a kink, a jump, slow decay) the moments are recomputed by
adaptive cubature (:func:`scipy.integrate.cubature`).  A moment that diverges raises
``ValueError`` naming the activation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Optional

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from ._checks import ParameterTypeError, floats, number
from .tidy import Tidy, grid_data

__all__ = [
    "Activation",
    "ActivationMoments",
    "get_activation",
    "centred",
    "moments",
    "ACTIVATIONS",
]

# Gauss-Hermite node counts used by the smooth path and by its convergence check.
_GH_COARSE = 128
_GH_FINE = 256
_GH_RTOL = 1e-11
_CUBATURE_RTOL = 1e-8
_CUBATURE_ATOL = 1e-11
_TAIL_RADIUS = 12.0
_RHO_ROTATE = 0.9999        # beyond this |rho| the dual kernel is integrated in rotated coordinates
_RHO_DEGENERATE = 1e-12     # 1 - |rho| below this: u' = +-u exactly


@lru_cache(maxsize=8)
def _gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for E[f(z)], z ~ N(0, 1)."""
    x, w = hermegauss(n)   # accurate to 1e-14 up to 200 nodes (checked against SciPy's)
    return x, w / np.sqrt(2.0 * np.pi)


def _values(f, *args) -> np.ndarray:
    """``f(*args)`` (an activation or one of its closed forms) as a float array; values that
    are not real numbers (complex, strings, ...) are a ParameterTypeError naming the
    activation."""
    return floats("activation", f(*args))


@dataclass(frozen=True)
class Activation:
    """An activation function with its Gaussian moments.

    Parameters
    ----------
    name : str
        Identifier used in tables, file names and error messages.
    fn : callable
        Vectorised NumPy function ``sigma(x)``.
    torch_fn : callable, optional
        The same function on torch tensors, used by the simulations.  When omitted the
        simulation tries ``fn`` on tensors (works for functions built from arithmetic).
    mean, slope, second, dual : callable, optional
        Closed forms of ``E sigma(u)``, ``E sigma'(u)``, ``E sigma(u)^2`` (as functions of
        the variance ``v``) and of ``E sigma(u) sigma(u')`` (function of ``v, c``).  When
        absent they are computed by quadrature.
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    torch_fn: Optional[Callable] = field(default=None, compare=False)
    mean: Optional[Callable] = field(default=None, compare=False, repr=False)
    slope: Optional[Callable] = field(default=None, compare=False, repr=False)
    second: Optional[Callable] = field(default=None, compare=False, repr=False)
    dual: Optional[Callable] = field(default=None, compare=False, repr=False)
    recipe: Optional[tuple] = field(default=None, compare=False, repr=False)

    def __call__(self, x):
        return self.fn(x)

    def __reduce__(self):
        # built-in activations travel by name, derived ones by the recipe that rebuilds them
        # (their functions are closures), so settings can be sent to worker processes
        if ACTIVATIONS.get(self.name) is self:
            return (get_activation, (self.name,))
        if self.recipe is not None:
            return self.recipe
        return (Activation, (self.name, self.fn, self.torch_fn, self.mean, self.slope,
                             self.second, self.dual))


@dataclass(frozen=True)
class ActivationMoments(Tidy):
    """Gaussian moments of an activation, broadcast over the shape of the inputs;
    ``to_pandas()`` and ``to_xarray()`` give them over ``variance`` and ``covariance``.

    Attributes
    ----------
    mu0, mu1, mu_star_sq, kappa : ndarray
        See the module docstring.  ``kappa`` is set to 0 where ``mu_star_sq`` vanishes
        (a linear activation), where it multiplies zero in every formula.
    variance, covariance : ndarray
        The pre-activation variance ``v`` and the noise-copy covariance ``c``.
    method : str
        ``"closed-form"``, ``"gauss-hermite"`` or ``"cubature"``.
    error_estimate : float
        Largest absolute quadrature error estimate over the moments (0 for closed forms).
    """

    mu0: np.ndarray
    mu1: np.ndarray
    mu_star_sq: np.ndarray
    kappa: np.ndarray
    variance: np.ndarray
    covariance: np.ndarray
    method: str
    error_estimate: float

    def _tidy(self):
        return grid_data({"variance": self.variance, "covariance": self.covariance},
                         {k: getattr(self, k) for k in ("mu0", "mu1", "mu_star_sq", "kappa")},
                         {"method": self.method, "error_estimate": float(self.error_estimate)})

    @property
    def mu_star(self) -> np.ndarray:
        return np.sqrt(self.mu_star_sq)


# --------------------------------------------------------------------------- closed forms
def _relu_mean(v):
    return np.sqrt(v / (2.0 * np.pi))


def _relu_dual(v, c):
    rho = np.clip(c / v, -1.0, 1.0)
    # arc-cosine kernel of degree one (Cho & Saul 2009)
    return v / (2.0 * np.pi) * (np.sqrt(1.0 - rho**2) + rho * (np.pi - np.arccos(rho)))


def _erf_slope(v):
    return 2.0 / np.sqrt(np.pi) / np.sqrt(1.0 + 2.0 * v)


def _erf_dual(v, c):
    # E erf(u) erf(u') = (2/pi) arcsin(2c / (1 + 2v))  (Williams 1997)
    return 2.0 / np.pi * np.arcsin(2.0 * c / (1.0 + 2.0 * v))


def _torch_relu(x):
    import torch

    return torch.relu(x)


def _torch_tanh(x):
    import torch

    return torch.tanh(x)


def _erf(x):
    from scipy.special import erf  # here: SciPy's special functions take 0.2 s to import

    return erf(x)


def _torch_erf(x):
    import torch

    return torch.erf(x)


def _identity(x):
    return x


def _np_relu(x):
    return np.maximum(x, 0.0)


def _half(v):
    return 0.5 * np.ones_like(v)


def _half_v(v):
    return 0.5 * v


def _zeros(v):
    return np.zeros_like(v)


def _ones(v):
    return np.ones_like(v)


def _erf_second(v):
    return _erf_dual(v, v)


def _second_arg(v, c):
    return c


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, torch_fn=_torch_tanh),
    "relu": Activation(
        "relu",
        _np_relu,
        torch_fn=_torch_relu,
        mean=_relu_mean,
        slope=_half,
        second=_half_v,
        dual=_relu_dual,
    ),
    "erf": Activation(
        "erf",
        _erf,
        torch_fn=_torch_erf,
        mean=_zeros,
        slope=_erf_slope,
        second=_erf_second,
        dual=_erf_dual,
    ),
    "linear": Activation(
        "linear",
        _identity,
        torch_fn=_identity,
        mean=_zeros,
        slope=_ones,
        second=_identity,
        dual=_second_arg,
    ),
}


def get_activation(activation) -> Activation:
    """Return an :class:`Activation` from a name, an ``Activation`` or a callable.

    Raises
    ------
    ValueError
        For an unknown name or an object that is not callable.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in ACTIVATIONS:
            raise ValueError(
                f"activation: unknown name {activation!r}; choose one of "
                f"{', '.join(sorted(ACTIVATIONS))} or pass a callable"
            )
        return ACTIVATIONS[key]
    if callable(activation):
        name = getattr(activation, "__name__", "custom")
        return Activation(name if name != "<lambda>" else "custom", _vectorised(activation))
    raise ParameterTypeError(f"activation: expected a name or a callable, got "
                             f"{type(activation).__name__}")


def _vectorised(f):
    """Wrap ``f`` so that it accepts arrays (np.vectorize when it does not already)."""
    probe = np.linspace(-1.0, 1.0, 5)
    try:
        out = _values(f, probe)
        if out.shape == probe.shape:
            return f
    except Exception:  # noqa: BLE001 - any failure means "not vectorised"
        pass
    return _Elementwise(f)


class _Elementwise:
    """``f`` applied entry by entry (picklable whenever ``f`` is, unlike a local lambda)."""

    def __init__(self, f):
        self.f = f
        self._vf = np.vectorize(self._one, otypes=[float])

    def _one(self, x):
        return number("activation", self.f(float(x)))

    def __call__(self, x):
        return self._vf(x)

    def __reduce__(self):
        return (_Elementwise, (self.f,))


# --------------------------------------------------------------------------- quadrature
def _check_tails(act: Activation, v_max: float) -> None:
    """Raise if E[sigma(u)^2] looks divergent for u ~ N(0, v_max).

    The Gaussian-weighted square must decay in the tails; we look at it at a few radii
    out to ``_TAIL_RADIUS`` standard deviations.
    """
    s = np.sqrt(v_max)
    radii = np.array([4.0, 8.0, _TAIL_RADIUS])
    z = np.concatenate([radii, -radii])
    with np.errstate(all="ignore"):
        vals = _values(act.fn, s * z) ** 2 * np.exp(-0.5 * z**2)
        bulk = _values(act.fn, s * np.linspace(-2, 2, 41)) ** 2
    scale = max(float(np.max(np.abs(bulk))), 1e-300) if np.all(np.isfinite(bulk)) else np.inf
    far = np.maximum(vals[2], vals[5])
    if not np.all(np.isfinite(vals)) or not np.isfinite(scale) or far > 1e-14 * max(scale, 1.0):
        raise ValueError(
            f"activation {act.name!r}: its Gaussian moment E[sigma(u)^2] diverges or decays too "
            f"slowly to be computed (pre-activation variance {v_max:g})"
        )


def _gh_moments(act: Activation, v: np.ndarray, c: np.ndarray, n: int):
    """Gauss-Hermite moments at n nodes per axis.  v, c are 1-D arrays of equal length.

    Evaluated in chunks so that memory stays below a few tens of MB whatever len(v).
    """
    chunk = max(1, 2_000_000 // (n * n))
    if v.size > chunk:
        parts = [_gh_moments(act, v[i:i + chunk], c[i:i + chunk], n)
                 for i in range(0, v.size, chunk)]
        return tuple(np.concatenate(p) for p in zip(*parts))
    x, w = _gauss_hermite(n)
    sv = np.sqrt(v)[:, None]
    f = _values(act.fn, sv * x[None, :])
    mean = f @ w
    slope = (f * x[None, :]) @ w / np.sqrt(v)
    second = (f * f) @ w
    # pair (u, u') = sqrt((v+c)/2) a +- sqrt((v-c)/2) b with a, b iid N(0, 1)
    sp = np.sqrt(np.maximum(v + c, 0.0) / 2.0)[:, None, None]
    sm = np.sqrt(np.maximum(v - c, 0.0) / 2.0)[:, None, None]
    a = x[None, :, None]
    b = x[None, None, :]
    fa = _values(act.fn, sp * a + sm * b)
    fb = _values(act.fn, sp * a - sm * b)
    dual = np.einsum("kij,i,j->k", fa * fb, w, w)
    return mean, slope, second, dual


def _cubature_moments(act: Activation, v: np.ndarray, c: np.ndarray):
    """Adaptive cubature of the same moments (robust to kinks and jumps).

    The dual kernel is integrated in the standardised coordinates ``(u, u') / sqrt(v)``
    while ``|rho| <= _RHO_ROTATE``: a kink or jump of sigma is then an axis-aligned line,
    which adaptive cubature resolves cheaply.  Closer to ``|rho| = 1`` that density is a
    ridge too narrow to resolve (the estimate drifts by up to 1e-4 while claiming
    convergence), so the pair is written ``u' = rho u + sqrt(1 - rho^2) z`` with a standard
    density instead: exact for kinks, while a jump there is reported as not converged.
    ``|rho| = 1`` is the one-dimensional ``E sigma(u) sigma(+-u)``.
    """
    L = _TAIL_RADIUS
    sv = np.sqrt(v)

    def one_d(z):  # z: (npts, 1)
        zz = z[:, 0:1]
        dens = np.exp(-0.5 * zz**2) / np.sqrt(2.0 * np.pi)
        f = _values(act.fn, sv[None, :] * zz)
        fm = _values(act.fn, -sv[None, :] * zz)
        return np.concatenate([f * dens, f * zz * dens, f * f * dens, f * fm * dens], axis=1)

    from scipy.integrate import cubature  # here: slow to import; closed forms need none

    r1 = cubature(one_d, [-L], [L], rtol=_CUBATURE_RTOL, atol=_CUBATURE_ATOL,
                  max_subdivisions=20000)
    k = v.size
    mean, ztimes, second, anti = (r1.estimate[i * k:(i + 1) * k] for i in range(4))
    rho = np.clip(c / v, -1.0, 1.0)
    dual = np.where(rho > 0, second, anti)           # |rho| = 1: u' = +-u
    ok = r1.status == "converged"
    err = float(np.max(r1.error))
    near = 1.0 - np.abs(rho) > _RHO_DEGENERATE
    for rotated in (False, True):
        sel = near & ((np.abs(rho) > _RHO_ROTATE) == rotated)
        if np.any(sel):
            est, e2, conv = _cubature_dual(act, sv[sel], rho[sel], rotated)
            dual = np.where(sel, 0.0, dual)
            dual[sel] = est
            ok, err = ok and conv, max(err, e2)
    if not ok:
        raise ValueError(
            f"activation {act.name!r}: adaptive cubature of its Gaussian moments did not "
            "converge; the activation may be too irregular"
        )
    return mean, ztimes / sv, second, dual, err


def _cubature_dual(act: Activation, sv: np.ndarray, rho: np.ndarray, rotated: bool):
    """``E sigma(u) sigma(u')`` by 2-D cubature (see :func:`_cubature_moments`)."""
    L = _TAIL_RADIUS
    if rotated:
        s = np.sqrt(1.0 - rho**2)

        def two_d(p):  # p: (npts, 2), independent standard normals (x, z)
            x = p[:, 0:1]
            z = p[:, 1:2]
            dens = np.exp(-0.5 * (x**2 + z**2)) / (2.0 * np.pi)
            fa = _values(act.fn, sv[None, :] * x)
            fb = _values(act.fn, sv[None, :] * (rho[None, :] * x + s[None, :] * z))
            return fa * fb * dens
        budget = 2000
    else:
        one_minus = np.maximum(1.0 - rho**2, 1e-300)

        def two_d(p):  # p: (npts, 2)
            x = p[:, 0:1]
            y = p[:, 1:2]
            dens = np.exp(-(x**2 - 2.0 * rho[None, :] * x * y + y**2)
                          / (2.0 * one_minus[None, :]))
            dens = dens / (2.0 * np.pi * np.sqrt(one_minus[None, :]))
            fa = _values(act.fn, sv[None, :] * x)
            fb = _values(act.fn, sv[None, :] * y)
            return fa * fb * dens
        budget = 50000
    from scipy.integrate import cubature

    r2 = cubature(two_d, [-L, -L], [L, L], rtol=_CUBATURE_RTOL, atol=_CUBATURE_ATOL,
                  max_subdivisions=budget)
    return r2.estimate, float(np.max(r2.error)), r2.status == "converged"


def _raw_moments(act: Activation, v: np.ndarray, c: np.ndarray):
    """Return mean, slope, second, dual, method, error for 1-D arrays v, c."""
    closed = (act.mean, act.slope, act.second, act.dual)
    if all(f is not None for f in closed):
        return (_values(act.mean, v), _values(act.slope, v), _values(act.second, v),
                _values(act.dual, v, c), "closed-form", 0.0)
    _check_tails(act, float(np.max(v)))
    coarse = _gh_moments(act, v, c, _GH_COARSE)
    fine = _gh_moments(act, v, c, _GH_FINE)
    scale = max(1.0, float(np.max(np.abs(fine[2]))))
    err = max(float(np.max(np.abs(a - b))) for a, b in zip(coarse, fine))
    if err <= _GH_RTOL * scale:
        return (*fine, "gauss-hermite", err)
    mean, slope, second, dual, err = _cubature_moments(act, v, c)
    return mean, slope, second, dual, "cubature", err


def moments(activation, variance=1.0, covariance=0.0) -> ActivationMoments:
    """Gaussian moments of an activation, vectorised over ``variance`` and ``covariance``.

    Parameters
    ----------
    activation : str, Activation or callable
        ``"tanh"``, ``"relu"``, ``"erf"``, ``"linear"`` or a vectorised callable.
    variance : array_like
        Pre-activation variance ``v > 0``.
    covariance : array_like
        Covariance ``c`` of two noisy copies, ``|c| <= v``.

    Returns
    -------
    ActivationMoments

    Raises
    ------
    ValueError
        On an unknown activation, invalid ``variance``/``covariance`` or a divergent moment.

    Examples
    --------
    >>> m = moments("relu")
    >>> round(float(m.mu1), 12), round(float(m.mu0), 6)
    (0.5, 0.398942)
    """
    act = get_activation(activation)
    arrays = [floats("variance", variance), floats("covariance", covariance)]
    try:
        v, c = np.broadcast_arrays(*arrays)
    except ValueError:
        raise ValueError(f"variance, covariance: shapes {arrays[0].shape} and "
                         f"{arrays[1].shape} do not broadcast") from None
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError("variance: must be finite and > 0")
    if not np.all(np.isfinite(c)) or np.any(np.abs(c) > v * (1 + 1e-12)):
        raise ValueError("covariance: must be finite with |covariance| <= variance")
    if v.size == 0:
        raise ValueError("variance: empty")
    shape = v.shape
    vf, cf = v.ravel(), np.minimum(c.ravel(), v.ravel())
    # evaluate once per distinct (v, c) pair
    pairs, inverse = np.unique(np.stack([vf, cf], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    mean, slope, second, dual, method, err = _raw_moments(act, pairs[:, 0], pairs[:, 1])
    for name, val in (("mean", mean), ("slope", slope), ("second", second), ("dual", dual)):
        if not np.all(np.isfinite(val)):
            raise ValueError(f"activation {act.name!r}: Gaussian moment ({name}) is not finite")
    vv, cc = pairs[:, 0], pairs[:, 1]
    mu_star_sq = second - mean**2 - slope**2 * vv
    # rounding can leave a tiny negative number for a linear activation
    tiny = 1e-13 * np.maximum(second, 1.0)
    mu_star_sq = np.where(np.abs(mu_star_sq) < tiny, 0.0, mu_star_sq)
    if np.any(mu_star_sq < 0):
        raise ValueError(f"activation {act.name!r}: negative non-linear power; quadrature failed")
    nonlin_cov = dual - mean**2 - slope**2 * cc
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        safe = np.where(mu_star_sq > 0, mu_star_sq, 1.0)
        kappa = np.where(mu_star_sq > 0, nonlin_cov / safe, 0.0)
        # rounding and quadrature error of the difference, relative to the non-linear power
        slack = np.where(mu_star_sq > 0, (1e-13 * (np.abs(dual) + mean**2 + slope**2 * np.abs(cc))
                                          + err) / safe, 0.0)
    if np.any(np.abs(kappa) > 1.0 + 1e-9 + slack):
        raise ValueError(f"activation {act.name!r}: noise-copy correlation outside [-1, 1]; "
                         "quadrature failed")
    kappa = np.clip(kappa, -1.0, 1.0)  # rounding only

    def back(a):
        return a[inverse].reshape(shape)

    return ActivationMoments(
        mu0=back(mean), mu1=back(slope), mu_star_sq=back(mu_star_sq), kappa=back(kappa),
        variance=v.copy(), covariance=c.copy(), method=method, error_estimate=float(err),
    )


def centred(activation, variance=1.0) -> Activation:
    """The activation minus its Gaussian mean at pre-activation variance ``variance``.

    ``sigma_c(x) = sigma(x) - mu0(v)``.  For a non-centred activation (relu) the features
    carry a mean ``mu0 1 1^T``: a rank-one spike in ``F``, hence a rank-one (plus rank-one
    cross term) perturbation of ``U = F F^T / (n m)``.  Normalised traces move by
    ``O(1/p)``, so the asymptotic per-coordinate errors of ``sigma`` and ``sigma_c`` are the
    same; the spike costs only a finite-size correction (derivation in
    :mod:`lowdim.theory.rf`, checked by simulation in the test suite).
    """
    act = get_activation(activation)
    v0 = floats("variance", variance)
    if v0.size != 1:
        raise ValueError(f"variance: one pre-activation variance (a number) is needed "
                         f"(got shape {v0.shape})")
    v0 = float(v0.item())  # one number, 0-d and one-element arrays too
    shift = float(moments(act, v0, 0.0).mu0)

    def fn(x):
        return act.fn(x) - shift

    torch_fn = None
    if act.torch_fn is not None:
        base = act.torch_fn

        def torch_fn(x):
            return base(x) - shift

    mean = slope = second = dual = None
    if all(f is not None for f in (act.mean, act.slope, act.second, act.dual)):
        def mean(v):
            return act.mean(v) - shift

        slope = act.slope

        def second(v):
            return act.second(v) - 2.0 * shift * act.mean(v) + shift**2

        def dual(v, c):
            return act.dual(v, c) - 2.0 * shift * act.mean(v) + shift**2

    return Activation(f"{act.name}-centred", fn, torch_fn=torch_fn, mean=mean, slope=slope,
                      second=second, dual=dual, recipe=(centred, (act, v0)))
