"""Small seeded runs of every family's simulation, reduced to lists of floats by name (a
name ending in ``_se`` is the Monte Carlo standard error of the name without it).

Used by ``test_reproducibility.py`` in process (seed and dtype comparisons) and as a script
in fresh interpreters (``python _repro_probe.py SEED DTYPE``, which prints the dict as JSON
with every float in ``repr`` form), so that two runs can be compared bit for bit.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import torch


def _floats(x):
    return [float(v) for v in np.asarray(x, dtype=float).ravel()]


def rf(seed, dtype):
    from lowdim.simulate.rf import RFSize, run
    from lowdim.theory.rf import RFSetting

    m = run(RFSetting(psi_n=2.0, psi_p=1.0, t=0.1, lam=1e-3, m=2),
            RFSize(d=40, seeds=(seed,), n_test=256, device="cpu", dtype=dtype))
    return {q: [float(v)] for q, v in sorted(m.mean.items())}


def sampling(seed, dtype):
    from lowdim.simulate.sampling import (ei_sample, gaussian_kl_estimate, gaussian_score,
                                          path_kl_estimate)
    from lowdim.theory.sampling import GaussianMixture, make_grid

    dt = getattr(torch, dtype)
    grid = make_grid("edm", 12)
    y = ei_sample(grid.variances, gaussian_score(1.0), 4000, 8, seed=seed, device="cpu", dtype=dt)
    kl = gaussian_kl_estimate(y, 1.0)
    mix = GaussianMixture([0.5, 0.5], [-2.0, 2.0], [0.25, 0.25])
    path = path_kl_estimate(grid, mix, n=2000, seed=seed, device="cpu", dtype=dt)
    return {"kl": [kl.kl], "kl_se": [kl.se], "path_kl": [path.total], "path_kl_se": [path.total_se]}


def molrg(seed, dtype):
    from lowdim.simulate.molrg import draw_batch, k_subspaces, subspace_errors
    from lowdim.theory.molrg import MoLRG

    batch = draw_batch(MoLRG(D=12, K=2, d=2, noise=0.1), [6, 12], 3, seed=seed)
    X = batch.X.to(getattr(torch, dtype))
    U, obj = k_subspaces(X, batch.mask, 2, 2, restarts=3, seed=seed)
    err = subspace_errors(U.double(), batch.bases)
    return {"objective": _floats(obj), "error": _floats(err)}


def molrmog(seed, dtype):
    from lowdim.simulate.molrmog import make_generator, mog_network, sample, score_error, train_dsm
    from lowdim.theory.molrmog import random_molrmog

    dt = getattr(torch, dtype)
    spec = random_molrmog(6, 2, 2, 2, seed=seed)
    x, _, _ = sample(spec, 400, make_generator(torch.device("cpu"), seed, "repro"), dtype=dt)
    fit = train_dsm(mog_network(spec), x, steps=30, batch=64, seed=seed, device="cpu", dtype=dt)
    # a fixed model (the truth with its means scaled by 1.2): a score error well above zero
    net = mog_network(spec).to(dt)
    net.set_parameters([1.2 * np.asarray(m) for m in spec.means], spec.factors, spec.mode_weights)
    err = score_error(net, spec, [0.1, 1.0], n=2000, seed=seed, device="cpu", dtype=dt)
    return {"loss": _floats(fit.losses[-5:]), "mse": _floats(err.mse), "mse_se": _floats(err.se)}


def localized(seed, dtype):
    from lowdim.simulate.localized import linear_score_error, local_linear_scores, sample_gaussian
    from lowdim.theory.localized import banded_gaussian

    target = banded_gaussian(16, 1, 10.0)
    times = np.array([0.05, 0.5])
    X = sample_gaussian(target, 200, datasets=2, seed=seed, device="cpu")
    A = local_linear_scores(X.to(getattr(torch, dtype)), target.lattice, 2, times)
    return {"error": _floats(linear_score_error(A.double(), target, times))}


FAMILIES = {"rf": rf, "sampling": sampling, "molrg": molrg, "molrmog": molrmog,
            "localized": localized}


def fingerprint(seed=0, dtype="float64"):
    """Every family's numbers at ``seed`` in ``dtype``."""
    return {name: fn(seed, dtype) for name, fn in FAMILIES.items()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(json.dumps(fingerprint(int(sys.argv[1]), sys.argv[2]), default=repr))
