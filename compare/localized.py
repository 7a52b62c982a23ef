"""Localized diffusion experiments (Gottwald et al. 2025): the calculator against the exact
generated law of the localized linear estimator (U-shape in r, r* against n, flat in d), the
decay of the noised precision and the localization radius, trained localized networks, the
phi^4 chain, and ``validation_table`` behind ``lowdim localized validate``."""
from __future__ import annotations

import math
import time

import numpy as np

from lowdim.theory.localized import (GaussianTarget, Lattice, banded_gaussian, check_radius,
                              error_curve, gaussian_kl, girsanov_bound, grid_integral,
                              localization_radius, noised_covariance, noised_precision,
                              precision_decay, precision_decay_bound, reverse_covariance,
                              site_errors, time_grid)

from ._lazy import LazyModule
from .progress import counted, step_callback
from .provenance import provenance
from .sweep import map_tasks
from .table import Table
from .verdict import holds, run_checks

# imported at first use: the theory-only actions of this module need neither torch nor
# the simulations
torch = LazyModule("torch")
sim = LazyModule("lowdim.simulate.localized")
_device = LazyModule("lowdim.simulate.device")

__all__ = ["DEFAULTS", "NET_DEFAULTS", "decay_table", "radius_table", "sweep_table",
           "optimal_radius_table", "dimension_table", "trained_table", "phi4_table",
           "trained_dimension_table",
           "validation_table", "measured_optimum", "calculator_table"]

#: The reference setting G1 (research note section 5.1): a periodic chain of 64 sites, bandwidth
#: 1, condition number 20; the sampler's grid has 61 log-spaced times on [0.01, 6].
DEFAULTS = {"sites": 64, "r0": 1, "kappa": 20.0, "periodic": True, "delta": 1e-2, "T": 6.0,
            "steps": 60}
#: Localized networks: per-site networks (sample size n each, as in the theory), width 32,
#: 800 Adam steps at batch 256 from lr 3e-3 with cosine decay, float32.
NET_DEFAULTS = {"shared": False, "width": 32, "steps": 800, "batch": 256, "lr": 3e-3}


def _target(sites=None, r0=None, kappa=None, periodic=None):
    p = DEFAULTS
    lat = Lattice((p["sites"] if sites is None else sites,),
                  p["periodic"] if periodic is None else periodic)
    return banded_gaussian(lat, p["r0"] if r0 is None else r0,
                           p["kappa"] if kappa is None else kappa)


def _grid(delta=None, T=None, steps=None):
    p = DEFAULTS
    return time_grid(p["delta"] if delta is None else delta, p["T"] if T is None else T,
                     p["steps"] if steps is None else steps)


def _label(r):
    return "global" if r is None else str(r)


def decay_table(target=None, times=(0.01, 0.1039, 0.5, 2.0)) -> Table:
    """``max |[P_t]_ij|`` over pairs at each distance, against the Demko-Moss-Smith bound."""
    target = target or _target()
    times = np.asarray(times, dtype=float)
    profile = precision_decay(target, times, relative=False)
    ks = np.arange(1, target.lattice.diameter + 1)
    bound = precision_decay_bound(target, times, ks)
    rows = []
    for ti, t in enumerate(times):
        for ki, k in enumerate(ks):
            val, bnd = float(profile[ti, k]), float(bound[ti, ki])
            # kappa = 1 makes both vanish off the diagonal
            ratio = val / bnd if bnd > 0 else (0.0 if val <= 1e-14 else math.inf)
            rows.append({"t": float(t), "distance": int(k), "max_abs_Pt": val, "bound": bnd,
                         "ratio": ratio})
    return Table(["t", "distance", "max_abs_Pt", "bound", "ratio"], rows,
                 provenance(kind="localized-decay", target=repr(target)))


def radius_table(configs=None, times=None, eps=1e-3) -> Table:
    """``r_loc(t)`` (exact and from the bound) for several (d, r0, kappa)."""
    if configs is None:
        configs = [(64, 1, 20.0), (128, 1, 20.0), (64, 2, 20.0), (64, 1, 100.0), (64, 1, 5.0)]
    times = np.geomspace(1e-2, 6.0, 40) if times is None else np.asarray(times, float)
    rows = []
    for d, r0, kappa in configs:
        target = _target(d, r0, kappa)
        exact = localization_radius(target, times, eps)
        bound = localization_radius(target, times, eps, method="bound")
        for t, re_, rb in zip(times, exact, bound):
            rows.append({"d": d, "r0": r0, "kappa": kappa, "t": float(t), "eps": eps,
                         "r_loc": int(re_), "r_loc_bound": int(rb)})
    return Table(["d", "r0", "kappa", "t", "eps", "r_loc", "r_loc_bound"], rows,
                 provenance(kind="localized-radius"))


def _kl_of(A, target, times, chunk=8, bound=False, progress=None):
    """KL(p_delta || generated) for a stack of estimator matrices (S, T, d, d), and the
    Girsanov path bound when ``bound``; ``chunk`` matrices at a time (the values do not
    depend on it), ``progress(done, S)`` after each chunk."""
    C0 = noised_covariance(target, times[:1])[0]
    out, bnd = [], []
    for s in range(0, A.shape[0], chunk):
        block = A[s:s + chunk].cpu().numpy()
        out.append(gaussian_kl(C0, reverse_covariance(block, times)))
        if bound:
            bnd.append(girsanov_bound(block, target, times))
        if progress is not None:
            progress(min(s + chunk, A.shape[0]), A.shape[0])
    return (np.concatenate(out), np.concatenate(bnd)) if bound else np.concatenate(out)


def estimator_cell(target, n, r, times, datasets, seed, device):
    """One sweep task of :func:`sweep_table`: the localized linear estimator at radius ``r``
    on ``datasets`` training sets of size ``n`` (the same sets for every ``r``: they are
    drawn from ``seed``).  Returns per-set integrated score errors, exact KLs and Girsanov
    path bounds, and the seconds taken."""
    t0 = time.perf_counter()
    dev = _device.resolve_device(device)
    X = sim.sample_gaussian(target, n, datasets=datasets, seed=seed, device=dev)
    A = sim.local_linear_scores(X, target.lattice, r, times)
    err = grid_integral(sim.linear_score_error(A, target, times), times)
    kl, path = _kl_of(A, target, times, bound=True)
    return err, kl, path, time.perf_counter() - t0


def sweep_table(target=None, ns=(16, 64, 256, 1024), radii=tuple(range(0, 9)) + (None,), *,
                datasets=8, seed=0, device="auto", grid=None, curve=None,
                progress=None) -> Table:
    """The localized linear estimator on ``datasets`` training sets per n, for each radius:
    its exact integrated score error and the KL of its exactly generated law, beside the
    calculator's predictions (path side: floor + site-summed integrated eps_loc + V / n; KL
    side: exact KL of the infinite-data localized score + V / n)."""
    target = target or _target()
    times = _grid() if grid is None else grid
    dev = _device.resolve_device(device)
    same = (curve is not None and curve.total_kl is not None and curve.radii == list(radii)
            and list(curve.n) == [float(n) for n in ns] and np.array_equal(curve.times, times))
    if not same:                                    # else reuse the caller's calculator run
        curve = error_curve(target, list(ns), list(radii), delta=times[0], T=times[-1],
                            steps=times.size - 1, exact_kl=True)
    rows = []
    cells = [(ni, n, ri, r) for ni, n in enumerate(ns) for ri, r in enumerate(radii)]
    results = map_tasks(estimator_cell, [
        {"target": target, "n": int(n), "r": r, "times": times, "datasets": datasets,
         "seed": seed, "device": device} for _, n, _, r in cells], progress=progress)
    for (ni, n, ri, r), (err, kl, path, secs) in zip(cells, results):
        rows.append({"n": int(n), "r": _label(r), "datasets": datasets,
                     "score_error": float(err.mean()),
                     "score_error_se": float(err.std(ddof=1) / math.sqrt(datasets)),
                     "kl": float(kl.mean()), "kl_se": float(kl.std(ddof=1) / math.sqrt(datasets)),
                     "theory_integral": float(curve.loc[ri] + curve.var[ri] / n),
                     "theory_path": float(curve.total[ri, ni]),
                     "theory_kl": float(curve.total_kl[ri, ni]), "floor": curve.floor,
                     "path_bound": float(path.mean()),
                     "bound_holds": bool(np.all(kl <= path * (1 + 1e-9))),
                     "seconds": secs, "_kl": kl, "_err": err})
    meta = provenance(kind="localized-sweep", target=repr(target), seed=seed,
                      device=_device.describe_device(dev), fit=curve.fit,
                      r_star_theory_kl=dict(zip([int(n) for n in ns], curve.r_star_kl.tolist())),
                      r_star_theory=dict(zip([int(n) for n in ns], curve.r_star.tolist())),
                      closed_form=dict(zip([int(n) for n in ns], curve.closed_form.tolist())))
    cols = ["n", "r", "datasets", "score_error", "score_error_se", "kl", "kl_se",
            "theory_integral", "theory_path", "theory_kl", "floor", "path_bound", "bound_holds",
            "seconds"]
    return Table(cols, rows, meta)


def measured_optimum(rows, key="kl"):
    """Minimizer over finite radii of the dataset-mean ``key``, and the radii whose paired
    difference from it is within 2 SE (datasets are shared across radii)."""
    fin = [r for r in rows if r["r"] != "global"]
    best = min(fin, key=lambda r: r[key])
    vals = "_kl" if key == "kl" else "_err"
    near = []
    for r in fin:
        diff = r[vals] - best[vals]
        se = diff.std(ddof=1) / math.sqrt(diff.size) if diff.size > 1 else 0.0
        if diff.mean() <= 2 * se:
            near.append(int(r["r"]))
    return int(best["r"]), sorted(near)


def optimal_radius_table(sweep: Table) -> Table:
    """Per n: the calculator's r* (KL side and path side), the closed form, and the measured
    minimizers of the KL and of the integrated score error, with the radii statistically tied
    with the KL minimizer.  ``verdict``: ``agree`` when both measured minimizers are within 1
    of their prediction."""
    rows = []
    for n in sorted({r["n"] for r in sweep.rows}):
        sub = [r for r in sweep.rows if r["n"] == n]
        r_kl, tied_kl = measured_optimum(sub, "kl")
        r_err, _ = measured_optimum(sub, "score_error")
        fin = [r for r in sub if r["r"] != "global"]
        th_kl = int(min(fin, key=lambda r: r["theory_kl"])["r"])
        th_path = int(min(fin, key=lambda r: r["theory_path"])["r"])
        glob = [r for r in sub if r["r"] == "global"]
        best = min(fin, key=lambda r: r["kl"])
        rows.append({"n": n, "r_star_theory_kl": th_kl, "r_star_kl": r_kl,
                     "tied_kl": " ".join(map(str, tied_kl)), "r_star_theory_path": th_path,
                     "r_star_score_error": r_err,
                     "r_star_closed_form": sweep.meta["closed_form"].get(n, math.nan),
                     "kl_at_r_star": best["kl"], "kl_global": glob[0]["kl"] if glob else None,
                     "verdict": holds(f"r* at n = {n}",
                                      abs(r_kl - th_kl) <= 1 and abs(r_err - th_path) <= 1).verdict})
    return Table(["n", "r_star_theory_kl", "r_star_kl", "tied_kl", "r_star_theory_path",
                  "r_star_score_error", "r_star_closed_form", "kl_at_r_star", "kl_global",
                  "verdict"], rows, dict(sweep.meta, kind="localized-optimal-radius"))


def dimension_table(ds=(16, 32, 64, 128), n=64, r=None, *, datasets=4, seed=0,
                    device="auto", grid=None, progress=None) -> Table:
    """KL per coordinate of the localized (radius r, default the calculator's r*) and global
    linear estimators at fixed n as d grows, measured and predicted."""
    times = _grid() if grid is None else grid
    dev = _device.resolve_device(device)
    rows = []
    for d in counted(ds, "dimension d", progress):
        target = _target(d)
        radii = list(range(0, min(12, d // 2 - 1) + 1)) if r is None else [r]
        curve = error_curve(target, [n], radii + [None], delta=times[0], T=times[-1],
                            steps=times.size - 1, exact_kl=False)
        rr = int(curve.r_star[0])
        ri = radii.index(rr)
        X = sim.sample_gaussian(target, n, datasets=datasets, seed=seed, device=dev)
        models = (("localized", rr, ri), ("global", None, len(radii)))
        for label, radius, row in counted(models, "estimator"):
            A = sim.local_linear_scores(X, target.lattice, radius, times)
            # one training set at a time: its KL takes seconds at large d
            kl = _kl_of(A, target, times, chunk=1, progress=step_callback("KL of training set")) / d
            rows.append({"d": d, "n": n, "model": label, "r": _label(radius),
                         "kl_per_coord": float(kl.mean()),
                         "kl_per_coord_se": float(kl.std(ddof=1) / math.sqrt(datasets)),
                         "theory_per_coord": float(curve.total[row, 0] / d)})
    return Table(["d", "n", "model", "r", "kl_per_coord", "kl_per_coord_se",
                  "theory_per_coord"], rows,
                 provenance(kind="localized-dimension", seed=seed, datasets=datasets,
                            device=_device.describe_device(dev)))


def _fit_network(target, X, r, cfg, times, *, seed, device, n_eval):
    """Train one localized network of radius r on ``X`` (n, d) and measure it: returns the
    model, its integrated score error and that integral's SE, and the localized linear
    estimator's integrated error on the same data."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = sim.LocalScoreNet(target.lattice, r, shared=cfg["shared"], width=cfg["width"],
                                  delta=times[0], T=times[-1])
    fit = sim.train_local_score(model, X, steps=cfg["steps"], batch=cfg["batch"], lr=cfg["lr"],
                                seed=seed, device=device, progress=step_callback("training step"))
    m, se = sim.net_score_error(fit.model, target, times, n_eval=n_eval, seed=seed)
    A = sim.local_linear_scores(X[None], target.lattice, r, times)
    lin = float(grid_integral(sim.linear_score_error(A, target, times), times)[0])
    se_int = float(np.sqrt(np.sum((np.diff(times) * se[1:]) ** 2)))
    return fit, float(grid_integral(m, times)), se_int, lin


def network_cell(target, n, r, cfg, times, seed, device, n_eval) -> dict:
    """One sweep task of :func:`trained_table` and :func:`trained_dimension_table`: a
    localized network of radius ``r`` (``None``: global) trained on the first of the training
    sets drawn from ``seed``, its integrated score error, and the linear estimator's."""
    dev = _device.resolve_device(device)
    X = sim.sample_gaussian(target, n, datasets=1, seed=seed, device=dev)
    fit, err, err_se, lin = _fit_network(target, X[0], r, cfg, times, seed=seed, device=dev,
                                         n_eval=n_eval)
    return {"parameters": fit.model.n_parameters, "score_error": err, "score_error_se": err_se,
            "linear_estimator": lin, "final_loss": fit.final_loss, "train_seconds": fit.seconds}


def trained_table(target=None, ns=(32, 512), radii=(0, 1, 2, 4, 8), *, seed=0, device="auto",
                  n_eval=1024, grid=None, progress=None, **net) -> Table:
    """Localized networks trained by localized DSM on one training set per n, for each radius:
    integrated score error (Monte Carlo against the exact score), beside the localized linear
    estimator on the same data and the first-order theory of the linear class."""
    target = target or _target(32)
    times = _grid() if grid is None else grid
    cfg = dict(NET_DEFAULTS, **net)
    dev = _device.resolve_device(device)
    eps, V = site_errors(target, list(radii), times)
    rows = []
    cells = [(n, ri, r) for n in ns for ri, r in enumerate(radii)]
    fits = map_tasks(network_cell, [
        {"target": target, "n": int(n), "r": r, "cfg": cfg, "times": times, "seed": seed,
         "device": device, "n_eval": n_eval} for n, _, r in cells], progress=progress)
    for (n, ri, r), fit in zip(cells, fits):
        rows.append({"n": int(n), "r": _label(r), "shared": cfg["shared"],
                     "parameters": fit["parameters"], "score_error": fit["score_error"],
                     "score_error_se": fit["score_error_se"],
                     "linear_estimator": fit["linear_estimator"],
                     "theory_linear": float(target.dim * grid_integral(
                         eps[ri, :, :].mean(1) + V[ri, :, :].mean(1) / n, times)),
                     "final_loss": fit["final_loss"], "train_seconds": fit["train_seconds"]})
    return Table(["n", "r", "shared", "parameters", "score_error", "score_error_se",
                  "linear_estimator", "theory_linear", "final_loss", "train_seconds"], rows,
                 provenance(kind="localized-trained", target=repr(target), seed=seed,
                            net=cfg, device=_device.describe_device(dev)))


def trained_dimension_table(ds=(8, 16, 32), n=64, r=2, *, seed=0, device="auto", n_eval=1024,
                            grid=None, progress=None, **net) -> Table:
    """Localized (radius r) and global networks trained on n samples as d grows: integrated
    score error per coordinate, beside the linear estimators on the same data."""
    times = _grid() if grid is None else grid
    cfg = dict(NET_DEFAULTS, **net)
    dev = _device.resolve_device(device)
    rows = []
    cells = [(d, label, radius) for d in ds for label, radius in (("localized", r),
                                                                  ("global", None))]
    fits = map_tasks(network_cell, [
        {"target": _target(d), "n": int(n), "r": radius, "cfg": cfg, "times": times,
         "seed": seed, "device": device, "n_eval": n_eval} for d, _, radius in cells],
        progress=progress)
    for (d, label, radius), fit in zip(cells, fits):
        rows.append({"d": d, "n": n, "model": label, "r": _label(radius),
                     "score_error_per_coord": fit["score_error"] / d,
                     "se": fit["score_error_se"] / d,
                     "linear_per_coord": fit["linear_estimator"] / d,
                     "parameters": fit["parameters"]})
    return Table(["d", "n", "model", "r", "score_error_per_coord", "se", "linear_per_coord",
                  "parameters"], rows,
                 provenance(kind="localized-trained-dimension", seed=seed, net=cfg,
                            device=_device.describe_device(dev)))


def _phi4_stats(x):
    """Per-chain-ensemble statistics: marginal variance, marginal kurtosis, nearest-neighbour
    correlation, and the variance of 8-site block means."""
    var = float((x ** 2).mean())
    kurt = float((x ** 4).mean() / var ** 2)
    nn = float((x * torch.roll(x, 1, 1)).mean() / var)
    b = x.shape[1] - x.shape[1] % 8
    block = float(x[:, :b].reshape(x.shape[0], -1, 8).mean(-1).pow(2).mean())
    return {"variance": var, "kurtosis": kurt, "nn_correlation": nn, "block_variance": block}


def _marginal_w1(x, y):
    """Site-pooled 1-D Wasserstein distance between the marginals of two ensembles."""
    a = torch.sort(x.reshape(-1)).values
    b = torch.sort(y.reshape(-1)).values
    m = min(a.numel(), b.numel())
    qa = a[torch.linspace(0, a.numel() - 1, m).long()]
    qb = b[torch.linspace(0, b.numel() - 1, m).long()]
    return float((qa - qb).abs().mean())


def phi4_table(model=None, n=512, radii=(0, 1, 2, 4, None), *, seed=0, device="auto",
               n_gen=2048, sweeps=1000, grid=None, progress=None, **net) -> Table:
    """phi^4 chain: train localized networks on n MCMC samples, generate, and compare sampled
    statistics with a held-out MCMC ensemble (no exact score exists for this target)."""
    model = model or sim.Phi4()
    times = _grid() if grid is None else grid
    cfg = dict(NET_DEFAULTS, **net)
    dev = _device.resolve_device(device)
    x_train, acc = sim.phi4_chain(model, n, sweeps=sweeps, seed=seed, device=dev,
                                  progress=step_callback("MCMC sweep (training set)"))
    x_ref, _ = sim.phi4_chain(model, n_gen, sweeps=sweeps, seed=seed + 1, device=dev,
                              progress=step_callback("MCMC sweep (held out)"))
    ref = _phi4_stats(x_ref)
    lat = Lattice((model.sites,), True)
    rows = [dict(r="MCMC (held out)", parameters=0, marginal_w1=0.0, **ref)]
    half = x_ref[: n_gen // 2]
    rows.append(dict(r="MCMC (noise level)", parameters=0,
                     marginal_w1=_marginal_w1(half, x_ref[n_gen // 2:]), **_phi4_stats(half)))
    for r in counted(radii, "radius", progress):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net_ = sim.LocalScoreNet(lat, r, shared=cfg["shared"], width=cfg["width"],
                                     delta=times[0], T=times[-1])
        fit = sim.train_local_score(net_, x_train, steps=cfg["steps"], batch=cfg["batch"],
                                    lr=cfg["lr"], seed=seed, device=dev,
                                    progress=step_callback("training step"))
        p = next(fit.model.parameters())
        gen = sim.reverse_sample(fit.model, model.sites, n_gen, times, seed=seed, device=dev,
                                 dtype=p.dtype, progress=step_callback("sampling step")
                                 ).to(torch.float64)
        rows.append(dict(r=_label(r), parameters=net_.n_parameters,
                         marginal_w1=_marginal_w1(gen, x_ref), **_phi4_stats(gen)))
    return Table(["r", "parameters", "marginal_w1", "variance", "kurtosis", "nn_correlation",
                  "block_variance"], rows,
                 provenance(kind="localized-phi4", model=repr(model), n=n, acceptance=acc,
                            sweeps=sweeps, net=cfg, device=_device.describe_device(dev)))


def calculator_table(target=None, ns=(16, 64, 256, 1024), radii=None, *, grid=None,
                     exact_kl="auto"):
    """The calculator's curve as a table (per n and r) and the :class:`RadiusCurve` itself."""
    target = target or _target()
    times = _grid() if grid is None else grid
    if radii is None:
        radii = list(range(0, min(12, target.lattice.diameter - 1) + 1)) + [None]
    curve = error_curve(target, list(ns), list(radii), delta=times[0], T=times[-1],
                        steps=times.size - 1, exact_kl=exact_kl)
    rows = []
    for ni, n in enumerate(curve.n):
        for ri, r in enumerate(curve.radii):
            rows.append({"n": int(n), "r": _label(r), "localization": float(curve.loc[ri]),
                         "statistical": float(curve.var[ri] / n), "floor": curve.floor,
                         "path": float(curve.total[ri, ni]),
                         "kl": None if curve.total_kl is None else float(curve.total_kl[ri, ni]),
                         "r_star_path": "*" if r is not None and r == curve.r_star[ni] else "",
                         "r_star": "*" if r is not None and r == (
                             curve.r_star if curve.r_star_kl is None else curve.r_star_kl)[ni]
                         else "",
                         "closed_form": _finite_or_none(curve.closed_form[ni]),
                         "first_order": bool(curve.first_order[ri, ni])})
    meta = provenance(kind="localized-radius", target=repr(target), fit=curve.fit,
                      success=curve.success, message=curve.message,
                      grid={"delta": float(times[0]), "T": float(times[-1]),
                            "steps": int(times.size - 1)})
    return Table(["n", "r", "localization", "statistical", "floor", "path", "kl",
                  "r_star_path", "r_star", "closed_form", "first_order"], rows, meta), curve



def _mc_localization_error(target, r, t, n_mc=200000, seed=0):
    """Monte Carlo ``E (s_i - f_i)^2`` at site 0 with exact draws of ``x_t``: (mean, se)."""
    rng = np.random.default_rng(seed)
    Ct = noised_covariance(target, [t])[0]
    Pt = noised_precision(target, [t])[0]
    N = target.lattice.neighbourhoods(r)[0]
    G = np.linalg.inv(Ct[np.ix_(N, N)])
    x = rng.standard_normal((n_mc, target.dim)) @ np.linalg.cholesky(Ct).T
    diff = -(x @ Pt[0]) + x[:, N] @ G[int(np.searchsorted(N, 0))]
    sq = diff ** 2
    return float(sq.mean()), float(sq.std() / math.sqrt(n_mc))


# the checks of validate, in order; each adds its checks to the report
def _check_localization_and_decay(report, target, datasets, seed, device):
    # 1. exact localization error against Monte Carlo
    zs = []
    for r, t in ((0, 0.05), (1, 0.1039), (2, 0.5), (3, 1.0)):
        pred = float(site_errors(target, [r], [t], sites=[0])[0][0, 0, 0])
        m, se = _mc_localization_error(target, r, t, seed=seed)
        zs.append(abs(m - pred) / se)
    report.add(holds("exact localization error vs Monte Carlo (4 (r, t), 2e5 draws)", max(zs) <= 4,
                     f"max |z| {max(zs):.2f}", "<= 4"))
    # 2. Demko-Moss-Smith bound at every entry
    dec = decay_table(target, times=np.geomspace(1e-2, 6, 12))
    # entries below 1e-12 of the diagonal are round-off of the eigendecomposition
    worst = max(r["ratio"] for r in dec.rows if r["max_abs_Pt"] > 1e-12)
    report.add(holds("|[P_t]_ij| below the Demko-Moss-Smith bound (12 t, entries above 1e-12)",
                     worst <= 1.0, f"max ratio {worst:.2f}", "<= 1"))


def _check_radius_and_bounds(report, target, datasets, seed, device):
    # 3. r* within 1 of the measured minimizer; first-order statistical error; Girsanov
    sweep = sweep_table(target, ns=(16, 64, 256, 1024), radii=tuple(range(0, 9)) + (None,),
                        datasets=datasets, seed=seed, device=device)
    opt = optimal_radius_table(sweep)
    pairs = ", ".join(f"{r['n']}: {r['r_star_theory_kl']}/{r['r_star_kl']}" for r in opt.rows)
    report.add(holds("calculator r* vs KL minimizer of the simulated estimator (n: theory/measured)",
                     all(abs(r["r_star_kl"] - r["r_star_theory_kl"]) <= 1 for r in opt.rows),
                     pairs, "|difference| <= 1"))
    pairs = ", ".join(f"{r['n']}: {r['r_star_theory_path']}/{r['r_star_score_error']}"
                      for r in opt.rows)
    report.add(holds("path-side r* vs minimizer of the integrated score error (n: theory/measured)",
                     all(abs(r["r_star_score_error"] - r["r_star_theory_path"]) <= 1 for r in opt.rows),
                     pairs, "|difference| <= 1"))
    worst_rel, ok = 0.0, True
    for r in sweep.rows:
        if r["n"] < 256 or r["r"] == "global":
            continue
        k = 2 * int(r["r"]) + 1
        gap = abs(r["score_error"] - r["theory_integral"])
        allow = 3 * r["score_error_se"] + k / r["n"] * r["theory_integral"]
        worst_rel = max(worst_rel, gap / r["theory_integral"])
        ok &= gap <= allow
    report.add(holds("integrated score error vs exact eps_loc + first-order V/n (n >= 256, r <= 8)",
                     ok, f"max rel. diff {worst_rel:.3f}", "<= 3 SE + (2r+1)/n (second order)"))
    held = sum(r["bound_holds"] for r in sweep.rows)
    ratio = [r["kl"] / r["path_bound"] for r in sweep.rows]
    report.add(holds("KL of the generated law <= Girsanov path bound, every training set",
                     held == len(sweep.rows),
                     f"{held}/{len(sweep.rows)} cells; KL/bound {min(ratio):.2f} ... {max(ratio):.2f}",
                     "all cells"))


def _check_radius_in_d(report, target, datasets, seed, device):
    # 4. r* does not depend on d
    stars, kl_stars = {}, {}
    for d in (32, 64, 128, 256):
        _, cur = calculator_table(_target(d), ns=(16, 64, 256, 1024),
                                  radii=list(range(0, 13)), exact_kl=d <= 128)
        stars[d] = cur.r_star.tolist()
        if cur.r_star_kl is not None:
            kl_stars[d] = cur.r_star_kl.tolist()
    report.add(holds(
        "calculator r* for d = 32 ... 256, path side; KL side for d <= 128 (n = 16 ... 1024)",
        all(v == stars[64] for v in stars.values())
        and all(v == kl_stars[64] for v in kl_stars.values()),
        "; ".join(f"{d}: {v}" for d, v in stars.items()) + " | "
        + "; ".join(f"{d}: {v}" for d, v in kl_stars.items()),
        "identical across d"))


def _check_dimension(report, target, datasets, seed, device):
    # 5. localized flat in d, global grows
    dim = dimension_table(ds=(16, 32, 64, 128), n=64, datasets=max(4, datasets // 2),
                          seed=seed, device=device)
    loc = [r["kl_per_coord"] for r in dim.rows if r["model"] == "localized"]
    glo = [r["kl_per_coord"] for r in dim.rows if r["model"] == "global"]
    report.add(holds("KL per coordinate at n = 64, d = 16 -> 128: localized (r*) / global",
                     max(loc) / min(loc) <= 1.15 and glo[-1] / glo[0] >= 4,
                     f"{loc[0]:.4f} -> {loc[-1]:.4f} / {glo[0]:.3f} -> {glo[-1]:.3f}",
                     "localized within 15 %; global grows >= 4x"))


def _check_trained_networks(report, target, datasets, seed, device):
    # 6. trained per-site networks: U-shape and r* trend
    tr = trained_table(ns=(32, 512), radii=(0, 1, 2, 4, 8), seed=seed, device=device)
    best = {}
    for n in (32, 512):
        sub = [r for r in tr.rows if r["n"] == n]
        errs = [r["score_error"] for r in sub]
        best[n] = int(sub[int(np.argmin(errs))]["r"])
    interior = all(0 < best[n] < 8 for n in best)
    report.add(holds("trained per-site networks (d = 32): minimizing radius at n = 32 / 512",
                     interior and best[512] >= best[32], f"{best[32]} / {best[512]}",
                     "interior (U-shape) and non-decreasing in n"))


def _check_invalid_specs(report, target, datasets, seed, device):
    # 7. invalid specs
    bad = 0
    for fn in (lambda: check_radius(-1), lambda: banded_gaussian(16, 8, 20.0),
               lambda: GaussianTarget(np.diag([1.0, -1.0, 1.0, 1.0]), 4),
               lambda: banded_gaussian(16, 1, 0.5)):
        try:
            fn()
        except ValueError:
            bad += 1
    report.add(holds(
        "invalid specs (r < 0, bandwidth >= d/2, non-positive-definite P, kappa < 1) raise "
        "ValueError",
        bad == 4,
        f"{bad}/4",
        "4/4"))


def validation_table(*, datasets=8, seed=0, device="auto", progress=None) -> Table:
    """The claims of the issue, measured with verdicts (about two minutes on two CPU cores)."""
    t0 = time.perf_counter()
    target = _target()
    steps = (_check_localization_and_decay, _check_radius_and_bounds, _check_radius_in_d,
             _check_dimension, _check_trained_networks, _check_invalid_specs)
    report = run_checks(steps, target, datasets, seed, device, progress=progress)
    meta = provenance(kind="localized-validate", datasets=datasets, seed=seed,
                      summary=report.summary(),
                      device=_device.describe_device(_device.resolve_device(device)),
                      build_seconds=time.perf_counter() - t0)
    return report.table(meta)


def _finite_or_none(x):
    """A float for the table, or None (an empty cell) where the theory has no value."""
    return float(x) if np.isfinite(x) else None


# --------------------------------------------------------------------------- bench
def bench_groups(quick: bool, device: str) -> list:
    """The family's ``lowdim bench`` rows.

    The calculator's path side (d = 64, 13 radii, 5 sample sizes, 61 times) against the
    noised covariances on the same time grid and the neighbourhood inverses of one site at
    every radius and time (a translation-invariant chain needs no more); and the exact
    generated law of 8 localized estimators (60 Van Loan steps) against the batched matrix
    exponentials it is made of.
    """
    from .timing import BenchGroup

    return [BenchGroup(_bench_rows, "1 (small matrices capped)")]


def _bench_rows():
    from scipy.linalg import expm

    from lowdim.theory.localized import error_curve, noised_covariance, reverse_covariance
    from lowdim.theory.threads import single_threaded

    from .timing import bench_row, best_time

    target, times = _target(), _grid()
    radii = list(range(0, 13))
    ns = [16, 64, 256, 1024, 4096]
    C = noised_covariance(target, times)
    blocks = [C[:, :2 * r + 1, :2 * r + 1] for r in radii]  # a neighbourhood of site 0

    def inversions():  # the neighbourhood inverses at every time, for one site
        return [np.linalg.inv(b) for b in blocks]

    with single_threaded():   # the floor on the threads the calculator's small work uses
        floor, _ = best_time(lambda: (noised_covariance(target, times), inversions()),
                             repeat=5)
    secs, curve = best_time(lambda: error_curve(target, ns, radii, delta=times[0], T=times[-1],
                                                steps=times.size - 1, exact_kl=False),
                            repeat=3)
    rows = [bench_row(f"localized calculator, d={target.dim}, {len(radii)} radii, {len(ns)} n, "
                      f"{times.size} times (path side)", secs, floor,
                      "noised covariances + one site's neighbourhood inverses at every time",
                      f"r* = {curve.r_star.tolist()}")]
    rng = np.random.default_rng(0)
    d = target.dim
    A = np.broadcast_to(np.linalg.inv(noised_covariance(target, times)),
                        (8, times.size, d, d)).copy()
    A += 1e-3 * rng.standard_normal(A.shape)
    A = 0.5 * (A + np.swapaxes(A, -1, -2))
    secs, _ = best_time(lambda: reverse_covariance(A, times), repeat=2)
    h = np.diff(times)[None, :, None, None]
    B = np.eye(d) - 2.0 * A[:, 1:]
    blocks = np.zeros((8, times.size - 1, 2 * d, 2 * d))  # the generators of every step
    blocks[..., :d, :d] = -h * B
    blocks[..., d:, d:] = h * np.swapaxes(B, -1, -2)
    blocks[..., :d, d:] = 2.0 * h * np.eye(d)
    with single_threaded():
        floor, _ = best_time(lambda: [expm(blocks[:, k]) for k in range(times.size - 1)],
                             repeat=2)
    rows.append(bench_row(f"localized exact generated law, 8 estimators, d={d}, "
                          f"{times.size - 1} Van Loan steps", secs, floor,
                          "the batched 2d x 2d matrix exponentials"))
    return rows
