"""The one training loop of the score networks (lowdim.simulate.training)."""
import numpy as np
import pytest
import torch

from lowdim.simulate.training import LossDiverged, train_adam


def test_train_adam_minimizes_with_a_cosine_schedule():
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0], dtype=torch.float64))
    losses, seconds = train_adam([w], lambda k: torch.sum((w - 1.0) ** 2), steps=300, lr=0.1)
    assert losses.shape == (300,) and seconds >= 0
    assert losses[-1] < 1e-6 * losses[0]
    np.testing.assert_allclose(w.detach().numpy(), [1.0, 1.0], atol=1e-3)


def test_a_diverged_loss_is_one_named_exception():
    w = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))

    def loss(k):
        return (w * (float("nan") if k == 3 else 1.0)).sum()

    with pytest.raises(LossDiverged, match="^my trainer: the loss became non-finite"):
        train_adam([w], loss, steps=5, lr=1e-3, name="my trainer")
    assert issubclass(LossDiverged, FloatingPointError)


def test_the_families_train_through_the_one_loop():
    import inspect

    from lowdim.simulate import localized, molrmog, score_nets

    for trainer in (localized.train_local_score, molrmog.train_dsm, score_nets.train_dsm):
        source = inspect.getsource(trainer)
        assert "train_adam(" in source and "torch.optim" not in source, trainer.__qualname__
