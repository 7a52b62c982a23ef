"""The training-dynamics gallery figures build at a tiny size, their tables are consistent
with the theory and with their own verdicts, and they redraw from their CSV."""
import copy
import json
import math

import numpy as np
import pytest

from lowdim.compare import rf_dynamics_figures as fig
from lowdim.compare.figures import REGISTRY, build_one
from lowdim.compare.table import Table
from lowdim.compare.verdict import AGREE
from lowdim.theory.rf import RFSetting, generalization_curve, predict

TINY = {
    "spectrum": {"d": 8, "seeds": 3, "bins": 8},
    "dynamics": {"psi_n": (4.0,), "d": 8, "seeds": 5, "n_test": 512},
    "finite_m": {"m": (4.0, math.inf), "d": 24, "seeds": 5, "n_test": 512},
    "map": {"psi_n": (1.0, 4.0), "psi_p": (2.0, 8.0), "spots": ((1.0, 2.0),), "d": 16,
            "seeds": 5, "n_test": 512},
    "sim_m": 16, "dense": 9,
}


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(fig.PRESETS, "quick", copy.deepcopy(TINY))


def test_the_four_figures_are_registered_with_the_rf_family():
    for fid in ("bubm25-spectrum", "bubm25-dynamics", "rf-dynamics-finite-m",
                "rf-early-stopping-map"):
        assert REGISTRY[fid].build is fig.BUILDERS[fid]
        assert REGISTRY[fid].plot is fig.PLOTTERS[fid]


def test_finite_m_figure_is_consistent(tiny, tmp_path):
    out = build_one("rf-dynamics-finite-m", out_dir=str(tmp_path), device="cpu")
    table = Table.from_csv(tmp_path / "rf-dynamics-finite-m.csv")
    meta = json.loads((tmp_path / "rf-dynamics-finite-m.json").read_text())
    summary = meta["summary"]
    sims = [r for r in table.rows if r["kind"] == "simulation"]
    # every m, six times, two quantities; the summary counts exactly these checks
    assert len(sims) == 2 * 6 * 2 and summary["counted"] == len(sims)
    assert summary[AGREE] == sum(r["verdict"] == AGREE for r in sims)
    assert out["ok"] == summary["ok"] == all(r["verdict"] == AGREE for r in sims)
    for r in sims:
        # the extrapolated value is 2 E(d) - E(d/2); finite m is judged at its own m
        assert r["value"] == pytest.approx(2 * r["value_at_d"] - r["value_at_half_d"],
                                           rel=1e-8, abs=1e-10)
        assert r["sim_m"] == (TINY["sim_m"] if math.isinf(float(r["m"])) else r["m"])
    # the theory at convergence is the ridge prediction; early stopping is the minimum
    for m in (4, "inf"):
        th = [r for r in table.rows if r["kind"] == "theory" and r["series"] == f"m={m}"
              and r["quantity"] == "test_error"]
        conv = [r["value"] for r in th if math.isinf(r["time"])]
        s = RFSetting(m=math.inf if m == "inf" else m, **fig.FINITE_M)
        assert conv[0] == pytest.approx(float(predict(s).test_error), rel=1e-8)
        stop = [r for r in table.rows if r["kind"] == "early stopping"
                and r["series"] == f"m={m}"][0]
        assert stop["value"] <= min(r["value"] for r in th) + 1e-9
        assert stop["theory"] == pytest.approx(conv[0], rel=1e-8)
    # the plot step redraws from the CSV and the JSON alone
    table.meta = meta
    REGISTRY["rf-dynamics-finite-m"].plot(table, str(tmp_path / "again.png"))
    assert (tmp_path / "again.png").stat().st_size > 10_000


def test_spectrum_figure_judges_w1_and_bulk_shares(tiny, tmp_path):
    out = build_one("bubm25-spectrum", out_dir=str(tmp_path), device="cpu")
    meta = json.loads((tmp_path / "bubm25-spectrum.json").read_text())
    summary = meta["summary"]
    shares = summary["bulk_shares"]
    # one W1 check and one share check per group of bulks; the groups' masses add up to 1
    assert summary["counted"] == 1 + len(shares)
    assert sum(s["theory_mass"] for s in shares) == pytest.approx(1.0, abs=1e-6)
    assert sum(s["simulated_share"] for s in shares) == pytest.approx(1.0, abs=1e-12)
    # the top bulk holds d of the p eigenvalues exactly (rank), at any d
    assert shares[-1]["simulated_share"] == pytest.approx(1 / 64, abs=1e-12)
    assert out["ok"] == summary["ok"]
    table = Table.from_csv(tmp_path / "bubm25-spectrum.csv")
    hist = [r for r in table.rows if r["kind"] == "simulation (log bins)"]
    p = 64 * TINY["spectrum"]["d"]
    # the log-binned histogram holds every eigenvalue (all positive at m = sim_m)
    x = np.array(sorted(r["x"] for r in hist))
    width = float(np.min(np.log(x[1:] / x[:-1])))    # bins of equal width in ln u
    assert len(hist) > 10
    assert sum(r["x"] * r["density"] for r in hist) * width == pytest.approx(1.0, abs=1e-6)
    counts = np.array([r["density"] * r["x"] * width * p * TINY["spectrum"]["seeds"]
                       for r in hist])
    assert np.allclose(counts, np.round(counts), atol=1e-6) and counts.min() > 0.5


def test_stopping_map_spot_checks(tiny, tmp_path):
    build_one("rf-early-stopping-map", out_dir=str(tmp_path), device="cpu")
    table = Table.from_csv(tmp_path / "rf-early-stopping-map.csv")
    meta = json.loads((tmp_path / "rf-early-stopping-map.json").read_text())
    gains = [r for r in table.rows if r["quantity"] == "gain"]
    assert len(gains) == 4 and all(r["value"] >= 0 for r in gains)
    sims = [r for r in table.rows if r["kind"] == "simulation"]
    # one spot: the test error at tau* and at convergence, each judged once
    assert len(sims) == 2 and meta["summary"]["counted"] == 2
    tau = [r["time"] for r in sims if math.isfinite(r["time"])][0]
    s = RFSetting(psi_n=1.0, psi_p=2.0, t=0.1, lam=fig.LAM_BUBM25, m=TINY["sim_m"])
    theory = generalization_curve(s, [tau, math.inf])["test_error"]
    assert [r["theory"] for r in sims] == pytest.approx(list(theory), rel=1e-8)
