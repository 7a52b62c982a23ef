"""MoLR-MoG: the data model, its exact score against autograd, the score models, the bound and
the local Hessian of gradient descent."""
import math

import numpy as np
import pytest
import torch

from lowdim.simulate import molrmog as sim
from lowdim.theory.molrmog import (BoundSetting, MoLRMoG, estimation_error_bound, estimation_gap,
                            gd_rate, integrated_bound, local_hessian_spectrum, molrg,
                            parameter_counts, random_molrmog, transcribed_u_block_min,
                            vp_window_integral)


def _spec(**kw):
    args = dict(D=12, K=2, d=[3, 4], n_modes=[2, 3], rank=[1, 2], separation=4.0, seed=1,
                mode_weights="random")
    args.update(kw)
    return random_molrmog(args.pop("D"), args.pop("K"), args.pop("d"), args.pop("n_modes"), **args)


# ----------------------------------------------------------------------------- data model
def test_invalid_specs_name_the_parameter():
    spec = _spec()
    bases, means, factors, pis = (list(spec.bases), list(spec.means), list(spec.factors),
                                  list(spec.mode_weights))
    with pytest.raises(ValueError, match=r"bases\[0\].*orthonormal"):
        MoLRMoG([1.01 * bases[0], bases[1]], means, factors, pis)
    with pytest.raises(ValueError, match=r"mode_weights\[1\].*sum to 1"):
        MoLRMoG(bases, means, factors, [pis[0], np.array([0.5, 0.3, 0.3])])
    with pytest.raises(ValueError, match="d_k = 4 must be in"):
        MoLRMoG([np.ones((3, 4))], [np.zeros((1, 4))], [np.ones((1, 4, 1))], [np.ones(1)])
    with pytest.raises(ValueError, match=r"means\[0\]"):
        MoLRMoG(bases, [means[0][:, :2], means[1]], factors, pis)
    with pytest.raises(ValueError, match="subspace_weights"):
        MoLRMoG(bases, means, factors, pis, subspace_weights=[0.7, 0.7])
    with pytest.raises(ValueError, match="d: subspace dimension"):
        random_molrmog(4, 1, 5, 2)
    with pytest.raises(ValueError, match="sum d_k"):
        random_molrmog(6, 2, 4, 2)
    with pytest.raises(ValueError, match="rank"):
        random_molrmog(6, 1, 2, 2, rank=3)


def test_draws_lie_on_the_mode_supports_with_the_right_weights():
    spec = _spec()
    x, k, l = sim.sample(spec, 20000, torch.Generator().manual_seed(0))
    assert float(sim.mode_distance(spec, x).max()) < 1e-10
    assert float(sim.off_subspace_distance(spec, x).max()) < 1e-10
    for kk in range(spec.K):
        for ll, p in enumerate(spec.mode_weights[kk]):
            share = float(((k == kk) & (l == ll)).double().mean())
            expect = spec.subspace_weights[kk] * p
            assert abs(share - expect) < 4 * math.sqrt(expect * (1 - expect) / 20000)
    xs, ks, ls = sim.sample(spec, 1000, torch.Generator().manual_seed(0), stratified=True)
    assert abs(int((ks == 0).sum()) - 500) <= 1
    # second moment: E||x||^2 = sum w pi (||mu||^2 + ||U||_F^2)
    m2 = float(torch.mean(torch.sum(x ** 2, 1)))
    assert abs(m2 - spec.second_moment()) < 4 * float(torch.std(torch.sum(x ** 2, 1))) / math.sqrt(20000)


@pytest.mark.parametrize("process", ["vp", "ve"])
def test_exact_score_is_the_gradient_of_the_log_density(process):
    """Two-level MoE score (Woodbury experts, log-sum-exp gates) against autograd of the dense
    flat log-density, float64, including non-orthonormal factors and ranks 1 and 2."""
    spec = _spec()
    scaled = MoLRMoG(spec.bases, spec.means, [1.7 * spec.factors[0], 0.4 * spec.factors[1]],
                     spec.mode_weights)
    gen = torch.Generator().manual_seed(3)
    for s in (spec, scaled):
        x0, _, _ = sim.sample(s, 300, gen)
        for t in (1e-3, 0.01, 0.1, 1.0, 5.0):
            xt, _ = sim.noised(x0, t, gen, process)
            xt = xt.clone().requires_grad_()
            dense = sim.log_density_dense(s, xt, t, process=process)
            (grad,) = torch.autograd.grad(dense.sum(), xt)
            ex = sim.exact_score(s, xt.detach(), t, process=process)
            rel = torch.linalg.norm(grad - ex, dim=1) / torch.linalg.norm(grad, dim=1)
            assert float(rel.max()) < 1e-8, (t, float(rel.max()))
            two_level = sim.log_density(s, xt.detach(), t, process=process)
            assert float((dense.detach() - two_level).abs().max()) < 1e-8


def test_exact_score_survives_far_points_and_tiny_times():
    spec = _spec()
    x = 1e3 * torch.randn(64, spec.D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sc = sim.exact_score(spec, x, 1e-4)
    assert torch.all(torch.isfinite(sc))


def test_networks_at_the_truth_reproduce_the_exact_score():
    spec = _spec(rank=1)
    x0, _, _ = sim.sample(spec, 200, torch.Generator().manual_seed(1))
    xt, _ = sim.noised(x0, 0.3, torch.Generator().manual_seed(2))
    for form in ("woodbury", "paper"):
        net = sim.mog_network(spec, form=form)
        net.set_parameters(spec.means, spec.factors, spec.mode_weights)
        with torch.no_grad():
            diff = (net(xt, 0.3) - sim.exact_score(spec, xt, 0.3)).abs().max()
        assert float(diff) < 1e-10, form
    g = molrg(10, 2, 3)
    net = sim.gaussian_network(g)
    net.set_parameters(g.means, g.factors)
    x0, _, _ = sim.sample(g, 100, torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert float((net(x0 + 0.1, 0.5) - sim.exact_score(g, x0 + 0.1, 0.5)).abs().max()) < 1e-10


def test_parameter_counts_match_the_modules():
    spec = _spec()
    counts = parameter_counts(spec.n_modes, spec.dims, ranks=spec.ranks)
    assert sim.mog_network(spec).parameter_count == counts["latent_mog"]
    assert sim.gaussian_network(spec).parameter_count == counts["latent_gaussian"]
    gen = sim.generic_network(spec.D, 10 * counts["latent_mog"])
    assert abs(gen.parameter_count - 10 * counts["latent_mog"]) < 0.1 * 10 * counts["latent_mog"]


# ----------------------------------------------------------------------------- bound
def test_bound_scaling_and_window_closed_form():
    s = BoundSetting((4, 4), (4, 4), R=5.0, B_mu=2.0)
    g = estimation_gap(s, 0.5, np.array([100.0, 400.0]))
    assert g[0] / g[1] == pytest.approx(2.0)                # n^-1/2
    assert np.all(estimation_error_bound(s, 0.5, 100) == 2 * estimation_gap(s, 0.5, 100))
    big = BoundSetting((4, 4), (16, 16), R=5.0, B_mu=2.0, C2=0.0)
    small = BoundSetting((4, 4), (4, 4), R=5.0, B_mu=2.0, C2=0.0)
    assert estimation_gap(big, 0.5, 100) / estimation_gap(small, 0.5, 100) == pytest.approx(2.0)
    # the window integral of s^2 / gamma^6 (B_mu = 0) against its closed form
    b0 = BoundSetting((4, 4), (4, 4), R=5.0, C2=0.0)
    ib = integrated_bound(b0, 1.0, delta=1e-3, T=5.0, weighting="none")
    closed = 2 * 5.0 ** 4 * math.sqrt(b0.N1 * b0.N2) * vp_window_integral(1e-3, 5.0) / (5 - 1e-3)
    assert ib.complexity == pytest.approx(closed, rel=1e-8)
    # no D in the bound unless the bases are learned
    learned = BoundSetting((4, 4), (4, 4), R=5.0, B_mu=2.0, D=64, learned_bases=True)
    extra = estimation_gap(learned, 0.5, 100) - estimation_gap(s, 0.5, 100)
    assert extra == pytest.approx(64 * 4 ** 3 / 10)


def test_bound_rejects_bad_input():
    with pytest.raises(ValueError, match="R"):
        BoundSetting((4,), (4,), R=-1.0)
    with pytest.raises(ValueError, match="eta"):
        BoundSetting((4,), (4,), R=1.0, eta=1.5)
    with pytest.raises(ValueError, match="n_modes, dims"):
        BoundSetting((4, 4), (4,), R=1.0)
    with pytest.raises(ValueError, match="T"):
        integrated_bound(BoundSetting((4,), (4,), R=1.0), 10, delta=1.0, T=0.5)
    with pytest.raises(ValueError, match="n"):
        estimation_gap(BoundSetting((4,), (4,), R=1.0), 0.1, 0)
    with pytest.raises(ValueError, match="t"):
        estimation_gap(BoundSetting((4,), (4,), R=1.0), -0.1, 10)


# ----------------------------------------------------------------------------- Hessian and GD
GD = dict(D=10, K=2, d=4, n_modes=2, rank=1, separation=12.0, seed=2, mode_weights="uniform")


@pytest.mark.parametrize("form", ["woodbury", "paper"])
def test_hessian_spectrum_matches_autograd(form):
    """Well separated modes (separation ratio 8.6 at t = 0.2): the autograd Hessian of the
    empirical loss over 20000 stratified draws against the hard-gate prediction, eigenvalue by
    eigenvalue.  Allowance 5 %: the U-block eigenvalues rest on second moments estimated from
    5000 draws per mode (relative SE about 2 %), the mu block on none."""
    spec = _spec(**GD)
    t = 0.2
    pred = local_hessian_spectrum(t, [4] * 4, [0.25] * 4, form=form)
    expected = np.sort(np.repeat(pred.eigenvalues, pred.multiplicity))
    measured = sim.empirical_hessian(spec, t, n_mc=20000, form=form)
    assert measured.shape == expected.shape
    assert np.max(np.abs(measured - expected) / expected) < 0.05


def test_transcribed_u_block_formula_disagrees():
    """The digest's U-block eigenvalue vanishes for U orthogonal to mu; the derived one (and
    autograd, above) stays at 2 s^4 (s^2 + 2 gamma^2) / (gamma^4 c^2) > 0."""
    assert transcribed_u_block_min([1.0, 0.0], [0.0, 6.0]) == pytest.approx(0.0, abs=1e-12)
    pred = local_hessian_spectrum(0.2, [4], [1.0])
    assert pred.eigenvalues[pred.block.index("U-perp")] > 1.0


def test_gradient_descent_rate_matches_prediction():
    spec = _spec(**GD)
    t = 0.2
    pred = local_hessian_spectrum(t, [4] * 4, [0.25] * 4)
    ev = sim.empirical_hessian(spec, t, n_mc=8000)
    trace = sim.gradient_descent(spec, t, 2 / (ev[0] + ev[-1]), iterations=150, n_mc=8000)
    assert trace.distances[-1] < 1e-6 * trace.distances[0]
    assert abs(trace.rate - pred.rate) / pred.rate < 0.10
    assert abs((1 - trace.rate) - (1 - pred.rate)) / (1 - pred.rate) < 0.10
    assert gd_rate(1.0) == 0.0
    with pytest.raises(ValueError, match="kappa"):
        gd_rate(0.5)


# ----------------------------------------------------------------------------- training
def test_trained_mog_network_beats_the_gaussian_network():
    """Small DSM runs (1024 draws, 300 steps): the MoG network's weighted score error is well
    below the Gaussian network's (multi-modal latents), and sampling from it lands on modes."""
    from lowdim.compare.molrmog import compare_models, make_spec

    table, samples = compare_models(make_spec(), n_train=1024, steps=300, n_eval=500,
                                    n_samples=500, sample_steps=40, device="cpu")
    by = {r["model"]: r for r in table.rows}
    mog, gau = by["latent MoG"], by["latent Gaussian"]
    upper = mog["score_error"] + 3 * mog["score_error_se"]
    assert upper < (gau["score_error"] - 3 * gau["score_error_se"]) / 5
    assert mog["on_mode"] > 0.8 and gau["on_mode"] < 0.2
    assert samples["latent MoG"].shape == (500, 16)


def test_training_is_deterministic_and_validates_arguments():
    spec = _spec(rank=1)
    x, _, _ = sim.sample(spec, 256, torch.Generator().manual_seed(0))
    a = sim.train_dsm(sim.mog_network(spec), x, steps=20, batch=64, seed=3, device="cpu")
    b = sim.train_dsm(sim.mog_network(spec), x, steps=20, batch=64, seed=3, device="cpu")
    assert np.array_equal(a.losses, b.losses)
    with pytest.raises(ValueError, match="T"):
        sim.train_dsm(sim.mog_network(spec), x, delta=1.0, T=0.5)
    with pytest.raises(ValueError, match="steps"):
        sim.train_dsm(sim.mog_network(spec), x, steps=0)
    with pytest.raises(ValueError, match="t"):
        sim.exact_score(spec, x, -1.0)


def test_mmd_is_zero_for_the_same_law_and_positive_otherwise():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(2000, 3, generator=gen, dtype=torch.float64)
    same = sim.mmd(x, y)
    assert abs(same.value) < 4 * same.se
    other = sim.mmd(x + 1.0, y)
    assert other.value > 10 * other.se
