"""
Real data: the digits against the Gaussian-covariate theory
===========================================================

The random-features theory of :mod:`lowdim.theory.rf` takes a covariance spectrum
(``data="spectrum"``): it is the Gaussian-covariate model, ``x_0 ~ N(0, Σ)``.  Here the
spectrum is that of scikit-learn's 8×8 digits (centred, scaled to mean eigenvalue 1), and
:func:`lowdim.compare.rf_real_data.experiment` measures side by side

* the theory with the digits' own eigenvalues,
* the same model simulated on Gaussian data with that covariance (``1/d``-extrapolated from
  ``d = 64, 128``: it checks the theory), and at the digits' own ``d = 64``,
* the same model trained on the real digits and tested on held-out digits, with the same
  features and noises as the Gaussian run at ``d = 64``.

Their paired difference is the Gaussian-equivalence gap.  The full study, with image
patches, is on the page *Real data*; this example runs a small grid in about half a minute.
"""

# %%
# The spectrum
# ------------
# :func:`lowdim.theory.spectra.covariance_eigenvalues` centres the rows and scales the
# eigenvalues to mean 1; three pixels never vary, so three eigenvalues are zero (directions
# off the data's span).
import numpy as np

from lowdim.compare.rf_real_data import digits, experiment
from lowdim.theory.spectra import covariance_eigenvalues

eig = covariance_eigenvalues(digits())
print(f"d = {eig.size}, zero eigenvalues: {np.sum(eig == 0)}, largest share of the trace: "
      f"{eig.max() / eig.sum():.0%}")

# %%
# Theory, Gaussian surrogate and real data
# ----------------------------------------
# Two diffusion times, 8 noise samples per data point, ``ψ_n = n/d`` of 1 and 4, five
# seeds.  The surrogate is judged against the theory by the package's rule
# (``|sim − theory| ≤ max(k SE, 3 %)``); the gap between real digits and their Gaussian is
# judged by the same rule but does not count: it is a measurement, not a claim.
table = experiment("digits", t=(0.05, 1.5), m=(8,), psi_n=(1, 4), seeds=5, n_test=1024,
                   surrogate_d=128, device="cpu")
print(table.meta["summary"]["text"])
print(table.to_text(["t", "psi_n", "quantity", "theory", "surrogate", "surrogate_verdict",
                     "gaussian", "real", "rel_gap", "gap_verdict"]))

# %%
# As a DataFrame
# --------------
# Every table converts to pandas (``pip install 'lowdim-diffusion[tidy]'``).
df = table.to_pandas()
print(df.pivot_table(index=["t", "psi_n"], columns="quantity", values="rel_gap"))

# %%
# The picture
# -----------
# Relative deviation from the theory of the test error.  The open squares (surrogate) sit
# in the ±3 % band; the filled circles (real digits) fall below their Gaussian at small
# ``t``, where the digits' non-Gaussian structure helps the denoiser, and meet it at
# ``t = 1.5``.
from lowdim.compare import plots

fig, axes = plots.new_figure(2, 1, width=3.0, height=2.4)
rows = [r for r in table.rows if r["quantity"] == "test_error"]
for ax, t in zip(axes[0], (0.05, 1.5)):
    pts = sorted((r for r in rows if r["t"] == t), key=lambda r: r["psi_n"])
    x = np.array([r["psi_n"] for r in pts])
    theory = np.array([r["theory"] for r in pts])
    for k, (key, marker, face, label) in enumerate((
            ("surrogate", "s", "white", "Gaussian, d → ∞"),
            ("gaussian", "o", "white", "Gaussian, d = 64"),
            ("real", "o", None, "real digits, d = 64"))):
        y = (np.array([r[key] for r in pts]) / theory - 1) * 100
        e = 3 * np.array([r[key + "_se"] for r in pts]) / theory * 100
        ax.errorbar(x * 1.06 ** (k - 1), y, e, fmt=marker, ms=3.5, capsize=1.5,
                    color=plots.COLORS[k], mfc=face or plots.COLORS[k], label=label)
    plots.tolerance_band(ax, 3.0)
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.minorticks_off()
    ax.set_xlabel(r"$\psi_n$ = n/d")
    ax.set_title(f"t = {t:g}")
plots.shared_legend(fig, ncol=3)
plots.subtitle(fig, "digits, test error, m = 8, psi_p = 2, lam = 0.01; error bars ±3 SE")
fig.tight_layout(rect=(0, 0.12, 1, 0.9))
