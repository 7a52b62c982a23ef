"""Real data against the random-features theory: where does Gaussian equivalence hold?

The theory of :mod:`lowdim.theory.rf` with ``data="spectrum"`` is the Gaussian-covariate
model: ``x_0 ~ N(0, Sigma)`` with the data's covariance.  For a real data set ``X``
(``N x d``) the rows are centred by their mean and divided by one number so that the
covariance ``Sigma = X^T X / N`` has mean eigenvalue 1 (trace ``d``, the convention of
:func:`lowdim.theory.spectra.covariance_eigenvalues`); a held-out share of the rows is the
test set.  On one grid of ``(t, m, psi_n)`` three things are measured side by side:

- **theory**: the ``d -> inf`` learning curves with the eigenvalues of ``Sigma``;
- **Gaussian surrogate**: the finite-size simulation on ``N(0, Sigma)`` data, at a larger
  ``surrogate_d`` (the spectrum resampled by quantiles) and ``1/d``-extrapolated from
  ``surrogate_d / 2``, judged against the theory by the package's rule
  (:func:`lowdim.compare.rf.judge`): this checks the theory for that covariance;
- **real data**: the same random-features model trained on ``n = psi_n d`` rows drawn
  without replacement from the training rows and tested on the held-out rows, at the data's
  own ``d``, beside the Gaussian simulation at that same ``d`` with the same features,
  noises and seeds.  Their paired difference, the *Gaussian-equivalence gap*, is free of
  the finite-size corrections both share.  It is judged by the same band rule and reported,
  but it does not enter the verdict: the theory makes no claim about non-Gaussian data.

The test error is the denoising loss ``(1/d) E ||sqrt(Delta_t) s(x_t) + xi||^2`` on fresh
(held-out) data and the train error the loss on the training noises; the score error
needs the exact score, which real data do not have.  Research note rf_learning_curves.md
section 2 [paper: GVM25]; Gaussian-covariate equivalence for real data
[paper: LGCGKMZ21] (Loureiro, Gerbelot, Cui, Goldt, Krzakala, Mézard, Zdeborová 2021).
"""
from __future__ import annotations

import math
import time

import numpy as np

from lowdim.theory.rf import RFSetting, predict
from lowdim.theory.spectra import covariance_eigenvalues

from ._lazy import LazyModule
from .provenance import provenance
from .rf import DEFAULT_REL_TOL, DEFAULT_Z, MIN_SEEDS, judge, richardson, simulate_points
from .table import Table
from .verdict import Report

sim = LazyModule("lowdim.simulate.rf")
simdata = LazyModule("lowdim.simulate.data")

__all__ = ["DATASETS", "COLUMNS", "QUANTITIES", "SPIKE_SHARE", "load_rows", "digits", "image_patches",
           "standardize", "split", "experiment"]

#: The data sets a package ships (nothing is downloaded): name -> what it is.
DATASETS = {
    "digits": "scikit-learn's 8x8 handwritten digits (1797 rows, d = 64)",
    "patches": "12x12 grey patches cut at random from scikit-learn's two sample images "
               "(20000 rows, d = 144)",
    "patches-centred": "the same patches, each less its own mean brightness (the usual "
                       "preprocessing of natural-image patches)",
}
#: The theory is the limit d -> inf with every eigenvalue a vanishing share of the trace;
#: above this share of the largest one (a spiked covariance) its finite-size corrections are
#: no longer small at the data's d (measured: agreement at 0.15 and 0.18, deviations up to
#: 25 % at 0.91), and the surrogate's checks are shown but not counted.
SPIKE_SHARE = 0.5
#: The measured quantities (real data have no exact score, hence no score error).
QUANTITIES = ("test_error", "train_error")
COLUMNS = ["dataset", "d", "train_rows", "test_rows", "psi_n", "psi_p", "m", "t", "lam",
           "activation", "quantity", "theory", "surrogate_d", "surrogate", "surrogate_se",
           "surrogate_verdict", "gaussian", "gaussian_se", "real", "real_se", "gap", "gap_se",
           "rel_gap", "gap_verdict", "real_rel_deviation", "n_seeds", "seconds"]


def digits() -> np.ndarray:
    """The 1797 digits of scikit-learn as an ``(1797, 64)`` float matrix (pixel values 0..16)."""
    from sklearn.datasets import load_digits

    return np.asarray(load_digits().data, dtype=float)


def image_patches(side: int = 12, count: int = 20000, seed: int = 0) -> np.ndarray:
    """``count`` grey ``side x side`` patches at random positions of scikit-learn's two
    sample images (china, flower), as an ``(count, side**2)`` matrix in ``[0, 1]``.

    Grey is the luma ``0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601); patches may overlap;
    half come from each image.  At most ``10**5`` patches.
    """
    for name, value, lo, hi in (("side", side, 2, 64), ("count", count, 2, 10**5)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not lo <= value <= hi:
            raise ValueError(f"{name}: must be an integer in {lo}..{hi} (got {value!r})")
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    images = [np.asarray(im, dtype=float) @ np.array([0.299, 0.587, 0.114]) / 255.0
              for im in load_sample_images().images]
    out = []
    for k, grey in enumerate(images):
        take = count // len(images) + (k < count % len(images))
        rows = rng.integers(0, grey.shape[0] - side + 1, take)
        cols = rng.integers(0, grey.shape[1] - side + 1, take)
        idx = np.arange(side)
        out.append(grey[rows[:, None, None] + idx[None, :, None],
                        cols[:, None, None] + idx[None, None, :]].reshape(take, side * side))
    return np.concatenate(out)


def load_rows(dataset) -> tuple:
    """``(name, X)`` for a data set name of :data:`DATASETS` or an ``(N, d)`` array."""
    if isinstance(dataset, str):
        if dataset == "digits":
            return dataset, digits()
        if dataset == "patches":
            return dataset, image_patches()
        if dataset == "patches-centred":
            patches = image_patches()
            return dataset, patches - patches.mean(axis=1, keepdims=True)
        raise ValueError(f"dataset: unknown data set {dataset!r} (known: "
                         f"{', '.join(DATASETS)}, or pass an (N, d) array)")
    X = np.asarray(dataset, dtype=float)
    if X.ndim != 2 or X.shape[0] < 4 or X.shape[1] < 2:
        raise ValueError(f"dataset: need an (N, d) data matrix with N >= 4 and d >= 2 "
                         f"(got shape {X.shape})")
    return "rows", X


def standardize(X) -> tuple:
    """``(Z, eigenvalues)``: the rows centred and scaled by one number so that their
    covariance ``Z^T Z / N`` has mean eigenvalue 1, and those eigenvalues (ascending).

    Raises ``ValueError`` for a matrix with a NaN or infinity or with all rows equal.
    """
    X = np.asarray(X, dtype=float)
    eig = covariance_eigenvalues(X, center=True, normalize=True)
    Xc = X - X.mean(axis=0)
    scale = math.sqrt(float(np.sum(Xc * Xc)) / (X.shape[0] * X.shape[1]))
    return Xc / scale, eig


def split(Z, test_share: float = 0.3, seed: int = 0) -> tuple:
    """``(train, test)``: a random ``test_share`` of the rows held out for testing."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share: must be in (0, 1) (got {test_share!r})")
    Z = np.asarray(Z)
    perm = np.random.default_rng(seed).permutation(len(Z))
    n_test = max(1, int(round(test_share * len(Z))))
    return Z[perm[n_test:]], Z[perm[:n_test]]


def _grid(name, values, lo, *, integer=False, allow_inf=False):
    vals = np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    if vals.size == 0 or not np.all(vals >= lo) or np.any(np.isnan(vals)) or (
            not allow_inf and np.any(np.isinf(vals))) or (
            integer and not np.all(vals == np.round(vals))):
        kind = "integers" if integer else "numbers"
        raise ValueError(f"{name}: need finite {kind} >= {lo:g} (got {values!r})")
    return [float(v) for v in vals]


def experiment(dataset="digits", *, t=(0.05, 0.3, 1.5), m=(1, 16), psi_n=(0.5, 1, 4, 8),
               psi_p=2.0, lam: float = 1e-2, activation: str = "tanh",
               seeds=8, n_test: int = 2048, surrogate_d: int | None = None,
               test_share: float = 0.3, split_seed: int = 0, device: str = "auto",
               z: float = DEFAULT_Z, rel_tol: float = DEFAULT_REL_TOL,
               progress=None) -> Table:
    """Theory, Gaussian surrogate and real data on one grid (module docstring); a table.

    Parameters
    ----------
    dataset : str or array_like
        ``"digits"``, ``"patches"`` (:data:`DATASETS`) or an ``(N, d)`` data matrix.
    t, m, psi_n, psi_p : sequence
        The grid: diffusion times, noise samples per data point, ``n / d`` and ``p / d``
        (a number is a grid of one).
    lam, activation
        The ridge and the features' activation.
    seeds : int or sequence of int
        Seeds of every simulation (the real and the Gaussian runs at the data's ``d``
        share features and noises seed by seed).
    n_test : int
        Test samples per seed (held-out rows drawn with replacement for the real data).
    surrogate_d : int, optional
        ``d`` of the extrapolated Gaussian surrogate (default: ``2 d``, at least 256).
    test_share, split_seed
        The held-out share of the rows and the seed of the split.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    z, rel_tol : float
        The band rule of :func:`lowdim.compare.rf.judge`.
    progress : callable, optional
        ``progress(done, total)`` as seed tasks finish.

    Returns
    -------
    Table
        One row per ``(t, m, psi_n, psi_p, quantity)``, columns :data:`COLUMNS`: ``gap`` is
        ``real - gaussian`` (paired by seed), ``rel_gap`` the same over ``gaussian``,
        ``real_rel_deviation`` is ``(real - theory) / theory``.  ``meta["summary"]`` judges
        the surrogate against the theory; ``meta["equivalence"]`` counts the gap verdicts;
        ``meta["spike_share"]`` is the largest eigenvalue's share of the trace and
        ``meta["norm_cv"]`` the coefficient of variation of ``||x||^2 / d`` for the data and
        for Gaussian data of the same covariance.
    """
    name, X = load_rows(dataset)
    ts = _grid("t", t, 1e-6)
    ms = _grid("m", m, 1, integer=True)
    pns = _grid("psi_n", psi_n, 1e-9)
    pps = _grid("psi_p", psi_p, 1e-9)
    size_seeds = sim.RFSize(seeds=seeds).seeds   # validates the seeds
    if len(size_seeds) < 2:
        raise ValueError("seeds: need at least two seeds for a standard error")
    Z, eig = standardize(X)
    train, test = split(Z, test_share, split_seed)
    d = Z.shape[1]
    spike = float(eig.max() / eig.sum())
    # how much the squared norms ||x||^2 / d spread: sqrt(2 sum lam^2) / sum lam for Gaussian
    # data; real data far above it are a scale mixture, which Gaussian equivalence ignores
    norms = np.mean(Z * Z, axis=1)
    norm_cv = {"data": float(np.std(norms) / np.mean(norms)),
               "gaussian": float(math.sqrt(2.0 * np.sum(eig**2)) / np.sum(eig))}
    s_d = max(256, 2 * d) if surrogate_d is None else int(surrogate_d)
    if s_d < 8:
        raise ValueError(f"surrogate_d: need at least 8 (got {surrogate_d!r})")
    need = int(round(max(pns) * d))
    if need > len(train):
        raise ValueError(f"psi_n: psi_n = {max(pns):g} needs {need} training rows; the data "
                         f"have {len(train)} (after holding out {test_share:.0%})")
    t0 = time.perf_counter()
    t_g, m_g, pn_g, pp_g = (g.ravel() for g in np.meshgrid(ts, ms, pns, pps, indexing="ij"))
    grid = RFSetting(psi_n=pn_g, psi_p=pp_g, m=m_g, t=t_g, lam=lam, activation=activation,
                     data="spectrum", eigenvalues=eig)
    pred = predict(grid)   # the whole grid in one solve
    settings = list(grid.points())
    own = sim.RFSize(d=d, seeds=size_seeds, n_test=n_test, device=device)
    full = sim.RFSize(d=s_d, seeds=size_seeds, n_test=n_test, device=device, stream="surrogate")
    half = sim.RFSize(d=s_d // 2, seeds=size_seeds, n_test=n_test, device=device,
                      stream="surrogatehalf")
    jobs = ([(s, own) for s in settings] + [(s, full) for s in settings]
            + [(s, half) for s in settings])
    total = len(jobs) * len(size_seeds) + len(settings) * len(size_seeds)
    done = [0]

    def tick(k, _total=None):
        done[0] = k
        if progress is not None:
            progress(k, total)

    gaussian = simulate_points(jobs, progress=tick)
    n_jobs = len(settings)
    from lowdim.simulate.device import resolve_device, resolve_dtype

    dev = resolve_device(device)
    rows_model = simdata.DataRows(train, test, dev, resolve_dtype(own.dtype))
    real = []
    for s in settings:
        results = []
        for seed in own.seeds:
            results.append(sim.fit_seed(s, own, seed, device=dev, data=rows_model))
            tick(done[0] + 1)
        real.append(sim.measurement(s, own, results, device=dev))
    rows, report = [], Report()
    for k in range(n_jobs):
        tt, mm, pn, pp = float(t_g[k]), float(m_g[k]), float(pn_g[k]), float(pp_g[k])
        g_own, g_full, g_half, r = (gaussian[k], gaussian[n_jobs + k],
                                    gaussian[2 * n_jobs + k], real[k])
        for q in QUANTITIES:
            theory = float(getattr(pred, q)[k]) if bool(pred.converged[k]) else None
            value, se, dof = richardson(g_full, g_half, q)
            label = f"{name} t={tt:g} m={mm:g} psi_n={pn:g} psi_p={pp:g} {q}"
            check = judge(theory, value, se, dof, len(size_seeds), z=z, rel_tol=rel_tol,
                          name=f"surrogate {label}")
            if spike > SPIKE_SHARE:
                check = check.not_counted(
                    f"the largest eigenvalue holds {spike:.0%} of the trace: a spiked "
                    "covariance, outside the theory's assumptions at this d")
            report.add(check)
            diff = r.per_seed[q] - g_own.per_seed[q]
            gap = float(np.mean(diff))
            gap_se = max(float(np.std(diff, ddof=1) / math.sqrt(len(diff))),
                         math.hypot(r.mc_se[q], g_own.mc_se[q]))
            g_mean = g_own.mean[q]
            gap_check = judge(g_mean, g_mean + gap, gap_se, len(diff) - 1, len(diff), z=z,
                              rel_tol=rel_tol, name=f"equivalence {label}")
            report.add(gap_check.not_counted("a measurement of real data, not a claim"))
            rows.append({
                "dataset": name, "d": d, "train_rows": len(train), "test_rows": len(test),
                "psi_n": pn, "psi_p": pp, "m": int(mm), "t": tt, "lam": float(lam),
                "activation": str(activation), "quantity": q, "theory": theory,
                "surrogate_d": s_d, "surrogate": value, "surrogate_se": se,
                "surrogate_verdict": check.verdict, "gaussian": g_mean,
                "gaussian_se": g_own.uncertainty(q), "real": r.mean[q],
                "real_se": r.uncertainty(q), "gap": gap, "gap_se": gap_se,
                "rel_gap": gap / g_mean if g_mean else None,
                "gap_verdict": gap_check.verdict,
                "real_rel_deviation": (r.mean[q] - theory) / theory if theory else None,
                "n_seeds": len(size_seeds),
                "seconds": g_own.seconds + g_full.seconds + g_half.seconds + r.seconds})
    counts = {v: sum(r["gap_verdict"] == v for r in rows)
              for v in ("agree", "disagree", "inconclusive")}
    meta = provenance(
        kind="rf-real-data", dataset=name, d=d, train_rows=len(train), test_rows=len(test),
        spike_share=spike, norm_cv=norm_cv,
        grid={"t": ts, "m": ms, "psi_n": pns, "psi_p": pps, "lam": float(lam),
              "activation": str(activation)},
        size={"seeds": list(size_seeds), "n_test": n_test, "surrogate_d": s_d,
              "device": device},
        rule={"z": z, "rel_tol": rel_tol, "min_seeds": MIN_SEEDS},
        summary=report.summary(rows=len(rows), seconds=time.perf_counter() - t0),
        equivalence=counts)
    return Table(list(COLUMNS), rows, meta)
