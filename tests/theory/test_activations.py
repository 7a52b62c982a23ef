"""Gaussian moments of activations: closed forms and quadrature certified by mpmath/sympy."""
import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from lowdim.theory.activations import ACTIVATIONS, centred, get_activation, moments


def _mp_moments(f, v):
    """mu0, mu1, E sigma^2 at variance v with mpmath (30 digits)."""
    with mp.workdps(30):
        s = mp.sqrt(v)
        dens = lambda z: mp.npdf(z)  # noqa: E731
        m0 = mp.quad(lambda z: f(s * z) * dens(z), [-mp.inf, 0, mp.inf])
        m1 = mp.quad(lambda z: z * f(s * z) * dens(z), [-mp.inf, 0, mp.inf]) / s
        m2 = mp.quad(lambda z: f(s * z) ** 2 * dens(z), [-mp.inf, 0, mp.inf])
        return float(m0), float(m1), float(m2)


def _mp_dual(f, v, c, dps=18):
    """E f(u) f(u') for Var u = Var u' = v, Cov = c, by mpmath 2-D quadrature in (u, u')
    (kinks of f at 0 then lie on the quadrature's break points)."""
    with mp.workdps(dps):
        v, c = mp.mpf(v), mp.mpf(c)
        det = v * v - c * c
        norm = 1 / (2 * mp.pi * mp.sqrt(det))

        def g(x, y):
            return f(x) * f(y) * norm * mp.exp(-(v * x * x - 2 * c * x * y + v * y * y) / (2 * det))

        return float(mp.quad(g, [-mp.inf, 0, mp.inf], [-mp.inf, 0, mp.inf]))


MP_FUNCS = {"tanh": mp.tanh, "erf": mp.erf, "relu": lambda x: x if x > 0 else mp.mpf(0),
            "linear": lambda x: x}


@pytest.mark.parametrize("name", ["tanh", "relu", "erf", "linear"])
@pytest.mark.parametrize("v", [1.0, 0.37, 2.5])
def test_one_dimensional_moments_match_mpmath(name, v):
    m0, m1, m2 = _mp_moments(MP_FUNCS[name], v)
    mom = moments(name, v, 0.0)
    assert float(mom.mu0) == pytest.approx(m0, abs=1e-13)
    assert float(mom.mu1) == pytest.approx(m1, rel=1e-12)
    assert float(mom.mu_star_sq) == pytest.approx(m2 - m0**2 - m1**2 * v, abs=1e-12)


@pytest.mark.parametrize("name", ["tanh", "relu", "erf"])
@pytest.mark.parametrize("v,c", [
    (0.6, 0.5),  # the mpmath reference takes ~10 s a point: the other two run in the slow job
    pytest.param(1.0, math.exp(-0.2), marks=pytest.mark.slow),
    pytest.param(1.0, math.exp(-2.0), marks=pytest.mark.slow)])
def test_dual_kernel_matches_mpmath(name, v, c):
    ref = _mp_dual(MP_FUNCS[name], v, c)
    mom = moments(name, v, c)
    got = float(mom.kappa * mom.mu_star_sq + mom.mu0**2 + mom.mu1**2 * c)
    assert got == pytest.approx(ref, rel=1e-10, abs=1e-12)


def test_tanh_kappa_matches_mehler_series():
    """kappa mu*^2 = sum_{s>=2} c_s^2 rho^s / s!, c_s = E[tanh(z) He_s(z)] (odd s only)."""
    rho = math.exp(-2 * 0.1)
    with mp.workdps(20):
        total = mp.mpf(0)
        for s in range(3, 48, 2):
            c_s = mp.quad(lambda z: mp.tanh(z) * mp.hermite(s, z / mp.sqrt(2)) * 2 ** (-mp.mpf(s) / 2)
                          * mp.npdf(z), [-mp.inf, 0, mp.inf])
            total += c_s**2 * mp.mpf(rho) ** s / mp.factorial(s)
    mom = moments("tanh", 1.0, rho)
    assert float(mom.kappa * mom.mu_star_sq) == pytest.approx(float(total), rel=1e-10)
    # the research note quotes these values for tanh
    assert float(mom.mu1) == pytest.approx(0.605706, abs=1e-6)
    assert float(mom.mu_star_sq) == pytest.approx(0.027415, abs=1e-6)
    assert float(mom.kappa) == pytest.approx(0.504880, abs=1e-6)


def test_relu_closed_forms_certified_by_sympy():
    z = sp.symbols("z", real=True)
    v = sp.symbols("v", positive=True)
    dens = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    relu = sp.sqrt(v) * z  # on z > 0
    mu0 = sp.simplify(sp.integrate(relu * dens, (z, 0, sp.oo)))
    mu1 = sp.simplify(sp.integrate(z * relu * dens, (z, 0, sp.oo)) / sp.sqrt(v))
    m2 = sp.simplify(sp.integrate(relu**2 * dens, (z, 0, sp.oo)))
    for vv in (0.3, 1.0, 4.0):
        mom = moments("relu", vv, 0.0)
        assert float(mom.mu0) == pytest.approx(float(mu0.subs(v, vv)), rel=1e-14)
        assert float(mom.mu1) == pytest.approx(float(mu1.subs(v, vv)), rel=1e-14)
        assert float(mom.mu_star_sq) == pytest.approx(
            float((m2 - mu0**2 - mu1**2 * v).subs(v, vv)), rel=1e-13)
    # the arc-cosine kernel at full correlation reduces to E relu^2 = v/2
    assert float(moments("relu", 2.0, 2.0).kappa) == pytest.approx(1.0, abs=1e-12)


def test_generic_callable_paths():
    t = np.array([1e-3, 0.01, 0.1, 1.0, 3.0])
    c = np.exp(-2 * t)
    smooth = moments(lambda x: np.tanh(x), 1.0, c)
    assert smooth.method == "gauss-hermite"
    np.testing.assert_allclose(smooth.kappa, moments("tanh", 1.0, c).kappa, rtol=1e-12)
    kinked = moments(lambda x: np.maximum(x, 0.0), 1.0, c)
    assert kinked.method == "cubature"
    np.testing.assert_allclose(kinked.kappa, moments("relu", 1.0, c).kappa, rtol=1e-8, atol=1e-9)
    assert kinked.error_estimate < 1e-7


def test_non_vectorised_callable_is_wrapped():
    def scalar_only(x):
        return math.tanh(x)

    mom = moments(scalar_only, 1.0, 0.5)
    assert float(mom.mu1) == pytest.approx(float(moments("tanh").mu1), rel=1e-12)


@pytest.mark.parametrize("bad", [lambda x: np.exp(x**2 / 3), lambda x: np.exp(x**2)])
def test_divergent_moments_raise(bad):
    with pytest.raises(ValueError, match="activation .*diverges"):
        moments(bad)


def test_bad_inputs():
    with pytest.raises(ValueError, match="activation: unknown name"):
        get_activation("softplusx")
    with pytest.raises(ValueError, match="activation: expected"):
        get_activation(3)
    with pytest.raises(ValueError, match="variance"):
        moments("tanh", -1.0)
    with pytest.raises(ValueError, match="covariance"):
        moments("tanh", 1.0, 2.0)


def test_centred_and_linear():
    rc = moments(centred("relu"), 1.0, np.exp(-0.2))
    r = moments("relu", 1.0, np.exp(-0.2))
    assert float(rc.mu0) == pytest.approx(0.0, abs=1e-15)
    assert float(rc.mu1) == float(r.mu1)
    assert float(rc.mu_star_sq) == pytest.approx(float(r.mu_star_sq), rel=1e-13)
    assert float(rc.kappa) == pytest.approx(float(r.kappa), rel=1e-12)
    lin = moments("linear", 1.0, 0.3)
    assert float(lin.mu_star_sq) == 0.0 and float(lin.kappa) == 0.0 and float(lin.mu1) == 1.0


def test_kappa_decreases_with_time():
    t = np.geomspace(1e-4, 10, 50)
    for name in ACTIVATIONS:
        if name == "linear":
            continue
        k = moments(name, 1.0, np.exp(-2 * t)).kappa
        live = k > 1e-12  # below that, rounding noise
        assert np.all(np.diff(k[live]) < 0) and k[0] < 1 and np.all(k > -1e-13)
