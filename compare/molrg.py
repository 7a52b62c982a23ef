"""MoLRG experiments (Wang et al. 2024): success-rate grids over (N_k, d) for the ideal learners
and the trained low-rank denoisers, subspace error against N with the theory's bound and floor,
success under multinomial labels against the exact probability, and ``validation_table``
behind ``lowdim molrg validate``."""
from __future__ import annotations

import math
import time

import numpy as np

from lowdim.theory.molrg import (MoLRG, failure_floor, noise_boundary, noisy_error_rms,
                          prob_all_components, theorem_bound)

from ._lazy import LazyModule
from .progress import counted, step_callback
from .provenance import provenance
from .sweep import map_tasks
from .table import Table
from .verdict import holds, run_checks

# imported at first use: the theory-only actions of this module need neither torch nor
# the simulations
torch = LazyModule("torch")
sim = LazyModule("lowdim.simulate.molrg")
_device = LazyModule("lowdim.simulate.device")

__all__ = ["LEARNERS", "DEFAULTS", "TRAIN_DEFAULTS", "phase_table", "error_curve_table",
           "multinomial_table", "validation_table", "learn", "generic_table", "sample_need",
           "rates_within"]

LEARNERS = ("ideal", "trained", "oracle")
#: The phase-diagram setting: the paper's D = 48 (4x4x3 "images"), d = 2..8, N_k = 1..15, 20
#: trials per cell, noise of RMS norm 0.05, success when every component's normalized
#: projection distance is below 0.1 (research note section 7).
DEFAULTS = {"D": 48, "noise": 0.05, "threshold": 0.1, "trials": 20,
            "ds": tuple(range(2, 9)), "Ns": tuple(range(1, 16))}
#: Training of the low-rank denoiser: VE noise levels log-uniform on [0.02, 0.2], four
#: antithetic noise pairs per sample and step, 800 Riemannian SGD steps from lr 5 decaying to 0,
#: one restart from the best of 8 data-seeded initializations.
TRAIN_DEFAULTS = {"steps": 800, "lr": 5.0, "sigma_min": 0.02, "sigma_max": 0.2, "draws": 4,
                  "restarts": 1, "init": "neighbours", "candidates": 8}
PHASE_COLUMNS = ("K", "d", "N_k", "learner", "D", "noise", "threshold", "trials", "success",
                 "success_se", "mean_error", "median_error", "theory_success",
                 "theory_rms_error", "theory_floor", "noise_boundary", "seconds")


def _binomial_se(p, trials):
    """Binomial standard error ``sqrt(p (1 - p) / trials)`` of a success rate, floored at half
    a trial (``0.5 / trials``) so that rates of 0 and 1 keep a non-zero error."""
    return math.sqrt(max(p * (1 - p), 0.25 / trials) / trials)


def rates_within(rows, bound, *, at_least, z=2.0):
    """Whether every row's success probability is on the right side of ``bound``: a row fails
    only when its rate is more than ``z`` standard errors beyond it (``at_least=True``: below
    the bound; otherwise above it)."""
    if at_least:
        return all(r["success"] + z * r["success_se"] >= bound for r in rows)
    return all(r["success"] - z * r["success_se"] <= bound for r in rows)


def learn(batch: sim.Batch, K, d, learner, *, seed=0, train=None):
    """Bases learned by ``learner`` on ``batch``: ``"ideal"`` (PCA for K = 1, K-subspaces with
    4 seeded restarts otherwise; 10 gave the same success in every cell compared),
    ``"trained"`` (the low-rank denoiser, :data:`TRAIN_DEFAULTS`
    overridden by ``train``) or ``"oracle"`` (per-component PCA with the true labels)."""
    if learner == "ideal":
        if K == 1:
            return sim.pca(batch.X, batch.mask, d)
        return sim.k_subspaces(batch.X, batch.mask, K, d, restarts=4, seed=seed,
                               progress=step_callback("K-subspaces step"))[0]
    if learner == "trained":
        kw = dict(TRAIN_DEFAULTS, **(train or {}))
        return sim.train_lowrank_denoiser(batch.X, batch.mask, K, d, seed=seed,
                                          progress=step_callback("training step"), **kw).bases
    if learner == "oracle":
        return sim.oracle_pca(batch)
    raise ValueError(f"learner: must be one of {LEARNERS} (got {learner!r})")


def _check_grid(name, vals, low=1):
    vals = [int(v) for v in vals]
    if not vals or min(vals) < low:
        raise ValueError(f"{name}: need values >= {low} (got {vals})")
    return vals


def phase_errors(setting: MoLRG, Ns, trials, learner, seed, device, train):
    """One sweep task of :func:`phase_table`: the worst component's normalized subspace
    error, shape ``(len(Ns), trials)`` (NumPy), for one ``d``, and the seconds it took."""
    t0 = time.perf_counter()
    dev = _device.resolve_device(device)
    batch = sim.draw_batch(setting, Ns, trials, seed=seed, device=dev)
    U = learn(batch, setting.K, setting.d, learner, seed=seed, train=train)
    err = sim.subspace_errors(U, batch.bases).max(1).values.reshape(len(Ns), trials).cpu()
    return err.numpy(), time.perf_counter() - t0


def phase_table(K=2, learner="ideal", *, ds=DEFAULTS["ds"], Ns=DEFAULTS["Ns"], D=DEFAULTS["D"],
                noise=DEFAULTS["noise"], threshold=DEFAULTS["threshold"],
                trials=DEFAULTS["trials"], orthogonal=True, seed=0, device="auto", train=None,
                progress=None) -> Table:
    """Success rate over the ``(N_k, d)`` grid, with the theory beside every cell.

    Per ``d`` all ``N_k`` and trials are one batch (fresh bases, latents and noise per trial).
    ``success`` is the fraction of trials whose worst component has normalized error below
    ``threshold``, ``success_se`` its binomial standard error.  Theory columns:
    ``theory_success`` (1 when ``N_k >= d``, the noiseless threshold), ``theory_rms_error``
    (first-order PCA error, finite from ``N_k = d + 2``), ``theory_floor`` (random-completion
    floor below ``d``) and ``noise_boundary`` (where the first-order error reaches the
    threshold).
    """
    if learner not in LEARNERS:
        raise ValueError(f"learner: must be one of {LEARNERS} (got {learner!r})")
    ds, Ns = _check_grid("d", ds), _check_grid("N", Ns)
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise ValueError(f"threshold: must be in (0, 1) (got {threshold!r})")
    dev = _device.resolve_device(device)
    # every setting is validated before any work
    settings = [MoLRG(D, K, d, noise=noise, orthogonal=orthogonal) for d in ds]
    rows = []
    t_all = time.perf_counter()
    results = map_tasks(phase_errors, [
        {"setting": setting, "Ns": Ns, "trials": trials, "learner": learner,
         "seed": seed, "device": device, "train": train} for setting in settings],
        progress=progress)
    for d, (err, secs) in zip(ds, results):
        secs = secs / len(Ns)
        rms = noisy_error_rms(np.array(Ns), d, D, noise)
        floor = failure_floor(np.array(Ns), d, D)
        nb = noise_boundary(d, D, noise, threshold)
        for j, n in enumerate(Ns):
            e = err[j]
            p = float(np.mean(e < threshold))
            rows.append({"K": K, "d": d, "N_k": n, "learner": learner, "D": D, "noise": noise,
                         "threshold": threshold, "trials": trials, "success": p,
                         "success_se": _binomial_se(p, trials),
                         "mean_error": float(e.mean()), "median_error": float(np.median(e)),
                         "theory_success": float(n >= d), "theory_rms_error": float(rms[j]),
                         "theory_floor": float(floor[j]), "noise_boundary": nb,
                         "seconds": secs})
    meta = provenance(kind="molrg-phase", K=K, learner=learner, D=D, noise=noise,
                      threshold=threshold, trials=trials, orthogonal=orthogonal, seed=seed,
                      device=_device.describe_device(dev), train=dict(TRAIN_DEFAULTS, **(train or {}))
                      if learner == "trained" else None,
                      build_seconds=time.perf_counter() - t_all)
    return Table(list(PHASE_COLUMNS), rows, meta)


def error_curve_table(*, d=6, Ns=tuple(range(1, 25)), Ds=(48, 192), noise=DEFAULTS["noise"],
                      trials=40, seed=0, device="auto") -> Table:
    """PCA's (K = 1) subspace error against ``N`` for several ambient dimensions, beside the
    random-completion floor, the worst-case floor, the first-order noise error and the
    theorem's bound (``c1 = 1``, ``||E||_F = noise sqrt(N)``)."""
    Ns = _check_grid("N", Ns)
    dev = _device.resolve_device(device)
    rows = []
    for D in counted(Ds, "dimension D"):
        setting = MoLRG(D, 1, d, noise=noise)
        batch = sim.draw_batch(setting, Ns, trials, seed=seed, device=dev)
        err = sim.subspace_errors(sim.pca(batch.X, batch.mask, d), batch.bases)[:, 0]
        err = err.reshape(len(Ns), trials).cpu().numpy()
        n = np.array(Ns)
        rms = noisy_error_rms(n, d, D, noise)
        floor_r = failure_floor(n, d, D, kind="random")
        floor_w = failure_floor(n, d, D, kind="worst")
        bound = theorem_bound(n, d, noise * np.sqrt(n), normalized=True)
        for j, N in enumerate(Ns):
            e2 = err[j] ** 2
            rows.append({"D": D, "d": d, "N": N, "noise": noise, "trials": trials,
                         "rms_error": float(np.sqrt(e2.mean())),
                         "rms_error_se": float(e2.std(ddof=1) / math.sqrt(trials)
                                               / (2 * max(np.sqrt(e2.mean()), 1e-12))),
                         "mean_error": float(err[j].mean()),
                         "theory_rms_error": float(rms[j]), "floor_random": float(floor_r[j]),
                         "floor_worst": float(floor_w[j]),
                         "theorem_bound": float(bound[j])})
    meta = provenance(kind="molrg-error-curve", d=d, Ds=list(Ds), noise=noise, trials=trials,
                      seed=seed, device=_device.describe_device(dev))
    return Table(["D", "d", "N", "noise", "trials", "rms_error", "rms_error_se", "mean_error",
                  "theory_rms_error", "floor_random", "floor_worst", "theorem_bound"], rows, meta)


def multinomial_table(*, Ks=(2, 3), d=4, Ns=None, D=48, trials=200, threshold=0.1, seed=0,
                      device="auto") -> Table:
    """Noiseless data with multinomial labels: the K-subspaces success rate against the total
    ``N``, beside the exact ``Pr[min_k N_k >= d]``."""
    dev = _device.resolve_device(device)
    rows = []
    for K in counted(Ks, "K"):
        grid = Ns if Ns is not None else list(range(K * d - 1, 5 * K * d + 1, max(1, K * d // 4)))
        grid = _check_grid("N", grid)
        setting = MoLRG(D, K, d, noise=0.0)
        batch = sim.draw_batch(setting, grid, trials, seed=seed, device=dev, multinomial=True)
        U = learn(batch, K, d, "ideal", seed=seed)
        err = sim.subspace_errors(U, batch.bases).max(1).values.reshape(len(grid), trials)
        ok = (err < threshold).double().cpu().numpy()
        enough = (batch.counts.min(1).values >= d).reshape(len(grid), trials).double().cpu().numpy()
        theory = prob_all_components(np.array(grid), d, setting.weights)
        for j, N in enumerate(grid):
            p = float(ok[j].mean())
            rows.append({"K": K, "d": d, "N": N, "trials": trials, "success": p,
                         "success_se": _binomial_se(p, trials),
                         "all_components_enough": float(enough[j].mean()),
                         "theory_success": float(theory[j])})
    meta = provenance(kind="molrg-multinomial", d=d, D=D, trials=trials, threshold=threshold,
                      seed=seed, device=_device.describe_device(dev))
    return Table(["K", "d", "N", "trials", "success", "success_se", "all_components_enough",
                  "theory_success"], rows, meta)


GENERIC_COLUMNS = ("K", "d", "D", "N_k", "N_k_over_d", "score", "copy_fraction",
                   "on_union_fraction", "union_distance", "parameters", "seconds")


def generic_table(*, K=2, ds=(2, 4), Nks=(2, 8, 32, 128), D=16, steps=1500, width=128,
                  depth=3, n_samples=256, sampler_steps=60, seed=0, device="auto",
                  progress=None) -> Table:
    """A generic MLP denoiser (EDM preconditioning and weighting) trained on ``K N_k``
    noiseless MoLRG samples, then sampled; the generalization score of its samples (the
    fraction that are not copies of a training point) and their distance to the union of
    subspaces (:func:`lowdim.simulate.molrg.generalization_report`) against ``N_k`` for several
    ``d``."""
    dev = _device.resolve_device(device)
    for d in ds:  # every setting is validated before any work
        MoLRG(D, K, d)
    rows = map_tasks(generic_fit, [
        {"K": K, "d": d, "D": D, "N_k": nk, "steps": steps, "width": width, "depth": depth,
         "n_samples": n_samples, "sampler_steps": sampler_steps, "seed": seed, "device": device}
        for d in ds for nk in Nks], progress=progress)
    meta = provenance(kind="molrg-generic", K=K, D=D, steps=steps, width=width, depth=depth,
                      n_samples=n_samples, sampler_steps=sampler_steps, seed=seed,
                      device=_device.describe_device(dev), sample_need=sample_need(rows))
    return Table(list(GENERIC_COLUMNS), rows, meta)


def generic_fit(K, d, D, N_k, steps, width, depth, n_samples, sampler_steps, seed, device):
    """One sweep task of :func:`generic_table`: train the generic denoiser on ``K N_k``
    samples, sample it, and report copies and distance to the union (one row)."""
    from lowdim.simulate.sampling import ei_sample
    from lowdim.simulate.score_nets import train_dsm
    from lowdim.theory.sampling import edm_grid

    t0 = time.perf_counter()
    dev = _device.resolve_device(device)
    batch = sim.draw_batch(MoLRG(D, K, d), [N_k], 1, seed=seed)
    X = batch.X[0].cpu()

    def draw(n, gen):
        return X[torch.randint(0, X.shape[0], (n,), generator=gen)]

    trained = train_dsm(draw, D, steps=steps, seed=seed, device=dev, width=width, depth=depth,
                        progress=step_callback("training step"))
    samples = ei_sample(edm_grid(sampler_steps).variances, trained.net.score, n_samples, D,
                        seed=seed, device=dev, progress=step_callback("sampler step")).cpu()
    rep = sim.generalization_report(samples, X, batch.bases[0].cpu())
    return {"K": K, "d": d, "D": D, "N_k": N_k, "N_k_over_d": N_k / d, "score": rep.score,
            "copy_fraction": rep.copy_fraction, "on_union_fraction": rep.on_union_fraction,
            "union_distance": rep.union_distance, "parameters": trained.net.parameter_count,
            "seconds": time.perf_counter() - t0}


def sample_need(rows, level=0.5):
    """Per ``d``: the ``N_k`` where the generalization score first reaches ``level``
    (log-linear interpolation between grid points; ``None`` if never), and the fitted slope
    of ``log N_k*`` against ``log d`` with the constant ``N_k* / d``."""
    out = {}
    for d in sorted({r["d"] for r in rows}):
        pts = sorted((r["N_k"], r["score"]) for r in rows if r["d"] == d)
        need = None
        for (n0, s0), (n1, s1) in zip(pts, pts[1:]):
            if s0 < level <= s1:
                f = (level - s0) / (s1 - s0)
                need = float(np.exp(np.log(n0) + f * (np.log(n1) - np.log(n0))))
                break
        if need is None and pts and pts[0][1] >= level:
            need = float(pts[0][0])
        out[int(d)] = need
    found = {d: n for d, n in out.items() if n is not None}
    slope = None
    if len(found) >= 2:
        ld, ln = np.log(list(found)), np.log(list(found.values()))
        slope = float(np.polyfit(ld, ln, 1)[0])
    ratios = {d: n / d for d, n in found.items()}
    return {"need": out, "slope": slope, "need_over_d": ratios}



# the checks of validate, in order; each adds its rows through add(check, measured, expected, ok)
def _check_ideal_boundary(report, trials, seed, device):
    # 1. ideal learners: sharp boundary at N_k = d that does not move with D.  The verdict
    #    is on the success probability: a cell fails only when it is more than 2 SE beyond
    #    the bound (at N_k = d + 2 the noise keeps a few trials above the threshold).
    for K in (1, 2, 3):
        for D in (48, 192):
            tab = phase_table(K, "ideal", ds=(3, 6), Ns=(1, 2, 4, 5, 8, 10, 12), D=D,
                              trials=int(2.5 * trials), seed=seed, device=device)
            below = [r for r in tab.rows if r["N_k"] <= r["d"] - 1]
            above = [r for r in tab.rows if r["N_k"] >= r["d"] + 2]
            hi = max(below, key=lambda r: r["success"])
            lo = min(above, key=lambda r: r["success"])
            ok = (rates_within(below, 0.1, at_least=False)
                  and rates_within(above, 0.9, at_least=True))
            report.add(holds(
                f"ideal learner, K = {K}, D = {D}: success at N_k <= d-1 / N_k >= d+2", ok,
                f"max {hi['success']:.2f} / min {lo['success']:.2f} +- {lo['success_se']:.2f}",
                "<= 0.1 / >= 0.9 (2 SE)"))


def _check_trained_k1(report, trials, seed, device):
    # 2. trained K = 1 against PCA, cell by cell
    Ns = tuple(range(2, 13))
    pca_t = phase_table(1, "ideal", ds=(3, 6), Ns=Ns, trials=trials, seed=seed, device=device)
    dae_t = phase_table(1, "trained", ds=(3, 6), Ns=Ns, trials=trials, seed=seed, device=device)
    diff = [abs(a["mean_error"] - b["mean_error"]) for a, b in zip(pca_t.rows, dae_t.rows)]
    worst = int(np.argmax(diff))
    at = pca_t.rows[worst]
    report.add(holds("trained K = 1 denoiser vs PCA: |mean error difference| per cell",
                     max(diff) <= 0.05, f"max {max(diff):.3f} (d = {at['d']}, N = {at['N_k']})",
                     "<= 0.05"))


def _check_trained_k2(report, trials, seed, device):
    # 3. trained K = 2 denoiser at N_k >= 2d
    tab = phase_table(2, "trained", ds=(3, 5), Ns=(6, 8, 10, 12), trials=trials, seed=seed,
                      device=device)
    rates = [r["success"] for r in tab.rows if r["N_k"] >= 2 * r["d"]]
    report.add(holds("trained K = 2 denoiser: success at N_k >= 2d", min(rates) >= 0.8,
                     f"min {min(rates):.2f}", ">= 0.8"))


def _check_noise_and_floor(report, trials, seed, device):
    # 4. first-order noise error of PCA
    curve = error_curve_table(d=6, Ns=(10, 14, 20), Ds=(48,), trials=4 * trials, seed=seed,
                              device=device)
    rel = [abs(r["rms_error"] / r["theory_rms_error"] - 1) for r in curve.rows]
    report.add(holds("PCA rms error vs first-order noise theory (N = d+4 ... d+14)",
                     max(rel) <= 0.15, f"max rel. diff {max(rel):.2f}",
                     "<= 0.15 (first order; 4 SE at 160 trials)"))
    # 5. noiseless failure floor below the threshold
    low = error_curve_table(d=6, Ns=(1, 3, 5), Ds=(48,), noise=0.0, trials=4 * trials,
                            seed=seed, device=device)
    rel = [abs(r["rms_error"] / r["floor_random"] - 1) for r in low.rows]
    report.add(holds("noiseless PCA below N = d vs random-completion floor", max(rel) <= 0.05,
                     f"max rel. diff {max(rel):.3f}", "<= 0.05"))


def _check_multinomial(report, trials, seed, device):
    # 6. multinomial labels
    mult = multinomial_table(Ks=(2, 3), d=4, trials=5 * trials, seed=seed, device=device)
    z = [abs(r["success"] - r["theory_success"]) / r["success_se"] for r in mult.rows]
    report.add(holds("noiseless K-subspaces, multinomial labels vs Pr[min N_k >= d]",
                     max(z) <= 3.5, f"max |z| {max(z):.1f} over {len(z)} sizes", "<= 3.5"))


def _check_invalid_settings(report, trials, seed, device):
    # 7. invalid settings
    bad = 0
    for kw in ({"D": 4, "K": 1, "d": 5}, {"D": 10, "K": 3, "d": 4}, {"D": 10, "K": 1, "d": 2,
                                                                     "noise": -1.0}):
        try:
            MoLRG(**kw)
        except ValueError:
            bad += 1
    try:
        sim.draw_batch(MoLRG(10, 1, 2), [0], 1)
    except ValueError:
        bad += 1
    report.add(holds("invalid settings (d > D, K d > D, noise < 0, N < 1) raise ValueError",
                     bad == 4, f"{bad}/4", "4/4"))


def validation_table(*, trials=40, seed=0, device="auto", progress=None) -> Table:
    """The claims of the issue, measured with verdicts (a few minutes on two CPU cores)."""
    t0 = time.perf_counter()
    steps = (_check_ideal_boundary, _check_trained_k1, _check_trained_k2,
             _check_noise_and_floor, _check_multinomial, _check_invalid_settings)
    report = run_checks(steps, trials, seed, device, progress=progress)
    meta = provenance(kind="molrg-validate", trials=trials, seed=seed, summary=report.summary(),
                      device=_device.describe_device(_device.resolve_device(device)),
                      build_seconds=time.perf_counter() - t0)
    return report.table(meta)


# --------------------------------------------------------------------------- bench
def bench_groups(quick: bool, device: str) -> list:
    """The family's ``lowdim bench`` row: one cell column of the phase diagram (K = 2,
    d = 6, N_k = 1..15, 40 trials: draw, K-subspaces with 4 restarts, errors) against one
    batched SVD of the same data, the cost of a single PCA pass; the ratio counts the
    K-subspaces iterations."""
    from .timing import BenchGroup

    return [BenchGroup(lambda: _bench_rows(device), "1 (small work capped)")]


def _bench_rows(device):
    import torch

    from .timing import bench_row, best_time

    dev = _device.resolve_device(device)
    setting = MoLRG(48, 2, 6)
    Ns, trials = list(range(1, 16)), 40
    secs, _ = best_time(lambda: phase_errors(setting, Ns, trials, "ideal", 0, str(dev), None),
                        repeat=2)
    batch = sim.draw_batch(setting, Ns, trials, seed=0, device=dev)
    with _device.one_thread():   # the floor on the threads the learners use
        floor, _ = best_time(lambda: torch.linalg.svd(batch.X, full_matrices=False), repeat=3)
    return [bench_row(f"molrg phase column, K=2, D=48, d=6, N_k=1..15, {trials} trials, "
                      f"{dev.type}", secs, floor, "one batched SVD of the data (a PCA pass)")]
