"""
MoLRG: the phase transition of subspace recovery at N_k = d
===========================================================

Data from a mixture of ``K`` low-rank Gaussians, each on its own ``d``-dimensional subspace
of ``R^D`` (Wang, Zhang, Zhang, Chen, Ma, Qu 2024).  Training a low-rank denoiser on these
samples is PCA for one subspace and K-subspaces clustering for several, and the subspaces are
recovered once each component has ``N_k = d`` samples
(:func:`lowdim.theory.molrg.recovery_threshold`), whatever the ambient dimension ``D``.
Above the threshold the noise leaves a first-order error
(:func:`lowdim.theory.molrg.noisy_error_rms`); below it, a floor
(:func:`lowdim.theory.molrg.failure_floor`).

Here: the success rate of K-subspaces (``K = 2``, ``D = 48``) over ``(N_k, d)`` against the
threshold, and the mean subspace error at ``d = 4`` against the two predictions.
"""

# %%
# The phase diagram
# -----------------
# :func:`lowdim.compare.molrg.phase_table` draws 20 independent data sets per cell (fresh
# subspaces, latents and noise of RMS norm 0.05), recovers the subspaces and counts a trial
# as a success when every component's normalized error ``‖ÛÛᵀ − UUᵀ‖_F / √(2d)`` is below
# 0.1.  The theory's columns sit beside each cell.
import numpy as np

from lowdim.compare.molrg import phase_table

ds = (2, 3, 4, 5, 6)
Ns = tuple(range(1, 13))
table = phase_table(K=2, learner="ideal", ds=ds, Ns=Ns, trials=20, device="cpu")
success = np.array(table.column("success")).reshape(len(ds), len(Ns))
print(table.filter(lambda r: r["d"] == 4).to_text(
    ["N_k", "success", "success_se", "mean_error", "theory_rms_error", "theory_floor"]))

# %%
# The claim, judged
# -----------------
# Every cell at least two samples below the threshold fails and every cell two above it
# succeeds, up to two binomial standard errors: one check of
# :func:`lowdim.compare.verdict.holds`.
from lowdim.compare.molrg import rates_within
from lowdim.compare.verdict import holds

below = table.filter(lambda r: r["N_k"] <= r["d"] - 1).rows
above = table.filter(lambda r: r["N_k"] >= r["d"] + 2).rows
check = holds("success at N_k <= d - 1 / N_k >= d + 2",
              rates_within(below, 0.1, at_least=False) and rates_within(above, 0.9, at_least=True),
              reference="<= 0.1 / >= 0.9 (2 SE)")
print(check.name, "->", check.verdict)

# %%
# The picture
# -----------
from lowdim.compare import plots
from lowdim.theory.molrg import noise_boundary

fig, axes = plots.new_figure(2, 1, width=3.4, height=2.8)
ax = axes[0, 0]
image = ax.imshow(success, origin="lower", aspect="auto", cmap="Blues", vmin=0, vmax=1,
                  extent=(Ns[0] - 0.5, Ns[-1] + 0.5, ds[0] - 0.5, ds[-1] + 0.5))
ax.plot(ds, ds, color=plots.COLORS[1], label="N_k = d")
ax.plot([noise_boundary(d, 48, 0.05, 0.1) for d in ds], ds, color=plots.COLORS[3],
        linestyle="--", label="first-order error = 0.1")
ax.set_xlabel("samples per component N_k")
ax.set_ylabel("subspace dimension d")
fig.colorbar(image, ax=ax, label="success rate")

ax = axes[0, 1]
rows = table.filter(lambda r: r["d"] == 4).rows
N = np.array([r["N_k"] for r in rows])
ax.errorbar(N, [r["mean_error"] for r in rows], yerr=None, fmt="o", color=plots.COLORS[0],
            markerfacecolor="white", label="K-subspaces, mean of 20")
rms = np.array([r["theory_rms_error"] for r in rows])
floor = np.array([r["theory_floor"] for r in rows])
ax.plot(N[np.isfinite(rms)], rms[np.isfinite(rms)], color=plots.COLORS[3],
        label="first-order noise error")
ax.plot(N[N < 4], floor[N < 4], color=plots.COLORS[2], linestyle="--",
        label="random-completion floor")
ax.axvline(4, color="0.5", linewidth=0.8)
ax.set_yscale("log")
ax.set_xlabel("samples per component N_k")
ax.set_ylabel("normalized subspace error")
plots.shared_legend(fig, ncol=3)
plots.subtitle(fig, "K = 2, D = 48, noise 0.05, success threshold 0.1; right: d = 4")
fig.tight_layout(rect=(0, 0.12, 1, 0.94))
