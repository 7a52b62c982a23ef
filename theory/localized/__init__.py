"""Localized diffusion models: a score restricted to radius-r neighbourhoods trades a
localization error against a statistical error, and a moderate radius balances them (Gottwald,
Liu, Marzouk, Reich, Tong 2025, arXiv:2505.04417).  Only the abstract and the first figure's
caption of the paper could be read; the Gaussian closed forms here are derived in this package
(research note localized.md) and checked against simulation.

Public entry points: lattices and targets (:class:`Lattice`, :class:`GaussianTarget`,
:func:`banded_gaussian`); the noised law (:func:`noised_covariance`, :func:`noised_precision`,
:func:`precision_decay`, :func:`precision_decay_bound`, :func:`localization_radius`); errors
(:func:`site_errors`, :func:`localization_error`, :func:`statistical_variance`,
:func:`population_localized_score`); the calculator (:func:`error_curve`,
:func:`localization_kl`, :func:`parametric_radius`, :func:`nonparametric_radius`,
:func:`sample_complexity`); generated laws and divergences (:func:`time_grid`,
:func:`reverse_covariance`, :func:`girsanov_bound`, :func:`gaussian_kl`,
:func:`gaussian_w2`, :func:`marginal_kl`).
"""
from ._calculator import (RadiusCurve, discretization_floor, error_curve, grid_integral,
                          localization_kl, nonparametric_radius, parametric_radius,
                          sample_complexity)
from ._errors import (localization_error, population_localized_score, site_errors,
                      statistical_variance)
from ._gaussian_law import (gaussian_kl, gaussian_w2, girsanov_bound, marginal_kl,
                            reverse_covariance, time_grid)
from ._lattice import Lattice, check_radius
from ._noised import (decay_rate, localization_radius, noised_covariance, noised_precision,
                      precision_decay, precision_decay_bound)
from ._target import GaussianTarget, banded_gaussian

__all__ = ["GaussianTarget", "Lattice", "RadiusCurve", "banded_gaussian", "check_radius",
           "decay_rate", "discretization_floor", "error_curve", "gaussian_kl",
           "gaussian_w2", "girsanov_bound", "grid_integral", "localization_error",
           "localization_kl", "localization_radius", "marginal_kl", "noised_covariance",
           "noised_precision", "nonparametric_radius", "parametric_radius",
           "population_localized_score", "precision_decay", "precision_decay_bound",
           "reverse_covariance", "sample_complexity", "site_errors", "statistical_variance",
           "time_grid"]
