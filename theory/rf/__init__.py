"""Random-features score learning curves (George-Veiga-Macris 2025; George-Macris 2026).

Public entry points: :class:`RFSetting` (isotropic Gaussian, subspace, linear-manifold and
hidden-manifold data), :func:`predict`, :class:`RFPrediction`, :func:`system` (the equations
it solves, to check a solution), :func:`sample_complexity`, the training-time
:func:`spectrum` of ``U``, :func:`train_curve` and :func:`generalization_curve` (the
test and score errors along training; isotropic data, docs/dynamics.md),
:func:`hidden_manifold_exact_score` (the exact-score constant of non-linear manifolds), and
the independent references :func:`ridge_regression_reference` (m = 1, Mei-Montanari),
:func:`large_ridge_coefficients` and :func:`wide_limit`.

Non-centred activations (``mu0 = E sigma(z) != 0``, e.g. relu) [derived]
-------------------------------------------------------------------------
Write ``sigma = sigma_c + mu0``.  The feature matrix is then
``F = F_c + mu0 1_{nm} 1_p^T`` (up to per-feature corrections of order ``1/sqrt(d)`` that
are also rank one), so ``U = F^T F / (n m)`` differs from the centred ``U_c`` by a matrix of
rank at most two.  This adds one huge eigenvalue, ``~ mu0^2 p``, whose direction acts as an
almost unpenalised intercept; the normalised traces ``q, r`` and their derivatives move by
``O(1/p)``.  Hence every per-coordinate error of ``sigma`` has the same ``d -> inf`` limit as
for ``sigma_c``, and the theory uses the centred moments (``mu1``, ``mu_*``, ``kappa`` never
involve ``mu0``).  At finite size the spike costs ``O(1/d)``: the intercept is fitted from
``n m`` noisy targets.  The simulation keeps the raw activation, and the tests and the figure
``rf-finite-size`` show the paired difference between relu and relu - mu0 decaying like
``1/d``.
"""
from ._dynamics import USpectrum, spectrum, train_curve
from ._limits import large_ridge_coefficients, ridge_regression_reference, wide_limit
from ._two_point import generalization_curve
from ._timescales import GEN_FRACTION, MEM_FRACTION, TimeScales, time_scales, times_from_curve
from ._predict import QUANTITIES, RFPrediction, SelfConsistentSystem, predict, system
from ._sample_complexity import CRITERIA, SampleComplexity, sample_complexity
from ._setting import DATA_MODELS, RFSetting

__all__ = ["RFSetting", "RFPrediction", "predict", "QUANTITIES", "DATA_MODELS", "system",
           "SelfConsistentSystem",
           "sample_complexity", "SampleComplexity", "CRITERIA", "hidden_manifold_exact_score",
           "spectrum", "USpectrum", "train_curve", "generalization_curve",
           "time_scales", "TimeScales", "times_from_curve", "GEN_FRACTION", "MEM_FRACTION",
           "ridge_regression_reference", "large_ridge_coefficients", "wide_limit"]


def __getattr__(name):
    # the exact-score module is imported on first use (it is only needed for hidden manifolds)
    if name == "hidden_manifold_exact_score":
        from ._exact_score import hidden_manifold_exact_score

        return hidden_manifold_exact_score
    raise AttributeError(name)
