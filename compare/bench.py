"""``lowdim bench``: speed as ratios to a floor, so regressions are visible on any machine.

* theory: a 400-point curve at m = 1, 4, inf; the floor is one vectorised evaluation of the
  residual and Jacobian on the same grid (the cost of a single Newton iteration), so the
  ratio counts the Newton iterations and continuation steps the solver needed.
* manifold theory: the same for linear- and hidden-manifold data (three unknowns, spectral
  integrals in closed form).
* simulation: the full ``simulate.rf.fit_seed`` at d = 400 (draws, streamed Gram and cross
  term, solve, exact train error, Monte Carlo test and score errors); the floor is its
  unavoidable linear algebra alone: the training feature matmul and activation, the Gram
  ``F^T F`` (with the same kernel as the simulation: BLAS syrk on the CPU) and the Cholesky
  factorisation, timed separately on the same device and dtype.
  A second ratio adds to the floor the test features and the score evaluation
  (``n_test`` samples), which no estimate of a test error can avoid.
* localized: the calculator's path side (d = 64, 13 radii, 5 sample sizes, 61 times) against
  the noised covariances on the same time grid and the neighbourhood inverses of one site
  at every radius and time (a translation-invariant chain needs no more); and the exact
  generated law of 8 localized estimators (60 Van Loan steps) against the batched matrix
  exponentials it is made of.
* molrg: one cell column of the phase diagram (K = 2, d = 6, N_k = 1..15, 40 trials: draw,
  K-subspaces with 4 restarts, errors) against one batched SVD of the same data, the cost
  of a single PCA pass; the ratio counts the K-subspaces iterations.
* molrmog: the exact MoE score of a three-subspace, four-mode MoLR-MoG at 8192 points
  against the projections ``x U_k`` onto the subspaces, the least any score of that form
  computes.
* sampling: the exponential-integrator sampler with the exact Gaussian score (18 EDM steps,
  10^5 samples, d = 16) against drawing its Gaussian noise, one ``randn`` per step.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .provenance import provenance
from .table import Table

__all__ = ["run_benchmarks"]


def _best(fn, repeat=3):
    best = math.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _theory_rows(n_points=400):
    from theory.rf import RFSetting, predict
    from theory.rf import _system_sigma as sigma_system
    from theory.rf._predict import _coefficients, _sigma_coefficients
    from theory.rf._system import residual_and_jacobian
    from theory.threads import single_threaded

    def isotropic_floor(setting, q):
        co = _coefficients(setting)
        return lambda: residual_and_jacobian(co, q, q, -co.lam, 0.0)

    def manifold_floor(setting, q):
        co = _sigma_coefficients(setting)
        return lambda: sigma_system.residual_and_jacobian(co, q, q, q, -co.lam)

    psi_p = np.geomspace(0.1, 100, n_points)
    cases = [("", RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m), isotropic_floor)
             for m in (1, 4, math.inf)]
    cases += [(f"{data}, ", RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m,
                                      activation="relu", data=data, psi_d=0.25), manifold_floor)
              for data in ("linear-manifold", "hidden-manifold") for m in (1, math.inf)]
    rows = []
    for label, setting, floor_of in cases:
        # moments, spectrum and exact-score constant are computed before any timing
        setting.moments  # noqa: B018
        if setting.data != "gaussian":
            setting.spectrum  # noqa: B018
        q = np.full(n_points, 0.5)
        with single_threaded():   # the floor on the one thread predict uses
            floor, _ = _best(floor_of(setting, q), repeat=20)
        secs, pred = _best(lambda: predict(setting), repeat=20)
        m = "inf" if math.isinf(float(setting.m.flat[0])) else int(setting.m.flat[0])
        rows.append({"benchmark": f"theory curve, {label}{n_points} points, m={m}",
                     "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
                     "floor": "one residual+Jacobian evaluation", "note":
                     f"converged={bool(pred.success)}, Newton iterations max {int(pred.nit.max())}"})
    return rows


def _sim_rows(d, device):
    import torch

    from simulate.device import make_generator, resolve_device
    from simulate.linalg import gram_update, symmetrize
    from simulate.rf import RFSize, fit_seed
    from theory.rf import RFSetting

    dev = resolve_device(device)
    rows = []
    for psi_p, m in ((2.0, 1), (4.0, 4), (8.0, 16)):
        setting = RFSetting(psi_n=2.0, psi_p=psi_p, t=0.1, lam=1e-3, m=m)
        size = RFSize(d=d, seeds=(0,), device=str(dev))
        n, p = int(2.0 * d), int(psi_p * d)

        def full():
            timings = {}
            fit_seed(setting, size, 0, device=dev, timings=timings)
            return timings

        secs, timings = _best(full, repeat=2)

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        def floors():
            gen = make_generator(dev, 0, "bench")
            W = torch.randn(p, d, generator=gen, dtype=torch.float64, device=dev) / math.sqrt(d)
            Y = torch.randn(n * m, d, generator=gen, dtype=torch.float64, device=dev)
            Yt = torch.randn(size.n_test, d, generator=gen, dtype=torch.float64, device=dev)
            Z = torch.randn(p, d, generator=gen, dtype=torch.float64, device=dev)
            sync()
            t0 = time.perf_counter()
            F = torch.tanh(Y @ W.T)
            G = symmetrize(gram_update(torch.zeros(p, p, dtype=torch.float64, device=dev), F))
            G.diagonal().add_(1e-3 * n * m)
            torch.linalg.cholesky(G)
            sync()
            t1 = time.perf_counter()
            torch.tanh(Yt @ W.T) @ Z
            sync()
            return t1 - t0, time.perf_counter() - t0

        floor, floor_test = min(floors() for _ in range(3))
        phases = ", ".join(f"{k} {v:.3f}s" for k, v in timings.items())
        rows.append({"benchmark": f"simulation seed, d={d}, n={n}, p={p}, m={m}, "
                                  f"n_test={size.n_test}, {dev.type}",
                     "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
                     "floor": "train features + Gram + Cholesky",
                     "ratio_with_test_features": secs / floor_test, "note": phases})
    return rows


def _row(name, secs, floor, floor_name, note=""):
    return {"benchmark": name, "seconds": secs, "floor_seconds": floor, "ratio": secs / floor,
            "floor": floor_name, "note": note}


def _localized_rows():
    from compare.localized import _grid, _target
    from theory.localized import error_curve, noised_covariance, reverse_covariance
    from theory.threads import single_threaded
    from theory.localized._gaussian_law import expm

    target, times = _target(), _grid()
    radii = list(range(0, 13))
    ns = [16, 64, 256, 1024, 4096]
    C = noised_covariance(target, times)
    blocks = [C[:, :2 * r + 1, :2 * r + 1] for r in radii]  # a neighbourhood of site 0

    def inversions():  # the neighbourhood inverses at every time, for one site
        return [np.linalg.inv(b) for b in blocks]

    with single_threaded():   # the floor on the threads the calculator's small work uses
        floor, _ = _best(lambda: (noised_covariance(target, times), inversions()), repeat=5)
    secs, curve = _best(lambda: error_curve(target, ns, radii, delta=times[0], T=times[-1],
                                            steps=times.size - 1, exact_kl=False), repeat=3)
    rows = [_row(f"localized calculator, d={target.dim}, {len(radii)} radii, {len(ns)} n, "
                 f"{times.size} times (path side)", secs, floor,
                 "noised covariances + one site's neighbourhood inverses at every time",
                 f"r* = {curve.r_star.tolist()}")]
    rng = np.random.default_rng(0)
    d = target.dim
    A = np.broadcast_to(np.linalg.inv(noised_covariance(target, times)),
                        (8, times.size, d, d)).copy()
    A += 1e-3 * rng.standard_normal(A.shape)
    A = 0.5 * (A + np.swapaxes(A, -1, -2))
    secs, _ = _best(lambda: reverse_covariance(A, times), repeat=2)
    h = np.diff(times)[None, :, None, None]
    B = np.eye(d) - 2.0 * A[:, 1:]
    blocks = np.zeros((8, times.size - 1, 2 * d, 2 * d))  # the generators of every step
    blocks[..., :d, :d] = -h * B
    blocks[..., d:, d:] = h * np.swapaxes(B, -1, -2)
    blocks[..., :d, d:] = 2.0 * h * np.eye(d)
    with single_threaded():
        floor, _ = _best(lambda: [expm(blocks[:, k]) for k in range(times.size - 1)],
                         repeat=2)
    rows.append(_row(f"localized exact generated law, 8 estimators, d={d}, "
                     f"{times.size - 1} Van Loan steps", secs, floor,
                     "the batched 2d x 2d matrix exponentials"))
    return rows


def _molrg_rows(device):
    import torch

    from compare.molrg import phase_errors
    from simulate import molrg as sim
    from simulate.device import one_thread, resolve_device
    from theory.molrg import MoLRG

    dev = resolve_device(device)
    setting = MoLRG(48, 2, 6)
    Ns, trials = list(range(1, 16)), 40
    secs, _ = _best(lambda: phase_errors(setting, Ns, trials, "ideal", 0, str(dev), None),
                    repeat=2)
    batch = sim.draw_batch(setting, Ns, trials, seed=0, device=dev)
    with one_thread():   # the floor on the threads the learners use
        floor, _ = _best(lambda: torch.linalg.svd(batch.X, full_matrices=False), repeat=3)
    return [_row(f"molrg phase column, K=2, D=48, d=6, N_k=1..15, {trials} trials, {dev.type}",
                 secs, floor, "one batched SVD of the data (a PCA pass)")]


def _molrmog_rows(device):
    import torch

    from simulate.device import make_generator, one_thread, resolve_device
    from simulate.molrmog import exact_score, sample
    from theory.molrmog import random_molrmog

    dev = resolve_device(device)
    spec = random_molrmog(64, 3, 4, 4, seed=0)
    x = sample(spec, 8192, make_generator(dev, 0, "bench"), device=dev)
    if isinstance(x, tuple):
        x = x[0]
    bases = torch.cat([torch.tensor(np.array(u), dtype=x.dtype, device=dev)
                       for u in spec.bases], dim=1)
    secs, _ = _best(lambda: exact_score(spec, x, 0.5), repeat=20)
    with one_thread():   # the floor on the one thread the exact score uses
        floor, _ = _best(lambda: x @ bases, repeat=20)
    return [_row(f"molrmog exact score, D=64, K=3, d=4, 4 modes, 8192 points, {dev.type}",
                 secs, floor, "projections onto the subspaces")]


def _sampling_rows(device):
    import torch

    from simulate.device import make_generator, one_thread, resolve_device
    from simulate.sampling import ei_sample, gaussian_score
    from theory.sampling import edm_grid

    dev = resolve_device(device)
    grid = edm_grid(18)
    n, d = 100_000, 16
    score = gaussian_score(np.ones(d))
    secs, _ = _best(lambda: ei_sample(grid.variances, score, n, d, device=str(dev)), repeat=3)

    def noise():
        gen = make_generator(dev, 0, "bench")
        for _ in range(grid.variances.size - 1):
            torch.randn(n, d, generator=gen, dtype=torch.float64, device=dev)

    with one_thread():   # the floor on the threads the sampler uses
        floor, _ = _best(noise, repeat=3)
    return [_row(f"sampling EI sampler, exact Gaussian score, 18 EDM steps, n=1e5, d={d}, "
                 f"{dev.type}", secs, floor, "one randn per step")]


def _thread_counts():
    """``(BLAS, torch)`` threads of this process now (BLAS: the most any loaded copy has)."""
    from threadpoolctl import threadpool_info

    blas = max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"),
               default=1)
    import torch

    return blas, torch.get_num_threads()


def run_benchmarks(quick=False, device="auto") -> Table:
    """Every row, with the threads it ran on: ``threads`` names the process setting, or one
    thread where the code caps its small work itself (theory.threads, simulate.device)."""
    from .bench_simulation import simulation_rows  # the package against plain NumPy
    from .bench_solver import solver_rows  # the package against a scipy root loop

    blas, torch_threads = _thread_counts()
    process = f"BLAS {blas}, torch {torch_threads}"
    groups = [
        (lambda: _theory_rows(400), "1 (theory solver capped)"),
        (solver_rows, "1 (theory solver capped)"),
        (lambda: _sim_rows(200 if quick else 400, device), process),
        (lambda: simulation_rows((200,) if quick else (400, 800), "cpu", 1 if quick else 3),
         process),
        (_localized_rows, "1 (small matrices capped)"),
        (lambda: _molrg_rows(device), "1 (small work capped)"),
        (lambda: _molrmog_rows(device), "1 (small work capped)"),
        (lambda: _sampling_rows(device), "1 (small work capped)"),
    ]
    rows = []
    for make, threads in groups:
        rows += [dict(row, threads=threads) for row in make()]
    cols = ["benchmark", "seconds", "floor_seconds", "ratio", "floor", "ratio_with_test_features",
            "threads", "note"]
    return Table(cols, rows, provenance(kind="bench", quick=quick))
