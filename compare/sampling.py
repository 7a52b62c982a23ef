"""VE sampling error tables: every term of the Theorem 2 bound on chosen grids (next to the exact
KL of Gaussian data when a data variance is given), and the validation of the bound against what
the sampler does: exact and Monte Carlo KLs, Gaussian and bimodal data, with score errors."""
from __future__ import annotations

import time

import numpy as np

from lowdim.theory.sampling import (GaussianMixture, fisher_information_1d, gaussian_kl, kl_bound,
                             make_grid, mixture_score_1d, path_kl_1d, sampler_law_1d)

from .progress import counted, step_callback
from .provenance import provenance
from .table import Table
from .verdict import AGREE, Report, compare, holds

__all__ = ["bound_table", "BOUND_COLUMNS", "validation_table", "VALIDATION_COLUMNS",
           "DATA_MODELS", "relative_score_error"]

BOUND_COLUMNS = ["grid", "schedule", "rho", "sigma_min", "sigma_max", "N", "d", "m2",
                 "score_error", "form", "E_I", "E_S", "E_D", "E_D1", "E_D2", "E_D3", "total",
                 "gaussian_kl", "bound_over_kl"]


def bound_table(grids=("edm", "geometric"), Ns=(18,), *, d=1, m2=None, score_error=0.0,
                sigma_min=0.002, sigma_max=80.0, rho=7.0, schedule=None, form="explicit",
                data_variance=None) -> Table:
    """One row per (grid kind, N).

    ``m2`` defaults to ``d * data_variance`` when a data variance is given (centred Gaussian
    data), else to ``d``.  ``schedule=None`` takes the paper's pairing (EDM's for the ``edm``
    and ``uniform`` grids, Song's for ``geometric``).  With ``data_variance`` the exact KL of
    the exact-score sampler on isotropic Gaussian data and the ratio bound / KL are added
    (the bound then uses ``score_error`` as given: 0 for the comparison to be fair).
    """
    t0 = time.perf_counter()
    if m2 is None:
        m2 = d * float(data_variance) if data_variance is not None else float(d)
    rows = []
    for kind in grids:
        for N in Ns:
            if isinstance(N, (float, np.floating)) and float(N).is_integer():
                N = int(N)
            g = make_grid(kind, N, sigma_min, sigma_max, rho=rho, schedule=schedule)
            terms = kl_bound(g, d, m2, score_error, form=form)
            row = {"grid": kind, "schedule": g.schedule.name, "rho": g.rho,
                   "sigma_min": sigma_min, "sigma_max": sigma_max, "N": int(N), "d": d,
                   "m2": m2, "score_error": score_error if np.ndim(score_error) == 0 else "profile",
                   **terms.as_dict(), "gaussian_kl": None, "bound_over_kl": None}
            if data_variance is not None:
                kl = gaussian_kl(g, float(data_variance), d=d)
                row["gaussian_kl"] = kl
                row["bound_over_kl"] = terms.total / kl if kl > 0 else None
            rows.append(row)
    meta = provenance(kind="sampling-bound", form=form, seconds=time.perf_counter() - t0,
                      source="Wang-He-Tao 2024, Theorem 2; explicit form derived in "
                             "research note design_space.md section 2.2")
    return Table(list(BOUND_COLUMNS), rows, meta)


#: The data of the validation: isotropic Gaussian (``d`` = 4, variance 0.25) and a bimodal 1-D
#: mixture (modes at -1 and +1, standard deviation 0.1).
DATA_MODELS = {"gaussian": GaussianMixture([1.0], np.zeros((1, 4)), [0.25]),
               "bimodal": GaussianMixture.symmetric_1d(2.0, 0.1)}

VALIDATION_COLUMNS = ["data", "d", "grid", "N", "eta", "bound", "path_kl", "path_kl_mc",
                      "path_kl_mc_se", "sampled_kl", "sampled_kl_mc", "sampled_kl_mc_se",
                      "bound_over_sampled", "mc_verdict", "order_verdict"]


def relative_score_error(grid, mixture: GaussianMixture, eta: float) -> np.ndarray:
    """``eps_j^2 = eta J(v_j)``: a score error of relative size ``eta`` at every level, ``J`` the
    Fisher information ``E||grad log p_{v_j}||^2`` (``d / (lambda + v)`` for Gaussian data)."""
    v = grid.variances[:-1]
    if mixture.K == 1:
        return eta * mixture.d / (mixture.variances[0] + v)
    return eta * fisher_information_1d(mixture, v)


def _exact_path_kl(grid, mixture, eps2):
    if mixture.d == 1:
        return path_kl_1d(grid, mixture, eps2).total
    # isotropic Gaussian data: d independent coordinates, plus the whole-vector E_S
    one = path_kl_1d(grid, GaussianMixture([1.0], [0.0], mixture.variances[:1]))
    return mixture.d * (one.initial + one.discretization) + 0.5 * float(
        np.sum(-np.diff(grid.variances) * eps2))


def validation_table(grids=("edm", "geometric", "uniform"), Ns=(6, 18, 50), etas=(0.0, 0.1),
                     data=("gaussian", "bimodal"), *, n=20000, seed=0, device="auto",
                     z=3.0, progress=None) -> Table:
    """The bound against the sampler, one row per (data, grid, N, eta).

    A score error of relative size ``eta`` (:func:`relative_score_error`) is added along a
    fixed direction.  ``path_kl`` is exact (1-D quadrature, or per coordinate for Gaussian
    data) and ``path_kl_mc`` its Monte Carlo estimate (``n`` samples); ``sampled_kl`` is the
    exact KL of what is sampled (closed form for Gaussian data, density propagation for the
    mixture) and, for Gaussian data, ``sampled_kl_mc`` its Monte Carlo estimate from ``n``
    sampler draws.  Verdicts (:mod:`lowdim.compare.verdict`): ``mc_verdict`` ``agree`` when
    every Monte Carlo value is within ``z`` standard errors of its exact value;
    ``order_verdict`` ``agree`` when bound >= path KL >= sampled KL.
    """
    from lowdim.simulate.sampling import (ei_sample, gaussian_kl_estimate, gaussian_score,
                                   mixture_score, path_kl_estimate, perturbed)

    t0 = time.perf_counter()
    unknown = [k for k in data if k not in DATA_MODELS]
    if unknown:
        raise ValueError(f"data: unknown {', '.join(unknown)}; use {', '.join(DATA_MODELS)}")
    combos = [(k, kind, int(N), float(eta)) for k in data for kind in grids for N in Ns
              for eta in etas]
    rows, report = [], Report()
    for key, kind, N, eta in counted(combos, "case", progress):
        mix = DATA_MODELS[key]
        g = make_grid(kind, N)
        eps2 = relative_score_error(g, mix, eta)
        shift = np.sqrt(eps2)
        exact_score = (gaussian_score(np.full(mix.d, mix.variances[0])) if key == "gaussian"
                       else mixture_score(mix))
        score = perturbed(exact_score, eps2) if eta > 0 else None
        bound = kl_bound(g, mix.d, mix.second_moment, eps2).total
        path = _exact_path_kl(g, mix, eps2)
        pmc = path_kl_estimate(g, mix, score, n=n, seed=seed, device=device,
                               progress=step_callback("path block"))
        if key == "gaussian":
            lam = float(mix.variances[0])
            sampled = gaussian_kl(g, lam, d=mix.d, score_bias=shift)
            Y = ei_sample(g.variances, score or exact_score, n, mix.d, seed=seed, device=device,
                          progress=step_callback("sampler step"))
            smc = gaussian_kl_estimate(Y, lam + g.variances[-1])
            s_mc, s_se = smc.kl, smc.se
        else:
            sampled = sampler_law_1d(g, mix, *mixture_score_1d(mix, shift)).kl
            s_mc = s_se = None
        where = f"{key}, {kind}, N = {N}, eta = {eta:g}"
        mc = [compare(f"path KL, Monte Carlo vs exact, {where}", pmc.total, path,
                      se=pmc.total_se, z=z)]
        if s_mc is not None:
            mc.append(compare(f"sampled KL, Monte Carlo vs exact, {where}", s_mc, sampled,
                              se=s_se, z=z))
        order = holds(f"bound >= path KL >= sampled KL, {where}",
                      bound >= path >= sampled * (1 - 1e-9), sampled,
                      f"<= {path:.6g} <= {bound:.6g}")
        for c in mc + [order]:
            report.add(c)
        rows.append({"data": key, "d": mix.d, "grid": kind, "N": N, "eta": eta, "bound": bound,
                     "path_kl": path, "path_kl_mc": pmc.total, "path_kl_mc_se": pmc.total_se,
                     "sampled_kl": sampled, "sampled_kl_mc": s_mc, "sampled_kl_mc_se": s_se,
                     "bound_over_sampled": bound / sampled if sampled > 0 else None,
                     # the row's Monte Carlo verdict: agree when both estimates do
                     "mc_verdict": next((c.verdict for c in mc if not c.ok), AGREE),
                     "order_verdict": order.verdict})
    n_agree = sum(r["mc_verdict"] == AGREE for r in rows)
    n_ord = sum(r["order_verdict"] == AGREE for r in rows)
    ratios = [r["bound_over_sampled"] for r in rows if r["bound_over_sampled"] is not None]
    report.text = (f"{n_agree}/{len(rows)} Monte Carlo values within {z:g} SE of the "
                   f"exact ones; bound >= path KL >= sampled KL in {n_ord}/{len(rows)}; "
                   f"bound / sampled KL {min(ratios):.3g} .. {max(ratios):.3g}")
    meta = provenance(kind="sampling-validate", n=n, seed=seed, z=z,
                      seconds=time.perf_counter() - t0,
                      summary=report.summary(mc_agree=n_agree, ordered=n_ord, rows=len(rows)))
    return Table(list(VALIDATION_COLUMNS), rows, meta)


# --------------------------------------------------------------------------- bench
def bench_groups(quick: bool, device: str) -> list:
    """The family's ``lowdim bench`` row: the exponential-integrator sampler with the exact
    Gaussian score (18 EDM steps, 10^5 samples, d = 16) against drawing its Gaussian noise,
    one ``randn`` per step."""
    from .timing import BenchGroup

    return [BenchGroup(lambda: _bench_rows(device), "1 (small work capped)")]


def _bench_rows(device):
    import torch

    from lowdim.simulate.device import make_generator, one_thread, resolve_device
    from lowdim.simulate.sampling import ei_sample, gaussian_score
    from lowdim.theory.sampling import edm_grid

    from .timing import bench_row, best_time

    dev = resolve_device(device)
    grid = edm_grid(18)
    n, d = 100_000, 16
    score = gaussian_score(np.ones(d))
    secs, _ = best_time(lambda: ei_sample(grid.variances, score, n, d, device=str(dev)),
                        repeat=3)

    def noise():
        gen = make_generator(dev, 0, "bench")
        for _ in range(grid.variances.size - 1):
            torch.randn(n, d, generator=gen, dtype=torch.float64, device=dev)

    with one_thread():   # the floor on the threads the sampler uses
        floor, _ = best_time(noise, repeat=3)
    return [bench_row(f"sampling EI sampler, exact Gaussian score, 18 EDM steps, n=1e5, "
                      f"d={d}, {dev.type}", secs, floor, "one randn per step")]
