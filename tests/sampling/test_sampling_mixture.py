"""Mixture data for the VE sampler: exact scores, the exact path KL, the sampled law by density
propagation, and Monte Carlo checks of both; the ordering bound >= path KL >= sampled KL; the
rates in N; linearity in d."""
import math

import numpy as np
import pytest
import torch

from lowdim.simulate.sampling import (ei_sample, mixture_log_density, mixture_score, path_kl_estimate,
                               perturbed, sample_mixture)
from lowdim.theory.sampling import (GaussianMixture, edm_grid, entropy_1d, fisher_information_1d,
                             gaussian_kl, geometric_grid, kl_bound, path_kl_1d, sampler_law_1d,
                             uniform_grid)
from lowdim.theory.sampling._law1d import mixture_score_1d

BIMODAL = GaussianMixture.symmetric_1d(2.0, 0.1)          # modes at -1, +1, std 0.1


def test_mixture_spec_errors():
    with pytest.raises(ValueError, match="^weights:"):
        GaussianMixture([0.5, 0.6], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="^weights:"):
        GaussianMixture([1.5, -0.5], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="^means:"):
        GaussianMixture([0.5, 0.5], np.zeros((3, 2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="^variances:"):
        GaussianMixture([0.5, 0.5], [0.0, 1.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="^mixture:"):
        path_kl_1d(edm_grid(5), GaussianMixture([1.0], np.zeros((1, 2)), [1.0]))


def test_scores_agree_with_autograd_and_with_each_other():
    """numpy score, torch score and autograd of the torch log-density: float64 agreement."""
    mix = GaussianMixture([0.2, 0.5, 0.3], np.array([[1.0, 0.0, 2.0], [-1.0, 0.5, 0.0],
                                                     [0.0, -2.0, 1.0]]), [0.01, 0.3, 0.0])
    y = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2
    for v in (1e-4, 0.1, 3.0, 400.0):
        yy = y.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(mixture_log_density(mix, v, yy).sum(), yy)
        s = mixture_score(mix)(v, y, 0)
        assert torch.allclose(s, grad, rtol=1e-9, atol=1e-9 * grad.abs().max().item())
        assert np.allclose(mix.score(y.numpy(), v), s.numpy(), rtol=1e-10, atol=1e-12)
    x = np.linspace(-2, 2, 41)
    for v in (0.01, 0.5):
        h = 1e-5
        fd = (BIMODAL.score(x + h, v) - BIMODAL.score(x - h, v))[:, 0] / (2 * h)
        assert np.allclose(BIMODAL.score_derivative_1d(x, v), fd, rtol=1e-6, atol=1e-6)


GRIDS = {"edm N=18": lambda: edm_grid(18), "edm N=100": lambda: edm_grid(100),
         "geometric N=30": lambda: geometric_grid(30), "uniform N=40": lambda: uniform_grid(40)}


@pytest.mark.parametrize("grid", list(GRIDS))
def test_propagated_law_reproduces_the_exact_gaussian_kl(grid):
    """A one-component mixture is Gaussian data: density propagation must give the closed form
    (measured relative errors 1e-11 .. 1e-8 at 8192 nodes)."""
    g = GRIDS[grid]()
    for lam in (0.25, 0.01):
        law = sampler_law_1d(g, GaussianMixture([1.0], [0.0], [lam]), check=True)
        exact = gaussian_kl(g, lam, d=1)
        assert abs(law.kl / exact - 1) < 1e-6, (law.kl, exact)
        assert abs(law.kl_change) < 1e-6 * exact and abs(law.mass_error) < 1e-8


def test_path_kl_closed_forms_for_gaussian_data():
    """Gaussian data: initial term KL(N(0, lam + v0) || N(0, v0)), Riemann term
    1/2 sum (rho - 1 - ln rho) with rho = (lam + v_{j+1}) / (lam + v_j); point masses give the
    bound's E_D1 exactly."""
    g = edm_grid(18)
    v = g.variances
    for lam in (0.25, 0.0):
        pk = path_kl_1d(g, GaussianMixture([1.0], [0.0], [lam]))
        rho = (lam + v[1:]) / (lam + v[:-1])
        e = (lam + v[0]) / v[0]
        assert pk.initial == pytest.approx(0.5 * (e - 1 - math.log(e)), rel=1e-5, abs=1e-15)
        assert pk.discretization == pytest.approx(0.5 * np.sum(rho - 1 - np.log(rho)), rel=1e-10)
    assert pk.discretization == pytest.approx(kl_bound(g, 1, 0.0).E_D1, rel=1e-9)


def test_de_bruijn_identity_on_the_mixture():
    """1/2 int J dv over the grid = H(p_{v_0}) - H(p_{v_N})."""
    g = edm_grid(18)
    v = g.variances
    pk = path_kl_1d(g, BIMODAL)
    riemann = 0.5 * np.sum((v[:-1] - v[1:]) * fisher_information_1d(BIMODAL, v[:-1]))
    dH = entropy_1d(BIMODAL, v[0]) - entropy_1d(BIMODAL, v[-1])
    assert pk.discretization + riemann == pytest.approx(dH, rel=1e-7)


@pytest.mark.parametrize("grid", ["edm N=18", "geometric N=30"])
def test_monte_carlo_path_kl_matches_the_exact_one(grid):
    """Any-dimension Monte Carlo estimator against 1-D quadrature, with and without a score
    error: within 3 SE (no finite-size allowance: both compute the same number)."""
    g = GRIDS[grid]()
    eps2 = np.geomspace(1e-3, 1.0, g.N)
    for score, err in ((None, 0.0), (perturbed(mixture_score(BIMODAL), eps2), eps2)):
        est = path_kl_estimate(g, BIMODAL, score, n=10000, seed=2, device="cpu")
        exact = path_kl_1d(g, BIMODAL, err)
        assert abs(est.total - exact.total) <= 3 * est.total_se, (est, exact)
        assert est.total_se < 0.03 * exact.total
        assert est.score == pytest.approx(exact.score, rel=1e-12)  # E_S is exact, not sampled


def test_propagated_law_matches_the_monte_carlo_sampler():
    """The real sampler (200k samples, bimodal data, EDM N=12 with a score error) against the
    propagated density: expectations of several test functions within 3 SE plus 1e-6."""
    g = edm_grid(12)
    shift = np.full(g.N, 0.3)
    Y = ei_sample(g.variances, perturbed(mixture_score(BIMODAL), shift**2), 200_000, 1,
                  seed=4, device="cpu")[:, 0].numpy()
    law = sampler_law_1d(g, BIMODAL, *mixture_score_1d(BIMODAL, shift))
    for f in (lambda x: x, lambda x: x**2, lambda x: np.tanh(3 * x), lambda x: (x > 1.0) * 1.0,
              lambda x: np.exp(-8 * (x + 1) ** 2)):
        mc = f(Y)
        se = mc.std(ddof=1) / math.sqrt(mc.size)
        assert abs(mc.mean() - law.expectation(f)) <= 3 * se + 1e-6, (mc.mean(), law.expectation(f))


@pytest.mark.parametrize("make", [edm_grid, geometric_grid, uniform_grid])
def test_bound_above_path_kl_above_sampled_kl(make):
    """bound (explicit form) >= path KL >= KL of the sampled law, on bimodal data, with exact
    scores and with score errors of relative size eta (eps_j^2 = eta J(v_j))."""
    for N in (4, 16, 64):
        g = make(N)
        J = fisher_information_1d(BIMODAL, g.variances[:-1])
        for eta in (0.0, 0.01, 0.1):
            eps2 = eta * J
            shift = np.sqrt(eps2)
            sampled = sampler_law_1d(g, BIMODAL, *mixture_score_1d(BIMODAL, shift),
                                     n_nodes=4096).kl
            path = path_kl_1d(g, BIMODAL, eps2).total
            bound = kl_bound(g, 1, BIMODAL.second_moment, eps2).total
            assert sampled <= path * (1 + 1e-9) <= bound, (g.describe(), eta, sampled, path,
                                                           bound)


def test_rates_in_N_path_kl_like_the_bound_sampled_kl_faster():
    """The bound and the path KL decay like 1/N; the KL of what is sampled like 1/N^2, for
    bimodal data as for Gaussian data (measured local slopes between N = 128 and 256: path
    -0.97 (EDM) / -0.96 (geometric), sampled -2.00 / -2.00)."""
    for make in (edm_grid, geometric_grid):
        path = [path_kl_1d(make(N), BIMODAL).total for N in (128, 256)]
        sampled = [sampler_law_1d(make(N), BIMODAL).kl for N in (128, 256)]
        bound = [kl_bound(make(N), 1, BIMODAL.second_moment).total for N in (128, 256)]
        slope = lambda y: math.log(y[1] / y[0]) / math.log(2)
        assert -1.1 < slope(path) < -0.85 and -1.1 < slope(bound) < -0.85
        assert -2.1 < slope(sampled) < -1.9


def test_path_kl_grows_linearly_in_d():
    """Four-mode mixture with unit-norm means in random directions (not a product law), EDM
    N = 18: the Monte Carlo path KL against d is linear (residuals within 3 SE) and its slope is
    the per-coordinate path KL of the components' Gaussian, as the modes span 4 dimensions."""
    rng = np.random.default_rng(0)
    ds = np.array([4, 8, 16, 32])
    g = edm_grid(18)
    vals, ses = [], []
    for d in ds:
        mu = rng.standard_normal((4, d))
        mu /= np.linalg.norm(mu, axis=1, keepdims=True)
        est = path_kl_estimate(g, GaussianMixture(np.full(4, 0.25), mu, np.full(4, 0.01)),
                               n=4000, seed=int(d), device="cpu")
        vals.append(est.total)
        ses.append(est.total_se)
    vals, ses = np.array(vals), np.array(ses)
    A = np.stack([ds, np.ones_like(ds)], 1).astype(float)
    coef = np.linalg.lstsq(A / ses[:, None], vals / ses, rcond=None)[0]
    assert np.all(np.abs(A @ coef - vals) <= 3 * ses + 1e-12), (vals, A @ coef, ses)
    per_dim = path_kl_1d(g, GaussianMixture([1.0], [0.0], [0.01])).total
    assert coef[0] == pytest.approx(per_dim, rel=0.05), (coef, per_dim)


def test_sample_mixture_moments():
    mix = GaussianMixture([0.25, 0.75], np.array([[2.0, 0.0], [0.0, -1.0]]), [0.5, 0.1])
    x = sample_mixture(mix, 200_000, seed=3, device="cpu")
    assert (x**2).sum(1).mean().item() == pytest.approx(mix.second_moment, rel=0.01)
    assert x[:, 0].mean().item() == pytest.approx(0.5, abs=0.01)
