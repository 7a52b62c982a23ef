"""MoLRG: low-rank denoisers learn a mixture of low-rank Gaussians by subspace clustering, with a
phase transition at ``N_k = d`` samples per component (Wang, Zhang, Zhang, Chen, Ma, Qu 2024,
arXiv:2409.02426).

Public entry points: the setting :class:`MoLRG`; the optimal denoiser (:func:`posterior_mean`,
:func:`score`); the loss identities (:func:`lowrank_denoising_loss`,
:func:`hardmax_denoising_loss`, :func:`subspace_objective`); recovery predictions
(:func:`recovery_threshold`, :func:`theorem_bound`, :func:`noisy_error_rms`,
:func:`noise_boundary`, :func:`failure_floor`, :func:`prob_all_components`,
:func:`min_total_samples`).
"""
from ._denoiser import (hardmax_denoising_loss, lowrank_denoising_loss, posterior_mean, score,
                        subspace_objective)
from ._recovery import (failure_floor, min_total_samples, noise_boundary, noisy_error_rms,
                        prob_all_components, recovery_threshold, theorem_bound)
from ._setting import MoLRG, check_samples

__all__ = ["MoLRG", "check_samples", "failure_floor", "hardmax_denoising_loss",
           "lowrank_denoising_loss", "min_total_samples", "noise_boundary", "noisy_error_rms",
           "posterior_mean", "prob_all_components", "recovery_threshold", "score",
           "subspace_objective", "theorem_bound"]
