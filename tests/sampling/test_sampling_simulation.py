"""The exponential-integrator sampler run for real: exact Gaussian KL against Monte Carlo, and the
bound above what was sampled (with exact and with perturbed scores)."""
import numpy as np
import pytest

from lowdim.simulate.sampling import ei_sample, gaussian_kl_estimate, gaussian_score, perturbed
from lowdim.theory.sampling import edm_grid, gaussian_kl, geometric_grid, kl_bound, uniform_grid

GRIDS = {"edm rho=7 N=5": lambda: edm_grid(5, 0.002, 80.0),
         "edm rho=7 N=18": lambda: edm_grid(18, 0.002, 80.0),
         "geometric song N=10": lambda: geometric_grid(10, 0.002, 80.0),
         "uniform edm N=12": lambda: uniform_grid(12, 0.01, 20.0)}


@pytest.mark.parametrize("grid", list(GRIDS))
@pytest.mark.parametrize("lam", [0.0, 0.25, 1.0])
def test_exact_gaussian_kl_matches_monte_carlo(grid, lam):
    """Plug-in KL from sample moments (bias-corrected), 20 batches: within 3 SE of the formula.
    The sampled law is exactly Gaussian, so no finite-size allowance is needed."""
    g = GRIDS[grid]()
    d = 6
    Y = ei_sample(g.variances, gaussian_score(np.full(d, lam)), 100_000, d, seed=3, device="cpu")
    est = gaussian_kl_estimate(Y, lam + g.variances[-1])
    exact = gaussian_kl(g, lam, d=d)
    assert abs(est.kl - exact) <= 3 * est.se, (est.kl, exact, est.se)
    # and the estimate is informative: its SE is well below the KL itself
    assert est.se < 0.05 * exact


def test_bound_is_above_what_was_sampled_with_perturbed_scores():
    """A fixed error vector of size eps_j at every level: the sampled law is still Gaussian (mean
    shifted, exact KL with ``score_bias`` matched within 3 SE); the explicit bound with
    E_S = 1/2 sum Delta v_j eps_j^2 stays above its KL."""
    d, lam = 6, 0.25
    for g in (edm_grid(18), geometric_grid(18)):
        for eps2 in (1e-3, 1e-2, 1e-1):
            prof = np.full(g.N, eps2)
            score = perturbed(gaussian_score(np.full(d, lam)), prof)
            Y = ei_sample(g.variances, score, 60_000, d, seed=5, device="cpu")
            est = gaussian_kl_estimate(Y, lam + g.variances[-1])
            bound = kl_bound(g, d, d * lam, prof)
            assert bound.total >= est.kl + 3 * est.se, (g.describe(), eps2, bound, est)
            assert est.kl >= gaussian_kl(g, lam, d=d) - 3 * est.se  # an error never helps here
            exact = gaussian_kl(g, lam, d=d, score_bias=np.sqrt(prof))
            assert abs(est.kl - exact) <= 3 * est.se, (est.kl, exact, est.se)


def test_sampler_input_errors():
    g = edm_grid(5)
    score = gaussian_score(np.ones(3))
    with pytest.raises(ValueError, match="^variances:"):
        ei_sample(g.variances[::-1], score, 10, 3, device="cpu")
    with pytest.raises(ValueError, match="^n:"):
        ei_sample(g.variances, score, 0, 3, device="cpu")
    with pytest.raises(ValueError, match="^n_batches:"):
        gaussian_kl_estimate(ei_sample(g.variances, score, 15, 3, device="cpu"), 1.0)
