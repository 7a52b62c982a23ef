"""Torch versions of the theory's activations (:mod:`lowdim.theory.activations`), shared by
the simulations that build features or manifolds from them."""
from __future__ import annotations

import torch

from lowdim.theory.activations import ACTIVATIONS, Activation

__all__ = ["torch_activation", "activation_in_place"]


def torch_activation(act: Activation):
    """The torch version of an activation (``torch_fn`` or ``fn`` when it accepts tensors)."""
    if act.torch_fn is not None:
        return act.torch_fn
    probe = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    try:
        out = act.fn(probe)
        if isinstance(out, torch.Tensor) and out.shape == probe.shape:
            return act.fn
    except Exception:  # noqa: BLE001
        pass
    raise ValueError(f"activation {act.name!r}: no torch implementation; build it with "
                     "lowdim.theory.activations.Activation(name, fn, torch_fn=...)")


#: In-place torch versions of the built-in activations.
_IN_PLACE = {"tanh": torch.Tensor.tanh_, "relu": torch.Tensor.relu_, "erf": torch.Tensor.erf_,
             "linear": lambda x: x}


def activation_in_place(act: Activation):
    """The torch activation for a fresh pre-activation tensor it may overwrite: the built-in
    activations in place (no second feature-sized buffer to allocate and fault in: float64
    ``tanh`` on 3200 x 1600 takes about half the time), any other as
    :func:`torch_activation`."""
    builtin = ACTIVATIONS.get(act.name)
    if builtin is not None and act.torch_fn is builtin.torch_fn and act.fn is builtin.fn:
        return _IN_PLACE[act.name]
    return torch_activation(act)
