"""Deterministic predictions for diffusion models on low-dimensional data.

NumPy / SciPy / SymPy / mpmath only; never imports torch.  Every public function is
vectorised over grids of parameters and works in float64.  Inputs are checked by the shared
validators of :mod:`lowdim.theory._checks`: a wrong kind (a complex number, a string, a date, a
tensor that requires grad, ...) raises ``ParameterTypeError`` (a TypeError and a ValueError),
a wrong value a ValueError, each message starting with the parameter's name.
"""
__version__ = "0.1.0"
