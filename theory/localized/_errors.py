"""Exact localization error and first-order statistical error of localized linear scores
[derived: research note localized.md sections 1.5, 4.4 and 4.6; checked by Monte Carlo in the
tests].

For site i and its neighbourhood ``N = N_i^r``, the best function of ``x_N`` (the population
minimizer of the localized DSM loss) is the score of the marginal of ``x_t`` on N,
``f_i(x_N) = -[(C_t)_NN^{-1} x_N]_i``.  Its error is a conditional variance, orthogonal to any
estimation error (Pythagorean split, section 1.5):

    eps_loc(i, r, t)  = [P_t]_ii - [(C_t)_NN^{-1}]_ii,

    E eps_stat(i, r, t, n) ~ V(i, r, t) / n,
    V = e^{-4t} [ (u^T C_NN u) tr(G C_NN) + u^T C_NN G C_NN u ],   G = (C_t)_NN^{-1}, u = G e_i,

the second for the plug-in estimator ``hat C = X^T X / n`` (known mean) to first order in
``hat C - C``, through the Wishart identity ``E[D_ab D_cd] = (C_ac C_bd + C_ad C_bc) / n``.
"""
from __future__ import annotations

import numpy as np

from .._checks import ParameterTypeError, integers, plain
from ..threads import small_matrices
from ..processes import ou_coefficients
from ._lattice import check_radius
from ._noised import _times
from ._target import check_target

__all__ = ["site_errors", "localization_error", "statistical_variance",
           "population_localized_score"]


def _radii(radii):
    """Radii: one radius (an integer ``>= 0`` or ``None``) or a sequence of them."""
    radii = plain("radii", radii)
    if isinstance(radii, np.ndarray):
        radii = radii.tolist() if radii.ndim else [radii[()]]
    elif radii is None or np.isscalar(radii):
        radii = [radii]
    else:
        try:
            radii = list(radii)
        except TypeError:
            raise ParameterTypeError(f"radii: expected a radius or a sequence of radii (got "
                                     f"{type(radii).__name__})") from None
    if not radii:
        raise ValueError("radii: at least one radius is needed")
    return [check_radius(r, "radii") for r in radii]


def site_errors(target, radii, t, sites=None):
    """Per-site ``eps_loc`` and ``V`` for each radius and time.

    Parameters
    ----------
    target : GaussianTarget
    radii : int, None or sequence
        Radii (``None``: the global model, whose localization error is 0).
    t : float or array
        Diffusion times ``> 0``.
    sites : int or sequence of int, optional
        Sites to evaluate; default every site, or site 0 alone when the target is translation
        invariant (every site is then equal).

    Returns
    -------
    eps_loc, V : arrays of shape ``(R, T, S)`` for R radii, T times and S sites.
    """
    check_target(target)
    radii, t = _radii(radii), _times(t)
    if sites is None:
        sites = [0] if target.translation_invariant else range(target.dim)
    sites = plain("sites", sites)
    if not (np.isscalar(sites) or isinstance(sites, np.ndarray)):
        try:
            sites = list(sites)
        except TypeError:
            raise ParameterTypeError(f"sites: expected site indices (got "
                                     f"{type(sites).__name__})") from None
    sites = integers("sites", sites, low=0)
    if not sites or max(sites) >= target.dim:
        raise ValueError(f"sites: indices must lie in 0 .. {target.dim - 1}")
    sites = np.asarray(sites, dtype=int)
    a, s2 = ou_coefficients(t)
    C = target.covariance
    lam, Vec = target.eigenvalues, target.eigenvectors
    Pt_diag = np.einsum("ik,tk->ti", Vec ** 2, 1.0 / (a[:, None] ** 2 / lam + s2[:, None]))
    eps = np.zeros((len(radii), t.size, sites.size))
    var = np.zeros_like(eps)
    with small_matrices(target.dim):   # batches of small inverses: one BLAS thread
        for ri, r in enumerate(radii):
            hoods = target.lattice.neighbourhoods(r)
            for si, i in enumerate(sites):
                N = hoods[i]
                pos = int(np.searchsorted(N, i))
                Cn = C[np.ix_(N, N)]
                Ct = a[:, None, None] ** 2 * Cn + s2[:, None, None] * np.eye(N.size)
                G = np.linalg.inv(Ct)
                u = G[:, :, pos]                                   # G e_i, shape (T, k)
                Cu = u @ Cn                                        # C_NN u (C symmetric)
                tr_GC = np.einsum("tab,ba->t", G, Cn)
                quad = np.einsum("ta,ta->t", u, Cu)
                cross = np.einsum("ta,tab,tb->t", Cu, G, Cu)
                eps[ri, :, si] = Pt_diag[:, i] - G[:, pos, pos]
                var[ri, :, si] = np.exp(-4.0 * t) * (quad * tr_GC + cross)
    # the conditional variance is >= 0; round-off below it is clipped
    return np.maximum(eps, 0.0), var


def localization_error(target, radii, t) -> np.ndarray:
    """Site-averaged exact localization error ``eps_loc(r, t)``, shape ``(R, T)``."""
    return site_errors(target, radii, t)[0].mean(axis=2)


def statistical_variance(target, radii, t) -> np.ndarray:
    """Site-averaged first-order variance coefficient ``V(r, t)`` (error ``~ V / n``), (R, T)."""
    return site_errors(target, radii, t)[1].mean(axis=2)


def population_localized_score(target, r, t) -> np.ndarray:
    """Matrices ``A_t`` of the best radius-r score, ``s_i(x) = -[(C_t)_NN^{-1} x_N]_i`` (the
    marginal score, what the localized estimator converges to as n grows): shape (T, d, d).
    ``r=None`` gives ``P_t``."""
    check_target(target)
    r, t = check_radius(r), _times(t)
    a, s2 = ou_coefficients(t)
    C = target.covariance
    d = target.dim
    out = np.zeros((t.size, d, d))
    hoods = target.lattice.neighbourhoods(r)
    with small_matrices(d):
        for i in range(d):
            N = hoods[i]
            pos = int(np.searchsorted(N, i))
            Ct = a[:, None, None] ** 2 * C[np.ix_(N, N)] + s2[:, None, None] * np.eye(N.size)
            out[:, i, N] = np.linalg.inv(Ct)[:, pos, :]
    return out
