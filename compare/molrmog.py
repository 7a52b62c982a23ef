"""MoLR-MoG experiments (Yang et al. 2026): the estimation bound as a table, the exact score
against autograd, the three score models side by side, learning curves against n, and the
local rate of gradient descent; ``validation_table`` gathers the checks behind
``lowdim molrmog validate``."""
from __future__ import annotations

import math
import time

import numpy as np

from lowdim.theory.molrmog import (BoundSetting, estimation_error_bound, estimation_gap,
                            integrated_bound, local_hessian_spectrum, parameter_counts,
                            process_coefficients, random_molrmog)

from ._lazy import LazyModule
from .progress import counted, step_callback
from .provenance import provenance
from .sweep import map_tasks
from .table import Table
from .verdict import Check, Report, compare, holds

# imported at first use: the theory-only actions of this module need neither torch nor
# the simulations
torch = LazyModule("torch")
sim = LazyModule("lowdim.simulate.molrmog")

__all__ = ["DEFAULT_SPEC", "EVAL_TIMES", "make_spec", "bound_table", "score_check",
           "compare_models", "learning_curve", "gd_table", "validation_table", "weighted_error",
           "separation_ratio", "GD_SEPARATION", "GD_SPEC"]

#: The synthetic default: D = 16, two orthogonal 4-dimensional subspaces, four rank-one modes
#: each, latent means of norm 2.5 in random directions.
DEFAULT_SPEC = {"D": 16, "K": 2, "d": 4, "n_modes": 4, "rank": 1, "separation": 5.0, "seed": 3}
#: The gradient-descent setting: the paper's optimization case (two opposite rank-one modes
#: per subspace, +-mu_k), D = 10, two orthogonal 4-dimensional subspaces, ||mu|| = 6.
GD_SPEC = {"D": 10, "K": 2, "d": 4, "n_modes": 2, "rank": 1, "separation": 12.0, "seed": 2}
#: Times of the score-error metric: 8 log-spaced points on the training window [1e-3, 5].
EVAL_TIMES = np.geomspace(1e-3, 5.0, 8)
WINDOW = (1e-3, 5.0)
#: Separation ratio above which the hard-gate Hessian is expected to hold.
GD_SEPARATION = 6.0


def make_spec(**kw):
    """``random_molrmog`` with :data:`DEFAULT_SPEC` defaults overridden by ``kw``."""
    args = dict(DEFAULT_SPEC, **kw)
    return random_molrmog(args.pop("D"), args.pop("K"), args.pop("d"), args.pop("n_modes"), **args)


def weighted_error(err: sim.ScoreError):
    """``mean_t gamma_t^2 E||s - s*||^2`` over a log-spaced time grid (the log-uniform,
    ``gamma^2``-weighted score error the DSM loss trains) and its standard error."""
    _, g2 = process_coefficients(err.t)
    return float(np.mean(g2 * err.mse)), float(np.sqrt(np.sum((g2 * err.se) ** 2)) / len(err.t))


def separation_ratio(spec, t):
    """``s_t min(min ||mu||, min_{l != l'} ||mu_l - mu_l'|| / 2) / gamma_t``: how far the
    closest competing explanation of a point lies, in noise units (hard gates need it large)."""
    s, g2 = process_coefficients(t)
    m = math.inf
    for mu in spec.means:
        m = min(m, float(np.min(np.linalg.norm(mu, axis=1))))
        for i in range(len(mu)):
            for j in range(i + 1, len(mu)):
                m = min(m, 0.5 * float(np.linalg.norm(mu[i] - mu[j])))
    return s * m / np.sqrt(g2)


# ----------------------------------------------------------------------------- bound
BOUND_COLUMNS = ["t", "n", "N1", "N2", "R", "B_mu", "gap", "error_bound", "complexity",
                 "confidence"]


def bound_table(n_modes, dims, ns, ts=(0.1, 0.5, 1.0), *, R=5.0, B_mu=0.0, C1=1.0, C2=None,
                eta=0.05, D=None, learned_bases=False, window=True, delta=1e-3, T=5.0,
                weighting="gamma2", measure="log-uniform") -> Table:
    """The estimation bound per ``t`` and ``n`` (``gap = eps_gen(t)``, ``error_bound = 2 gap``,
    with its complexity and confidence terms), plus the window average when ``window``."""
    t0 = time.perf_counter()
    setting = BoundSetting(tuple(n_modes), tuple(dims), R=R, B_mu=B_mu, C1=C1, C2=C2, eta=eta, D=D,
                           learned_bases=learned_bases)
    rows = []
    for t in ts:
        a, b, c = setting.coefficients(float(t))
        for n in ns:
            rows.append({"t": float(t), "n": int(n), "N1": setting.N1, "N2": setting.N2, "R": R,
                         "B_mu": B_mu, "gap": float(estimation_gap(setting, t, n)),
                         "error_bound": float(estimation_error_bound(setting, t, n)),
                         "complexity": float(a) / math.sqrt(n),
                         "confidence": float(b + c) / math.sqrt(n)})
    if window:
        ib = integrated_bound(setting, np.asarray(ns, dtype=float), delta=delta, T=T,
                              weighting=weighting, measure=measure)
        for n, v in zip(ns, ib.value):
            rows.append({"t": f"[{delta:g}, {T:g}]", "n": int(n), "N1": setting.N1,
                         "N2": setting.N2, "R": R, "B_mu": B_mu, "gap": float(v) / 2,
                         "error_bound": float(v), "complexity": ib.complexity / 2 / math.sqrt(n),
                         "confidence": ib.confidence / 2 / math.sqrt(n)})
    meta = provenance(kind="molrmog-bound", build_seconds=time.perf_counter() - t0,
                      weighting=weighting, measure=measure, C1=C1, C2=C2, eta=eta,
                      source="Yang et al. 2026 Section 5 [paper: YLJ26 form]; constants "
                             "research note molr_mog.md 5.3 [reconstructed]")
    return Table(list(BOUND_COLUMNS), rows, meta)


# ----------------------------------------------------------------------------- exact score
def score_check(spec, ts=(1e-3, 0.01, 0.1, 1.0, 5.0), *, n=256, seed=0) -> list:
    """Largest relative difference between :func:`lowdim.simulate.molrmog.exact_score` and autograd of
    the dense log-density, per ``t`` (float64)."""
    rows = []
    gen = torch.Generator().manual_seed(seed)
    x0, _, _ = sim.sample(spec, n, gen)
    for t in ts:
        xt, _ = sim.noised(x0, float(t), gen)
        xt = xt.clone().requires_grad_()
        (grad,) = torch.autograd.grad(sim.log_density_dense(spec, xt, float(t)).sum(), xt)
        ex = sim.exact_score(spec, xt.detach(), float(t))
        rel = float(torch.max(torch.linalg.norm(grad - ex, dim=1) / torch.linalg.norm(grad, dim=1)))
        rows.append({"t": float(t), "max_rel_diff": rel})
    return rows


# ----------------------------------------------------------------------------- three models
MODEL_COLUMNS = ["model", "parameters", "score_error", "score_error_se", "rel_error_small_t",
                 "mmd", "mmd_se", "mode_distance", "on_mode", "mode_tv", "train_seconds"]
MODELS = ("latent MoG", "latent Gaussian", "generic")


def compare_models(spec, *, n_train=4096, steps=1500, generic_factor=10, seed=0, device="auto",
                   n_eval=2000, n_samples=2000, sample_steps=100, progress=None):
    """Train the three score models on the same ``n_train`` draws (DSM, :func:`train_dsm`):
    the MoE-latent MoG network (k-means start), the MoE-latent Gaussian network (PCA start)
    and a generic network with ``generic_factor`` times the MoG network's parameters; measure
    score errors against the exact score and the quality of ``n_samples`` reverse-time
    samples.  Returns ``(table, samples)``, ``samples`` a dict of CPU tensors including
    ``"data"`` (fresh exact draws)."""
    gen = torch.Generator().manual_seed(seed)
    x_train, _, _ = sim.sample(spec, n_train, gen)
    ref, _, _ = sim.sample(spec, n_samples, torch.Generator().manual_seed(seed + 10_000))
    ref2, _, _ = sim.sample(spec, n_samples, torch.Generator().manual_seed(seed + 20_000))
    counts = parameter_counts(spec.n_modes, spec.dims, ranks=spec.ranks)
    nets = {"latent MoG": (sim.mog_network(spec), 1e-2),
            "latent Gaussian": (sim.gaussian_network(spec), 1e-2),
            "generic": (sim.generic_network(spec.D, generic_factor * counts["latent_mog"]), 3e-3)}
    small = EVAL_TIMES[:3]
    rows, samples = [], {"data": ref}
    floor = sim.mmd(ref2, ref)
    for name, (net, lr) in counted(nets.items(), "model", progress):
        tr = sim.train_dsm(net, x_train, steps=steps, batch=256, lr=lr, seed=seed, device=device,
                           kind=name, progress=step_callback("training step"))
        err = sim.score_error(tr.model, spec, EVAL_TIMES, n=n_eval, seed=seed, device=device)
        w, w_se = weighted_error(err)
        xs = sim.reverse_sample(tr.model, spec.D, n_samples, steps=sample_steps, seed=seed,
                                device=device, progress=step_callback("sampling step")).cpu()
        m = sim.mmd(xs, ref, bandwidth=floor.bandwidth)
        dist = sim.mode_distance(spec, xs)
        _, tv = sim.mode_histogram(spec, xs)
        rows.append({"model": name, "parameters": tr.parameter_count, "score_error": w,
                     "score_error_se": w_se, "rel_error_small_t": float(np.mean(err.rel[:len(small)])),
                     "mmd": m.value, "mmd_se": m.se, "mode_distance": float(dist.median()),
                     "on_mode": float((dist < 0.25).double().mean()), "mode_tv": tv,
                     "train_seconds": tr.seconds, "_err": err})
        samples[name] = xs
    meta = {"spec": spec.describe(), "n_train": n_train, "steps": steps, "seed": seed,
            "R": float(torch.linalg.norm(x_train, dim=1).max()),
            "mmd_floor": floor.value, "mmd_floor_se": floor.se, "mmd_bandwidth": floor.bandwidth,
            "eval_times": EVAL_TIMES.tolist(),
            "note": "score_error: mean over 8 log-spaced t in [1e-3, 5] of gamma_t^2 E||s - s*||^2; "
                    "rel_error_small_t: E||s - s*||^2 / E||s*||^2 averaged over t <= 0.01; "
                    "on_mode: fraction of samples within 0.25 of a mode's support"}
    return Table(list(MODEL_COLUMNS), rows, meta), samples


# ----------------------------------------------------------------------------- learning curves
def learning_curve(configs, ns, seeds, *, steps=600, batch=512, lr=1e-3, n_eval=1000,
                   device="auto", progress=None) -> list:
    """Score error of the MoE-latent MoG network against the training size ``n``.

    Each fit starts at the true parameters and runs Adam (``steps``, ``lr``, cosine decay) on
    the DSM loss over ``n`` fixed draws: the curve measures the statistical error of the
    trained model, not the optimizer's search (local minima are avoided by design).
    ``n = None`` (infinite data, fresh draws every step) gives the optimizer's floor.
    ``configs``: dicts of :func:`make_spec` arguments.  One row per (config, n, seed).
    """
    items = [{"config": dict(cfg), "n": None if n is None else int(n), "seed": seed,
              "steps": steps, "batch": batch, "lr": lr, "n_eval": n_eval, "device": device}
             for cfg in configs for n in ns for seed in seeds]
    for cfg in configs:  # every config is validated before any work
        make_spec(**cfg)
    return map_tasks(learning_curve_fit, items, progress=progress)


def learning_curve_fit(config, n, seed, steps, batch, lr, n_eval, device) -> dict:
    """One sweep task of :func:`learning_curve`: fit and measure for one (config, n, seed)."""
    spec = make_spec(**config)
    net = sim.mog_network(spec)
    net.set_parameters(spec.means, spec.factors, spec.mode_weights)
    if n is None:
        data = lambda k, g, spec=spec: sim.sample(spec, k, g)[0]  # noqa: E731
        radius_of = sim.sample(spec, 4096, torch.Generator().manual_seed(1))[0]
    else:
        data = sim.sample(spec, int(n), torch.Generator().manual_seed(1000 * seed + 17))[0]
        radius_of = data
    tr = sim.train_dsm(net, data, steps=steps, batch=batch, lr=lr, seed=seed, device=device,
                       init="keep", progress=step_callback("training step"))
    err = sim.score_error(tr.model, spec, EVAL_TIMES, n=n_eval, seed=seed + 99, device=device)
    w, w_se = weighted_error(err)
    return {"D": spec.D, "K": spec.K, "d": spec.dims[0], "n_modes": spec.n_modes[0],
            "N1": sum(spec.n_modes), "N2": sum(a * b for a, b in zip(spec.n_modes, spec.dims)),
            "n": None if n is None else int(n), "seed": seed, "error": w, "error_se": w_se,
            "R": float(torch.linalg.norm(radius_of, dim=1).max()), "B_mu": spec.mean_bound}


# ----------------------------------------------------------------------------- gradient descent
GD_COLUMNS = ["t", "separation_ratio", "kappa_theory", "rate_theory", "kappa_measured",
              "rate_measured", "rel_diff", "speed_rel_diff", "verdict", "reason", "counted"]


def gd_table(spec, ts, *, n_mc=8000, seed=0, form="woodbury", tol=0.10, progress=None) -> Table:
    """Gradient descent near the truth at each ``t``: the predicted ``kappa`` and rate
    (:func:`lowdim.theory.molrmog.local_hessian_spectrum`) against the autograd Hessian's ``kappa``
    and the rate fitted to the iterates of GD run with the theorem's step
    ``2 / (alpha + L)`` (from the autograd Hessian's extreme eigenvalues).  Verdict
    ``agree`` when the rate is within ``tol`` relative, only expected where the separation
    ratio is at least :data:`GD_SEPARATION` (hard gates); below it ``outside`` marks the
    regime.  ``speed_rel_diff`` compares ``1 - rate`` (the stricter test when the rate is
    close to 1).  Each row's ``verdict`` is the package's band rule at allowance ``tol``
    relative (:func:`lowdim.compare.verdict.compare`); rows below the separation carry
    ``counted = False``."""
    t0 = time.perf_counter()
    dims, weights = [], []
    for k in range(spec.K):
        for l in range(spec.n_modes[k]):
            dims.append(spec.dims[k])
            weights.append(spec.subspace_weights[k] * spec.mode_weights[k][l])
    rows = []
    for t in counted(ts, "time t", progress):
        pred = local_hessian_spectrum(float(t), dims, weights, form=form)
        ev = sim.empirical_hessian(spec, float(t), n_mc=n_mc, seed=seed, form=form,
                                   progress=step_callback("Hessian row"))
        kappa = float(ev[-1] / ev[0])
        iters = int(min(4000, max(60, 12.0 / (1.0 - (kappa - 1) / (kappa + 1)))))
        tr = sim.gradient_descent(spec, float(t), 2.0 / (ev[0] + ev[-1]), iterations=iters,
                                  n_mc=n_mc, seed=seed, form=form,
                                  progress=step_callback("GD iteration"))
        rate = tr.rate
        ratio = float(separation_ratio(spec, float(t)))
        rel = abs(rate - pred.rate) / pred.rate
        check = compare(f"GD rate at t = {float(t):g}", rate, pred.rate, rel_tol=tol)
        if ratio < GD_SEPARATION:
            check = check.not_counted(f"outside the separated regime (ratio < {GD_SEPARATION:g})")
        rows.append({"t": float(t), "separation_ratio": ratio, "kappa_theory": pred.kappa,
                     "rate_theory": pred.rate, "kappa_measured": kappa, "rate_measured": rate,
                     "rel_diff": rel,
                     "speed_rel_diff": abs((1 - rate) - (1 - pred.rate)) / (1 - pred.rate),
                     "verdict": check.verdict, "reason": check.reason,
                     "counted": check.counted})
    meta = provenance(kind="molrmog-gd", spec=spec.describe(), n_mc=n_mc, form=form, tol=tol,
                      build_seconds=time.perf_counter() - t0)
    return Table(list(GD_COLUMNS), rows, meta)


# ----------------------------------------------------------------------------- validation
def validation_table(*, n_train=4096, steps=1500, gd_times=(0.1, 0.2, 0.3), seed=0,
                     device="auto", progress=None) -> Table:
    """The claims of the issue, each measured on the default spec with a verdict."""
    t0 = time.perf_counter()
    spec = make_spec()
    report = Report()

    chk = score_check(spec)
    worst = max(r["max_rel_diff"] for r in chk)
    report.add(holds("exact score = autograd of log p_t (t = 1e-3 ... 5)", worst <= 1e-8,
                     f"{worst:.1e}", "<= 1e-8"))
    table, _ = compare_models(spec, n_train=n_train, steps=steps, seed=seed, device=device)
    by = {r["model"]: r for r in table.rows}
    mog, gau, gen = by["latent MoG"], by["latent Gaussian"], by["generic"]
    report.add(holds(
        "MoG score error well below Gaussian's",
        mog["score_error"] + 3 * mog["score_error_se"]
        < (gau["score_error"] - 3 * gau["score_error_se"]) / 5,
        f"{mog['score_error']:.3g} vs {gau['score_error']:.3g}",
        "MoG < Gaussian / 5, beyond 3 SE"))
    report.add(holds(f"MoG net ({mog['parameters']} parameters) vs generic net "
                     f"({gen['parameters']} parameters)",
                     mog["score_error"] <= 3 * gen["score_error"],
                     f"{mog['score_error']:.3g} vs {gen['score_error']:.3g}",
                     "MoG <= 3 x generic"))
    report.add(holds("MoG samples on the modes", mog["on_mode"] >= 0.9,
                     f"{mog['on_mode']:.3f} (Gaussian {gau['on_mode']:.3f})", ">= 0.9"))
    setting = BoundSetting(spec.n_modes, spec.dims, R=table.meta["R"], B_mu=spec.mean_bound)
    ib = integrated_bound(setting, n_train, delta=WINDOW[0], T=WINDOW[1], weighting="gamma2",
                          measure="log-uniform")
    report.add(holds("bound above the trained MoG score error",
                     float(ib.value) >= mog["score_error"],
                     f"{float(ib.value):.3g} vs {mog['score_error']:.3g}", "bound >= error"))
    if progress:
        progress(1, 2)
    gd = gd_table(make_spec(**GD_SPEC), gd_times, seed=seed)
    for r in gd.rows:
        # judged once in gd_table; every time of the validation is counted
        report.add(Check(f"GD rate at t = {r['t']:g} (separation {r['separation_ratio']:.1f})",
                         r["rate_measured"], r["rate_theory"], allowance=0.10 * r["rate_theory"],
                         verdict=r["verdict"], reason=r["reason"]))
    if progress:
        progress(2, 2)
    report.text = f"{report.counts_text()} ({time.perf_counter() - t0:.0f} s)"
    models = [{k: v for k, v in r.items() if not k.startswith("_")} for r in table.rows]
    meta = provenance(kind="molrmog-validate", spec=spec.describe(), n_train=n_train, steps=steps,
                      seed=seed, models=models, gd=gd.rows, score_check=chk, summary=report.summary(),
                      build_seconds=time.perf_counter() - t0)
    return report.table(meta)


# --------------------------------------------------------------------------- bench
def bench_groups(quick: bool, device: str) -> list:
    """The family's ``lowdim bench`` row: the exact MoE score of a three-subspace, four-mode
    MoLR-MoG at 8192 points against the projections ``x U_k`` onto the subspaces, the least
    any score of that form computes."""
    from .timing import BenchGroup

    return [BenchGroup(lambda: _bench_rows(device), "1 (small work capped)")]


def _bench_rows(device):
    import torch

    from lowdim.simulate.device import make_generator, one_thread, resolve_device
    from lowdim.theory.molrmog import random_molrmog

    from .timing import bench_row, best_time

    dev = resolve_device(device)
    spec = random_molrmog(64, 3, 4, 4, seed=0)
    x = sim.sample(spec, 8192, make_generator(dev, 0, "bench"), device=dev)
    if isinstance(x, tuple):
        x = x[0]
    bases = torch.cat([torch.tensor(np.array(u), dtype=x.dtype, device=dev)
                       for u in spec.bases], dim=1)
    secs, _ = best_time(lambda: sim.exact_score(spec, x, 0.5), repeat=20)
    with one_thread():   # the floor on the one thread the exact score uses
        floor, _ = best_time(lambda: x @ bases, repeat=20)
    return [bench_row(f"molrmog exact score, D=64, K=3, d=4, 4 modes, 8192 points, {dev.type}",
                      secs, floor, "projections onto the subspaces")]
