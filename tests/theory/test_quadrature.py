"""The NumPy Gauss-Kronrod quadrature against closed forms and scipy.integrate.quad."""
import math

import pytest
from scipy.integrate import quad

from lowdim.theory._quadrature import gauss_kronrod

CASES = [
    ("exp", math.exp, 0.0, 1.0, math.e - 1.0),
    ("sin^2", lambda x: math.sin(x) ** 2, 0.0, 10.0, 5.0 - math.sin(20.0) / 4.0),
    ("Lorentzian", lambda x: 1.0 / (1.0 + x * x), -50.0, 50.0, 2.0 * math.atan(50.0)),
    ("Gaussian", lambda x: math.exp(-x * x), -10.0, 10.0, math.sqrt(math.pi) * math.erf(10.0)),
    ("sqrt (endpoint kink)", math.sqrt, 0.0, 1.0, 2.0 / 3.0),
    ("steep log-t integrand", lambda u: math.exp(-2.0 * u) / (1.0 + math.exp(u)), -7.0, 1.6,
     None),
]


@pytest.mark.parametrize("name,f,a,b,exact", CASES, ids=[c[0] for c in CASES])
def test_gauss_kronrod_meets_its_tolerance(name, f, a, b, exact):
    value, error, intervals = gauss_kronrod(f, a, b, epsrel=1e-10)
    reference = exact if exact is not None else quad(f, a, b, epsrel=1e-13, limit=400)[0]
    assert error <= 1e-10 * abs(value)
    # smooth integrands: within the tolerance; the kink at 0 of sqrt: within 10x of it
    allowed = 1e-9 if "kink" in name else 1e-10
    assert abs(value - reference) <= allowed * abs(reference)
    assert 1 <= intervals <= 400


def test_gauss_kronrod_reports_what_it_could_not_reach():
    # 1/sqrt(x) near 0 with 3 intervals allowed: the error estimate stays large and says so
    value, error, intervals = gauss_kronrod(lambda x: 1.0 / math.sqrt(x), 1e-12, 1.0,
                                            epsrel=1e-12, limit=3)
    assert intervals == 3 and error > 1e-12 * abs(value)
    value, error, _ = gauss_kronrod(lambda x: math.inf, 0.0, 1.0)
    assert not math.isfinite(value)
