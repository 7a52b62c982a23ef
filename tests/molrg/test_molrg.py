"""MoLRG (Wang et al. 2024): the optimal denoiser, the loss identities, the recovery theory and
the learners, theory against simulation with tolerances from the trials' standard errors."""
import itertools
import math

import numpy as np
import pytest
import torch

from lowdim.simulate import molrg as sim
from lowdim.simulate.molrmog import exact_score
from lowdim.theory.molrg import (MoLRG, check_samples, failure_floor, hardmax_denoising_loss,
                          lowrank_denoising_loss, min_total_samples, noise_boundary,
                          noisy_error_rms, posterior_mean, prob_all_components, score,
                          subspace_objective, theorem_bound)
from lowdim.theory.molrmog import molrg as molrg_spec


def test_posterior_score_matches_the_two_level_exact_score():
    """The closed-form MoLRG score equals the MoLR-MoG exact score (an independent Woodbury
    implementation in torch) on the same bases, VP process."""
    setting = MoLRG(12, 3, 3)
    U = setting.bases(seed=4)
    spec = molrg_spec(12, 3, 3, seed=4)
    assert np.allclose(np.stack(spec.bases), U)
    rng = np.random.default_rng(0)
    for t in (0.01, 0.3, 2.0):
        x = rng.standard_normal((50, 12)) * 1.5
        s, g = math.exp(-t), math.sqrt(-math.expm1(-2 * t))
        ours = score(x, s, g, U)
        ref = exact_score(spec, torch.as_tensor(x), torch.full((50,), t, dtype=torch.float64),
                          process="vp").numpy()
        assert np.max(np.abs(ours - ref)) <= 1e-9 * (1 + np.max(np.abs(ref)))
    # far from every subspace at tiny noise the soft-max stays finite (log-sum-exp)
    pm = posterior_mean(1e3 * rng.standard_normal((4, 12)), 1.0, 1e-3, U)
    assert np.all(np.isfinite(pm))


def test_lemma_a_by_monte_carlo():
    """E_eps ||c P (s x + gamma eps) - x||^2 against the closed form, within 4 SE."""
    rng = np.random.default_rng(1)
    D, d = 20, 4
    U = np.linalg.qr(rng.standard_normal((D, d)))[0]
    X = rng.standard_normal((5, D))
    s, g = 0.8, 0.6
    c = s / (s ** 2 + g ** 2)
    eps = rng.standard_normal((200_000, 5, D))
    xt = s * X + g * eps
    den = c * (xt @ U) @ U.T
    vals = np.mean(np.sum((den - X) ** 2, axis=-1), axis=1)
    se = vals.std(ddof=1) / math.sqrt(vals.size)
    assert abs(vals.mean() - lowrank_denoising_loss(U, X, s, g)) < 4 * se


def test_hardmax_loss_is_k_subspaces_objective_and_pca_minimizes_k1_loss():
    setting = MoLRG(16, 2, 3, noise=0.05)
    batch = sim.draw_batch(setting, [8], 1, seed=2)
    X = batch.X[0].numpy()
    truth = batch.bases[0].numpy()
    U_ks, obj = sim.k_subspaces(batch.X, batch.mask, 2, 3)
    assert obj.item() == pytest.approx(subspace_objective(U_ks[0].numpy(), X), rel=1e-12)
    # K-subspaces reaches at least the truth's objective, so its hard-max loss is no larger
    assert hardmax_denoising_loss(U_ks[0].numpy(), X, 1.0, 0.3) <= \
        hardmax_denoising_loss(truth, X, 1.0, 0.3) + 1e-12
    # K = 1: PCA beats every small rotation of itself on the Lemma-A loss
    one = sim.draw_batch(MoLRG(16, 1, 3, noise=0.1), [10], 1, seed=3)
    U = sim.pca(one.X, one.mask, 3)[0, 0].numpy()
    best = lowrank_denoising_loss(U, one.X[0].numpy(), 1.0, 0.5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        V = np.linalg.qr(U + 0.05 * rng.standard_normal(U.shape))[0]
        assert lowrank_denoising_loss(V, one.X[0].numpy(), 1.0, 0.5) >= best - 1e-12


def test_multinomial_probability_is_exact():
    """The dynamic programme against direct enumeration of every multinomial outcome."""
    from scipy.stats import multinomial

    w = np.array([0.2, 0.3, 0.5])
    for N, d in ((9, 2), (14, 3), (6, 2)):
        exact = sum(multinomial.pmf(c, N, w) for c in itertools.product(range(N + 1), repeat=3)
                    if sum(c) == N and min(c) >= d)
        assert prob_all_components(N, d, w) == pytest.approx(exact, abs=1e-12)
    assert prob_all_components(5, 3, [0.5, 0.5]) == 0.0
    n = min_total_samples(4, [0.5, 0.5], 0.9)
    assert prob_all_components(n, 4, [0.5, 0.5]) >= 0.9 > prob_all_components(n - 1, 4, [0.5, 0.5])


def test_recovery_formulas():
    # the research note's example: D = 48, d = 8, N = 3 -> 0.745 (worst case 0.79)
    assert failure_floor(3, 8, 48) == pytest.approx(0.7454, abs=1e-4)
    assert failure_floor(3, 8, 48, kind="worst") == pytest.approx(math.sqrt(10 / 16))
    assert failure_floor(8, 8, 48) == 0.0
    assert np.isinf(noisy_error_rms(9, 8, 48, 0.05))
    assert noisy_error_rms(12, 8, 48, 0.0) == 0.0
    assert noise_boundary(8, 48, 0.0, 0.1) == 8.0
    nb = noise_boundary(8, 48, 0.05, 0.1)
    assert noisy_error_rms(12, 8, 48, 0.05) < 0.1 and nb == pytest.approx(8 + 1 + 0.25 * 40 / 48)
    assert np.isinf(theorem_bound(3, 4, 1.0)) and theorem_bound(4, 4, 0.0) == 0.0


def test_pca_errors_meet_the_floor_and_the_first_order_noise_error():
    """Noiseless, below d: rms error = random-completion floor (3 SE + 2 %).  Noisy, from
    d + 4: rms error = first-order theory (3 SE + 10 % for the neglected second order)."""
    trials = 300
    low = sim.draw_batch(MoLRG(24, 1, 6), [2, 4], trials, seed=5)
    err = sim.subspace_errors(sim.pca(low.X, low.mask, 6), low.bases)[:, 0].reshape(2, trials)
    for row, N in zip(err.numpy(), (2, 4)):
        msq, se = np.mean(row ** 2), np.std(row ** 2, ddof=1) / math.sqrt(trials)
        assert abs(msq - failure_floor(N, 6, 24) ** 2) <= 3 * se + 0.02 * msq
    noisy = sim.draw_batch(MoLRG(24, 1, 4, noise=0.05), [9, 16], trials, seed=6)
    err = sim.subspace_errors(sim.pca(noisy.X, noisy.mask, 4), noisy.bases)[:, 0]
    for row, N in zip(err.reshape(2, trials).numpy(), (9, 16)):
        msq, se = np.mean(row ** 2), np.std(row ** 2, ddof=1) / math.sqrt(trials)
        assert abs(msq - noisy_error_rms(N, 4, 24, 0.05) ** 2) <= 3 * se + 0.1 * msq


@pytest.mark.parametrize("K", [1, 2, 3])
def test_ideal_learners_switch_at_n_equals_d_in_any_ambient_dimension(K):
    for D in (24, 96):
        setting = MoLRG(D, K, 4, noise=0.05)
        batch = sim.draw_batch(setting, [3, 6, 9], 40, seed=7)
        if K == 1:
            U = sim.pca(batch.X, batch.mask, 4)
        else:
            U = sim.k_subspaces(batch.X, batch.mask, K, 4, restarts=4)[0]
        ok = (sim.subspace_errors(U, batch.bases).max(1).values < 0.1).double().reshape(3, 40)
        rate = ok.mean(1).numpy()
        # a success probability >= 0.9 from d + 2 is rejected only beyond 2 SE (at N_k = d + 2
        # the noise leaves a few percent of trials above the threshold)
        se = np.sqrt(np.maximum(rate * (1 - rate), 0.25 / 40) / 40)
        assert rate[0] == 0 and np.all(rate[1:] + 2 * se[1:] >= 0.9), (D, rate)


def test_trained_denoisers_reach_the_ideal_learners():
    setting = MoLRG(24, 1, 3, noise=0.05)
    batch = sim.draw_batch(setting, [3, 5, 8], 10, seed=8)
    e_pca = sim.subspace_errors(sim.pca(batch.X, batch.mask, 3), batch.bases)[:, 0]
    tr = sim.train_lowrank_denoiser(batch.X, batch.mask, 1, 3, steps=400, lr=5.0,
                                    sigma_min=0.02, sigma_max=0.2, init="random")
    e_dae = sim.subspace_errors(tr.bases, batch.bases)[:, 0]
    diff = (e_dae.reshape(3, 10).mean(1) - e_pca.reshape(3, 10).mean(1)).abs()
    assert diff.max() <= 0.05, diff
    two = sim.draw_batch(MoLRG(24, 2, 3, noise=0.05), [6, 9], 10, seed=9)
    tr = sim.train_lowrank_denoiser(two.X, two.mask, 2, 3, steps=400, lr=5.0, sigma_min=0.02,
                                    sigma_max=0.2)
    ok = sim.subspace_errors(tr.bases, two.bases).max(1).values < 0.1
    assert ok.double().mean() >= 0.8
    # training does the work: the data-seeded start alone is worse
    start = sim.subspace_errors(tr.initial_bases, two.bases).max(1).values
    assert start.mean() > sim.subspace_errors(tr.bases, two.bases).max(1).values.mean()


def test_training_loss_equals_the_denoiser_applied_to_noised_data():
    """The training loss, computed through U_k^T eps and the Gram of the bases, equals
    ||x_theta(x + sigma eps) - x||^2 from the denoiser itself (antithetic pairs included)."""
    from lowdim.simulate.molrg import _dsm_loss

    g = torch.Generator().manual_seed(0)
    b = sim.draw_batch(MoLRG(20, 2, 3, noise=0.05), [5], 3, seed=2)
    U = sim.seeded_bases(b.X, b.mask, 2, 3, g, init="random")
    eps = torch.randn(3, 10, 2, 20, generator=g, dtype=torch.float64)
    sig = torch.rand(3, 10, generator=g, dtype=torch.float64) + 0.1
    both = torch.cat([eps, -eps], 2)
    xt = (b.X[:, :, None] + sig[:, :, None, None] * both).reshape(3, 40, 20)
    den = sim.lowrank_denoise(U, xt, sig[:, :, None].expand(3, 10, 4).reshape(3, 40))
    direct = (den.reshape(3, 10, 4, 20) - b.X[:, :, None]).pow(2).sum(-1).mean((1, 2))
    assert torch.allclose(_dsm_loss(U, b.X, b.mask.double(), sig, eps), direct, rtol=1e-12)


def test_subspace_errors_are_permutation_invariant():
    U = sim.random_bases(3, 3, 12, 2, torch.Generator().manual_seed(0))
    zero = torch.zeros(3, 3, dtype=torch.float64)
    assert torch.allclose(sim.subspace_errors(U, U), zero, atol=1e-7)
    assert torch.allclose(sim.subspace_errors(U[:, [2, 0, 1]], U), zero, atol=1e-7)
    # mutually orthogonal blocks: a learner that returns the wrong blocks errs by 1
    V = sim.random_bases(1, 2, 8, 2, torch.Generator().manual_seed(1))
    swapped = torch.stack([V[:, 0], V[:, 0]], 1)
    assert sim.subspace_errors(swapped, V).max() == pytest.approx(1.0)


def test_generalization_report_separates_copies_from_new_points():
    setting = MoLRG(10, 2, 2)
    b = sim.draw_batch(setting, [20], 1, seed=1)
    train, bases = b.X[0], b.bases[0]
    copies = train[:10] + 1e-4 * torch.randn(10, 10, dtype=torch.float64)
    fresh = sim.draw_batch(setting, [20], 1, seed=2)
    new = torch.einsum("kDd,nd->nkD", bases, torch.randn(20, 2, dtype=torch.float64))[:, 0]
    rep_c = sim.generalization_report(copies, train, bases)
    rep_n = sim.generalization_report(new, train, bases)
    assert rep_c.copy_fraction == 1.0 and rep_c.score == 0.0
    assert rep_n.union_distance < 1e-6 and rep_n.score >= 0.8
    assert fresh.X.shape == (1, 40, 10)


@pytest.mark.parametrize("kw, name", [
    ({"D": 4, "K": 1, "d": 5}, "d"), ({"D": 10, "K": 3, "d": 4}, "K, d"),
    ({"D": 10, "K": 1, "d": 2, "noise": -0.1}, "noise"),
    ({"D": 10, "K": 2, "d": 2, "weights": (0.7, 0.7)}, "weights"),
    ({"D": 0, "K": 1, "d": 1}, "D")])
def test_invalid_settings_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        MoLRG(**kw)


def test_invalid_inputs_to_learners_and_theory():
    with pytest.raises(ValueError, match="counts"):
        sim.draw_batch(MoLRG(10, 1, 2), [0], 3)
    with pytest.raises(ValueError, match="N"):
        check_samples("N", [3, 0])
    with pytest.raises(ValueError, match="kind"):
        failure_floor(2, 3, 10, kind="best")
    with pytest.raises(ValueError, match="init"):
        sim.seeded_bases(torch.zeros(1, 3, 4, dtype=torch.float64), torch.ones(1, 3, dtype=bool),
                         1, 2, torch.Generator(), init="spectral")
    with pytest.raises(ValueError, match="weights"):
        prob_all_components(10, 2, [0.5, 0.6])
    with pytest.raises(ValueError, match="sigma_max"):
        b = sim.draw_batch(MoLRG(10, 1, 2), [3], 1)
        sim.train_lowrank_denoiser(b.X, b.mask, 1, 2, sigma_min=0.5, sigma_max=0.1)
