"""Deterministic predictions for diffusion models on low-dimensional data.

NumPy / SciPy / SymPy / mpmath only; never imports torch.  Every public function is
vectorised over grids of parameters and works in float64.
"""
__version__ = "0.1.0"
