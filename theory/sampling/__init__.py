"""VE sampling error: schedules, grids, the KL bound of Wang-He-Tao (2024) and exact Gaussian KL.

Public entry points: :func:`make_grid` (and :func:`edm_grid`, :func:`geometric_grid`,
:func:`uniform_grid`, :func:`user_grid`), :func:`kl_bound`, :func:`gaussian_kl`.
"""
from ._bound import FORMS, BoundTerms, gaussian_kl, kl_bound, score_error_profile
from ._schedules import (EDM, GRID_KINDS, SONG, SamplingGrid, VarianceSchedule, custom_schedule,
                         edm_grid, geometric_grid, get_schedule, make_grid, uniform_grid, user_grid)

__all__ = ["BoundTerms", "EDM", "FORMS", "GRID_KINDS", "SONG", "SamplingGrid", "VarianceSchedule",
           "custom_schedule", "edm_grid", "gaussian_kl", "geometric_grid", "get_schedule",
           "kl_bound", "make_grid", "score_error_profile", "uniform_grid", "user_grid"]
