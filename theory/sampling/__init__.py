"""VE sampling error: schedules, grids, the KL bound of Wang-He-Tao (2024) and exact Gaussian KL.

Public entry points: :func:`make_grid` (and :func:`edm_grid`, :func:`geometric_grid`,
:func:`uniform_grid`, :func:`user_grid`), :func:`kl_bound`, :func:`gaussian_kl`; for mixture
data :class:`GaussianMixture`, :func:`path_kl_1d` (exact path KL) and :func:`sampler_law_1d`
(the sampled law and its KL by density propagation).
"""
from ._bound import FORMS, BoundTerms, gaussian_kl, kl_bound, score_error_profile
from ._law1d import SamplerLaw1D, mixture_score_1d, sampler_law_1d
from ._mixture import (GaussianMixture, PathKL, entropy_1d, fisher_information_1d,
                       path_kl_1d, step_quadrature)
from ._design import (beta_edm, beta_song, bound_optimal_rho, edm_leading_discretization,
                      rho_scan, score_error_factor, steps_needed)
from ._schedules import (EDM, GRID_KINDS, SONG, SamplingGrid, VarianceSchedule, custom_schedule,
                         edm_grid, geometric_grid, get_schedule, make_grid, uniform_grid, user_grid)

__all__ = ["BoundTerms", "EDM", "FORMS", "GaussianMixture", "PathKL", "SamplerLaw1D",
           "entropy_1d", "fisher_information_1d", "mixture_score_1d", "path_kl_1d",
           "sampler_law_1d", "step_quadrature", "GRID_KINDS", "SONG", "SamplingGrid", "VarianceSchedule",
           "beta_edm", "beta_song", "bound_optimal_rho", "custom_schedule",
           "edm_grid", "edm_leading_discretization", "gaussian_kl", "geometric_grid",
           "get_schedule", "kl_bound", "make_grid", "rho_scan", "score_error_factor",
           "score_error_profile", "steps_needed", "uniform_grid", "user_grid"]
