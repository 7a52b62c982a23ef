"""Random-features training dynamics: simulated errors along gradient flow or gradient descent,
measured over seeds with their standard errors (theory side in progress).

Every seed is one sweep task (:func:`dynamics_task`, cached and parallel under a runner); the
per-seed curves are assembled time by time into the same :class:`~lowdim.simulate.rf.RFMeasurement`
as the ridge simulation, so the package's tolerance policy (:func:`lowdim.compare.rf.judge`,
the 1/d extrapolation of :func:`lowdim.compare.rf.richardson`) applies unchanged.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lowdim.theory.rf import RFSetting

from ._lazy import LazyModule
from .sweep import map_tasks

sim = LazyModule("lowdim.simulate.rf")
dyn = LazyModule("lowdim.simulate.rf_dynamics")

__all__ = ["dynamics_task", "measure_dynamics"]


def dynamics_task(setting: RFSetting, size, seed: int, times, gd_step=None) -> dict:
    """One sweep task: :func:`lowdim.simulate.rf_dynamics.fit_dynamics` on one seed, as plain
    data for the cache."""
    return dataclasses.asdict(dyn.fit_dynamics(setting, size, seed, times, gd_step=gd_step))


def measure_dynamics(setting: RFSetting, size, times, *, gd_step=None, progress=None) -> list:
    """One :class:`~lowdim.simulate.rf.RFMeasurement` per time of ``times`` (gradient-flow
    ``tau``, or step counts with ``gd_step``), every seed of ``size`` simulated once for all
    times; ``progress(done, total)`` in seeds."""
    if setting.size != 1:
        raise ValueError(f"setting: simulate one grid point at a time (got shape {setting.shape})")
    if setting.shape != ():
        setting = setting.point((0,) * len(setting.shape))
    times = [float(x) for x in np.atleast_1d(np.asarray(times, dtype=float))]
    items = [{"setting": setting, "size": size, "seed": int(s), "times": times,
              "gd_step": gd_step} for s in size.seeds]
    runs = map_tasks(dynamics_task, items, progress=progress)
    out = []
    for j in range(len(times)):
        per_seed = [sim.SeedResult(seed=r["seed"], n=r["n"], p=r["p"], m=r["m"], D=r["D"],
                                   values={q: float(v[j]) for q, v in r["values"].items()},
                                   mc_se={q: float(v[j]) for q, v in r["mc_se"].items()},
                                   seconds=r["seconds"] / len(times), timings={})
                    for r in runs]
        out.append(sim.measurement(setting, size, per_seed))
    return out
