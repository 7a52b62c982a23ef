"""
MoLR-MoG: the estimation bound and gradient descent near the truth
==================================================================

Data on a union of ``K`` subspaces, each carrying a mixture of low-rank Gaussians (Yang, Li,
Jiang, Chen, Li 2026).  The score of the noised law has a mixture-of-experts form; a network
of that form, trained by denoising score matching on ``n`` samples, has a score error
bounded by a Rademacher estimate that falls like ``n^(-1/2)``
(:func:`lowdim.theory.molrmog.estimation_error_bound`).  Near the truth, gradient descent
contracts at the rate ``(κ − 1)/(κ + 1)`` set by the condition number of the loss Hessian
(:func:`lowdim.theory.molrmog.local_hessian_spectrum`).

Here: the bound against ``n`` at three diffusion times, then the predicted rate of gradient
descent against the rate measured on the actual loss (autograd Hessian and iterates), each
judged with the package's verdict.
"""

# %%
# The estimation bound
# --------------------
# Two 4-dimensional subspaces with four modes each, data radius 5.  The bound is a
# worst-case statement: it is far above the errors measured in practice (about 1e-3), and
# the figures of the gallery compare the two.
import numpy as np

from lowdim.theory.molrmog import BoundSetting, estimation_error_bound, integrated_bound

setting = BoundSetting(n_modes=(4, 4), dims=(4, 4), R=5.0)
ns = np.geomspace(1e2, 1e6, 40)
times = (0.1, 0.5, 1.0)
bounds = {t: estimation_error_bound(setting, t, ns) for t in times}
window = integrated_bound(setting, ns)
print(f"bound at n = 1e4: t = 0.1 {estimation_error_bound(setting, 0.1, 1e4):.3g}, "
      f"averaged over the window [1e-3, 5] {integrated_bound(setting, [1e4]).value[0]:.3g}")

# %%
# Gradient descent near the truth
# -------------------------------
# :func:`lowdim.compare.molrmog.gd_table` runs gradient descent on the score-matching loss
# at one time ``t`` (over 4000 fixed draws), started a small random step away from the true
# means and factors, with the theorem's step
# ``2/(α + L)``, fits the contraction rate of the iterates, and judges it against the
# prediction (allowance 10 %).  The setting is the paper's optimization case: two opposite
# rank-one modes per subspace, well separated in noise units at these times.
from lowdim.compare.molrmog import GD_SPEC, gd_table, make_spec
from lowdim.theory.molrmog import local_hessian_spectrum

spec = make_spec(**GD_SPEC)
table = gd_table(spec, (0.1, 0.2, 0.3), n_mc=4000)
print(table.to_text(["t", "separation_ratio", "kappa_theory", "kappa_measured", "rate_theory",
                     "rate_measured", "verdict"]))

dims, weights = [], []
for k in range(spec.K):
    for mode in range(spec.n_modes[k]):
        dims.append(spec.dims[k])
        weights.append(spec.subspace_weights[k] * spec.mode_weights[k][mode])
t_line = np.linspace(0.08, 0.35, 60)
rate_line = [local_hessian_spectrum(t, dims, weights).rate for t in t_line]

# %%
# The picture
# -----------
from lowdim.compare import plots

fig, axes = plots.new_figure(2, 1, width=3.4, height=2.8)
ax = axes[0, 0]
for j, t in enumerate(times):
    ax.plot(ns, bounds[t], color=plots.COLORS[j], linestyle=plots.LINESTYLES[j],
            label=f"t = {t:g}")
ax.plot(ns, window.value, color=plots.COLORS[3], linestyle=":", label="window average")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("samples n")
ax.set_ylabel("score-error bound")
ax.legend()

ax = axes[0, 1]
ax.plot(t_line, rate_line, color=plots.COLORS[0], label="theory (κ−1)/(κ+1)")
ax.plot(table.column("t"), table.column("rate_measured"), "o", color=plots.COLORS[1],
        markerfacecolor="white", label="measured")
ax.set_xlabel("diffusion time t")
ax.set_ylabel("contraction per step")
ax.legend()
plots.subtitle(fig, "left: two 4-dim subspaces, four modes each, R = 5;  "
                    "right: D = 10, two subspaces, ±μ modes")
fig.tight_layout(rect=(0, 0, 1, 0.94))
