"""Every family at the edges of its settings: the theory either reaches the known limit, with
the known rate, or says that it cannot (a flag, ``inf`` where the quantity diverges, or a
named error).  Rates are log-log slopes between far-apart points of the edge.

Hidden-manifold ``C_t`` as ``t -> 0`` is tested in tests/rf/test_exact_score.py (continued
below ``t = 1e-4``; ``psi_d = 1`` reported as not converged).
"""
from __future__ import annotations

import math

import numpy as np
import pytest


def _slope(x, y):
    """d log y / d log x between the last two points."""
    return math.log(y[-1] / y[-2]) / math.log(x[-1] / x[-2])


# --------------------------------------------------------------------------- rf
def _rf(data="gaussian", **kw):
    from lowdim.theory.rf import RFSetting, predict

    base = dict(psi_n=2.0, psi_p=4.0, t=0.1, lam=1e-3, m=1)
    base.update(kw)
    extra = {} if data == "gaussian" else dict(data=data, psi_d=0.5)
    p = predict(RFSetting(**base, **extra))
    assert p.success, p.message
    return p


@pytest.mark.parametrize("data", ["gaussian", "linear-manifold"])
@pytest.mark.parametrize("m", [1, np.inf])
def test_rf_ridgeless_limit_converges_away_from_interpolation(data, m):
    lam = np.geomspace(1e-4, 1e-16, 7)
    err = _rf(data, lam=lam, m=m).test_error
    step = np.abs(np.diff(err))
    # O(lam) approach: each factor 100 in lam shrinks the change ~100x, down to round-off
    assert np.all(step[1:3] < 0.03 * step[:2])
    assert abs(err[-1] - err[-2]) < 1e-10 * err[-1]


@pytest.mark.parametrize("m", [1, 2])
def test_rf_interpolation_threshold_diverges_like_inverse_sqrt_lambda(m):
    # psi_p = m psi_n: the ridgeless variance term diverges; with ridge the test error grows
    # like lam^(-1/2) (slope measured -0.5000 for isotropic and manifold data)
    lam = np.array([1e-12, 1e-14])
    for data in ("gaussian", "linear-manifold"):
        err = _rf(data, lam=lam, psi_p=2.0 * m, m=m).test_error
        assert _slope(lam, err) == pytest.approx(-0.5, abs=2e-3)


def test_rf_small_t_score_error_grows_like_one_over_delta():
    # the test error of the noise prediction tends to a constant above C_0, so the score error
    # (test - C_t) / Delta grows like 1 / (2t)
    t = np.array([1e-7, 1e-9, 1e-11])
    p = _rf(t=t)
    assert abs(p.test_error[-1] / p.test_error[-2] - 1) < 1e-6
    assert _slope(t, p.score_error) == pytest.approx(-1.0, abs=1e-3)


@pytest.mark.parametrize("data", ["gaussian", "linear-manifold"])
def test_rf_learns_nothing_at_the_small_and_large_ends(data):
    # no samples, no features or infinite ridge: the score is 0 and the noise-prediction error
    # is E||xi||^2 / d = 1 exactly
    for kw in (dict(psi_n=1e-9), dict(psi_p=1e-9), dict(lam=1e12)):
        assert _rf(data, **kw).test_error == pytest.approx(1.0, abs=1e-6), kw


def test_rf_large_t_errors_meet():
    # t -> inf: C_t -> 0 and Delta -> 1, so the test and score errors coincide
    p = _rf(t=np.array([40.0, 100.0]))
    np.testing.assert_allclose(p.test_error, p.score_error, rtol=1e-12)
    assert p.test_error[0] == pytest.approx(p.test_error[1], rel=1e-12)


def test_rf_large_m_reaches_the_infinite_m_limit():
    wide = _rf(m=np.inf).test_error
    errs = [abs(_rf(m=m).test_error - wide) for m in (1e2, 1e4)]
    assert errs[1] < 0.02 * errs[0]  # O(1/m)


# --------------------------------------------------------------------------- sampling
def test_sampling_bound_and_kl_vanish_at_their_rates():
    from lowdim.theory.sampling import gaussian_kl, kl_bound, make_grid

    N = np.array([10 ** 4, 10 ** 6])
    bound = [kl_bound(make_grid("edm", int(n)), 16, 16.0, 0.0).total for n in N]
    kl = [float(gaussian_kl(make_grid("edm", int(n)), 1.0, 16)) for n in N]
    # the bound's discretization terms are O(log-factors / N); the exact KL of the Gaussian
    # chain is O(1 / N^2)
    assert -1.0 <= _slope(N, bound) <= -0.85
    assert _slope(N, kl) == pytest.approx(-2.0, abs=0.01)


def test_sampling_steps_needed_scales_like_one_over_eps():
    from lowdim.theory.sampling import steps_needed

    eps = np.array([1e-6, 1e-12])
    n = [float(steps_needed(e, 16.0, 16)) for e in eps]
    assert _slope(eps, n) == pytest.approx(-1.0, abs=1e-6)
    with pytest.raises(ValueError, match="^eps:"):
        steps_needed(0.0, 16.0, 16)


def test_sampling_sigma_min_to_zero_stays_finite():
    from lowdim.theory.sampling import gaussian_kl, kl_bound, make_grid

    for smin in (1e-6, 1e-12):
        g = make_grid("edm", 50, sigma_min=smin)
        assert np.isfinite(kl_bound(g, 16, 16.0, 0.0).total)
        assert 0 < float(gaussian_kl(g, 1.0, 16)) < 1


# --------------------------------------------------------------------------- molrg
def test_molrg_threshold_and_large_n():
    from lowdim.theory.molrg import failure_floor, noisy_error_rms, prob_all_components, theorem_bound

    d, D = 5, 50
    # below N = d the noiseless error is the failure floor, 0 from N = d on
    floor = failure_floor(np.array([4, 5, 6]), d, D)
    assert floor[0] > 0 and floor[1] == 0 and floor[2] == 0
    # first-order noisy error: inf where the inverse-Wishart mean diverges (N <= d + 1),
    # then noise sqrt((1 - d/D) / (N - d - 1)), i.e. N^(-1/2) at large N
    err = noisy_error_rms(np.array([6, 7, 10 ** 6, 10 ** 8]), d, D, 0.1)
    assert np.isinf(err[0]) and np.all(np.isfinite(err[1:]))
    assert _slope([1e6, 1e8], err[2:]) == pytest.approx(-0.5, abs=1e-6)
    # noiseless: exact recovery from N = d on (no first-order divergence)
    assert noisy_error_rms(np.array([5, 6]), d, D, 0.0).tolist() == [0.0, 0.0]
    # Theorem-style bound: inf below N = d, ~ N^(-1/2) above
    tb = theorem_bound(np.array([4, 10 ** 8, 10 ** 10]), d, 1.0)
    assert np.isinf(tb[0]) and _slope([1e8, 1e10], tb[1:]) == pytest.approx(-0.5, abs=1e-4)
    # every component sees d samples: impossible below K d, certain at large N
    p = prob_all_components(np.array([9, 10, 10 ** 6]), d, [0.5, 0.5])
    assert p[0] == 0 and 0 < p[1] < 1 and p[2] == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------- molrmog
def test_molrmog_bound_rates():
    from lowdim.theory.molrmog import BoundSetting, estimation_error_bound, vp_window_integral

    s = BoundSetting((2, 2), (3, 3), R=1.0)
    n = np.array([1e6, 1e12, 1e300])
    b = estimation_error_bound(s, 0.5, n)
    assert _slope(n[:2], b[:2]) == pytest.approx(-0.5, abs=1e-9)
    assert np.all(np.isfinite(b)) and b[-1] > 0
    # I_1 = int s^2 / gamma^6 ~ 1 / (16 delta^2) as delta -> 0
    for delta in (1e-6, 1e-9):
        assert 16 * delta ** 2 * vp_window_integral(delta, 5.0) == pytest.approx(1.0, rel=1e-5)


def test_molrmog_unrepresentable_times_are_named():
    from lowdim.theory.molrmog import BoundSetting, estimation_error_bound, process_coefficients

    with pytest.raises(ValueError, match="^t:"):
        process_coefficients(np.array([1.0, 1e3]))
    with pytest.raises(ValueError, match="^t:"):
        estimation_error_bound(BoundSetting((2,), (3,), R=1.0), 1e3, 1e4)


# --------------------------------------------------------------------------- localized
def test_localized_radius_limits():
    from lowdim.theory.localized import banded_gaussian, localization_error, localization_radius

    target = banded_gaussian(32, 2, 50.0)
    # t -> 0: the score is -P x with P banded of radius r0 = 2, so r_loc -> r0;
    # t -> inf: P_t -> I, the score is local at radius 0
    r = localization_radius(target, np.array([1e-12, 50.0]))
    assert r.tolist() == [2, 0]
    # kappa = 1: P = I at every t
    assert localization_radius(banded_gaussian(32, 2, 1.0), np.array([1e-6, 1.0])).tolist() == [0, 0]
    # a radius covering the lattice (diameter 16 on the 32-ring) is the global score: no error
    err = localization_error(target, [0, 16, 40], np.array([1e-6, 0.5]))
    assert np.all(err[1:] < 1e-12 * err[0].max())
    assert np.array_equal(err[1], err[2])


def test_localized_first_order_statistical_term_is_flagged_at_small_n():
    from lowdim.theory.localized import banded_gaussian, error_curve

    curve = error_curve(banded_gaussian(16, 1, 10.0), [10, 100, 1000], [0, 2, None], steps=12)
    # |N_r| = 1, 5, 16: first order trusted from n = 10 |N_r| on
    assert curve.first_order.tolist() == [[True, True, True], [False, True, True],
                                          [False, False, True]]
    assert "n < 10 |N_r| (n = [10, 100])" in curve.message
