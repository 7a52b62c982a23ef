"""The figure registry: one id per figure, its paper, the claim it shows, and separate data
and plotting steps.  ``build_figures`` writes ``ID.png``, ``ID.csv`` and ``ID.json`` per
figure and regenerates the gallery ``README.md`` of the output directory."""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

from . import (localized_figures, molrg_figures, molrmog_digits, molrmog_figures, rf_figures,
               rf_manifold_figures, sampling_figures)
from .atomic import write_with
from .cache import ResultCache, task_key
from .provenance import provenance
from .sweep import Runner, SerialExecutor, device_kind, make_executor, using

__all__ = ["FigureSpec", "REGISTRY", "PRESETS", "build_one", "build_figures", "write_gallery"]

PRESETS = ("quick", "paper")


@dataclass(frozen=True)
class FigureSpec:
    id: str
    title: str
    paper: str
    claim: str
    build: Callable
    plot: Callable


_GVM25 = "GVM25"  # George, Veiga, Macris 2025, arXiv:2502.00336
_PROJ = "this package"
_GM26 = "GM26"  # George, Macris 2026, arXiv:2603.22962
_WHT24 = "WHT24"  # Wang, He, Tao 2024, arXiv:2406.12839
_YLJ26 = "YLJ26"  # Yang, Li, Jiang, Chen, Li 2026, arXiv:2601.01475
_WZZ24 = "WZZ24"  # Wang, Zhang, Zhang, Chen, Ma, Qu 2024, arXiv:2409.02426
_GLMRT25 = "GLMRT25"  # Gottwald, Liu, Marzouk, Reich, Tong 2025, arXiv:2505.04417

REGISTRY: dict[str, FigureSpec] = {}


def _register(spec: FigureSpec):
    REGISTRY[spec.id] = spec


_register(FigureSpec(
    "gvm25-m1-vs-minf", "Test and train error against psi_p, m = 1 and m = inf", _GVM25,
    "m = 1 has an interpolation peak at psi_p = psi_n; m = inf has none and a single test-error "
    "minimum below psi_n, while its train error drops for psi_p > psi_n (memorization).",
    rf_figures.build_m1_vs_minf, rf_figures.plot_m1_vs_minf))
_register(FigureSpec(
    "gvm25-finite-m", "Finite m: the interpolation peak sits at psi_p = m psi_n", _GVM25,
    "With m noise samples per data point the test error peaks at psi_p = m psi_n; the peak "
    "moves right and fades as m grows.",
    rf_figures.build_finite_m, rf_figures.plot_finite_m))
_register(FigureSpec(
    "gvm25-phase-diagram", "Generalization gap over (psi_n, psi_p)", _GVM25,
    "The train-test gap opens for p > n (memorization) and stays small for p < n "
    "(generalization); more noise samples widen the memorization region's gap.",
    rf_figures.build_phase_diagram, rf_figures.plot_phase_diagram))
_register(FigureSpec(
    "rf-m-approach", "Errors against 1/m approach the m = inf theory", _PROJ,
    "The finite-m theory and simulation converge to the m = inf theory linearly in 1/m.",
    rf_figures.build_m_approach, rf_figures.plot_m_approach))
_register(FigureSpec(
    "rf-finite-size", "Finite-size deviations shrink like 1/d; the relu mean spike too", _PROJ,
    "Simulation minus theory decays like 1/d, so the theory is the d -> inf limit; a "
    "non-centred activation differs from its centred version by O(1/d) only.",
    rf_figures.build_finite_size, rf_figures.plot_finite_size))
_register(FigureSpec(
    "rf-validation", "Validation table: theory against simulation", _PROJ,
    "tanh and relu, m in {1, 4, large}, t in {0.01, 0.1, 1}: simulation agrees with the theory "
    "within max(3 SE, 3 %) away from interpolation peaks.",
    rf_figures.build_validation, rf_figures.plot_validation))

_register(FigureSpec(
    "gm26-learning-curves", "Linear manifold: test and train errors against n/d", _GM26,
    "Test (solid) and train (dashed) errors of a relu random-features score on linear-manifold "
    "data, with the test error of the exact score (dotted); simulation at psi_d = 0.25.",
    rf_manifold_figures.build_learning_curves, rf_manifold_figures.plot_learning_curves))
_register(FigureSpec(
    "gm26-score-errors", "Score errors on linear and non-linear manifolds", _GM26,
    "Score error of a relu random-features score against n/d at t = 0.001 (solid) and "
    "t = 0.1 (dashed) for several psi_d, linear and tanh manifolds; simulations at "
    "psi_d = 0.25 (hidden manifold: test error minus a GAMP estimate of C_t).",
    rf_manifold_figures.build_score_errors, rf_manifold_figures.plot_score_errors))
_register(FigureSpec(
    "gm26-sample-complexity", "Sample complexity scales with the intrinsic dimension", _GM26,
    "For linear manifolds the on-manifold score error collapses against n/D and n* grows "
    "like D at fixed d; on a non-linear (hidden) manifold the whole score error needs n ~ d.",
    rf_manifold_figures.build_sample_complexity, rf_manifold_figures.plot_sample_complexity))
_register(FigureSpec(
    "gm26-hidden-manifold", "Non-linear manifold: theory against simulation", _GM26,
    "relu features on a tanh hidden manifold: the Gaussian-equivalent theory meets the "
    "finite-size simulation.",
    rf_manifold_figures.build_hidden_manifold, rf_manifold_figures.plot_hidden_manifold))
_register(FigureSpec(
    "gm26-hidden-finite-size", "Hidden manifold: simulations approach the theory as d grows",
    _PROJ, "The deviation of hidden-manifold simulations from the Gaussian-equivalent theory "
    "shrinks with d; the gap at the largest d is stated.",
    rf_manifold_figures.build_hidden_finite_size, rf_manifold_figures.plot_hidden_finite_size))

_register(FigureSpec(
    "gm26-validation", "Validation table on manifold data: theory against simulation", _PROJ,
    "Linear-manifold and subspace data (psi_d = 0.25), tanh and relu features, m in {1, 4, 32}: "
    "simulation against theory within max(3 SE, 3 %), raw at d and after the 1/d "
    "extrapolation.",
    rf_manifold_figures.build_validation, rf_manifold_figures.plot_validation))

_SF = sampling_figures
_register(FigureSpec(
    "wht24-bound-terms", "VE sampling: every bound term against the number of steps", _WHT24,
    "The bound and the path KL it controls decay like 1/N; the KL of what is sampled decays "
    "like 1/N^2, for bimodal as for Gaussian data; bound >= path KL >= sampled KL everywhere.",
    _SF.build_bound_terms, _SF.plot_bound_terms))
_register(FigureSpec(
    "wht24-rho", "EDM's polynomial exponent rho: bound, path KL and sampled KL", _WHT24,
    "The bound's E_D falls monotonically towards the geometric limit; the path KL has its "
    "minimum near the bound's rho* = ln(smax/smin)/2; the sampled KL's minimum depends on the "
    "data.",
    _SF.build_rho, _SF.plot_rho))
_register(FigureSpec(
    "wht24-weightings", "Training weightings and score-error amplification", _WHT24,
    "EDM's total weighting is bell-shaped in log sigma, Song's is 1/sigma; with EDM's "
    "weighting imposed, EDM's grid amplifies a training error less than the geometric grid.",
    _SF.build_weightings, _SF.plot_weightings))
_register(FigureSpec(
    "wht24-ranking", "Which schedule wins as the score error grows", _WHT24,
    "With an exact score the geometric grid samples better; past a score-error size EDM's "
    "rho = 7 grid does; DSM-trained networks show where real training errors fall.",
    _SF.build_ranking, _SF.plot_ranking))
_register(FigureSpec(
    "wht24-dimension", "The sampling error grows linearly in d", _WHT24,
    "At fixed N the KL of what is sampled (Gaussian data) and the path KL of a mixture grow "
    "linearly in d; fitted slopes against the per-coordinate values.",
    _SF.build_dimension, _SF.plot_dimension))


_MF = molrmog_figures
_register(FigureSpec(
    "ylj26-generation", "MoLR-MoG: three score models on multi-modal latents", _YLJ26,
    "The MoE-latent MoG network (72 parameters) has a score error orders of magnitude below the "
    "MoE-latent Gaussian network's and the generic network's (10x the parameters), and only its "
    "samples land on the modes.",
    _MF.build_generation, _MF.plot_generation))
_register(FigureSpec(
    "ylj26-learning-curves", "MoLR-MoG: score error against n, in D and in sum n_k d_k", _YLJ26,
    "The trained MoG network's score error falls with n faster than the bound's n^-1/2, does "
    "not move with the ambient dimension D, and stays far below the (vacuous) bound.",
    _MF.build_learning_curves, _MF.plot_learning_curves))
_register(FigureSpec(
    "ylj26-gd-rate", "MoLR-MoG: local linear convergence of gradient descent", _YLJ26,
    "With well-separated modes gradient descent near the truth contracts at (kappa-1)/(kappa+1) "
    "with kappa from the block-diagonal Hessian (U block as derived here); the prediction "
    "drifts once the modes overlap in noise units.",
    _MF.build_gd_rate, _MF.plot_gd_rate))

_register(FigureSpec(
    "ylj26-digits", "MoLR-MoG on scikit-learn's 8x8 digits: one subspace per class", _YLJ26,
    "On class-PCA subspaces both structured networks generate recognisable digits (classifier "
    "confidence near that of held-out digits) and the MoG network's held-out denoising loss is "
    "at most the Gaussian network's; the generic network with 10x the parameters lags at this "
    "training length.",
    molrmog_digits.build_digits, molrmog_digits.plot_digits))

_register(FigureSpec(
    "wzz24-phase", "MoLRG: phase transition of subspace recovery at N_k = d", _WZZ24,
    "PCA (K = 1), K-subspaces (K = 2, 3) and the low-rank denoiser trained on the denoising "
    "loss all switch from failure to success at N_k = d samples per component, smeared by the "
    "noise just above it (dashed: where the first-order error reaches the threshold).",
    molrg_figures.build_phase, molrg_figures.plot_phase))
_register(FigureSpec(
    "wzz24-recovery", "MoLRG: subspace error against N, and multinomial labels", _WZZ24,
    "Below N = d PCA's error sits on the random-completion floor, above it on the first-order "
    "noise error, in every ambient dimension D; with multinomial labels the success rate is the "
    "exact probability that every component gets N_k >= d.",
    molrg_figures.build_recovery, molrg_figures.plot_recovery))

_register(FigureSpec(
    "wzz24-generic", "MoLRG: a generic network's sample need against d", _WZZ24,
    "A generic MLP denoiser trained on N_k samples per component copies its training points at "
    "small N_k and stops copying as N_k / d grows; the N_k where copies fall below half, and "
    "its slope against d, are stated (the ideal learner needs N_k = d).",
    molrg_figures.build_generic, molrg_figures.plot_generic))


_LF = localized_figures
_register(FigureSpec(
    "glmrt25-decay", "Localized diffusion: decay of the noised precision, localization radius",
    _GLMRT25,
    "For a Gaussian chain with banded precision, |[P_t]_ij| decays exponentially in |i - j| "
    "below the Demko-Moss-Smith bound; the localization radius r_loc(t) peaks at intermediate "
    "t, grows with the bandwidth and the condition number, and does not depend on d.",
    _LF.build_decay, _LF.plot_decay))
_register(FigureSpec(
    "glmrt25-radius", "Localized diffusion: U-shaped error against the radius, r* against n",
    _GLMRT25,
    "The KL of the law generated by the localized linear score is U-shaped in r; the "
    "calculator (exact localization error + first-order statistical error + exact floor) "
    "predicts its minimizer r* within 1, and r* grows like log n.",
    _LF.build_radius, _LF.plot_radius))
_register(FigureSpec(
    "glmrt25-dimension", "Localized diffusion: the curse of dimensionality and its escape",
    _GLMRT25,
    "At fixed n the localized estimator's KL per coordinate does not move with d, while the "
    "global estimator's grows.",
    _LF.build_dimension, _LF.plot_dimension))
_register(FigureSpec(
    "glmrt25-trained", "Localized diffusion: trained localized networks", _GLMRT25,
    "Per-site networks trained by localized DSM show the U-shape in r, with a minimizing "
    "radius that does not decrease with n; dashed: the linear class's first-order theory.",
    _LF.build_trained, _LF.plot_trained))
_register(FigureSpec(
    "glmrt25-phi4", "Localized diffusion on a phi^4 chain (non-Gaussian)", _PROJ,
    "On a phi^4 chain only sampled statistics can be compared: window networks of radius 0 "
    "lose the neighbour correlation, larger radii recover it; the marginal shape is what a "
    "short training misses.",
    _LF.build_phi4, _LF.plot_phi4))


class _Bar:
    """A tqdm bar over a figure's sweep tasks on stderr, when enabled and stderr is a
    terminal; otherwise nothing."""

    def __init__(self, enabled, desc):
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc=desc, unit="task", file=sys.stderr, leave=False)

    def tasks(self, done, total, cached):
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.set_postfix(cached=cached, refresh=False)
            self.bar.refresh()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _atomic_write(path, writer, suffix=None):
    write_with(path, writer, suffix=suffix)


def build_one(fid: str, *, preset="quick", out_dir="figures", device="auto", quiet=True,
              cache: ResultCache | None = None, executor=None) -> dict:
    """Build one figure: its data (from ``cache`` where present; missing sweep tasks on
    ``executor``), then the plot, the CSV and the JSON metadata, each written atomically.

    Returns ``{"id", "seconds", "run_seconds", "cached", "tasks", "summary", "ok"}``:
    ``seconds`` is the compute time of the data (of the run that computed it, when it came
    from the cache), ``run_seconds`` this call's wall time, ``tasks`` the sweep counts
    (``tasks``, ``cached``, ``computed``)."""
    if fid not in REGISTRY:
        raise ValueError(f"figure id: unknown {fid!r}; see `lowdim figures --list`")
    if preset not in PRESETS:
        raise ValueError(f"preset: must be one of {', '.join(PRESETS)} (got {preset!r})")
    spec = REGISTRY[fid]
    os.makedirs(out_dir, exist_ok=True)
    t_run = time.perf_counter()
    context = {"device_kind": (executor or SerialExecutor()).device_kind(device)}
    started = provenance()  # the code revision that runs, recorded before the long work
    bar = _Bar(not quiet, fid)
    runner = Runner(cache=cache, executor=executor, context=context, progress=bar.tasks)
    key = task_key(spec.build, {"preset": preset, "device": device}, **context)
    hit, stored = cache.get(key) if cache is not None else (False, None)
    try:
        if hit:
            table, seconds = stored["table"], stored["seconds"]
        else:
            t0 = time.perf_counter()
            with using(runner):
                table = spec.build(preset=preset, device=device, progress=None)
            seconds = time.perf_counter() - t0
            if cache is not None:
                cache.put(key, {"table": table, "seconds": seconds})
    finally:
        bar.close()
    png = os.path.join(out_dir, f"{fid}.png")
    csv_path = os.path.join(out_dir, f"{fid}.csv")
    json_path = os.path.join(out_dir, f"{fid}.json")
    _atomic_write(png, lambda p: spec.plot(table, p), suffix=".png")
    _atomic_write(csv_path, lambda p: table.to_csv(p, digits=10))
    summary = table.meta.get("summary", {})
    tasks = {k: runner.counts[k] for k in ("tasks", "cached", "computed")}
    ex = executor or SerialExecutor()
    meta = dict(started, figure=fid, title=spec.title, paper=spec.paper, claim=spec.claim,
                preset=preset, device=device, device_kind=context["device_kind"],
                seconds=seconds, run_seconds=time.perf_counter() - t_run,
                from_cache=bool(hit), tasks=tasks,
                executor={"kind": ex.name, "workers": ex.workers},
                command=f"lowdim figures {fid} --preset {preset}"
                + ("" if os.path.normpath(out_dir) == "figures" else f" --out {out_dir}"),
                **{k: v for k, v in table.meta.items()})

    def write_json(p):
        with open(p, "w") as fh:
            json.dump(meta, fh, indent=1, default=str)
            fh.write("\n")

    _atomic_write(json_path, write_json)
    return {"id": fid, "seconds": seconds, "run_seconds": meta["run_seconds"],
            "cached": bool(hit), "tasks": tasks, "summary": summary.get("text", ""),
            "ok": bool(summary.get("ok", True))}


def build_figures(ids, *, preset="quick", out_dir="figures", device="auto", quiet=True,
                  cache: ResultCache | str | None = None, executor="serial",
                  workers: int | None = None, scheduler: str | None = None,
                  report=None) -> list:
    """Build the figures ``ids`` (see :func:`build_one`) and regenerate the gallery.

    ``cache``: a :class:`ResultCache`, a directory, or ``None`` for no cache.  ``executor``:
    ``serial``, ``local`` (``workers`` processes; by default one per core, or one when the
    device is a GPU) or ``dask`` (the cluster at ``scheduler``, or a local one of ``workers``
    processes), or an executor object (left open).
    ``report(result)`` is called as each figure is done."""
    ids = list(ids)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"figure id: unknown {', '.join(unknown)}; see `lowdim figures --list`")
    if isinstance(cache, str):
        cache = ResultCache(cache)
    own = isinstance(executor, str)
    if own and executor == "local" and workers is None and device_kind(device) == "cuda":
        workers = 1  # one GPU runs its tasks one at a time; more processes only add contexts
    ex = make_executor(executor, workers=workers, scheduler=scheduler) if own else executor
    finished = False
    try:
        results = []
        for fid in ids:
            results.append(build_one(fid, preset=preset, out_dir=out_dir, device=device,
                                     quiet=quiet, cache=cache, executor=ex))
            if report is not None:
                report(results[-1])
        finished = True
    finally:
        if own:                     # interrupted: end the workers' running tasks at once
            ex.close(abort=not finished)
    write_gallery(out_dir)
    return results


def _where(meta) -> str:
    ex = meta.get("executor") or {}
    kind = meta.get("device_kind") or meta.get("device", "?")
    return f"{kind}, {ex.get('kind', 'serial')} x{ex.get('workers', 1)}" if ex else kind


def write_gallery(out_dir="figures"):
    """Regenerate ``out_dir/README.md`` from the JSON metadata present there: an agreement
    table (one row per figure: paper, verdict, compute time) and a section per figure."""
    metas = {}
    for fid in REGISTRY:
        path = os.path.join(out_dir, f"{fid}.json")
        if os.path.exists(path):
            with open(path) as fh:
                metas[fid] = json.load(fh)
    lines = ["# Figure gallery", "",
             "Generated by `lowdim figures`; each figure has its data (`.csv`) and metadata "
             "(`.json`: setting, sizes, seeds, device, timing, version) beside it.", ""]
    if os.path.isdir(os.path.join(out_dir, "paper")):
        lines += ["Runs at the papers' sizes (`--preset paper --out figures/paper`) are in "
                  "[paper/](paper/README.md).", ""]
    if metas:
        lines += ["| figure | paper | every check agrees | measured agreement | compute s |",
                  "|---|---|---|---|---|"]
        for fid, meta in metas.items():
            summary = meta.get("summary", {})
            ok = "yes" if summary.get("ok", True) else "**no**"
            text = str(summary.get("text", "n/a")).replace("|", "\\|")
            lines.append(f"| [{fid}](#{fid}) | {REGISTRY[fid].paper} | {ok} | {text} | "
                         f"{meta.get('seconds', 0):.0f} |")
        lines.append("")
    for fid, meta in metas.items():
        spec = REGISTRY[fid]
        summary = meta.get("summary", {})
        lines += [f"<a id=\"{fid}\"></a>", "", f"## {fid}: {spec.title}", "",
                  f"Paper: {spec.paper}. Claim: {spec.claim}", "",
                  f"![{fid}]({fid}.png)", "",
                  f"Command: `{meta.get('command')}` ({meta.get('preset')} preset, "
                  f"{meta.get('seconds', 0):.0f} s on {_where(meta)}, revision "
                  f"{meta.get('git_revision')}).", "",
                  f"Agreement: {summary.get('text', 'n/a')}", ""]
    def write(p):
        with open(p, "w") as fh:
            fh.write("\n".join(lines))

    _atomic_write(os.path.join(out_dir, "README.md"), write)
