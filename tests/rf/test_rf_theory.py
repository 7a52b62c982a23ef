"""The RF learning-curve solver against independent closed forms and limits."""
import math

import numpy as np
import pytest

from lowdim.theory.rf import (RFSetting, large_ridge_coefficients, predict, ridge_regression_reference,
                       wide_limit)
from lowdim.theory.rf._predict import _coefficients
from lowdim.theory.rf._system import observables, residual_and_jacobian


# ----------------------------------------------------------------------------- m = 1
@pytest.mark.parametrize("activation", ["tanh", "relu", "erf"])
@pytest.mark.parametrize("t", [0.01, 0.1, 1.0])
def test_m1_equals_mei_montanari_random_features_ridge(activation, t):
    """m = 1 is RF ridge regression; the solver reproduces Mei-Montanari's formula."""
    psi_n = np.array([0.3, 2.0, 5.0])[:, None]
    psi_p = np.array([0.2, 1.7, 4.5, 40.0])[None, :]
    for lam in (1e-4, 1e-2, 1.0):
        s = RFSetting(psi_n=psi_n, psi_p=psi_p, t=t, lam=lam, m=1, activation=activation)
        pred = predict(s)
        ref = ridge_regression_reference(s)
        assert pred.success and ref["converged"].all()
        np.testing.assert_allclose(pred.score_error, ref["score_error"], rtol=1e-9)
        np.testing.assert_allclose(pred.test_error, ref["test_error"], rtol=1e-10)


# ----------------------------------------------------------------------------- lambda -> inf
@pytest.mark.parametrize("m", [1, 3, math.inf])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_large_ridge_expansion(m, activation):
    """L_test = 1 - c1/lam + c2/lam^2 + O(lam^-3) with c1, c2 from Wick contractions."""
    for psi_n, psi_p, t in ((2.0, 0.5, 0.1), (0.5, 8.0, 0.01), (3.0, 2.0, 1.0)):
        lams = np.array([1e3, 2e3])
        s = RFSetting(psi_n=psi_n, psi_p=psi_p, t=t, lam=lams, m=m, activation=activation)
        pred = predict(s)
        c1, c2 = large_ridge_coefficients(s)
        est = (pred.test_error - 1.0 + c1 / lams) * lams**2  # = c2 + c3/lam + ...
        richardson = 2.0 * est[1] - est[0]  # removes the c3/lam term
        assert richardson == pytest.approx(c2[0], rel=2e-4)
        # and the ridge-regularised train error tends to 1 - (training fit ~ c/lam)
        assert np.all(pred.train_error_reg < 1.0) and np.all(pred.train_error_reg > 0.9)


# ----------------------------------------------------------------------------- psi_p -> inf
@pytest.mark.parametrize("m", [1, 2, 5])
def test_wide_limit(m):
    for activation, psi_n, t, lam in (("tanh", 2.0, 0.1, 1e-2), ("relu", 0.5, 0.01, 0.1),
                                      ("tanh", 3.0, 1.0, 1.0)):
        s = RFSetting(psi_n=psi_n, psi_p=np.array([1e5, 1e6]), t=t, lam=lam, m=m,
                      activation=activation)
        pred = predict(s)
        ref = wide_limit(s)["test_error"]
        # the approach is O(1/psi_p): Richardson on the two widths
        rich = (10 * pred.test_error[1] - pred.test_error[0]) / 9
        assert rich == pytest.approx(ref[0], rel=1e-6)
        assert pred.train_error[1] < 1e-6


# ----------------------------------------------------------------------------- internals
def _solve_at(co, z, zeta, q0, r0):
    """Newton on the system at (z, zeta) from a nearby solution."""
    x = np.array([q0, r0])
    for _ in range(30):
        F, J, _ = residual_and_jacobian(co, x[:1], x[1:], z, zeta)
        step = np.linalg.solve(J[0], F[0])
        x = x - step
        if np.max(np.abs(step) / np.abs(x)) < 1e-15:
            break
    return x[0], x[1]


@pytest.mark.parametrize("m", [1, 4, math.inf])
def test_implicit_derivatives_match_finite_differences(m):
    s = RFSetting(psi_n=1.5, psi_p=3.0, t=0.2, lam=0.05, m=m, activation="tanh")
    pred = predict(s)
    co = _coefficients(s)
    q, r = float(pred.q), float(pred.r)
    obs = observables(co, np.array([q]), np.array([r]))
    h = 1e-6
    for key_q, key_r, dz, dzeta in (("dq_dz", "dr_dz", h, 0.0), ("dq_dzeta", "dr_dzeta", 0.0, h)):
        qp, rp = _solve_at(co, -co.lam[0] + dz, dzeta, q, r)
        qm, rm = _solve_at(co, -co.lam[0] - dz, -dzeta, q, r)
        assert obs[key_q][0] == pytest.approx((qp - qm) / (2 * h), rel=1e-5)
        assert obs[key_r][0] == pytest.approx((rp - rm) / (2 * h), rel=1e-5)


def test_grid_equals_pointwise_and_large_m_tends_to_inf():
    pn = np.array([0.5, 2.0, 8.0])
    pp = np.array([0.25, 3.0, 30.0])
    grid = predict(RFSetting(psi_n=pn[:, None], psi_p=pp[None, :], t=0.1, m=4))
    for i, a in enumerate(pn):
        for j, b in enumerate(pp):
            one = predict(RFSetting(psi_n=a, psi_p=b, t=0.1, m=4))
            assert float(one.test_error) == pytest.approx(grid.test_error[i, j], rel=1e-11)
    big = predict(RFSetting(psi_n=pn, psi_p=pp, t=0.1, m=1e9))
    inf = predict(RFSetting(psi_n=pn, psi_p=pp, t=0.1, m=math.inf))
    np.testing.assert_allclose(big.test_error, inf.test_error, rtol=1e-7)
    np.testing.assert_allclose(big.train_error, inf.train_error, rtol=1e-7)


def test_structural_identities_on_a_random_grid(rng):
    n = 400
    s = RFSetting(psi_n=10 ** rng.uniform(-1.5, 2, n), psi_p=10 ** rng.uniform(-1.5, 2.5, n),
                  t=10 ** rng.uniform(-3, 0.5, n), lam=10 ** rng.uniform(-6, 1, n),
                  m=np.where(rng.random(n) < 0.3, np.inf, rng.integers(1, 50, n)),
                  activation="relu")
    p = predict(s)
    assert p.success, p.message
    assert np.all(p.residual < 1e-10)
    # the exact score is optimal: test error >= C_t, score error >= 0
    assert np.all(p.test_error >= p.exact_score_test_error * (1 - 1e-10))
    assert np.all(p.score_error >= -1e-10)
    # the ridge penalty is non-negative; the train errors are in [0, 1]
    assert np.all(p.train_error_reg >= p.train_error - 1e-12)
    assert np.all((p.train_error > -1e-12) & (p.train_error_reg <= 1 + 1e-12))
    delta = -np.expm1(-2 * s.t)
    np.testing.assert_allclose(p.score_error, (p.test_error - np.exp(-2 * s.t)) / delta,
                               rtol=1e-12)
    np.testing.assert_allclose(p.generalization_gap, p.test_error - p.train_error, rtol=1e-12)


def test_ridgeless_limit_is_finite_away_from_interpolation():
    for pp in (0.5, 8.0):
        lams = np.array([1e-6, 1e-8, 1e-10])
        p = predict(RFSetting(psi_n=2.0, psi_p=pp, t=0.1, lam=lams, m=1))
        assert p.success
        assert p.test_error[2] == pytest.approx(p.test_error[1], rel=1e-5)
    # at the interpolation threshold the m = 1 test error diverges like lam^(-1/2)
    p = predict(RFSetting(psi_n=2.0, psi_p=2.0, t=0.1, lam=np.array([1e-8, 1e-10]), m=1))
    assert p.success
    assert p.test_error[1] / p.test_error[0] == pytest.approx(10.0, rel=0.02)


def test_peak_position_moves_with_m():
    pp = np.geomspace(0.5, 50, 801)
    for m in (1, 2, 4, 8):
        p = predict(RFSetting(psi_n=1.0, psi_p=pp, t=0.1, lam=1e-5, m=m))
        peak = pp[np.argmax(p.test_error)]
        assert peak == pytest.approx(m * 1.0, rel=0.03)
    p = predict(RFSetting(psi_n=1.0, psi_p=pp, t=0.1, lam=1e-5, m=math.inf))
    assert np.all(np.diff(p.test_error)[pp[1:] > 1.5] > -1e-12)  # no interpolation peak


def test_non_convergence_is_reported_not_hidden():
    s = RFSetting(psi_n=2.0, psi_p=np.array([0.5, 3.0]), t=0.1, lam=1e-3, m=2)
    p = predict(s, tol=1e-40)  # unreachable tolerance
    assert not p.success and not np.any(p.converged)
    assert np.all(np.isnan(p.test_error)) and np.all(p.status != 0)
    assert "did not converge" in p.message


@pytest.mark.parametrize("field,value,match", [
    ("psi_n", -1.0, "psi_n"), ("psi_n", 0.0, "psi_n"), ("psi_p", 0.0, "psi_p"),
    ("psi_p", np.inf, "psi_p"), ("t", 0.0, "^t:"), ("t", np.nan, "^t:"), ("lam", -1e-3, "lam"),
    ("lam", 0.0, "lam"), ("m", 0, "^m:"), ("m", 2.5, "^m:"), ("m", "many", "^m:"),
    ("activation", "swish2", "activation"), ("data", "mnist", "data"),
    ("psi_p", "abc", "psi_p"),
])
def test_invalid_settings_name_the_parameter(field, value, match):
    kw = dict(psi_n=2.0, psi_p=1.0, t=0.1, lam=1e-3, m=1, activation="tanh", data="gaussian")
    kw[field] = value
    with pytest.raises(ValueError, match=match):
        RFSetting(**kw)


def test_divergent_activation_is_rejected_at_construction():
    with pytest.raises(ValueError, match="activation"):
        RFSetting(psi_n=1, psi_p=1, activation=lambda x: np.exp(x * x))


def test_setting_helpers():
    s = RFSetting(psi_n=2.0, psi_p=np.array([1.0, 2.0]), t=0.1, m="inf")
    assert s.shape == (2,) and np.isinf(s.m).all()
    pts = list(s.points())
    assert [float(p.psi_p) for p in pts] == [1.0, 2.0]
    assert s.to_dict()["m"] == ["inf", "inf"]
    with pytest.raises(ValueError, match="psi_n, psi_p"):
        RFSetting(psi_n=np.ones(3), psi_p=np.ones(2))


# ----------------------------------------------------------------------------- solver paths
def test_wrong_branch_trap_of_a_warm_started_hybr_loop_does_not_catch_the_package():
    """A per-point ``scipy.optimize.root(method="hybr")`` loop, each point started from the
    previous one in row-major order, runs off to the spurious root at infinity of the m = 1
    system (q far above 1/lambda, often reported as success).  The package must give the
    physical branch everywhere: ``0 < q, r <= 1/lambda`` (``q = Tr G / p`` and
    ``r = Tr(W^T G W)/(p d)`` with ``G = (U + lambda)^{-1}``, ``U >= 0``) and the values of
    the adaptive continuation from a large ridge at a tighter tolerance."""
    from lowdim.compare.rf_bench import hybr_loop
    from lowdim.theory.rf._predict import _solve_by_continuation

    g = np.geomspace(0.1, 100, 12)
    s = RFSetting(psi_n=g[:, None], psi_p=g[None, :], t=0.1, lam=1e-3, m=1)
    co = _coefficients(s)
    pred = predict(s)
    q_ref, r_ref, ref = _solve_by_continuation(co, tol=1e-13)
    assert ref.success and pred.success
    x, ok, _ = hybr_loop(co, list(range(g.size**2)), (q_ref[0], r_ref[0]))
    trapped = ~(np.maximum(np.abs(x[:, 0] / q_ref - 1), np.abs(x[:, 1] / r_ref - 1)) < 1e-6)
    assert trapped.sum() > 50 and np.any(trapped & ok)  # the trap is real ...
    assert np.all(x[trapped, 0] > 1 / co.lam[trapped])  # ... and unphysical
    q, r = pred.q.ravel(), pred.r.ravel()  # the package is not caught
    assert np.all((q > 0) & (r > 0) & (q <= 1 / co.lam) & (r <= 1 / co.lam))
    np.testing.assert_allclose(q, q_ref, rtol=1e-9)
    np.testing.assert_allclose(r, r_ref, rtol=1e-9)


def test_fast_path_and_its_fallback_agree(monkeypatch):
    """Points the fast path does not certify go to the adaptive continuation: forcing every
    point there (no correction accepted) gives the same answers, more iterations, and the
    per-point bookkeeping of both."""
    import lowdim.theory.rf._predict as P
    from lowdim.theory.solvers import path_newton

    g = np.geomspace(0.1, 100, 7)
    s = RFSetting(psi_n=g[:, None], psi_p=g[None, :], t=0.1, lam=1e-4,
                  m=np.array([1, 3, math.inf])[:, None, None])
    fast = predict(s)
    monkeypatch.setattr(P, "path_newton",
                        lambda *a, **k: path_newton(*a, **{**k, "max_correction": 0.0}))
    slow = predict(s)
    assert fast.success and slow.success
    assert np.all(slow.nit > fast.nit) and np.all(fast.status == 0) and np.all(slow.status == 0)
    assert np.all(fast.residual < 1e-12) and np.all(slow.residual < 1e-11)
    for k in ("q", "r", "test_error", "train_error_reg", "score_error"):
        np.testing.assert_allclose(getattr(fast, k), getattr(slow, k), rtol=1e-9)


def test_fast_path_covers_the_readme_settings_without_fallback():
    """The readme curve and a (psi_n, psi_p) grid converge on the fast path alone (a handful
    of Newton iterations per point, no continuation fallback)."""
    pp = np.geomspace(0.1, 100, 400)
    for m in (1, 4, math.inf):
        p = predict(RFSetting(psi_n=2.0, psi_p=pp, t=0.1, lam=1e-3, m=m))
        assert p.success and p.nit.max() <= 20
    g = np.geomspace(0.1, 100, 30)
    p = predict(RFSetting(psi_n=g[:, None], psi_p=g[None, :], t=0.1, lam=1e-3, m=4))
    assert p.success and p.nit.max() <= 22
