"""Finite-size simulations that test the theory: samplers with exact scores, score models,
training and measured errors with standard errors.  PyTorch; CUDA when present."""
__version__ = "0.1.0"
