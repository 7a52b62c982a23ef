"""VE sampling theory: grids, the Theorem 2 bound in both forms, the exact Gaussian KL."""
import mpmath as mp
import numpy as np
import pytest

from lowdim.theory.sampling import (custom_schedule, edm_grid, gaussian_kl, geometric_grid, kl_bound,
                             make_grid, uniform_grid, user_grid)


def test_edm_default_grid_is_the_reference_sampler_grid():
    # NVlabs/edm generate.py, num_steps = 18 (17 intervals before the final jump to 0)
    ref = [80, 57.59, 40.79, 28.37, 19.35, 12.91, 8.401, 5.315, 3.257, 1.923, 1.088, 0.5854,
           0.2964, 0.1395, 0.05995, 0.02293, 0.00753, 0.002]
    g = edm_grid(17)
    np.testing.assert_allclose(g.sigmas, ref, rtol=2e-3)
    assert g.N == 17 and g.times[0] == 80 and g.times[-1] == 0.002


def test_grids_in_each_schedule_hit_the_end_points():
    for g in (edm_grid(10, schedule="song"), geometric_grid(10), uniform_grid(10),
              uniform_grid(10, schedule="song"), make_grid("geometric", 10, schedule="edm")):
        assert g.sigmas[0] == pytest.approx(80.0, rel=1e-12)
        assert g.sigmas[-1] == pytest.approx(0.002, rel=1e-12)
        assert np.all(np.diff(g.times) < 0) and g.steps.size == 10
    # Song's schedule keeps times in variance units
    np.testing.assert_allclose(geometric_grid(4).times, geometric_grid(4).sigmas ** 2)
    # geometric noise levels have a constant ratio
    r = geometric_grid(7).variances
    np.testing.assert_allclose(r[:-1] / r[1:], (80 / 0.002) ** (2 / 7))


def test_paper_form_discretization_term_matches_independent_numbers():
    """E_D first term / d at N = 100, sigma in [0.002, 80], m2 = 0 (research note 2.3 table,
    computed there independently): paper form and the exact step integral."""
    expected = {3: (2.97, 2.16), 5.3: (1.56, 1.37), 7: (1.36, 1.23), 20: (1.15, 1.07),
                None: (1.12, 1.05)}
    for rho, (paper, exact) in expected.items():
        g = geometric_grid(100, schedule="edm") if rho is None else edm_grid(100, rho=rho)
        assert kl_bound(g, 1, 0.0, form="paper").E_D1 == pytest.approx(paper, abs=0.006)
        assert kl_bound(g, 1, 0.0).E_D1 == pytest.approx(exact, abs=0.006)
    # and at N = 1000, rho = 7: 0.1354 and 0.1341
    g = edm_grid(1000)
    assert kl_bound(g, 1, 0.0, form="paper").E_D1 == pytest.approx(0.1354, abs=1e-4)
    assert kl_bound(g, 1, 0.0).E_D1 == pytest.approx(0.1341, abs=1e-4)


def test_explicit_form_pieces():
    g = geometric_grid(50)
    t = kl_bound(g, 10, 5.0, score_error=0.3)
    assert abs(t.E_D3) < 1e-12                     # c_j = 0 exactly on a geometric grid
    v = g.variances
    assert t.E_S == pytest.approx(0.5 * 0.3 * (v[0] - v[-1]))
    assert t.E_I == pytest.approx(5.0 / (2 * 80.0 ** 2))
    # small steps: ln r - 1 + 1/r = (ln r)^2 / 2 + O((ln r)^3)
    lr = np.log(v[:-1] / v[1:])
    g2 = geometric_grid(5000)
    lr2 = np.log(g2.variances[:-1] / g2.variances[1:])
    assert kl_bound(g2, 1, 0.0).E_D1 == pytest.approx(0.25 * np.sum(lr2 ** 2), rel=2e-3)
    assert t.total == pytest.approx(t.E_I + t.E_S + t.E_D1 + t.E_D2 + t.E_D3)
    assert lr.size == 50


def test_custom_schedule_reproduces_the_closed_forms():
    for name, fn in (("edm", lambda t: t), ("song", np.sqrt)):
        cs = custom_schedule(fn, name=f"custom-{name}")
        for kind in ("edm", "geometric", "uniform"):
            a = kl_bound(make_grid(kind, 30, 0.01, 20.0, schedule=name), 8, 3.0, 0.2, form="paper")
            b = kl_bound(make_grid(kind, 30, 0.01, 20.0, schedule=cs), 8, 3.0, 0.2, form="paper")
            for k in ("E_I", "E_S", "E_D1", "E_D2", "E_D3"):
                assert getattr(b, k) == pytest.approx(getattr(a, k), rel=1e-6, abs=1e-12), (
                    name, kind, k)


def _kl_by_recursion(v, lam, mean_sq, d, dps=40):
    """KL of N(m, (lam + v_N) I) from the sampler's law, by the covariance and mean recursion in
    mpmath (no closed form used)."""
    mp.mp.dps = dps
    v = [mp.mpf(x) for x in v]
    lam = mp.mpf(lam)
    S, mu = v[0], mp.mpf(1)          # variance; mean as a multiple of -m
    for j in range(len(v) - 1):
        f = (lam + v[j + 1]) / (lam + v[j])
        S = f * f * S + (v[j] - v[j + 1])
        mu = mu * f
    sp = lam + v[-1]
    E = sp / S
    kl = d * (E - 1 - mp.log(E)) / 2 + mean_sq * mu * mu / (2 * S)
    return float(kl)


@pytest.mark.parametrize("lam,mean_sq", [(1.0, 0.0), (0.25, 3.0), (0.0, 0.0), (4.0, 1.0)])
def test_gaussian_kl_matches_the_sampler_recursion(lam, mean_sq):
    for g in (edm_grid(18, 0.002, 80, 7), geometric_grid(40, 0.01, 50), uniform_grid(25, 0.05, 10),
              user_grid([10.0, 3.0, 1.0, 0.2, 0.01])):
        d = 7
        exact = gaussian_kl(g, lam, d=d, mean_sq=mean_sq)
        ref = _kl_by_recursion(g.variances, lam, mean_sq, d)
        assert exact == pytest.approx(ref, rel=1e-9, abs=1e-300)


def test_gaussian_kl_on_a_subspace_and_its_rates():
    g = edm_grid(30)
    lam = np.array([1.0] * 3 + [0.0] * 5)
    assert gaussian_kl(g, lam) == pytest.approx(gaussian_kl(g, 1.0, d=3) + gaussian_kl(g, 0.0, d=5))
    # the exact KL decays like 1/N^2, the bound's discretization term like 1/N
    Ns = np.array([200, 400, 800, 1600])
    kl = [gaussian_kl(edm_grid(int(n)), 0.25, d=10) for n in Ns]
    ed = [kl_bound(edm_grid(int(n)), 10, 2.5).E_D for n in Ns]
    assert np.polyfit(np.log(Ns), np.log(kl), 1)[0] == pytest.approx(-2.0, abs=0.1)
    assert np.polyfit(np.log(Ns), np.log(ed), 1)[0] == pytest.approx(-1.0, abs=0.1)


@pytest.mark.parametrize("kind,kw", [("edm", {"rho": 7}), ("edm", {"rho": 3}), ("geometric", {}),
                                     ("uniform", {})])
@pytest.mark.parametrize("N", [1, 2, 5, 18, 100, 1000])
@pytest.mark.parametrize("lam", [0.0, 0.25, 1.0, 25.0])
def test_explicit_bound_is_above_the_exact_gaussian_kl(kind, kw, N, lam):
    d = 6
    g = make_grid(kind, N, 0.002, 80.0, **kw)
    kl = gaussian_kl(g, lam, d=d)
    assert kl_bound(g, d, d * lam).total >= kl


@pytest.mark.parametrize("call,match", [
    (lambda: edm_grid(10, 1.0, 1.0), "^sigma_min"),
    (lambda: edm_grid(10, 2.0, 1.0), "^sigma_min"),
    (lambda: edm_grid(0), "^N:"),
    (lambda: edm_grid(2.5), "^N:"),
    (lambda: edm_grid(10, rho=0.0), "^rho:"),
    (lambda: edm_grid(10, rho=-1.0), "^rho:"),
    (lambda: edm_grid(10, sigma_min=-1.0), "^sigma_min"),
    (lambda: user_grid([1.0, 2.0, 0.5]), "^sigmas:.*decreasing"),
    (lambda: user_grid([1.0]), "^sigmas:"),
    (lambda: user_grid([1.0, float("nan")]), "^sigmas:"),
    (lambda: make_grid("cosine", 10), "^kind:"),
    (lambda: edm_grid(10, schedule="vp"), "^schedule:"),
    (lambda: custom_schedule(lambda t: -t), "^schedule:"),
    (lambda: kl_bound(edm_grid(5), 0, 1.0), "^d:"),
    (lambda: kl_bound(edm_grid(5), 3, -1.0), "^m2:"),
    (lambda: kl_bound(edm_grid(5), 3, 1.0, score_error=[1.0, 2.0]), "^score_error:"),
    (lambda: kl_bound(edm_grid(5), 3, 1.0, score_error=-1.0), "^score_error:"),
    (lambda: kl_bound(edm_grid(5), 3, 1.0, form="loose"), "^form:"),
    (lambda: gaussian_kl(edm_grid(5), 1.0), "^d:"),
    (lambda: gaussian_kl(edm_grid(5), -1.0, d=2), "^data_variance:"),
    (lambda: gaussian_kl(edm_grid(5), [1.0, 2.0], mean_sq=1.0), "^mean_sq:"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_design_space_quantities():
    from lowdim.theory.sampling import (beta_edm, beta_song, bound_optimal_rho,
                                 edm_leading_discretization, rho_scan, score_error_factor,
                                 steps_needed)

    # Remark 3's rho* = ln(80 / 0.002) / 2 = 5.30, but the actual E_D keeps falling with rho
    assert bound_optimal_rho() == pytest.approx(5.2983, abs=1e-4)
    rhos, ed, geo, best = rho_scan(100, [3, 5.3, 7, 20, 50])
    assert np.all(np.diff(ed) < 0) and geo < ed[-1] and best == np.inf
    # the large-N leading term of the paper-form sum on EDM's grid (3 digits, research note)
    assert edm_leading_discretization(1000) == pytest.approx(
        kl_bound(edm_grid(1000), 1, 0.0, form="paper").E_D1, rel=1e-3)
    # Table 2 by direct maximisation equals the closed forms P (smax - sigma_1) and
    # P (smax - sigma_1^2 / smax) / 2 (argmax at the largest noise), research note numbers
    for N, poly, expo in ((18, 3330, 4321), (35, 1823, 2837), (100, 666, 1193), (1000, 68.0, 131)):
        assert score_error_factor(N) == pytest.approx(poly, rel=2e-3)
        assert score_error_factor(N, design="song") == pytest.approx(expo, rel=2e-3)
    # beta_EDM is bell-shaped in log sigma with its peak near 0.076; Song's is monotone
    s = np.geomspace(1e-3, 100, 20001)
    b = beta_edm(s)
    assert s[np.argmax(b)] == pytest.approx(0.076, rel=0.02)
    half = s[b >= b.max() / 2]
    assert half[0] == pytest.approx(0.018, rel=0.05) and half[-1] == pytest.approx(0.58, rel=0.05)
    assert np.all(np.diff(beta_song(np.geomspace(0.02, 100, 50))) < 0)
    # complexities: the geometric design needs fewer steps at these ranges (ln^2 vs power)
    assert steps_needed(0.1, 10, 10, design="song") < steps_needed(0.1, 10, 10, design="edm")
    with pytest.raises(ValueError, match="^eps"):
        steps_needed(0.0, 1, 1)
    with pytest.raises(ValueError, match="^design"):
        score_error_factor(10, design="cosine")
