"""The estimation bound of the MoE-latent MoG score and the parameter counts of the three score
models (Yang et al. 2026, Section 5; research note molr_mog.md sections 5.1-5.3).

Per diffusion time ``t`` [paper: YLJ26 form, secondary digest] [reconstructed: constants] the
uniform generalization gap of the explicit
score-matching loss over ``n`` samples is bounded, with probability ``1 - eta``, by

    eps_gen(t) = C1 s_t^2 (R + s_t B_mu)^4 / gamma_t^6 sqrt(N1) sqrt(N2 / n)
                 + C2 sqrt(log(1/eta) / n)  [+ C3 D max_k d_k^3 / sqrt(n) if A_k is learned],

``N1 = sum_k n_k``, ``N2 = sum_k n_k d_k``, ``R`` the data radius, ``B_mu = max ||mu_{k,l}||``.
The paper leaves ``C1, C2`` unspecified; here ``C1 = 1`` and ``C2 = 4 (R + s_t B_mu)^2 /
(sqrt(2) gamma_t^4)`` (McDiarmid with the loss's sup norm) by default, both settable.  A
well-specified empirical minimizer has population loss at most ``2 eps_gen``
(:func:`estimation_error_bound`).  The bound carries no ``D``.

Processes: ``"vp"`` (Ornstein-Uhlenbeck, ``s_t = e^{-t}``, ``gamma_t^2 = 1 - e^{-2t}``) and
``"ve"`` (``s_t = 1``, ``gamma_t = t``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import ParameterTypeError, choice, flag, integer, integers, number, plain
from .._checks import floats as _floats
from .._checks import positive_number as _pos
from .._quadrature import gauss_kronrod
from ..tidy import Tidy, TidyData

__all__ = ["PROCESSES", "process_coefficients", "BoundSetting", "estimation_gap",
           "estimation_error_bound", "integrated_bound", "IntegratedBound", "parameter_counts",
           "vp_window_integral"]

PROCESSES = ("vp", "ve")

#: Largest count or dimension (``n_k``, ``d_k``, ``D``): they enter the bound as floats.
SIZE_MAX = 2**53


def process_coefficients(t, process: str = "vp"):
    """``(s_t, gamma_t^2)`` of the forward process ``x_t = s_t x_0 + gamma_t xi``."""
    process = choice("process", process, PROCESSES)
    t = _floats("t", t)
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("t: diffusion times must be finite and > 0")
    with np.errstate(all="ignore"):
        s, g2 = (np.exp(-t), -np.expm1(-2.0 * t)) if process == "vp" else (np.ones_like(t), t ** 2)
    if not np.all(np.isfinite(g2)) or np.any(g2 <= 0) or np.any(s <= 0):
        raise ValueError(f"t: outside the range where s_t and gamma_t^2 are representable for "
                         f"the {process} process (got {t!r})")
    return s, g2


@dataclass(frozen=True)
class BoundSetting:
    """What the bound depends on.

    Parameters
    ----------
    n_modes, dims : sequences of K ints
        ``n_k`` and ``d_k``.
    R : float
        Data radius (Assumption 5.1, ``||x|| <= R``; for Gaussian latents an effective radius,
        e.g. the largest training norm).
    B_mu : float
        ``max ||mu_{k,l}||`` over the parameter set.
    C1 : float
        Constant of the complexity term (default 1).
    C2 : float or None
        Constant of the confidence term; ``None``: ``4 (R + s B_mu)^2 / (sqrt 2 gamma^4)``.
    eta : float
        Failure probability in (0, 1).
    D : int or None
        Ambient dimension; only used by the learned-basis term.
    learned_bases : bool
        Add ``C3 D max d_k^3 / sqrt(n)`` for learned encoders (form and constant unknown
        [paper: YLJ26, secondary digest]).
    C3 : float
        Its constant (default 1).
    process : {"vp", "ve"}
    """

    n_modes: tuple
    dims: tuple
    R: float
    B_mu: float = 0.0
    C1: float = 1.0
    C2: float | None = None
    eta: float = 0.05
    D: int | None = None
    learned_bases: bool = False
    C3: float = 1.0
    process: str = "vp"

    def __post_init__(self):
        nk = tuple(integers("n_modes", self.n_modes, high=SIZE_MAX))
        dk = tuple(integers("dims", self.dims, high=SIZE_MAX))
        if len(nk) != len(dk) or not nk:
            raise ValueError(f"n_modes, dims: need one value each per subspace "
                             f"(got {len(nk)} and {len(dk)})")
        if min(nk) < 1 or min(dk) < 1:
            raise ValueError("n_modes, dims: every n_k and d_k must be >= 1")
        object.__setattr__(self, "n_modes", nk)
        object.__setattr__(self, "dims", dk)
        for name in ("R", "B_mu", "C1", "C2", "C3"):
            value = getattr(self, name)
            if value is not None or name != "C2":
                object.__setattr__(self, name, _pos(name, value, allow_zero=name != "R"))
        eta = number("eta", self.eta)
        if not 0 < eta < 1:
            raise ValueError(f"eta: failure probability must be in (0, 1) (got {self.eta!r})")
        object.__setattr__(self, "eta", eta)
        if self.D is not None:
            object.__setattr__(self, "D", integer("D", self.D, low=1, high=SIZE_MAX))
        object.__setattr__(self, "learned_bases", flag("learned_bases", self.learned_bases))
        if self.learned_bases:
            if self.D is None or self.D < max(dk):
                raise ValueError(f"D: the learned-basis term needs D >= max d_k (got {self.D!r})")
            if not math.isfinite(self.C3 * self.D * max(dk) ** 3):
                raise ValueError(f"C3: the learned-basis term C3 D max d_k^3 overflows "
                                 f"(C3 = {self.C3!r})")
        choice("process", self.process, PROCESSES)

    @property
    def N1(self) -> int:
        return sum(self.n_modes)

    @property
    def N2(self) -> int:
        return sum(a * b for a, b in zip(self.n_modes, self.dims))

    def coefficients(self, t):
        """``(a(t), b(t), c)`` with ``eps_gen(t) = (a(t) + b(t)) / sqrt(n) + c / sqrt(n)``:
        ``a`` the complexity term times ``sqrt(n)``, ``b`` the confidence term times
        ``sqrt(n)`` and ``c`` the learned-basis term times ``sqrt(n)``."""
        s, g2 = process_coefficients(t, self.process)
        rad = self.R + s * self.B_mu
        with np.errstate(all="ignore"):
            a = self.C1 * s ** 2 * rad ** 4 / g2 ** 3 * math.sqrt(self.N1 * self.N2)
            c2 = 4.0 * rad ** 2 / (math.sqrt(2.0) * g2 ** 2) if self.C2 is None else self.C2
            b = c2 * math.sqrt(math.log(1.0 / self.eta)) * np.ones_like(a)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError(f"t: the bound's constants overflow at t = {t!r} (gamma_t^2 "
                             f"underflows, or R is too large); use a larger t")
        c = self.C3 * self.D * max(self.dims) ** 3 if self.learned_bases else 0.0
        return a, b, c


def _n(n):
    n = _floats("n", n)
    if np.any(~np.isfinite(n)) or np.any(n < 1):
        raise ValueError("n: sample sizes must be finite and >= 1")
    return n


def _setting(setting):
    if not isinstance(setting, BoundSetting):
        raise ParameterTypeError(f"setting: expected a BoundSetting, got "
                                 f"{type(setting).__name__}")
    return setting


def _gap(setting, t, n, factor):
    a, b, c = _setting(setting).coefficients(t)
    n = _n(n)
    try:
        np.broadcast_shapes(np.shape(a), n.shape)
    except ValueError:
        raise ValueError(f"t, n: shapes {np.shape(a)} and {n.shape} do not broadcast") from None
    with np.errstate(over="ignore"):
        out = factor * ((a + b + c) / np.sqrt(n))
    if not np.all(np.isfinite(out)):
        raise ValueError(f"setting: the bound overflows at t = {t!r} (R, B_mu, C1, C2 or C3 "
                         f"too large)")
    return out


def estimation_gap(setting: BoundSetting, t, n):
    """``eps_gen(t)``: the bound on ``sup_theta |L_t(theta) - L_hat_t(theta)|``; broadcasts over
    ``t`` and ``n``."""
    return _gap(setting, t, n, 1.0)


def estimation_error_bound(setting: BoundSetting, t, n):
    """``2 eps_gen(t)``: the population score error ``E||s_hat - grad log p_t||^2`` of a
    well-specified empirical minimizer (``L(theta_hat) <= L_hat(theta_hat) + eps <=
    L_hat(theta*) + eps <= L(theta*) + 2 eps`` with ``L(theta*) = 0``) [derived: standard]."""
    return _gap(setting, t, n, 2.0)


@dataclass(frozen=True)
class IntegratedBound(Tidy):
    """``int_delta^T w(t) 2 eps_gen(t) m(dt)`` per ``n`` and its pieces (``m`` the measure of ``t``).

    ``to_pandas()`` and ``to_xarray()`` give ``value`` over ``n`` with the scalars
    alongside.

    Attributes
    ----------
    value : numpy.ndarray
        The averaged bound at each ``n``.
    complexity, confidence : float
        The window averages of ``2 a(t) w(t)`` and ``2 (b(t) + c) w(t)`` (times ``1/sqrt n``
        gives the value).
    weighting, measure : str
    delta, T : float
    quadrature_error : float
        Estimated absolute error of the quadrature (relative to the integrals).
    n : numpy.ndarray
        The sample sizes of ``value``.
    """

    value: np.ndarray
    complexity: float
    confidence: float
    weighting: str
    measure: str
    delta: float
    T: float
    quadrature_error: float
    n: np.ndarray = None

    def _tidy(self):
        value = np.asarray(self.value, dtype=float)
        n = np.arange(value.size) if self.n is None else self.n
        return TidyData({"n": np.broadcast_to(n, value.shape).ravel()},
                        {"value": (("n",), value.ravel()),
                         **{k: float(getattr(self, k))
                            for k in ("complexity", "confidence", "quadrature_error")}},
                        attrs={"weighting": self.weighting, "measure": self.measure,
                               "delta": float(self.delta), "T": float(self.T)})


def integrated_bound(setting: BoundSetting, n, *, delta: float = 1e-3, T: float = 5.0,
                     weighting: str = "gamma2", measure: str = "uniform") -> IntegratedBound:
    """The bound averaged over the training window ``[delta, T]``.

    ``weighting="none"`` integrates ``eps_gen`` as the paper's unweighted objective does (it
    grows like ``delta^-2`` for VP, :func:`vp_window_integral`); ``"gamma2"`` weights it by
    ``gamma_t^2``, the weighting of the noise-prediction DSM loss the simulations train with.
    ``measure`` is the distribution of ``t`` on the window: ``"uniform"`` (``dt / (T - delta)``)
    or ``"log-uniform"`` (``dt / (t ln(T / delta))``, the training distribution of
    :mod:`lowdim.simulate.molrmog`).  Computed by adaptive Gauss-Kronrod quadrature in ``log t``; raises
    ``RuntimeError`` if its error estimate exceeds 1e-4 of the value (the estimate is
    reported in ``quadrature_error``).
    """
    _setting(setting)
    delta, T = _pos("delta", delta), _pos("T", T)
    if delta >= T:
        raise ValueError(f"T: must exceed delta ({T} <= {delta})")
    n = _n(n)
    weighting = choice("weighting", weighting, ("none", "gamma2"))
    measure = choice("measure", measure, ("uniform", "log-uniform"))
    for name, end in (("delta", delta), ("T", T)):
        try:
            process_coefficients(end, setting.process)
        except ValueError as exc:
            raise ValueError(f"{name}: {str(exc).split(': ', 1)[-1]}") from None
    norm = (T - delta) if measure == "uniform" else math.log(T / delta)

    def weight(t):
        return 1.0 if weighting == "none" else process_coefficients(t, setting.process)[1]

    def part(i):
        def f(u):
            t = math.exp(u)
            co = setting.coefficients(t)
            val = co[0] if i == 0 else co[1] + co[2]
            return float(val) * float(weight(t)) * (t if measure == "uniform" else 1.0)
        val, err, _ = gauss_kronrod(f, math.log(delta), math.log(T), epsrel=1e-10, limit=400)
        if not math.isfinite(val) or err > 1e-4 * abs(val) + 1e-300:
            raise RuntimeError(f"integrated_bound: quadrature did not converge "
                               f"(estimate {val:.3e}, error {err:.1e})")
        return 2.0 * val / norm, err / max(abs(val), 1e-300)

    comp, e1 = part(0)
    conf, e2 = part(1)
    value = (comp + conf) / np.sqrt(n)
    return IntegratedBound(value=value, complexity=comp, confidence=conf, weighting=weighting,
                           measure=measure, delta=delta, T=T, quadrature_error=max(e1, e2),
                           n=n)


def _per_subspace(name, x, k):
    """``x`` repeated ``k`` times when it is one value, else ``x`` itself (a sequence)."""
    x = plain(name, x)
    try:
        scalar = np.ndim(x) == 0
    except (ValueError, RuntimeError):  # ragged, or holds an unreadable tensor: a sequence,
        scalar = False                  # which integers() rejects by name
    return [x] * k if scalar else x


def vp_window_integral(delta: float, T: float) -> float:
    """``I_1 = int_delta^T s_t^2 / gamma_t^6 dt = [(1-e^{-2 delta})^{-2} - (1-e^{-2T})^{-2}] / 4``
    for the VP process (substitute ``u = gamma_t^2``, ``du = 2 s_t^2 dt``) [reconstructed]; negative for
    ``T < delta``.  It grows like ``delta^-2 / 16``: a ``delta`` so small that this exceeds
    the float range raises a ``ValueError`` naming it."""
    delta, T = _pos("delta", delta), _pos("T", T)
    with np.errstate(over="ignore"):
        lo, hi = np.float64(-math.expm1(-2 * delta)) ** -2, np.float64(-math.expm1(-2 * T)) ** -2
    for name, v in (("delta", lo), ("T", hi)):
        if not math.isfinite(v):
            raise ValueError(f"{name}: too small, int s_t^2 / gamma_t^6 dt exceeds the float "
                             f"range")
    return float(0.25 * (lo - hi))


def parameter_counts(n_modes, dims, *, ranks=1, gaussian_ranks=None, learn_weights=True,
                     D=None, learned_bases=False) -> dict:
    """Trainable parameters of the two structured score models.

    * MoE-latent MoG: ``sum_k n_k d_k (1 + r_k)`` (means and factors) ``+ sum_k n_k`` mode
      logits when learned [reconstructed];
    * MoE-latent Gaussian: ``sum_k d_k (1 + r^G_k)`` (one mean and one factor of rank
      ``r^G_k``, default ``d_k``, per subspace);
    * ``+ sum_k D d_k`` each when the bases are learned too.

    Counts and ranks are integers ``>= 1`` with ``r_k, r^G_k <= d_k <= D``.
    """
    nk = integers("n_modes", n_modes, low=1)
    dk = integers("dims", dims, low=1)
    learn_weights = flag("learn_weights", learn_weights)
    learned_bases = flag("learned_bases", learned_bases)
    if not nk:
        raise ValueError("n_modes: need at least one subspace")
    rk = integers("ranks", _per_subspace("ranks", ranks, len(nk)), low=1)
    gk = dk if gaussian_ranks is None else integers(
        "gaussian_ranks", _per_subspace("gaussian_ranks", gaussian_ranks, len(nk)), low=1)
    if not len(nk) == len(dk) == len(rk) == len(gk):
        raise ValueError("n_modes, dims, ranks: need one value per subspace")
    for name, rs in (("ranks", rk), ("gaussian_ranks", gk)):
        if any(r > d for r, d in zip(rs, dk)):
            raise ValueError(f"{name}: every rank must be <= its d_k (got {rs}, dims {dk})")
    if D is not None:
        D = integer("D", D, low=max(dk))
    mog = sum(n * d * (1 + r) for n, d, r in zip(nk, dk, rk)) + (sum(nk) if learn_weights else 0)
    gauss = sum(d * (1 + g) for d, g in zip(dk, gk))
    if learned_bases:
        if D is None:
            raise ValueError("D: needed for the learned-basis parameter count")
        extra = sum(D * d for d in dk)
        mog, gauss = mog + extra, gauss + extra
    return {"latent_mog": mog, "latent_gaussian": gauss}
