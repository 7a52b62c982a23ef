"""
Random-features learning curves
===============================

A random-features score ``s_A(x) = A σ(Wx/√d)/√p`` is trained by denoising score matching
at one diffusion time ``t`` on ``n`` data points, each seen with ``m`` noise samples.  As
``d, n, p → ∞`` with ``ψ_n = n/d`` and ``ψ_p = p/d`` fixed, its test, train and score errors
tend to deterministic curves, which :func:`lowdim.theory.rf.predict` computes on a whole grid
at once.

Here: the curves against ``ψ_p`` for ``m = 1`` and ``m = 4`` (the interpolation peak sits at
``ψ_p = m ψ_n``), then the finite-size model trained at ``d = 100`` on six settings, each
measurement judged against the theory by the package's one verdict.
"""

# %%
# The theory on a grid
# --------------------
# Grid parameters broadcast: a column of ``ψ_p`` against a row of ``m`` gives a 300 × 2
# grid, solved in one call.  Every point carries ``converged`` and ``residual``.
import numpy as np

from lowdim.theory.rf import RFSetting, predict

psi_p = np.geomspace(0.1, 100, 300)
ms = np.array([1, 4])
setting = RFSetting(psi_n=2.0, psi_p=psi_p[:, None], t=0.1, lam=1e-3, m=ms[None, :],
                    activation="tanh")
pred = predict(setting)
print(pred.test_error.shape, "all converged:", pred.success,
      "largest residual:", f"{pred.residual.max():.1e}")

# %%
# A small simulation, judged
# --------------------------
# :func:`lowdim.compare.rf.experiment` trains the finite-size model (``d = 100``, five
# seeds, test and score errors on 512 fresh samples per seed) on every point of a setting,
# and also at ``d/2`` so that the leading ``1/d`` correction can be removed (Richardson
# extrapolation ``2 E(d) − E(d/2)``).  Each quantity becomes a check: ``agree`` when the
# extrapolated value lies within ``max(k SE, 3 % of the theory)`` of it.
from lowdim.compare.rf import experiment
from lowdim.simulate.rf import RFSize

points = RFSetting(psi_n=2.0, psi_p=np.array([0.5, 1.0, 4.0])[:, None], t=0.1, lam=1e-3,
                   m=ms[None, :], activation="tanh")
table = experiment(points, RFSize(d=100, seeds=5, n_test=512, device="cpu"), extrapolate=True)
print(table.meta["summary"]["text"])
print(table.filter(lambda r: r["quantity"] in ("test_error", "train_error")).to_text(
    ["psi_p", "m", "quantity", "theory", "extrapolated", "extrapolated_se", "verdict"]))

# %%
# Theory and simulation side by side
# ----------------------------------
# Lines: the theory.  Points: the extrapolated simulation, with bars of three standard
# errors.
from lowdim.compare import plots

fig, axes = plots.new_figure(2, 1, width=3.4, height=2.8)
for ax, quantity in zip(axes[0], ("test_error", "train_error")):
    for j, m in enumerate(ms):
        rows = [r for r in table.rows if r["quantity"] == quantity and r["m"] == m]
        plots.overlay(ax, psi_p, getattr(pred, quantity)[:, j], color=plots.COLORS[j],
                      linestyle=plots.LINESTYLES[j], label=f"m = {m}",
                      x_sim=[r["psi_p"] for r in rows], y_sim=[r["extrapolated"] for r in rows],
                      se_sim=[r["extrapolated_se"] for r in rows],
                      marker=plots.MARKERS[j])
    ax.set_xscale("log")
    ax.set_xlabel(plots.LABELS["psi_p"])
    ax.set_ylabel(plots.LABELS[quantity])
axes[0, 1].set_yscale("log")
axes[0, 0].legend()
plots.subtitle(fig, "tanh, ψ_n = 2, t = 0.1, λ = 0.001; simulation at d = 100, 50, five seeds")
fig.tight_layout(rect=(0, 0, 1, 0.95))
