"""MoLR-MoG: mixtures of low-rank mixtures of Gaussians on a union of subspaces (Yang, Li,
Jiang, Chen, Li 2026, arXiv:2601.01475).

Public entry points: the data model :class:`MoLRMoG` (:func:`random_molrmog`, :func:`molrg`),
the estimation bound (:class:`BoundSetting`, :func:`estimation_gap`,
:func:`estimation_error_bound`, :func:`integrated_bound`), :func:`parameter_counts`, and the
local convergence of gradient descent (:func:`local_hessian_spectrum`, :func:`gd_rate`).
"""
from ._bound import (PROCESSES, BoundSetting, IntegratedBound, estimation_error_bound,
                     estimation_gap, integrated_bound, parameter_counts, process_coefficients,
                     vp_window_integral)
from ._hessian import FORMS, HessianSpectrum, gd_rate, local_hessian_spectrum, transcribed_u_block_min
from ._spec import ORTHONORMAL_TOL, MoLRMoG, molrg, random_molrmog

__all__ = ["BoundSetting", "FORMS", "HessianSpectrum", "IntegratedBound", "MoLRMoG",
           "ORTHONORMAL_TOL", "PROCESSES", "estimation_error_bound", "estimation_gap", "gd_rate",
           "integrated_bound", "local_hessian_spectrum", "molrg", "parameter_counts",
           "process_coefficients", "random_molrmog", "transcribed_u_block_min",
           "vp_window_integral"]
