import numpy as np
import pytest

from lowdim.theory.processes import ou_coefficients, ou_noise_variance
from lowdim.theory.solvers import continuation_newton


def test_ou_coefficients():
    a, d = ou_coefficients(np.array([1e-12, 0.1, 5.0]))
    np.testing.assert_allclose(a**2 + d, 1.0, rtol=1e-15)
    assert ou_noise_variance(1e-12) == pytest.approx(2e-12, rel=1e-9)
    for bad in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="^t:"):
            ou_coefficients(bad)


def _toy(target):
    """x^2 - c(s) = 0 with c(s) = 1 + s (target - 1); unknown in log space."""
    def fun(x, s, sel):
        c = 1.0 + s * (target[sel] - 1.0)
        y = np.exp(x[:, 0])
        F = (y * y - c)[:, None]
        J = (2 * y * y)[:, None, None]
        Fs = (-(target[sel] - 1.0))[:, None]
        return F, J, Fs, (y * y + np.abs(c))[:, None]
    return fun


def test_continuation_solves_a_grid():
    target = np.array([0.5, 4.0, 1e6, 1e-6])
    res = continuation_newton(_toy(target), np.zeros((4, 1)), 4)
    assert res.success and np.all(res.converged)
    np.testing.assert_allclose(np.exp(res.x[:, 0]), np.sqrt(target), rtol=1e-10)
    assert np.all(res.residual < 1e-11)


def test_continuation_reports_failure():
    target = np.array([4.0, -1.0])  # x^2 = -1 has no real solution: the path hits c = 0

    res = continuation_newton(_toy(target), np.zeros((2, 1)), 2)
    assert res.converged[0] and not res.converged[1]
    assert res.status[1] != 0 and not res.success
    assert "did not converge" in res.message


def test_solve_small_matches_numpy():
    from lowdim.theory.solvers import solve_small

    rng = np.random.default_rng(0)
    for n in (1, 2, 3):
        J = rng.standard_normal((50, n, n))
        b = rng.standard_normal((50, n))
        got = solve_small([[J[:, i, j] for j in range(n)] for i in range(n)],
                          [b[:, i] for i in range(n)])
        np.testing.assert_allclose(np.stack(got, -1), np.linalg.solve(J, b[..., None])[..., 0],
                                   rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="J"):
        solve_small([[1.0] * 4] * 4, [1.0] * 4)


def _toy_path(target):
    """x^2 = c(tau) with c = exp(tau); log unknown; the path from tau0 = 0 (x = 0)."""
    def fun(x, tau, want_scale=True):
        y2 = np.exp(2 * x[0])
        c = np.exp(tau)
        return (y2 - c,), ((2 * y2,),), (-c,), ((y2 + c,) if want_scale else None)
    return fun


def test_path_newton_solves_and_flags():
    from lowdim.theory.solvers import merge_results, path_newton

    target = np.array([0.5, 4.0, 1e6, 1e-6])
    tau1 = np.log(target)
    res = path_newton(_toy_path(target), (np.zeros(4),), (np.full(4, 0.5),), np.zeros(4), tau1)
    assert res.success and np.all(res.status == 0)
    np.testing.assert_allclose(np.exp(res.x[:, 0]), np.sqrt(target), rtol=1e-12)
    assert np.all(res.residual < 1e-12) and np.all(res.nit >= 1)
    # a correction limit no step can meet: nothing is certified, everything is reported
    none = path_newton(_toy_path(target), (np.zeros(4),), (np.zeros(4),), np.zeros(4), tau1,
                       max_correction=0.0)
    assert not np.any(none.converged) and np.all(none.status == 1)
    assert "did not converge" in none.message
    merged = merge_results(none, np.arange(4), res)
    assert merged.success and np.array_equal(merged.nit, none.nit + res.nit)
