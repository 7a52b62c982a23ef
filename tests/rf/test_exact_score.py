"""The exact-score constant C_t of hidden-manifold data: replica theory and finite-size GAMP.

Theory: lowdim.theory.rf._exact_score.hidden_manifold_exact_score (GLM replica fixed point).
Simulation: lowdim.simulate.glm_amp.estimate_exact_score_constant (GAMP on drawn instances).

Finite-size allowance for (e).  Measured with tanh on seeds 5000+ (not the test seeds),
400/200/100/50/25 seeds at d = 250/500/1000/2000/4000; Nishimori estimator (GAMP posterior
variances) minus theory, with one SE in brackets (last digits):

    psi_D, t     d=250          d=500          d=1000         d=2000         d=4000
    0.25, 0.01   -0.00207(7)    -0.00016(7)    -0.00006(7)    -0.00004(7)    +0.00005(7)
    0.25, 0.1    -0.00181(35)   -0.00063(33)   +0.00003(33)   -0.00035(35)   +0.00014(32)
    0.5,  0.01   -0.00024(29)   +0.00017(28)   -0.00043(32)   -0.00015(31)   -0.00053(20)
    0.5,  0.1    -0.00063(63)   +0.00030(64)   -0.00092(66)   -0.00025(63)   -0.00128(50)
    (0.5, 0.1 at d = 8000, 30 seeds: Nishimori +0.00000(36), realised +0.0005(15).)

(theory C_t = 0.24618, 0.21590, 0.46988, 0.34684.)  The realised estimator
(1/d)||xi - E[xi|y]||^2 had SE 0.002-0.003 in every cell and no visible bias.  The bias is
resolved only at d = 250 with psi_D = 0.25 (D = 62): -0.8% of C_t, falling to at most 0.3%
at d = 500 and within noise (under 0.15%) from d = 1000 on.  The allowance below, 0.5% of
C_t at d >= 1000, is therefore more than three times the largest bias seen at d >= 1000.
The GAMP variance V (1 - q of state evolution) matched the theory within noise everywhere.
"""
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from lowdim.simulate.glm_amp import draw_instance, estimate_exact_score_constant, gamp_posterior_mean
from lowdim.theory.activations import moments
from lowdim.theory.rf._exact_score import hidden_manifold_exact_score, linear_overlap

FINITE_SIZE_ALLOWANCE = 0.005  # relative, at d >= 1000 (module docstring)


# --------------------------------------------------------------------------- references
def _snr(t):
    return math.exp(-2.0 * t) / -math.expm1(-2.0 * t)


def _mp_average(psi, f):
    """int p_MP(lambda) f(lambda) d lambda, Marchenko-Pastur with ratio psi <= 1 (mean 1).

    p_MP(l) = sqrt((l+ - l)(l - l-)) / (2 pi psi l); the square roots go into quad's algebraic
    weight.  For psi = 1, l- = 0 and sqrt(l)/l is folded into the weight as l^(-1/2).
    """
    lm, lp = (1.0 - math.sqrt(psi)) ** 2, (1.0 + math.sqrt(psi)) ** 2
    if psi < 1.0:
        val, _ = quad(lambda l: f(l) / l, lm, lp, weight="alg", wvar=(0.5, 0.5),
                      epsabs=1e-15, epsrel=1e-13, limit=200)
    else:
        val, _ = quad(f, 0.0, lp, weight="alg", wvar=(-0.5, 0.5), epsabs=1e-15, epsrel=1e-13,
                      limit=200)
    return val / (2.0 * math.pi * psi)


def _gaussian_c_t(psi, t, kappa1_sq=1.0, kappa_star_sq=0.0):
    """C_t = int d rho(lambda) s lambda / (s lambda + 1), s = a^2/Delta, for the spectrum of
    kappa1^2 M M^T / D + kappa_*^2 I: weight 1 - psi at kappa_*^2 and weight psi on
    kappa_*^2 + kappa1^2 lambda_MP / psi."""
    s = _snr(t)

    def g(lam):
        return s * lam / (s * lam + 1.0)

    return (1.0 - psi) * g(kappa_star_sq) + psi * _mp_average(
        psi, lambda l: g(kappa_star_sq + kappa1_sq * l / psi))


def _exact_gaussian_posterior_c(inst):
    """Realised (1/d)||xi - E[xi|y]||^2 with the exact Gaussian posterior (phi = identity)."""
    F, y, a, delta = inst.F, inst.y, inst.a, inst.delta
    D = F.shape[1]
    s = a * a / delta
    z_hat = torch.linalg.solve(torch.eye(D, dtype=F.dtype) + s * F.T @ F, (a / delta) * (F.T @ y))
    xi_hat = (y - a * (F @ z_hat)) / math.sqrt(delta)
    return float(torch.mean((inst.xi - xi_hat) ** 2))


# --------------------------------------------------------------------------- (a) phi = x
def test_linear_activation_equals_marchenko_pastur_integral():
    psis = np.array([0.05, 0.3, 0.7, 1.0])
    ts = np.array([0.001, 0.1, 1.0])
    P, T = np.meshgrid(psis, ts, indexing="ij")
    res = hidden_manifold_exact_score(P, T, "linear")
    assert res.success, res.message
    assert res.c_t.shape == P.shape and np.all(res.converged)
    for i, psi in enumerate(psis):
        for j, t in enumerate(ts):
            expected = _gaussian_c_t(float(psi), float(t))
            assert res.c_t[i, j] == pytest.approx(expected, rel=1e-9, abs=0), (psi, t)
            # the overlap is the Marchenko-Pastur average of 1 - 1/(1 + s lambda_W) for the
            # latent Gram matrix W = M^T M / D, whose eigenvalues are lambda_MP / psi
            s = _snr(float(t))
            v_mp = _mp_average(float(psi), lambda l: 1.0 / (1.0 + s * l / psi))
            assert 1.0 - res.overlap[i, j] == pytest.approx(v_mp, rel=1e-9, abs=1e-13)
            assert res.residual[i, j] <= 1e-10
    # mmse and C_t are tied by C_t = (a^2/Delta) mmse
    snr = np.exp(-2 * T) / -np.expm1(-2 * T)
    np.testing.assert_allclose(res.c_t, snr * res.mmse, rtol=1e-14)


@pytest.mark.parametrize("psi", [0.3, 1.0])
def test_linear_free_entropy_is_the_gaussian_log_likelihood(psi):
    # (1/D) E log p(y|M) for y ~ N(0, a^2 M M^T/D + Delta I):
    # -(alpha/2)(log(2 pi Delta) + 1) - (1/2) int p_MP(l) log(1 + s l / psi) dl, alpha = 1/psi
    for t in (0.01, 0.5):
        s = _snr(t)
        delta = -math.expm1(-2.0 * t)
        expected = (-(0.5 / psi) * (math.log(2.0 * math.pi * delta) + 1.0)
                    - 0.5 * _mp_average(psi, lambda l: math.log1p(s * l / psi)))
        res = hidden_manifold_exact_score(psi, t, "linear")
        assert float(res.free_entropy) == pytest.approx(expected, rel=1e-10)


def test_linear_overlap_helper_solves_its_quadratic():
    alpha, snr = np.array([1.0, 2.0, 20.0]), np.array([0.5, 10.0, 1e4])
    v = linear_overlap(alpha, snr)
    np.testing.assert_allclose(snr * v**2 + (1 + (alpha - 1) * snr) * v - 1.0, 0.0, atol=1e-13)


# --------------------------------------------------------------------------- (b) quadrature
@pytest.mark.parametrize("t", [0.001, 0.1])
def test_tanh_converges_in_the_number_of_nodes(t):
    psis = np.array([0.1, 0.5, 1.0])
    coarse = hidden_manifold_exact_score(psis, t, "tanh", resolution=0.5)
    base = hidden_manifold_exact_score(psis, t, "tanh")
    fine = hidden_manifold_exact_score(psis, t, "tanh", resolution=2.0)
    assert base.success and fine.success, (base.message, fine.message)
    # resolution 1 agrees with twice as many nodes in every direction to 1e-9 ...
    np.testing.assert_allclose(base.c_t, fine.c_t, rtol=1e-9)
    np.testing.assert_allclose(base.overlap, fine.overlap, rtol=1e-9)
    # ... and is closer to it than half the nodes is (the test can see a coarse grid)
    assert np.all(np.abs(base.c_t - fine.c_t) <= np.abs(coarse.c_t - fine.c_t) + 1e-15)


# --------------------------------------------------------------------------- (c) bounds, limits
@pytest.mark.parametrize("activation", ["tanh", "erf"])
def test_bounded_by_the_gaussian_equivalent(activation):
    # mmse <= LMMSE for any prior; the LMMSE of x depends only on its covariance, whose
    # spectrum tends to that of kappa1^2 M M^T/D + kappa_*^2 I (Gaussian equivalence of the
    # hidden-manifold covariance, El Karoui 2010).  Hence C_t <= C_t^GE, with equality only if
    # the data were Gaussian.
    m = moments(activation)
    k1, ks = float(m.mu1**2), float(m.mu_star_sq)
    psis = np.array([0.1, 0.5, 1.0])
    ts = np.array([0.01, 0.1, 1.0, 2.0])
    P, T = np.meshgrid(psis, ts, indexing="ij")
    res = hidden_manifold_exact_score(P, T, activation)
    assert res.success, res.message
    ge = np.vectorize(lambda p, t: _gaussian_c_t(p, t, k1, ks))(P, T)
    assert np.all(res.c_t <= ge * (1 + 1e-10))
    # trivial bound mmse <= E phi^2
    assert np.all(res.mmse <= k1 + ks)


def test_small_snr_matches_the_gaussian_equivalent_to_first_order():
    # For any prior, mmse(s) = E||x||^2/d - s tr(Sigma_x^2)/d + O(s^2) (s = a^2/Delta), and
    # E phi^2 and lim tr(Sigma_x^2)/d = (E phi^2)^2 + kappa1^4/psi are matched by the Gaussian
    # equivalent.  So C_t/C_t^GE - 1 = O(s) relative: it must vanish faster than s.  (The
    # coefficient is not known; we assert the o(s) trend and its size at t = 3.)
    m = moments("tanh")
    k1, ks = float(m.mu1**2), float(m.mu_star_sq)
    for psi in (0.1, 0.5, 1.0):
        ts = np.array([2.0, 3.0])
        res = hidden_manifold_exact_score(psi, ts, "tanh")
        ge = np.array([_gaussian_c_t(psi, t, k1, ks) for t in ts])
        dev = np.abs(res.c_t / ge - 1.0)
        snr = np.array([_snr(t) for t in ts])
        assert dev[1] / snr[1] < dev[0] / snr[0]
        assert dev[1] < 1e-2 * snr[1]


def test_small_t_limit_is_the_manifold_dimension_ratio():
    # As t -> 0 the posterior of a point of a smooth D-dimensional manifold is Gaussian on
    # the tangent space: mmse ~ (Delta/a^2) D/d, so C_t -> psi_D.  For psi_D < 1 the
    # linearised replica equations give C_t = psi_D (1 - v) with v = O(Delta): the gap closes
    # linearly in Delta (a factor ~10 per decade of t; an O(sqrt(Delta)) rate would give ~3).
    for psi in (0.1, 0.5):
        res = hidden_manifold_exact_score(psi, np.array([0.1, 0.01, 0.001]), "tanh")
        gap = np.abs(res.c_t - psi)
        assert np.all(np.diff(gap) < 0)
        assert gap[2] / gap[1] < 0.2


def test_overlap_below_the_van_trees_bound():
    # van Trees: Var(h | omega, Y) >= 1/(1/v + (a^2/Delta) E phi'^2), which gives
    # qhat(q) <= qhat_lin(q) at snr_eff = a^2 E[phi'(g)^2]/Delta, hence every fixed point has
    # 1 - q >= v_lin(snr_eff).  E[tanh'(g)^2] by Gauss-Hermite.
    x, w = np.polynomial.hermite_e.hermegauss(200)
    k = float(np.sum(w * (1.0 / np.cosh(x)) ** 4) / math.sqrt(2.0 * math.pi))
    psis = np.array([0.1, 0.5, 1.0])
    for t in (0.01, 0.1, 1.0):
        res = hidden_manifold_exact_score(psis, t, "tanh")
        v_lin = linear_overlap(1.0 / psis, _snr(t) * k)
        assert np.all(1.0 - res.overlap >= v_lin * (1 - 1e-9))


def _even_weak_recovery_slope(alpha, t):
    """F'(0) for phi(h) = (h^2 - 1)/sqrt(2), where q = 0 is a fixed point.

    At small q, g_out = sqrt(q) V E[h^2 - 1 | Y] + ..., with the expectation under the
    q = 0 posterior (prior N(0, 1)), so F(q) = alpha q E_Y[E[h^2 - 1 | Y]^2] + O(q^2).  q = 0
    is unstable (the informative branch starts there) iff F'(0) > 1.  Nested scipy quad.
    """
    a, delta = math.exp(-t), -math.expm1(-2.0 * t)

    def inner(y, k):
        def f(h):
            lik = math.exp(-(y - a * (h * h - 1.0) / math.sqrt(2.0)) ** 2 / (2.0 * delta))
            return math.exp(-0.5 * h * h) * lik * (h * h - 1.0) ** k
        return quad(f, -12.0, 12.0, limit=400, points=[0.0])[0] / (
            2.0 * math.pi * math.sqrt(delta))

    def outer(y):
        p = inner(y, 0)
        return inner(y, 1) ** 2 / p if p > 1e-300 else 0.0

    lo = -a / math.sqrt(2.0) - 12.0 * math.sqrt(delta)
    hi = a * 72.0 / math.sqrt(2.0) + 12.0 * math.sqrt(delta)
    return alpha * quad(outer, lo, hi, limit=400)[0]


def test_even_activation_leaves_q0_exactly_when_it_is_unstable():
    # (h^2 - 1)/sqrt(2) is centred and even: F(0) = 0.  The returned fixed point must be
    # q = 0 when F'(0) < 1 and the informative branch (q > 0) when F'(0) > 1; near the
    # threshold (t = 0.5, F'(0) ~ 1.03) the branch starts at very small q, which a coarse
    # scan would miss.
    even = lambda x: (x * x - 1.0) / np.sqrt(2.0)  # noqa: E731
    for t in (0.5, 0.6):
        slope = _even_weak_recovery_slope(1.0, t)
        res = hidden_manifold_exact_score(1.0, t, even)
        assert res.success, res.message
        assert (float(res.overlap) > 0.0) == (slope > 1.0), (t, slope, float(res.overlap))


# --------------------------------------------------------------------------- (d) bad input
@pytest.mark.parametrize("kwargs, name", [
    (dict(psi_d=0.0, t=0.1), "psi_d"),
    (dict(psi_d=1.5, t=0.1), "psi_d"),
    (dict(psi_d=[0.5, float("nan")], t=0.1), "psi_d"),
    (dict(psi_d=0.5, t=0.0), "t"),
    (dict(psi_d=0.5, t=-1.0), "t"),
    (dict(psi_d=0.5, t=0.1, activation="relu"), "activation"),
    (dict(psi_d=0.5, t=0.1, activation=lambda x: np.cos(x)), "activation"),
    (dict(psi_d=0.5, t=0.1, activation=lambda x: np.exp(x * x)), "activation"),
    (dict(psi_d=0.5, t=0.1, activation="softsign"), "activation"),
    (dict(psi_d=0.5, t=0.1, tol=0.0), "tol"),
    (dict(psi_d=0.5, t=0.1, resolution=-1.0), "resolution"),
])
def test_theory_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        hidden_manifold_exact_score(**kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(psi_d=0.0, t=0.1), "psi_d"),
    (dict(psi_d=2.0, t=0.1), "psi_d"),
    (dict(psi_d=0.5, t=0.0), "t"),
    (dict(psi_d=0.5, t=0.1, d=1), "d"),
    (dict(psi_d=0.001, t=0.1, d=100), "d"),
    (dict(psi_d=0.5, t=0.1, seeds=()), "seeds"),
    (dict(psi_d=0.5, t=0.1, activation="relu"), "activation"),
    (dict(psi_d=0.5, t=0.1, tol=-1.0), "tol"),
    (dict(psi_d=0.5, t=0.1, max_iter=0), "max_iter"),
    (dict(psi_d=0.5, t=0.1, damping=1.5), "damping"),
])
def test_simulation_rejects_bad_input(kwargs, name):
    kwargs = dict(dict(d=50, seeds=(0,), device="cpu"), **kwargs)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        estimate_exact_score_constant(**kwargs)


def test_theory_result_shapes_and_flags():
    res = hidden_manifold_exact_score(np.array([[0.25], [0.5]]), np.array([0.1, 1.0, 0.1]))
    assert res.c_t.shape == (2, 3) and res.converged.dtype == bool
    assert res.success and res.message == "all 6 points converged"
    assert res.c_t[0, 0] == res.c_t[0, 2]  # repeated points solved once, same value
    assert np.all(np.isfinite(res.c_t)) and np.all(res.nit > 0)


def test_failure_is_reported_not_hidden():
    # a grid far too coarse breaks the quadrature check int Z_out dY = 1
    res = hidden_manifold_exact_score([0.25, 0.5], [0.1, 0.01], "tanh", resolution=0.1)
    assert not res.success and not np.any(res.converged)
    assert np.all(np.isnan(res.c_t)) and "normalisation" in res.message


# --------------------------------------------------------------------------- (e) theory vs GAMP
@pytest.mark.parametrize("psi, t", [(0.5, 0.1), (0.25, 0.01)])
def test_gamp_is_exact_for_the_linear_activation(psi, t):
    ident = lambda x: x  # noqa: E731
    for seed in (0, 1):
        inst = draw_instance(psi, t, ident, 600, seed, "cpu")
        res = gamp_posterior_mean(inst.F, inst.y, ident, inst.a, inst.delta, tol=1e-11,
                                  max_iter=500)
        assert res.converged
        c_amp = float(torch.mean((inst.xi - (inst.y - inst.a * res.x_hat)
                                  / math.sqrt(inst.delta)) ** 2))
        assert c_amp == pytest.approx(_exact_gaussian_posterior_c(inst), rel=1e-7)


@pytest.mark.parametrize("t", [0.001, 0.1])
def test_gamp_output_integrals_match_quad(t):
    # GAMP's output denoiser (uniform grid in torch) against scipy quad, for wide (V = 1) and
    # narrow (V = 1e-3) priors and data points in the saturated region of tanh
    from lowdim.simulate.glm_amp import _output_moments

    a, delta = math.exp(-t), -math.expm1(-2.0 * t)
    rng = np.random.default_rng(3)
    omega = np.array([0.0, 0.7, -1.9, 2.8, 0.3, -0.2])
    V = np.array([1.0, 1.0, 0.3, 1.0, 1e-3, 1e-2])
    h = omega + np.sqrt(V) * rng.standard_normal(omega.size)
    y = a * np.tanh(h) + math.sqrt(delta) * rng.standard_normal(omega.size)
    as_t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    m, var, (mp, vp) = _output_moments(as_t(y), as_t(omega), as_t(V), torch.tanh, a, delta,
                                       want_phi=True)
    for i in range(omega.size):
        sv = math.sqrt(V[i])

        def post(x, k, f=lambda u: u - omega[i]):
            return (math.exp(-0.5 * (x - omega[i]) ** 2 / V[i]
                             - 0.5 * (y[i] - a * math.tanh(x)) ** 2 / delta) * f(x) ** k)

        lo, hi = omega[i] - 12 * sv, omega[i] + 12 * sv
        peak = [min(max(math.atanh(np.clip(y[i] / a, -0.999999, 0.999999)), lo), hi)]
        Z = quad(post, lo, hi, args=(0,), points=peak, limit=500, epsabs=0, epsrel=1e-13)[0]
        eps = 1e-14 * Z * max(sv, 1e-2)
        mean = [quad(post, lo, hi, args=(1, f), points=peak, limit=500, epsabs=eps,
                     epsrel=1e-12)[0] / Z for f in (lambda u: u - omega[i], math.tanh)]
        assert float(m[i]) == pytest.approx(mean[0], rel=1e-8, abs=1e-12 * sv)
        assert float(mp[i]) == pytest.approx(mean[1], rel=1e-8, abs=1e-12)
        second = quad(post, lo, hi, args=(2, lambda u: u - omega[i] - mean[0]), points=peak,
                      limit=500, epsabs=eps * sv, epsrel=1e-12)[0] / Z
        assert float(var[i]) == pytest.approx(second, rel=1e-7)


def _check_agreement(psi, t, d, seeds):
    theory = hidden_manifold_exact_score(psi, t, "tanh")
    assert theory.success, theory.message
    c_th = float(theory.c_t)
    est = estimate_exact_score_constant(psi, t, "tanh", d=d, seeds=seeds, device="cpu")
    assert np.all(est.converged), est.iterations
    allowance = FINITE_SIZE_ALLOWANCE * c_th
    tol = max(3.0 * est.se, allowance)
    assert abs(est.c_t - c_th) <= tol, (est.c_t, est.se, c_th)
    tol_n = max(3.0 * est.se_nishimori, allowance)
    assert abs(est.c_t_nishimori - c_th) <= tol_n, (est.c_t_nishimori, est.se_nishimori, c_th)
    # state evolution: GAMP's output-prior variance is 1 - q
    v = est.v_mean
    v_se = v.std(ddof=1) / math.sqrt(v.size)
    v_th = 1.0 - float(theory.overlap)
    assert abs(v.mean() - v_th) <= max(3.0 * v_se, FINITE_SIZE_ALLOWANCE * v_th)
    return est, c_th


def test_gamp_agrees_with_theory_tanh_quick():
    _check_agreement(0.25, 0.1, 1000, tuple(range(8)))


@pytest.mark.slow
@pytest.mark.parametrize("psi", [0.25, 0.5])
@pytest.mark.parametrize("t", [0.01, 0.1])
def test_gamp_agrees_with_theory_tanh_full(psi, t):
    _check_agreement(psi, t, 2000, tuple(range(20)))


def test_small_t_limit_at_t_1e_4():
    # continuation of test_small_t_limit_is_the_manifold_dimension_ratio (finer grids)
    for psi in (0.1, 0.5):
        res = hidden_manifold_exact_score(psi, np.array([1e-3, 1e-4]), "tanh")
        assert res.success, res.message
        gap = np.abs(res.c_t - psi)
        assert gap[1] / gap[0] < 0.2


def test_small_t_continuation_matches_direct_quadrature():
    # Below t = 1e-4 C_t is continued (cubic in u = Delta/a^2 from t = 1e-4 ... 8e-4); inside
    # the quadrature's reach the continued and the directly integrated values must agree to
    # the continuation's own error estimate (measured: about 2e-9 at t = 1e-6).
    from lowdim.theory.rf._exact_score import _checked_activation, _continued_point, _one_point

    act, k_slope = _checked_activation("tanh")

    def solve(psi, t):
        return _one_point(act.fn, k_slope, psi, t, 1e-10, 1.0)

    for t in (5e-5, 2e-5):
        cont = _continued_point(solve, 0.5, t)
        direct = solve(0.5, t)
        assert cont["ok"] and direct["ok"]
        assert abs(cont["c_t"] - direct["c_t"]) < 1e-7 * direct["c_t"]


def test_t_to_zero_is_finite_and_reaches_psi_d():
    # before the continuation existed, t = 1e-8 asked for a 50 GiB quadrature table
    res = hidden_manifold_exact_score([0.25, 0.5], np.array([[1e-6], [1e-12]]), "tanh")
    assert res.success, res.message
    assert "continued from t = 0.0001" in res.message
    # C_t = psi_D - O(t) (measured slope about 3.6 for tanh at psi_D = 0.5), up to the
    # continuation's error, at most 1e-7 relative
    gap = np.abs(res.c_t - [0.25, 0.5])
    assert np.all(gap < 5.0 * np.array([[1e-6], [1e-12]]) + 1e-7 * np.array([0.25, 0.5]))
    assert np.all(np.isnan(res.free_entropy))  # diverges as t -> 0; not continued


def test_t_to_zero_at_psi_d_one_is_reported_not_guessed():
    # at psi_D = 1, 1 - C_t is not smooth in u (sqrt(u) for a linear phi): the continuation's
    # error estimate is large, so the point fails with a message instead of a number
    res = hidden_manifold_exact_score([0.5, 1.0], 1e-9, "tanh")
    assert not res.success and res.converged.tolist() == [True, False]
    assert np.isnan(res.c_t[1]) and "psi_d=1, t=1e-09: small-t continuation uncertain" in res.message


def test_quadrature_too_large_fails_cleanly():
    from lowdim.theory.rf._exact_score import _checked_activation, _one_point

    act, k_slope = _checked_activation("tanh")
    out = _one_point(act.fn, k_slope, 0.5, 1e-9, 1e-10, 1.0)
    assert "q" not in out and "exceeds the limit" in out["why"]
