"""Random-features score learning curves (George-Veiga-Macris 2025; George-Macris 2026).

Public entry points: :class:`RFSetting`, :func:`predict`, :class:`RFPrediction`.
"""
from ._predict import QUANTITIES, RFPrediction, predict
from ._setting import DATA_MODELS, RFSetting

__all__ = ["RFSetting", "RFPrediction", "predict", "QUANTITIES", "DATA_MODELS"]
from ._limits import large_ridge_coefficients, ridge_regression_reference, wide_limit

__all__ += ["ridge_regression_reference", "large_ridge_coefficients", "wide_limit"]
