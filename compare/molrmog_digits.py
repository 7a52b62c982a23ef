"""The digits experiment (Yang et al. 2026, Section 4, at the size of scikit-learn's bundled 8x8
digits): one linear subspace per class from an uncentred PCA of that class, the data projected
onto their class subspace (so they lie on a union of 10 subspaces, the model's assumption),
and the three score models trained on the same 80 % of the images.  Within a class the
projected images are not exactly low-rank per mode, so the MoG network here gives each mode a
learnable isotropic latent variance on top of its rank-``r`` factor.

Measured, on the held-out 20 %: the DSM loss (same noise and times for every model), a kernel
two-sample distance of generated against held-out images, and how recognisable the samples
are to a logistic-regression classifier fitted on the raw training digits (mean top-class
probability, and the spread of predicted classes against uniform)."""
from __future__ import annotations

import time

import numpy as np

from lowdim.theory.molrmog import MoLRMoG, parameter_counts

from ._lazy import LazyModule
from .molrmog import WINDOW
from .plots import COLORS
from .progress import counted, report_step, step_callback
from .table import Table
from .verdict import Report, holds

# imported at first use: the theory-only actions of this module need neither torch nor
# the simulations
torch = LazyModule("torch")
sim = LazyModule("lowdim.simulate.molrmog")

__all__ = ["load_projected_digits", "build_digits", "plot_digits"]

PRESETS = {"quick": {"d": 10, "n_modes": 4, "rank": 2, "steps": 600, "n_samples": 400,
                     "sample_steps": 80},
           "paper": {"d": 12, "n_modes": 8, "rank": 3, "steps": 6000, "n_samples": 2000,
                     "sample_steps": 200}}
COLUMNS = ["kind", "panel", "series", "x", "y", "se", "note"]


def load_projected_digits(d=10, seed=0, test_fraction=0.2):
    """Digits scaled to [0, 1], class subspaces (top-``d`` right singular vectors of each
    class's raw images), images projected on their class subspace; a stratified split.
    Returns ``(bases, x_train, y_train, x_test, y_test, raw_train, raw_test)``."""
    from sklearn.datasets import load_digits

    ds = load_digits()
    x = ds.data.astype(float) / 16.0
    y = ds.target
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in range(10):
        idx = np.nonzero(y == c)[0]
        test[rng.choice(idx, int(round(test_fraction * len(idx))), replace=False)] = True
    bases, proj = [], np.empty_like(x)
    for c in range(10):
        tr = x[(y == c) & ~test]
        a = np.linalg.svd(tr, full_matrices=False)[2][:d].T
        a = np.linalg.qr(a)[0]
        bases.append(a)
        proj[y == c] = x[y == c] @ a @ a.T
    return bases, proj[~test], y[~test], proj[test], y[test], x[~test], x[test]


def _heldout_dsm(model, x, seed=0, draws=8):
    gen = torch.Generator().manual_seed(seed)
    xs = x.repeat_interleave(draws, 0)
    t = sim.sample_times(xs.shape[0], gen, *WINDOW)
    xt, xi = sim.noised(xs, t, gen)
    g = torch.sqrt(sim.coefficients(t)[1])[:, None]
    with torch.no_grad():
        per = torch.sum((g * model(xt, t) + xi) ** 2, 1).reshape(-1, draws).mean(1)
    return float(per.mean()), float(per.std() / np.sqrt(len(per)))


def build_digits(preset="quick", device="auto", progress=None):
    report_step(0, 1, "data and classifier")
    from sklearn.linear_model import LogisticRegression

    p = PRESETS[preset]
    t0 = time.perf_counter()
    bases, xtr, ytr, xte, yte, raw_tr, raw_te = load_projected_digits(p["d"])
    clf = LogisticRegression(max_iter=2000).fit(raw_tr, ytr)
    report_step(1, 1, "data and classifier")
    clf_acc = float(clf.score(raw_te, yte))
    proj_acc = float(clf.score(xte, yte))
    K, d = len(bases), p["d"]
    # a spec object carries the bases and shapes to the network constructors
    shape = MoLRMoG(bases, [np.zeros((1, d))] * K, [np.eye(d)[None, :, :1]] * K, [np.ones(1)] * K)
    counts = parameter_counts([p["n_modes"]] * K, [d] * K, ranks=p["rank"])
    counts["latent_mog"] += K * p["n_modes"]  # one latent noise level per mode
    nets = {"latent MoG": (sim.mog_network(shape, n_modes=[p["n_modes"]] * K,
                                           ranks=[p["rank"]] * K, latent_noise=True), 1e-2),
            "latent Gaussian": (sim.gaussian_network(shape), 1e-2),
            "generic": (sim.generic_network(64, 10 * counts["latent_mog"]), 3e-3)}
    x_train = torch.tensor(xtr)
    x_test = torch.tensor(xte)
    rows, images, models = [], {"held-out data": xte[:64].tolist()}, []
    ref_probs = clf.predict_proba(xte)
    rows.append({"kind": "data", "panel": "confidence", "series": "held-out data", "x": 0,
                 "y": float(ref_probs.max(1).mean()), "se": None, "note": None})
    for i, (name, (net, lr)) in enumerate(counted(nets.items(), "model", progress)):
        tr = sim.train_dsm(net, x_train, steps=p["steps"], batch=256, lr=lr, seed=0,
                           device=device, kind=name, progress=step_callback("training step"))
        loss, loss_se = _heldout_dsm(tr.model.cpu(), x_test)
        xs = sim.reverse_sample(tr.model, 64, p["n_samples"], steps=p["sample_steps"], seed=1,
                                device=device, progress=step_callback("sampling step")).cpu()
        xs = torch.clamp(xs, -0.5, 1.5)
        m = sim.mmd(xs, x_test[: p["n_samples"]], blocks=4)
        probs = clf.predict_proba(xs.numpy())
        conf = probs.max(1)
        hist = np.bincount(probs.argmax(1), minlength=10) / len(conf)
        models.append({"model": name, "parameters": tr.parameter_count, "heldout_dsm": loss,
                       "heldout_dsm_se": loss_se, "mmd": m.value, "mmd_se": m.se,
                       "confidence": float(conf.mean()),
                       "confidence_se": float(conf.std(ddof=1) / np.sqrt(len(conf))),
                       "class_tv": 0.5 * float(np.abs(hist - 0.1).sum()),
                       "train_seconds": tr.seconds})
        for key in ("heldout_dsm", "mmd", "confidence"):
            rows.append({"kind": "simulation", "panel": key, "series": name, "x": i,
                         "y": models[-1][key], "se": models[-1][key + "_se"],
                         "note": f"{tr.parameter_count} parameters"})
        images[name] = xs[:64].numpy().round(3).tolist()
    by = {m["model"]: m for m in models}
    mog, gau = by["latent MoG"], by["latent Gaussian"]
    report = Report([holds(f"{m['model']} samples read as digits (classifier confidence)",
                           m["confidence"] >= 0.8, m["confidence"], ">= 0.8")
                     for m in (mog, gau)])
    report.text = (
        "held-out DSM loss " + ", ".join(f"{m['model']} {m['heldout_dsm']:.3f}" for m in models)
        + "; classifier confidence " + ", ".join(f"{m['confidence']:.2f}" for m in models)
        + f" (held-out projected digits {rows[0]['y']:.2f}); parameters "
        + "/".join(str(m["parameters"]) for m in models))
    meta = {"models": models, "images": images, "classifier_accuracy": clf_acc,
            "classifier_accuracy_projected": proj_acc, "sizes": p, "n_train": len(ytr),
            "n_test": len(yte), "build_seconds": time.perf_counter() - t0,
            "summary": report.summary()}
    return Table(list(COLUMNS), rows, meta)


def plot_digits(table, path):
    import matplotlib.pyplot as plt

    from .plots import MARKERS, PAPER_WIDTH, save, style, subtitle

    style()
    names = ["held-out data", "latent MoG", "latent Gaussian", "generic"]
    fig = plt.figure(figsize=(PAPER_WIDTH["double"], 4.3))
    gs = fig.add_gridspec(2, 1, height_ratios=[1.25, 1.0])
    top, bottom = gs[0].subgridspec(1, 4), gs[1].subgridspec(1, 2, wspace=0.35)
    models = {m["model"]: m for m in table.meta["models"]}
    for j, name in enumerate(names):
        ax = fig.add_subplot(top[j])
        imgs = np.asarray(table.meta["images"][name])[:64].reshape(-1, 8, 8)
        grid = np.zeros((8 * 9 + 1, 8 * 9 + 1))
        for i, im in enumerate(imgs):
            r, c = divmod(i, 8)
            grid[1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = np.clip(im, 0, 1)
        ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
        ax.set_axis_off()
        sub = "" if name not in models else f"\n{models[name]['parameters']} parameters"
        ax.set_title(f"({chr(97 + j)}) {name}{sub}")
    ms = table.meta["models"]
    xs = np.arange(len(ms))
    ticks = [m["model"].replace("latent ", "latent\n") for m in ms]
    ref = [r for r in table.rows if r["panel"] == "confidence" and r["kind"] == "data"]
    for k, (key, title, label) in enumerate((
            ("confidence", "(e) do samples read as digits?", "classifier confidence\n"
             "(mean top-class probability)"),
            ("heldout_dsm", "(f) held-out denoising loss", "held-out DSM loss"))):
        ax = fig.add_subplot(bottom[k])
        if key == "confidence" and ref:
            ax.axhline(ref[0]["y"], color="0.3", ls="--", lw=0.9,
                       label=f"held-out digits ({ref[0]['y']:.2f})")
        for i, m in enumerate(ms):
            ax.errorbar(i, m[key], yerr=3 * m[key + "_se"], fmt=MARKERS[i], ms=4,
                        color=COLORS[i])
            ax.annotate(f"{m[key]:.2f}",
                        (i, m[key]), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=6.5)
        ax.set_xticks(xs, ticks)
        ax.set_xlim(-0.5, len(ms) - 0.3)
        ax.set(ylabel=label, title=title + " (3 SE bars)")
        if key == "confidence":
            ax.set_ylim(0.5, 1.0)
            ax.legend(loc="lower left")
        else:
            ax.set_yscale("log")
    p = table.meta.get("sizes", {})
    subtitle(fig, f"scikit-learn 8\u00d78 digits, one class-PCA subspace per class "
                  f"($d_k$ = {p.get('d')}), {p.get('n_modes')} modes of rank {p.get('rank')}; "
                  f"{table.meta.get('n_train')} training, {table.meta.get('n_test')} held-out "
                  f"images; {p.get('steps')} training steps")
    save(fig, path)
