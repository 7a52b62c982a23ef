"""The one training loop of the simulations' score networks.

Every family that trains a network by denoising score matching (the MoLR-MoG score models,
the localized networks, the VE score networks of the sampling family) gives its objective as
``loss_at_step(k)``, which draws the step's batch from its own generators and returns the
loss; the loop around it is the same for all: Adam, the learning rate decayed to 0 by a
cosine over the steps, optional clipping of the gradient norm, and one exception when the
loss diverges.  (The MoLRG denoiser is fitted by Riemannian SGD on orthonormal bases,
another optimizer, in :mod:`lowdim.simulate.molrg`.)
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

__all__ = ["LossDiverged", "train_adam"]


class LossDiverged(FloatingPointError):
    """A training loss became non-finite (the message says which trainer; lower its lr)."""


def train_adam(params, loss_at_step, *, steps: int, lr: float, clip: float | None = None,
               name: str = "training", progress=None):
    """Minimize ``loss_at_step(k)`` for ``k = 0 .. steps - 1`` over ``params`` by Adam with
    learning rate ``lr (1 + cos(pi k / steps)) / 2`` and, with ``clip``, the gradient norm
    clipped at ``clip``.  Returns ``(losses, seconds)``: the loss of every step and the wall
    time of the loop.  Raises :class:`LossDiverged` when any loss is not finite.
    ``progress(done, steps)``, if given, is called after every step."""
    params = list(params)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * min(k, steps) / steps)))
    losses = np.empty(steps)
    t0 = time.perf_counter()
    for k in range(steps):
        loss = loss_at_step(k)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        sched.step()
        losses[k] = float(loss.detach())
        if progress is not None:
            progress(k + 1, steps)
    seconds = time.perf_counter() - t0
    if not np.all(np.isfinite(losses)):
        raise LossDiverged(f"{name}: the loss became non-finite; lower lr")
    return losses, seconds
