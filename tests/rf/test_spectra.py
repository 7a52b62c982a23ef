"""Spectral measures: closed-form resolvent integrals against mpmath, quadrature, validation."""
import mpmath as mp
import numpy as np
import pytest

from lowdim.theory.spectra import marchenko_pastur, mixture, point_mass


def _mp_reference(gamma, shift, scale, A, B):
    """The five integrals of shift + scale * MP(gamma <= 1) by 30-digit quadrature."""
    mp.mp.dps = 30
    g = mp.mpf(gamma)
    lo, hi = (1 - mp.sqrt(g)) ** 2, (1 + mp.sqrt(g)) ** 2

    def dens(y):
        return mp.sqrt((hi - y) * (y - lo)) / (2 * mp.pi * g * y)

    def integ(f):
        return mp.quad(lambda y: dens(y) * f(shift + scale * y), [lo, (lo + hi) / 2, hi])

    return [integ(lambda x: 1 / (A + B * x)), integ(lambda x: x / (A + B * x)),
            integ(lambda x: 1 / (A + B * x) ** 2), integ(lambda x: x / (A + B * x) ** 2),
            integ(lambda x: x * x / (A + B * x) ** 2)]


@pytest.mark.parametrize("gamma", [0.05, 0.5, 1.0])
@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (0.3, 2.5)])
def test_marchenko_pastur_integrals_match_mpmath(gamma, shift, scale):
    """Across B/A from 0 (series branch) to 1e7 (both branches of int Y^2/(1+bY)^2)."""
    spec = marchenko_pastur(gamma, scale, shift)
    for A, B in [(1.0, 0.0), (1.0, 1e-8), (1.0, 5e-4), (1.0, 2e-3), (1.0, 0.7), (2.0, 50.0),
                 (0.5, 1e7)]:
        got = spec.integrals(A, B)
        ref = _mp_reference(gamma, shift, scale, A, B)
        for name, value, r in zip(("I0", "I1", "K0", "K1", "K2"),
                                  (got.I0, got.I1, got.K0, got.K1, got.K2), ref):
            assert float(value) == pytest.approx(float(r), rel=1e-11), (name, A, B)


def test_quadrature_matches_closed_form_and_density_normalises():
    spec = mixture((0.3, marchenko_pastur(0.4, 2.0, 0.1)), (0.7, point_mass(0.5)))
    x, w = spec.quadrature(200)
    assert w.sum() == pytest.approx(1.0, abs=1e-13)
    assert (w * x).sum() == pytest.approx(float(spec.mean()), rel=1e-13)
    for A, B in [(1.0, 0.3), (0.2, 5.0)]:
        ref = spec.integrals(A, B)
        assert (w / (A + B * x)).sum() == pytest.approx(float(ref.I0), rel=1e-12)
        assert (w * x**2 / (A + B * x) ** 2).sum() == pytest.approx(float(ref.K2), rel=1e-12)
    lo, hi = spec.support()
    grid = np.linspace(float(lo), float(hi), 200001)
    assert np.trapezoid(spec.density(grid), grid) == pytest.approx(0.3, rel=1e-4)


def test_ratio_above_one_is_an_atom_plus_a_rescaled_law():
    """MP(gamma > 1) = (1 - 1/gamma) delta_0 + (1/gamma) gamma MP(1/gamma): mean 1, and the
    integrals agree with a direct mpmath integral of its density plus the atom."""
    gamma = 2.5
    spec = marchenko_pastur(gamma)
    assert float(spec.mean()) == pytest.approx(1.0, rel=1e-14)
    mp.mp.dps = 30
    lo, hi = (1 - mp.sqrt(gamma)) ** 2, (1 + mp.sqrt(gamma)) ** 2
    A, B = 1.0, 3.0
    cont = mp.quad(lambda y: mp.sqrt((hi - y) * (y - lo)) / (2 * mp.pi * gamma * y) / (A + B * y),
                   [lo, hi])
    ref = cont + (1 - 1 / mp.mpf(gamma)) / A
    assert float(spec.integrals(A, B).I0) == pytest.approx(float(ref), rel=1e-12)


def test_array_parameters_broadcast_and_split_by_flag():
    g = np.array([0.1, 0.5, 0.9])
    spec = mixture((g, marchenko_pastur(g, 1.0 / g)), (1 - g, point_mass(0.0, on_manifold=False)))
    assert spec.shape == (3,)
    np.testing.assert_allclose(spec.mean(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(spec.mass(True), g)
    I = spec.integrals(1.0, 2.0)
    Ip = spec.integrals(1.0, 2.0, on_manifold=True)
    Iq = spec.integrals(1.0, 2.0, on_manifold=False)
    np.testing.assert_allclose(I.I0, Ip.I0 + Iq.I0, rtol=1e-14)
    np.testing.assert_allclose(Iq.I0, 1 - g, rtol=1e-14)  # the atom at 0 contributes 1/A


@pytest.mark.parametrize("build,match", [
    (lambda: marchenko_pastur(0.0), "^ratio:"), (lambda: marchenko_pastur(0.5, -1.0), "^scale:"),
    (lambda: marchenko_pastur(0.5, 1.0, -0.1), "^shift:"), (lambda: point_mass(-1.0), "^location:"),
    (lambda: mixture((0.5, point_mass(1.0))), "^weights:"),
    (lambda: mixture((0.5, "x"), (0.5, point_mass(1.0))), r"^parts\[0\]"),
    (lambda: mixture(), "^parts:"), (lambda: point_mass(np.nan), "^location:"),
])
def test_bad_input_names_the_parameter(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("gamma", [0.1, 0.5])
@pytest.mark.parametrize("A,B", [(1 + 0.3j, 0.5 - 0.2j), (0.01 + 1j, 3 + 0.1j), (2 - 5j, 40 + 1j),
                                 (-0.5 + 0.01j, 1.0), (-3.0 - 0.02j, 1.0 + 0j)])
def test_complex_arguments_continue_the_integrals(gamma, A, B):
    # off the real axis the closed forms must equal the integrals themselves (the branch of
    # the square root), including A + B l with negative real part next to the support
    spec = mixture((gamma, marchenko_pastur(gamma, 1.0 / gamma)),
                   (1 - gamma, point_mass(0.0, on_manifold=False)))
    x, w = spec.quadrature(20000)
    got = spec._integrals(np.array(A), np.array(B))
    ref = [np.sum(w * x**k / (A + B * x)) for k in (0, 1)]
    ref += [np.sum(w * x**k / (A + B * x) ** 2) for k in (0, 1, 2)]
    for value, expected in zip((got.I0, got.I1, got.K0, got.K1, got.K2), ref):
        assert complex(value) == pytest.approx(expected, rel=1e-9)
    assert spec._integrals(np.array(1.3), np.array(0.7)).I0.dtype == np.float64
