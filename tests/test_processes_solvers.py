import numpy as np
import pytest

from theory.processes import ou_coefficients, ou_noise_variance
from theory.solvers import continuation_newton


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
