"""Closed forms and independent references for the RF learning curves (isotropic data).

* :func:`ridge_regression_reference` - m = 1 is ordinary random-features ridge regression of
  the linear teacher ``-x_t`` with label noise ``e^{-2t}/Delta``; its excess risk is the
  Mei-Montanari formula.  Source: S. Mei, A. Montanari, "The generalization error of random
  features regression", CPAM 2022 (arXiv:1905.10451), [paper: MM22 Def. 1, Thm 1].
  The map of the ridge, ``lam = psi_p * lam_MM``, and the identity
  ``score_error = R_MM(F1 = 1, tau^2 = e^{-2t}/Delta)`` are ours [derived]; the test suite
  checks that the solver reproduces it to 1e-10.
* :func:`large_ridge_coefficients` - ``L_test = 1 - c1/lam + c2/lam^2 + O(lam^-3)``, from
  ``R = (U + lam)^{-1} = 1/lam - U/lam^2 + ...`` and Wick contractions in the Gaussian
  equivalent model [derived: independent of the self-consistent system].
* :func:`wide_limit` - ``psi_p -> inf`` at fixed lam and finite m: train error -> 0 and
  a closed-form test error (research note section 3.6, [paper: UBBM26-DD]).
"""
from __future__ import annotations

import numpy as np

from ..processes import ou_coefficients
from ..solvers import continuation_newton
from ._setting import RFSetting, check_setting

__all__ = ["ridge_regression_reference", "large_ridge_coefficients", "wide_limit"]


def _scalars(setting: RFSetting):
    check_setting(setting)
    shape = setting.shape
    mom = setting.moments
    a_t, delta = ou_coefficients(setting.t)
    b = {k: np.broadcast_to(v, shape).ravel() for k, v in {
        "psi_n": setting.psi_n, "psi_p": setting.psi_p, "m": setting.m, "lam": setting.lam,
        "a2": a_t**2, "delta": delta, "u": mom.mu1**2, "v": mom.mu_star_sq,
        "kappa": mom.kappa}.items()}
    return shape, b


def _mm_chi(zeta, psi1, psi2, lbar):
    """chi = nu1 nu2 at xi = i sqrt(psi1 psi2 lbar) of Mei-Montanari's Definition 1.

    On the imaginary axis ``nu_k = i y_k`` with real ``y_k > 0`` solving
    ``y1 (s + y2 + zeta^2 y2 / D) = psi1``, ``y2 (s + y1 + zeta^2 y1 / D) = psi2``,
    ``D = 1 + zeta^2 y1 y2``, ``s = sqrt(psi1 psi2 lbar)``; then ``chi = -y1 y2``.  Solved
    by continuation from a large ``s`` (where ``y_k ~ psi_k / s``).
    """
    z2 = zeta**2
    s_target = np.sqrt(psi1 * psi2 * lbar)
    s0 = np.maximum(s_target, 1e3 * (1.0 + psi1 + psi2) * (1.0 + z2))
    log_ratio = np.log(s_target / s0)

    def fun(x, s, sel):
        y1, y2 = np.exp(x[:, 0]), np.exp(x[:, 1])
        sv = s0[sel] * np.exp(s * log_ratio[sel])
        zz = z2[sel]
        D = 1.0 + zz * y1 * y2
        h1 = sv + y2 + zz * y2 / D
        h2 = sv + y1 + zz * y1 / D
        F = np.stack([y1 * h1 - psi1[sel], y2 * h2 - psi2[sel]], -1)
        J11 = h1 - zz**2 * y1 * y2**2 / D**2
        J12 = y1 * (1.0 + zz / D**2)
        J21 = y2 * (1.0 + zz / D**2)
        J22 = h2 - zz**2 * y2 * y1**2 / D**2
        J = np.stack([np.stack([J11 * y1, J12 * y2], -1), np.stack([J21 * y1, J22 * y2], -1)], -2)
        Fs = np.stack([y1, y2], -1) * (sv * log_ratio[sel])[:, None]
        scale = np.stack([y1 * h1 + psi1[sel], y2 * h2 + psi2[sel]], -1)
        return F, J, Fs, scale

    x0 = np.stack([np.log(psi1 / s0), np.log(psi2 / s0)], -1)
    span = np.maximum(np.abs(log_ratio), 1e-12)
    span = np.where(np.isnan(span), 1.0, span)  # an overflowed point fails in the solver
    res = continuation_newton(fun, x0, psi1.size, tol=1e-13, h0=np.clip(0.7 / span, 1e-3, 1),
                              h_max=np.clip(3.0 / span, 1e-3, 1))
    return -np.exp(res.x[:, 0] + res.x[:, 1]), res


#: Smallest ``|E0| / sum |terms of E0|`` accepted: below it the cancellation in Mei-Montanari's
#: denominator (ridge -> 0 at the interpolation threshold) leaves fewer than 3 digits.
_MM_CANCEL = 1e-13


def _mm_bias_variance(chi, zeta, psi1, psi2):
    """B and V of Mei-Montanari Definition 1 from chi, and where they are trustworthy
    (denominator not lost to cancellation; B, V >= 0 as the limits of squared errors)."""
    z2, z4, z6 = zeta**2, zeta**4, zeta**6
    c2, c3, c4, c5 = chi**2, chi**3, chi**4, chi**5
    pp = psi1 * psi2
    terms = (-c5 * z6, 3 * c4 * z4, (pp - psi2 - psi1 + 1) * c3 * z6, -2 * c3 * z4,
             -3 * c3 * z2, (psi1 + psi2 - 3 * pp + 1) * c2 * z4, 2 * c2 * z2, c2,
             3 * pp * chi * z2, -pp)
    E0 = sum(terms)
    E1 = psi2 * c3 * z4 - psi2 * c2 * z2 + pp * chi * z2 - pp
    E2 = (c5 * z6 - 3 * c4 * z4 + (psi1 - 1) * c3 * z6 + 2 * c3 * z4 + 3 * c3 * z2
          + (-psi1 - 1) * c2 * z4 - 2 * c2 * z2 - c2)
    B, V = E1 / E0, E2 / E0
    ok = (np.abs(E0) > _MM_CANCEL * sum(np.abs(t) for t in terms)) & (B >= 0) & (V >= 0)
    return B, V, ok


def ridge_regression_reference(setting: RFSetting) -> dict:
    """Score and test error at m = 1 from the Mei-Montanari random-features formula.

    Returns a dict with ``score_error``, ``test_error``, ``bias``, ``variance`` and
    ``converged`` (arrays of ``setting.shape``; NaN where ``converged`` is False: ratios so
    extreme that the fixed point overflows, or a ridge so small at the interpolation
    threshold that the formula's denominator is lost to cancellation).  Raises
    ``ValueError`` unless every point has ``m == 1`` and a non-linear activation (``mu_star > 0``).
    """
    shape, b = _scalars(setting)
    if np.any(b["m"] != 1):
        raise ValueError("m: the ridge-regression reference applies to m = 1 only")
    if np.any(b["v"] <= 0):
        raise ValueError("activation: the Mei-Montanari formula needs mu_star > 0")
    # extreme ratios overflow intermediate products: such points come out non-finite and
    # are reported as not converged (NaN values), never as numbers
    with np.errstate(all="ignore"):
        zeta = np.sqrt(b["u"] / b["v"])
        psi1, psi2 = b["psi_p"], b["psi_n"]
        lbar = b["lam"] / psi1 / b["v"]
        chi, res = _mm_chi(zeta, psi1, psi2, lbar)
        bias, var, trusted = _mm_bias_variance(chi, zeta, psi1, psi2)
        tau2 = b["a2"] / b["delta"]
        excess = bias + tau2 * var
        test = b["a2"] + b["delta"] * excess
    conv = res.converged & trusted
    for a in (bias, var, excess, test):
        conv &= np.isfinite(a)

    def out(a):
        return np.where(conv, a, np.nan).reshape(shape)

    return {
        "score_error": out(excess), "test_error": out(test), "bias": out(bias),
        "variance": out(var), "converged": conv.reshape(shape),
    }


def large_ridge_coefficients(setting: RFSetting) -> tuple[np.ndarray, np.ndarray]:
    """``(c1, c2)`` with ``L_test = 1 - c1/lam + c2/lam^2 + O(lam^-3)`` as ``lam -> inf``.

    With ``u = mu1^2``, ``v = mu*^2``, ``g = 1/(psi_n m)`` (0 for m = inf)::

        c1 = 2 Delta u psi_p,
        c2 = psi_p (u^2 (1+psi_p) + 2uv + v^2) g
             + Delta u (u psi_p (1+psi_p) + v psi_p)
             + 2 Delta u (u psi_p (1+psi_p) + v psi_p + psi_p^2 (u+v) g).

    The first line is the diagonal (same-noise) part of ``Tr(V^T U~ V)/d``, the second its
    off-diagonal part, the third ``2 mu1 Tr(V^T U W)/d^{3/2}``.  At this order the
    noise-copy correlation kappa does not enter.  [derived]  A ``ValueError`` names
    ``psi_p`` when the coefficients are beyond the float range.
    """
    shape, b = _scalars(setting)
    u, v, psi_p, delta = b["u"], b["v"], b["psi_p"], b["delta"]
    with np.errstate(all="ignore"):
        g = np.where(np.isinf(b["m"]), 0.0, 1.0 / (b["psi_n"] * b["m"]))
        c1 = 2.0 * delta * u * psi_p
        base = u * psi_p * (1.0 + psi_p) + v * psi_p
        c2 = (psi_p * (u * u * (1.0 + psi_p) + 2.0 * u * v + v * v) * g
              + delta * u * base + 2.0 * delta * u * (base + psi_p**2 * (u + v) * g))
    if not (np.all(np.isfinite(c1)) and np.all(np.isfinite(c2))):
        raise ValueError("psi_p, psi_n, m: the coefficients overflow (psi_p too large or "
                         "psi_n m too small)")
    return c1.reshape(shape), c2.reshape(shape)


def wide_limit(setting: RFSetting) -> dict:
    """Errors as ``psi_p -> inf`` at fixed ``lam`` and finite ``m`` (``psi_p`` is ignored).

    ``r`` is the root in ``(0, 1/lam)`` of ``1/r = lam + R(r)`` with
    ``R(r) = psi_n [alpha1 / l1 + (m-1) alpha2 / l2]``,
    ``alpha1 = mu1^2 (m e^{-2t} + Delta)``, ``alpha2 = mu1^2 Delta``,
    ``l1 = alpha1 r + mu*^2 (1 + (m-1) kappa) / lam``, ``l2 = alpha2 r + mu*^2 (1-kappa)/lam``;
    then ``L_test = 1 - 2 mu1^2 Delta psi_n r g - mu1^2 Phi'(r) / (r^-2 + R'(r))`` with
    ``g = 1/l1 + (m-1)/l2`` and ``Phi = psi_n g - mu1^2 Delta psi_n^2 r g^2``; the train
    error tends to 0.  [paper: UBBM26-DD, via research note section 3.6; checked against the
    solver at psi_p up to 1e6 in the tests.]

    Raises ``ValueError`` for ``m = inf``, ``mu1 = 0``, a point where ``1/r = lam + R(r)``
    has no root in ``(0, 1/lam)`` (a linear activation with ``psi_n m >= 1``, or noise
    copies numerically identical at a tiny ``t``), or one whose intermediates overflow.
    """
    shape, b = _scalars(setting)
    if np.any(np.isinf(b["m"])):
        raise ValueError("m: the wide limit closed form needs a finite m")
    if np.any(b["u"] <= 0):
        raise ValueError("activation: the wide limit needs mu1 != 0")
    out = np.empty(b["m"].size)
    for i in range(out.size):
        u, v, k = b["u"][i], b["v"][i], b["kappa"][i]
        m, lam, pn, a2, dl = b["m"][i], b["lam"][i], b["psi_n"][i], b["a2"][i], b["delta"][i]
        with np.errstate(all="ignore"):
            al1, al2 = u * (a2 * m + dl), u * dl
            k1, k2 = v * (1 + (m - 1) * k) / lam, v * (1 - k) / lam
            hi = 1.0 / lam
        if not all(np.isfinite(x) for x in (al1, al2, k1, k2, hi)):
            raise ValueError(f"lam, m: the wide-limit closed form is not representable at "
                             f"lam = {lam:g}, m = {m:g} (an intermediate overflows)")

        def h(r):  # r (1/r - lam - R(r)): no pole at r = 0
            if r == 0:  # al r / (al r + k) -> 1 where k = 0 (a linear part that never saturates)
                return 1.0 - pn * (float(k1 == 0) + (m - 1) * float(k2 == 0))
            return 1.0 - lam * r - pn * (al1 * r / (al1 * r + k1)
                                         + (m - 1) * al2 * r / (al2 * r + k2))

        if not h(0.0) > 0:
            raise ValueError(
                "activation: the wide-limit closed form has no root r in (0, 1/lam) here "
                f"(psi_n = {pn:g}, m = {m:g}, mu_*^2 = {v:.3g}, kappa = {k:.3g}, lam = {lam:g}): "
                "it needs mu_* > 0 and noise copies that are not numerically identical, or "
                "psi_n m < 1 for a linear activation")
        # h(1/lam) = -R(1/lam) / lam < 0 unless rounding puts the root at the end itself;
        # a root below the smallest float (huge lam psi_n) is taken there (r -> 0: L_test -> 1)
        tiny = np.nextafter(0.0, 1.0)
        with np.errstate(all="ignore"):
            if h(hi) >= 0:
                r = np.float64(hi)
            elif not h(tiny) > 0:
                r = np.float64(tiny)
            else:
                from scipy.optimize import brentq  # here: slow to import, rarely needed

                try:
                    r = np.float64(brentq(h, tiny, hi, xtol=max(1e-300 * hi, tiny), rtol=1e-15,
                                          maxiter=500))
                except RuntimeError:
                    raise RuntimeError(f"wide_limit: the root of 1/r = lam + R(r) did not "
                                       f"converge (lam = {lam:g}, psi_n = {pn:g})") from None
        with np.errstate(all="ignore"):
            l1, l2 = al1 * r + k1, al2 * r + k2
            g = 1 / l1 + (m - 1) / l2
            gp = -al1 / l1**2 - (m - 1) * al2 / l2**2
            Rp = -pn * (al1**2 / l1**2 + (m - 1) * al2**2 / l2**2)
            Phip = pn * gp - u * dl * pn**2 * (g * g + 2 * r * g * gp)
            out[i] = 1 - 2 * u * dl * pn * r * g - u * Phip / (r**-2 + Rp)
        if not np.isfinite(out[i]):
            raise ValueError(f"lam, m: the wide-limit closed form is not representable at "
                             f"lam = {lam:g}, m = {m:g} (an intermediate overflows)")
    return {"test_error": out.reshape(shape), "train_error": np.zeros(shape)}
