"""The exact-score constant ``C_t`` for hidden-manifold data, from the GLM replica formula.

Data model.  ``x = phi(h)`` elementwise with ``h = M z / sqrt(D)``, ``z ~ N(0, I_D)``, a frozen
``d x D`` matrix ``M`` with i.i.d. ``N(0, 1)`` entries, ``psi_D = D / d`` in ``(0, 1]`` and a centred
activation ``phi`` (``E phi(g) = 0``).  The OU forward process gives
``y = a x + sqrt(Delta) xi`` with ``a = e^{-t}``, ``Delta = 1 - e^{-2t}``.  The test error of the
exact score is (research note rf_learning_curves.md section 2.5, Tweedie)

    C_t = (1/d) E || xi - E[xi | y] ||^2 = (a^2 / Delta) mmse_t,
    mmse_t = (1/d) E || x - E[x | y] ||^2        (Bayes-optimal, M known).

Replica formula [reconstructed].  With ``M`` known, estimating ``x`` from ``y`` is a generalized
linear model: signal ``z`` with prior ``N(0, 1)`` (``rho = E z^2 = 1``), ``d`` outputs
``y_i ~ P_out(y | h_i) = N(y; a phi(h_i), Delta)`` and sample ratio ``alpha = d / D = 1 / psi_D``.
Following the recipe of the research note (section 3.9), after Barbier, Krzakala, Macris,
Miolane and Zdeborova (PNAS 2019), the overlap ``q`` in ``[0, 1)`` solves

    q = qhat / (1 + qhat),        qhat = alpha E_{omega, Y}[ g_out(Y, omega, v)^2 ],   v = 1 - q,

where ``omega ~ N(0, q)``, the true pre-activation is ``h = omega + sqrt(v) W`` (``W ~ N(0, 1)``),
``Y ~ P_out(. | h)``, ``Z_out(y, omega, v) = int N(h; omega, v) P_out(y | h) dh`` and
``g_out = d/d omega log Z_out = (<h> - omega) / v``.  The bracket ``<.>`` is the scalar posterior
of ``h`` with density proportional to ``N(h; omega, v) P_out(Y | h)``.  The in-sample error is

    mmse_t = E phi(h)^2 - E_{omega, Y} <phi(h)>^2 = E_{omega, Y} [ <phi^2> - <phi>^2 ].

(The first equation is the Gaussian prior's scalar channel: observing ``z`` at signal-to-noise
ratio ``qhat`` gives overlap ``qhat / (1 + qhat)``.)  If several stable fixed points exist (none
seen for tanh, erf, linear or ``h^2 - 1``; for an even ``phi``, ``q = 0`` is always a fixed point),
the one with the largest replica potential

    Phi(q) = (qhat - log(1 + qhat)) / 2 + alpha E log Z_out(Y, omega, 1 - q) - q qhat / 2

is returned (the Bayes-optimal branch), and the message says so.  ``Phi`` is the limit of
``(1/D) E log p(y | M)``; for ``phi(h) = h`` it equals the Gaussian log-likelihood (tested).

Reduction checked for ``phi(h) = h`` [derived; tested to 1e-9, observed about 1e-12].  Then
``E g_out^2 = a^2 / (a^2 v + Delta)`` and, with ``s = a^2 / Delta``, the fixed point ``v`` solves
``s v^2 + (1 + (alpha - 1) s) v - 1 = 0``.  This is the Marchenko-Pastur (eta-transform) equation
for ``v = (1/D) tr (I + s M^T M / D)^{-1}``, and the formula gives
``C_t = s v / (1 + s v) = psi_D (1 - v) = int d rho(lambda) s lambda / (s lambda + 1)`` with ``rho``
the spectrum of ``M M^T / D`` (weight ``1 - psi_D`` at 0 and ``psi_D`` on ``lambda_MP / psi_D``), the
Gaussian answer of section 2.5.  tests/rf/test_exact_score.py checks this against an independent
quadrature of the Marchenko-Pastur law (and the overlap ``q`` too), and the finite-size GAMP estimate of
:mod:`lowdim.simulate.glm_amp` against the formula for ``phi = tanh``.

Numerics [ours].  The expectation over ``(omega, Y)`` and the posterior integrals over ``h`` are
done on three grids: Gauss-Hermite nodes for ``omega = sqrt(q) V`` (``V ~ N(0, 1)``); composite
Gauss-Legendre panels in ``h`` whose widths follow the local posterior scale
``(1/v + a^2 phi'(h)^2 / Delta)^{-1/2}``, so that the narrow likelihood of small ``t`` and the narrow
prior of ``q -> 1`` are resolved and the flat tails of a saturating ``phi`` are not over-sampled;
and a uniform grid in ``Y`` with spacing a fraction of ``sqrt(Delta)`` (``Z_out`` is a Gaussian
convolution in ``Y`` of width ``sqrt(Delta)``, so the trapezoid rule converges spectrally).  All
posterior moments come from matrix products
``[N(h_j; omega_k, v) w_j f(h_j)]_{k j} @ [N(Y_l; a phi(h_j), Delta)]_{j l}``, per block of
``omega`` nodes restricted to the ``h``- and ``Y``-nodes that block can reach (9 prior and 10 noise
standard deviations); bimodal or wide posteriors (large ``|Y|`` for tanh) are integrated like
any other.  At ``resolution = 1`` doubling every node count changes ``C_t`` by at most a
few 1e-10, typically 1e-12 (tanh, erf, linear; ``t`` from 1e-3 to 4), and a 50-point tanh grid
takes about 1 s.  ``int Z_out dY = 1`` is checked at every evaluation as a quadrature
diagnostic.  The fixed point is bracketed by a
scan of ``f(q) = q - qhat / (1 + qhat)`` (uniform in ``q`` to 0.75, then geometric in
``v = 1 - q`` down to a point beyond the van Trees bound ``q <= q_lin(a^2 E phi'(g)^2 / Delta)``,
where ``f > 0`` is verified) and refined by Brent's method; when ``q = 0`` is itself a fixed
point the start of the scan is refined (``q = 1e-6 ... 5e-3``) so that a branch leaving an
unstable ``q = 0`` is found.  Two fixed points closer together than a scan step would be
missed; none were seen for tanh, erf, linear or ``h^2 - 1``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import roots_hermitenorm, roots_legendre

from .._checks import floats, positive_number
from ..activations import get_activation, moments
from ..processes import ou_coefficients
from ..tidy import Tidy, grid_data

__all__ = ["ExactScoreConstant", "hidden_manifold_exact_score", "linear_overlap"]

# Quadrature parameters at resolution 1 (the ``resolution`` argument scales them).
_N_HERMITE = 256         # Gauss-Hermite nodes for omega = sqrt(q) V
_V_CUT = 8.5             # nodes with |V| > _V_CUT carry weight < 1e-16 and are dropped
_PRIOR_CUT = 9.0         # h-range: omega_k +- _PRIOR_CUT sqrt(v)
_GL_NODES = 10           # Gauss-Legendre nodes per panel in h
_PANEL_WIDTH = 1.5       # panel width in local posterior standard deviations
_Y_STEP = 0.5            # Y spacing in units of sqrt(Delta)
_Y_CUT = 10.0            # Y-range: a phi(h) +- _Y_CUT sqrt(Delta)
_RESOLUTION_MAX = 100.0  # largest node-count multiplier accepted
_N_AUX = 4001            # auxiliary grid on which the local scale is tabulated
_BLOCK = 8               # omega nodes per block (see _Channel.evaluate)
_LIK_TABLE = 4_000_000   # largest likelihood table built in one piece
_NORM_TOL = 1e-9         # |int Z_out dY - 1| allowed before a point is flagged
_BLOCK_TABLE = 60_000_000  # largest (h-nodes x Y-nodes) block; beyond it a point fails cleanly
_T_QUAD = 1e-4           # below this t, C_t is continued from t = _T_QUAD * (1, 2, 4, 8)
_T_DIRECT = 1e-5         # ... unless that is uncertain and t >= _T_DIRECT: then by quadrature
_EXTRAP_TOL = 1e-7       # allowed |quadratic - linear| continuation difference, relative to C_t
_TINY = 1e-300


@dataclass(frozen=True)
class ExactScoreConstant(Tidy):
    """The exact-score constant on a grid of ``(psi_d, t)``; ``to_pandas()`` and
    ``to_xarray()`` give it over ``psi_d`` and ``t``, NaN where not converged.

    Attributes
    ----------
    c_t : ndarray
        ``C_t = (a^2 / Delta) mmse_t``; ``nan`` only where ``converged`` is False.
    mmse : ndarray
        ``mmse_t``, the per-coordinate Bayes error of ``x_0`` given ``x_t``.
    overlap : ndarray
        The replica overlap ``q = E <z> z`` (per latent coordinate).
    free_entropy : ndarray
        The replica potential ``Phi(q)`` at the returned fixed point (module docstring), the
        limit of ``(1/D) E log p(y | M)`` (``p`` a density in ``y``); ``nan`` for ``t < 1e-4``,
        where the other fields are continued from larger ``t`` (it diverges as ``t -> 0``).
    converged : ndarray of bool
        Fixed point found with ``residual <= tol`` and quadrature normalisation within 1e-9.
    residual : ndarray
        ``|q - qhat(q) / (1 + qhat(q))|`` at the returned ``q``.
    nit : ndarray of int
        Evaluations of the fixed-point map spent on the point.
    psi_d, t : ndarray
        The broadcast inputs.
    activation : str
        Name of ``phi``.
    success : bool
        All points converged.
    message : str
        Summary; names the points that failed and notes any choice between fixed points.
    """

    c_t: np.ndarray
    mmse: np.ndarray
    overlap: np.ndarray
    free_entropy: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    nit: np.ndarray
    psi_d: np.ndarray
    t: np.ndarray
    activation: str
    success: bool
    message: str

    def _tidy(self):
        names = ("c_t", "mmse", "overlap", "free_entropy", "converged", "residual", "nit")
        return grid_data({"psi_d": self.psi_d, "t": self.t},
                         {k: getattr(self, k) for k in names},
                         {"activation": self.activation, "success": bool(self.success),
                          "message": self.message})


def linear_overlap(alpha, snr):
    """Fixed point ``v = 1 - q`` of the linear channel ``phi(h) = h`` [derived].

    Solves ``snr v^2 + (1 + (alpha - 1) snr) v - 1 = 0`` for ``v`` in ``(0, 1]`` (stable form),
    i.e. ``v = (1/D) tr (I + snr M^T M / D)^{-1}`` in the limit, with ``alpha = d / D``.
    Returns ``v``; ``C_t = snr v / (1 + snr v)`` for ``snr = a^2 / Delta``.
    """
    alpha = np.asarray(alpha, dtype=float)
    snr = np.asarray(snr, dtype=float)
    b = 1.0 + (alpha - 1.0) * snr
    return 2.0 / (b + np.sqrt(b * b + 4.0 * snr))


@lru_cache(maxsize=8)
def _hermite(n: int):
    x, w = roots_hermitenorm(n)
    w = w / math.sqrt(2.0 * math.pi)
    keep = np.abs(x) <= _V_CUT
    return x[keep], w[keep]


@lru_cache(maxsize=8)
def _legendre(n: int):
    return roots_legendre(n)


class _Channel:
    """One ``(psi_d, t, phi)`` point with its quadrature settings."""

    def __init__(self, phi, a, delta, alpha, resolution):
        self.phi = phi
        self.a = float(a)
        self.delta = float(delta)
        self.sd = math.sqrt(self.delta)
        self.alpha = float(alpha)
        r = float(resolution)
        self.n_hermite = max(8, int(round(_N_HERMITE * r)))
        self.n_gl = max(4, int(round(_GL_NODES * math.sqrt(r))))
        self.panel = _PANEL_WIDTH / math.sqrt(r)
        self.y_step = _Y_STEP * self.sd / r
        self.n_aux = max(_N_AUX, int(round(_N_AUX * r)))

    def _phi(self, x):
        out = floats("activation", self.phi(x))
        if out.shape != np.shape(x):
            out = np.broadcast_to(out, np.shape(x)).astype(float)
        return out

    def h_nodes(self, v, lo, hi):
        """Composite Gauss-Legendre nodes on [lo, hi], panels of a few local posterior scales."""
        grid = np.linspace(lo, hi, self.n_aux)
        slope = np.gradient(self._phi(grid), grid)
        dens = np.sqrt(1.0 / v + (self.a * slope) ** 2 / self.delta)
        dens = np.where(np.isfinite(dens), dens, 1.0 / math.sqrt(v))
        u = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
        n_panel = max(1, int(math.ceil(u[-1] / self.panel)))
        edges = np.interp(np.linspace(0.0, u[-1], n_panel + 1), u, grid)
        edges[0], edges[-1] = lo, hi
        x, w = _legendre(self.n_gl)
        mid = 0.5 * (edges[1:] + edges[:-1])
        half = 0.5 * np.diff(edges)
        return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()

    def evaluate(self, q):
        """All averages over (omega, Y) at overlap q; see the module docstring."""
        v = 1.0 - q
        sv = math.sqrt(v)
        if q == 0.0:
            V, wV = np.zeros(1), np.ones(1)
        else:
            V, wV = _hermite(self.n_hermite)
        omega = math.sqrt(q) * V
        lo = float(omega.min()) - _PRIOR_CUT * sv
        hi = float(omega.max()) + _PRIOR_CUT * sv
        h, wh = self.h_nodes(v, lo, hi)
        ph = self._phi(h)
        if not np.all(np.isfinite(ph)):
            raise FloatingPointError("phi is not finite on the integration range")
        py = self.a * ph
        ylo = float(py.min()) - _Y_CUT * self.sd
        yhi = float(py.max()) + _Y_CUT * self.sd
        n_y = int(math.ceil((yhi - ylo) / self.y_step)) + 1
        y = np.linspace(ylo, yhi, n_y)
        wy = (yhi - ylo) / (n_y - 1)
        phi_omega = self._phi(omega)
        norm_y = 1.0 / (math.sqrt(2.0 * math.pi) * self.sd)

        def likelihood(pyb, yb):  # N(Y_l; a phi(h_j), Delta), J_b x L_b
            ry = (yb[None, :] - pyb[:, None]) / self.sd
            return np.exp(-0.5 * ry * ry) * norm_y

        # when the whole likelihood table is small, build it once and slice it per block
        lik_all = likelihood(py, y) if h.size * n_y <= _LIK_TABLE else None
        # sums of Z f over the (omega, Y) grid for f = 1, m_h^2, var_h, var_phi, log Z
        tot = np.zeros(5)
        # Blocks of consecutive omega nodes: each block only meets the h-nodes within
        # _PRIOR_CUT prior deviations of it and the Y-nodes within _Y_CUT noise deviations of
        # a phi(h) on those h-nodes (dropped terms are below e^-40 of the largest).
        for b0 in range(0, omega.size, _BLOCK):
            om = omega[b0:b0 + _BLOCK]
            j0, j1 = np.searchsorted(h, [om[0] - _PRIOR_CUT * sv, om[-1] + _PRIOR_CUT * sv])
            j1 = max(j1, j0 + 1)
            hb, whb, phb, pyb = h[j0:j1], wh[j0:j1], ph[j0:j1], py[j0:j1]
            l0, l1 = np.searchsorted(y, [pyb.min() - _Y_CUT * self.sd,
                                         pyb.max() + _Y_CUT * self.sd])
            l1 = max(l1, l0 + 1)
            yb = y[l0:l1]
            if (j1 - j0) * (l1 - l0) > _BLOCK_TABLE:
                raise FloatingPointError(
                    f"quadrature block of {j1 - j0} x {l1 - l0} nodes exceeds the limit "
                    f"{_BLOCK_TABLE:.0e} (t too small for this resolution)")
            # prior factor with the h-weights folded in (K_b x J_b), centred moments of
            # h - omega and phi(h) - phi(omega) to avoid cancellation
            dh = hb[None, :] - om[:, None]
            prior = np.exp(-0.5 * dh * dh / v) * (whb / math.sqrt(2.0 * math.pi * v))[None, :]
            dp = phb[None, :] - phi_omega[b0:b0 + _BLOCK, None]
            stack = np.concatenate([prior, prior * dh, prior * dh * dh, prior * dp,
                                    prior * dp * dp])
            lik = likelihood(pyb, yb) if lik_all is None else lik_all[j0:j1, l0:l1]
            mom = (stack @ lik).reshape(5, om.size, yb.size)
            Z = mom[0]
            ok = Z > _TINY
            safe = np.where(ok, Z, 1.0)
            m_h = np.where(ok, mom[1] / safe, 0.0)
            var_h = np.where(ok, mom[2] / safe - m_h * m_h, 0.0)
            m_p = np.where(ok, mom[3] / safe, 0.0)
            var_p = np.where(ok, mom[4] / safe - m_p * m_p, 0.0)
            logz = np.where(ok, np.log(safe), 0.0)
            wz = (wV[b0:b0 + _BLOCK, None] * wy) * Z
            for i, f in enumerate((None, m_h * m_h, var_h, var_p, logz)):
                tot[i] += float(np.sum(wz)) if f is None else float(np.sum(wz * f))
        qhat = self.alpha * tot[1] / (v * v)
        return {
            "qhat": qhat,
            "F": qhat / (1.0 + qhat),
            "mmse_x": tot[3],
            "mmse_h": tot[2],
            "psi_out": tot[4],
            "norm": tot[0],
            "y_nodes": n_y,
            "h_nodes": h.size,
        }

    def potential(self, q, ev):
        qhat = ev["qhat"]
        return 0.5 * (qhat - math.log1p(qhat)) + self.alpha * ev["psi_out"] - 0.5 * q * qhat


def _solve_point(ch: _Channel, k_slope: float, tol: float):
    """Fixed point at one point.  Returns (q, evaluation, residual, nit, note)."""
    cache = {}

    def ev(q):
        if q not in cache:
            cache[q] = ch.evaluate(q)
        return cache[q]

    def f(q):
        return q - ev(q)["F"]

    # Upper end of the scan: every fixed point has v >= v_lin(a^2 E phi'^2 / Delta) (van Trees);
    # the bound is only a starting guess and is verified numerically.
    snr_eff = ch.a**2 * k_slope / ch.delta if np.isfinite(k_slope) else np.inf
    v_up = 0.7 * float(linear_overlap(ch.alpha, snr_eff)) if np.isfinite(snr_eff) else 1e-3
    v_up = min(max(v_up, 1e-13), 0.5)
    while f(1.0 - v_up) <= 0.0:
        v_up *= 0.25
        if v_up < 1e-13:
            raise FloatingPointError("no upper bracket for the fixed point (q too close to 1)")
    # scan: uniform in q up to 0.75, then geometric in v = 1 - q down to v_up
    n_geo = max(2, int(math.ceil(math.log10(0.25 / v_up))) + 1) if v_up < 0.25 else 1
    vs = np.concatenate([[1.0, 0.98, 0.75, 0.5], np.geomspace(0.25, v_up, n_geo), [v_up]])
    vs = np.unique(vs[vs >= v_up])[::-1]
    qs = 1.0 - vs
    qs[0] = 0.0
    zero_root = abs(f(0.0)) <= tol
    if zero_root:
        # q = 0 is a fixed point (F(0) = 0, e.g. an even phi): resolve the start of the
        # branch that may leave it (its stability is the sign of f just above 0)
        qs = np.unique(np.concatenate([qs, [1e-6, 1e-4, 1e-3, 5e-3]]))
    fs = np.array([f(q) for q in qs])
    roots = []
    if zero_root and fs[1] > 0.0:
        roots.append(0.0)  # stable uninformative fixed point (F(0) = 0, e.g. even phi)
    xtol = max(1e-15, 1e-3 * tol)
    for i in range(len(qs) - 1):
        if i == 0 and zero_root:
            continue
        if fs[i] <= 0.0 < fs[i + 1]:
            roots.append(brentq(f, qs[i], qs[i + 1], xtol=xtol, rtol=1e-15, maxiter=200))
    if not roots:  # cannot happen for a continuous map with f(0) <= 0 < f(q_up)
        raise FloatingPointError("fixed-point scan found no sign change")
    note = ""
    if len(roots) > 1:
        pots = [ch.potential(q, ev(q)) for q in roots]
        best = int(np.argmax(pots))
        note = (f"{len(roots)} stable fixed points (q = "
                + ", ".join(f"{r:.6g}" for r in roots)
                + f"); returned q = {roots[best]:.6g}, the largest replica potential")
        q = roots[best]
    else:
        q = roots[0]
    e = ev(q)
    e["potential"] = ch.potential(q, e)
    return q, e, abs(q - e["F"]), len(cache), note


def _check_inputs(psi_d, t, tol):
    psi, tt = floats("psi_d", psi_d), floats("t", t)
    if not np.all(np.isfinite(psi)) or np.any(psi <= 0) or np.any(psi > 1):
        raise ValueError("psi_d: latent ratio D/d must lie in (0, 1]")
    if not np.all(np.isfinite(tt)) or np.any(tt <= 0):
        raise ValueError("t: diffusion time must be finite and > 0")
    return psi, tt, positive_number("tol", tol)


def _checked_activation(activation):
    act = get_activation(activation)
    m = moments(act)  # raises ValueError naming the activation if E phi^2 diverges
    second = float(m.mu_star_sq + m.mu0**2 + m.mu1**2)
    if not np.isfinite(second) or second <= 0:
        raise ValueError(f"activation {act.name!r}: E phi(g)^2 must be finite and > 0")
    if abs(float(m.mu0)) > 1e-10 * math.sqrt(second):
        raise ValueError(
            f"activation {act.name!r}: must be centred, E phi(g) = 0 for g ~ N(0, 1) "
            f"(got {float(m.mu0):.3g}); use lowdim.theory.activations.centred"
        )
    # E phi'(g)^2 by central differences on Gauss-Hermite nodes (only for the scan's upper end)
    x, w = roots_hermitenorm(200)
    w = w / math.sqrt(2.0 * math.pi)
    eps = 1e-5
    with np.errstate(all="ignore"):
        fp = (floats("activation", act.fn(x + eps)) - floats("activation", act.fn(x - eps))) \
            / (2 * eps)
        k_slope = float(np.sum(w * fp * fp))
    return act, k_slope


def _one_point(fn, k_slope, psi, t, tol, resolution):
    """Solve one ``(psi_d, t)`` point by quadrature; a dict with the outcome (never raises
    for a numerical failure: ``why`` says what went wrong)."""
    a, delta = (float(x) for x in ou_coefficients(t))
    ch = _Channel(fn, a, delta, 1.0 / psi, resolution)
    try:
        with np.errstate(under="ignore"):
            q, e, r, it, note = _solve_point(ch, k_slope, tol)
    except (FloatingPointError, ValueError, RuntimeError, MemoryError) as exc:
        return {"nit": 0, "why": str(exc) or type(exc).__name__}
    good_norm = abs(e["norm"] - 1.0) <= _NORM_TOL
    ok = bool(r <= tol and good_norm and np.isfinite(e["mmse_x"]))
    why = "" if ok else ("residual above tol" if r > tol else
                         f"quadrature normalisation off by {abs(e['norm'] - 1.0):.2e}")
    return {"q": q, "residual": r, "nit": it, "ok": ok, "why": why, "note": note,
            "mmse": e["mmse_x"], "c_t": a * a / delta * e["mmse_x"],
            "potential": e["potential"]}


def _continued_point(solve, psi, t):
    """``t < _T_QUAD``: continue ``C_t`` and ``q`` to small ``t`` in ``u = Delta / a^2``.

    The quadrature's node counts grow like ``1 / Delta`` (the likelihood width is
    ``sqrt(Delta)``), so below ``_T_QUAD`` the point is not integrated directly.  ``C_t`` is
    smooth in ``u = Delta / a^2`` near 0 (for an injective ``phi`` the linearised posterior gives
    ``C_t = psi_D + O(u)``), so it is interpolated by the cubic in ``u`` through
    ``t = _T_QUAD * (1, 2, 4, 8)`` and evaluated at the target ``u``.  The difference from the
    quadratic through the first three nodes is the error estimate; above ``_EXTRAP_TOL``
    (relative) the point is reported as not converged.  This happens at ``psi_D = 1``, where
    ``C_t`` is not smooth in ``u`` (``1 - C_t ~ sqrt(u)`` for a linear ``phi``).  Measured for
    tanh at ``psi_D = 0.5``: the continued value at ``t = 1e-6`` is within 2e-9 of the direct
    quadrature, with an error estimate of 5e-8; for a linear ``phi`` within 4e-11 of the
    closed form.  The replica potential diverges as
    ``t -> 0`` (``y`` has a density on a vanishing scale) and is not continued (``nan``).
    """
    nodes = _T_QUAD * np.array([1.0, 2.0, 4.0, 8.0])
    pts = [solve(psi, tn) for tn in nodes]
    nit = int(sum(pt["nit"] for pt in pts))
    bad = [f"t={tn:g}: {pt['why']}" for tn, pt in zip(nodes, pts) if not pt.get("ok")]
    if bad:
        return {"nit": nit, "why": "continuation from larger t failed (" + "; ".join(bad) + ")"}
    a_n, d_n = ou_coefficients(nodes)
    u_n = d_n / a_n**2
    a, delta = (float(x) for x in ou_coefficients(t))
    u = delta / (a * a)
    c_n = np.array([pt["c_t"] for pt in pts])
    q_n = np.array([pt["q"] for pt in pts])
    c_cub = float(np.polyval(np.polyfit(u_n, c_n, 3), u))
    c_quad = float(np.polyval(np.polyfit(u_n[:3], c_n[:3], 2), u))
    q_cub = float(min(np.polyval(np.polyfit(u_n, q_n, 3), u), 1.0))
    err = abs(c_cub - c_quad)
    ok = bool(np.isfinite(c_cub) and err <= _EXTRAP_TOL * max(abs(c_cub), _TINY))
    note = (f"continued from t = {nodes[0]:g} ... {nodes[-1]:g} "
            f"(below the quadrature's range; estimated error {err:.1e})")
    return {"q": q_cub, "residual": max(pt["residual"] for pt in pts), "nit": nit, "ok": ok,
            "why": "" if ok else f"small-t continuation uncertain ({err:.1e} relative to C_t)",
            "note": note if ok else "", "mmse": c_cub * u, "c_t": c_cub, "potential": np.nan}


def hidden_manifold_exact_score(psi_d, t, activation="tanh", *, tol=1e-10, resolution=1.0):
    """Test error ``C_t`` of the exact score for hidden-manifold data [reconstructed].

    ``C_t = (a^2 / Delta) mmse_t`` with ``mmse_t`` from the replica fixed point of the
    generalized linear model ``y_i ~ N(a phi(h_i), Delta)``, ``h = M z / sqrt(D)`` (research note
    section 3.9, after Barbier-Krzakala-Macris-Miolane-Zdeborova, PNAS 2019):

        q = qhat / (1 + qhat),    qhat = (1 / psi_D) E[g_out(Y, omega, 1 - q)^2],
        mmse_t = E_{omega, Y} Var(phi(h) | Y, omega),

    ``omega ~ N(0, q)``, ``h ~ N(omega, 1 - q)``, ``Y ~ N(a phi(h), Delta)``; see the module
    docstring for the definitions and the numerics.  For ``phi(h) = h`` this reduces to the
    Gaussian value ``int d rho(lambda) a^2 lambda / (a^2 lambda + Delta)`` over the
    Marchenko-Pastur-type spectrum of ``M M^T / D`` (tested to 1e-9; observed about 1e-12).

    Parameters
    ----------
    psi_d : array_like
        ``D / d`` in ``(0, 1]``.
    t : array_like
        Diffusion time ``> 0``; broadcast against ``psi_d``.  Below ``t = 1e-4`` the quadrature
        would need ``O(1 / t)`` nodes, so ``C_t`` is continued in ``u = Delta / a^2`` from
        ``t = 1e-4 ... 8e-4`` (cubic, error estimate in the message; a point whose estimate
        exceeds 1e-7 relative, such as ``psi_d = 1``, is integrated directly if
        ``t >= 1e-5`` and otherwise reported as not converged).
    activation : str, Activation or callable
        The centred manifold non-linearity ``phi`` (``"tanh"``, ``"erf"``, ``"linear"``, ...).
    tol : float
        Required ``|q - qhat / (1 + qhat)|`` at the returned point.
    resolution : float
        Multiplies the quadrature node counts, in ``(0, 100]`` (1 gives about 1e-10 relative
        accuracy; used by the convergence tests).

    Returns
    -------
    ExactScoreConstant

    Raises
    ------
    ValueError
        For ``psi_d`` outside ``(0, 1]``, ``t <= 0``, a non-positive ``tol`` or
        ``resolution``, or an activation that is not centred or whose ``E phi^2`` diverges.

    Examples
    --------
    >>> r = hidden_manifold_exact_score([0.25, 0.5], 0.1, "linear")
    >>> bool(r.success), r.c_t.shape
    (True, (2,))
    """
    psi, tt, tol = _check_inputs(psi_d, t, tol)
    resolution = positive_number("resolution", resolution)
    if resolution > _RESOLUTION_MAX:
        raise ValueError(f"resolution: at most {_RESOLUTION_MAX:g} (node counts grow with it; "
                         f"got {resolution!r})")
    act, k_slope = _checked_activation(activation)
    try:
        psi, tt = np.broadcast_arrays(psi, tt)
    except ValueError:
        raise ValueError(f"psi_d, t: shapes {psi.shape} and {tt.shape} do not broadcast") \
            from None
    if psi.size == 0:
        raise ValueError("psi_d, t: empty grid")
    shape = psi.shape
    flat_psi, flat_t = psi.ravel(), tt.ravel()
    n = flat_psi.size
    c = np.full(n, np.nan)
    mmse = np.full(n, np.nan)
    q_out = np.full(n, np.nan)
    pot = np.full(n, np.nan)
    conv = np.zeros(n, dtype=bool)
    res = np.full(n, np.inf)
    nit = np.zeros(n, dtype=int)
    notes, failures = [], []
    pairs, inverse = np.unique(np.stack([flat_psi, flat_t], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    solved = {}  # the continuation nodes are shared by every small t of one psi_d

    def solve(p, tk):
        if (p, tk) not in solved:
            solved[p, tk] = _one_point(act.fn, k_slope, p, tk, tol, resolution)
        return solved[p, tk]

    for k, (p, tk) in enumerate(pairs):
        p, tk = float(p), float(tk)
        idx = np.flatnonzero(inverse == k)
        if tk < _T_QUAD:
            pt = _continued_point(solve, p, tk)
            if not pt.get("ok") and tk >= _T_DIRECT:  # still within the quadrature's reach
                direct = solve(p, tk)
                pt = direct if direct.get("ok") else pt
        else:
            pt = solve(p, tk)
        where = f"psi_d={p:g}, t={tk:g}"
        nit[idx] = pt["nit"]
        if pt.get("why") and "q" not in pt:
            failures.append(f"{where}: {pt['why']}")
            continue
        q_out[idx], res[idx], conv[idx] = pt["q"], pt["residual"], pt["ok"]
        if pt["ok"]:
            mmse[idx], c[idx], pot[idx] = pt["mmse"], pt["c_t"], pt["potential"]
        else:
            failures.append(f"{where}: {pt['why']}")
        if pt["note"]:
            notes.append(f"{where}: {pt['note']}")
    n_bad = int(np.count_nonzero(~conv))
    message = f"all {n} points converged" if n_bad == 0 else (
        f"{n_bad} of {n} points did not converge: " + "; ".join(failures[:5]))
    if notes:
        message += ". " + "; ".join(notes[:5])

    return ExactScoreConstant(
        c_t=c.reshape(shape), mmse=mmse.reshape(shape), overlap=q_out.reshape(shape),
        free_entropy=pot.reshape(shape),
        converged=conv.reshape(shape), residual=res.reshape(shape), nit=nit.reshape(shape),
        psi_d=psi.copy(), t=tt.copy(), activation=act.name, success=n_bad == 0, message=message,
    )
