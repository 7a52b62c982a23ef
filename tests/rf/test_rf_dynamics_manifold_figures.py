"""The manifold training-dynamics figure builds at a tiny size through the gallery's
``build_one``; its table is consistent with the theory and with its own verdicts, and it
redraws from its CSV."""
import copy
import json
import math

import pytest

from lowdim.compare import rf_dynamics_manifold_figures as fig
from lowdim.compare.figures import REGISTRY, build_one
from lowdim.compare.table import Table
from lowdim.compare.verdict import AGREE
from lowdim.theory.rf import RFSetting, generalization_curve, predict

FID = "rf-dynamics-manifolds"
# one data model: each manifold curve costs about one spectrum of U (5-10 s)
TINY = {"psi_d": (0.25,), "sim_psi_d": (0.25,), "d": 16, "seeds": 5, "n_test": 512,
        "per_decade": 4, "data": ("linear-manifold",)}


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(fig.PRESETS["quick"], "dynamics", copy.deepcopy(TINY))
    spec = {s.id: s for s in fig.FIGURES}[FID]
    monkeypatch.setitem(REGISTRY, FID, spec)   # whether or not a family lists the module


def test_the_figures_have_a_builder_and_a_plotter():
    assert [s.id for s in fig.FIGURES] == list(fig.BUILDERS) == list(fig.PLOTTERS)
    for s in fig.FIGURES:
        assert s.build is fig.BUILDERS[s.id] and s.plot is fig.PLOTTERS[s.id]


def test_manifold_dynamics_figure_is_consistent(tiny, tmp_path):
    out = build_one(FID, out_dir=str(tmp_path), device="cpu")
    table = Table.from_csv(tmp_path / f"{FID}.csv")
    meta = json.loads((tmp_path / f"{FID}.json").read_text())
    summary = meta["summary"]
    sims = [r for r in table.rows if r["kind"] == "simulation"]
    # one data model at one psi_d, six times, three test errors: each judged once; beside
    # them one rise condition per manifold curve and three time-scale readings
    assert len(sims) == 6 * 3
    assert summary["counted"] == len(sims) + 1 + 3
    assert summary[AGREE] + summary["disagree"] + summary["inconclusive"] == summary["counted"]
    assert out["ok"] == summary["ok"]
    sim_agree = sum(r["verdict"] == AGREE for r in sims)
    assert summary["text"].count(f"{sim_agree}/{len(sims)} simulated") == 1
    for r in sims:
        # the judged value is the 1/d extrapolation 2 E(d) - E(d/2)
        assert r["value"] == pytest.approx(2 * r["value_at_d"] - r["value_at_half_d"],
                                           rel=1e-8, abs=1e-10)
    # the judged theory is the test curve of the same setting
    base = dict(fig.DYNAMICS, data="linear-manifold", psi_d=0.25)
    s = RFSetting(**base)
    lin = sorted([r for r in sims if r["data"] == "linear-manifold"
                  and r["quantity"] == "test_error"], key=lambda r: r["time"])
    curve = generalization_curve(s, [r["time"] for r in lin])["test_error"]
    assert [r["theory"] for r in lin] == pytest.approx(list(curve), rel=1e-6)
    # the dense curves: 1 at tau = 0, the ridge prediction at tau = inf, parts add up
    ridge = predict(s)
    for q in ("test_error", "test_error_par", "test_error_perp"):
        rows = {r["time"]: r["value"] for r in table.rows if r["kind"] == "theory"
                and r["series"] == "linear-manifold psi_d=0.25" and r["quantity"] == q}
        assert rows[math.inf] == pytest.approx(float(getattr(ridge, q)), rel=1e-6)
        if q == "test_error":
            assert rows[0.0] == pytest.approx(1.0, abs=1e-9)
            total = rows
    parts = [{r["time"]: r["value"] for r in table.rows if r["kind"] == "theory"
              and r["series"] == "linear-manifold psi_d=0.25" and r["quantity"] == q}
             for q in ("test_error_par", "test_error_perp")]
    for tau, v in total.items():
        assert parts[0][tau] + parts[1][tau] == pytest.approx(v, rel=1e-9, abs=1e-12)
    # tau* sits at the minimum of the dense curve, tau_mem after it
    for series in ("isotropic", "linear-manifold psi_d=0.25"):
        marks = {r["quantity"]: r for r in table.rows if r["kind"] == "time scale"
                 and r["series"] == series}
        dense = [r["value"] for r in table.rows if r["kind"] == "theory"
                 and r["series"] == series and r["quantity"] == "test_error"]
        assert marks["tau_star"]["value"] <= min(dense) + 1e-9
        assert marks["tau_gen"]["time"] < marks["tau_star"]["time"] < marks["tau_mem"]["time"]
    # the plot step redraws from the CSV and the JSON alone
    table.meta = meta
    fig.plot_dynamics(table, str(tmp_path / "again.png"))
    assert (tmp_path / "again.png").stat().st_size > 10_000


def test_read_time_scales_on_a_curve_without_a_rise():
    grid = [0.1, 1.0, 10.0, 100.0]
    ts = fig.read_time_scales(grid, [0.8, 0.5, 0.4, 0.35], 1.0, 0.35)
    assert ts["tau_star"] == math.inf and ts["tau_mem"] == math.inf and ts["gain"] == 0.0
    assert 1.0 < ts["tau_gen"] <= 100.0
