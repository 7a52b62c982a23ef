"""Every figure builds at the quick preset (the training-time figures at a reduced size in their
own tests); outputs are complete and self-describing."""
import math
import json

import pytest

from lowdim.compare import plots
from lowdim.compare.figures import REGISTRY, build_figures
from lowdim.compare.table import Table


#: figures built by their own tests instead (the training-time figures at a reduced size:
#: tests/rf/test_rf_dynamics_figures.py and test_rf_dynamics_manifold_figures.py; the real
#: data figure under `slow` in tests/rf/test_real_data.py), whose quick presets would add
#: several minutes here
OWN_TESTS = {"bubm25-spectrum", "bubm25-dynamics", "rf-dynamics-finite-m",
             "rf-early-stopping-map", "rf-dynamics-manifolds", "rf-memorization-vs-dimension",
             "rf-real-data"}
BUILT = [fid for fid in REGISTRY if fid not in OWN_TESTS]


def test_figures_left_to_their_own_tests_exist():
    assert OWN_TESTS <= set(REGISTRY)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    # the default of `lowdim figures`: sweep tasks on local processes, results cached
    with plots.checking() as checked:   # every figure drawn is also checked
        results = build_figures(BUILT, preset="quick", out_dir=str(out), device="cpu",
                                executor="local", cache=str(tmp_path_factory.mktemp("cache")))
    return out, {r["id"]: dict(r, problems=p) for r, (_, p) in zip(results, checked)}


def test_every_figure_writes_png_csv_json(gallery):
    out, results = gallery
    for fid in BUILT:
        assert (out / f"{fid}.png").stat().st_size > 10_000
        assert (out / f"{fid}.pdf").read_bytes()[:5] == b"%PDF-"
        assert results[fid]["problems"] == [], (fid, results[fid]["problems"])
        table = Table.from_csv(out / f"{fid}.csv")
        assert len(table) > 0 and "kind" in table.columns
        meta = json.loads((out / f"{fid}.json").read_text())
        for key in ("figure", "paper", "claim", "preset", "seconds", "version", "summary",
                    "command"):
            assert key in meta, (fid, key)
        assert meta["command"] == f"lowdim figures {fid} --preset quick --out {out}"
    index = (out / "README.md").read_text()
    assert all(f"({fid}.png)" in index for fid in BUILT)


def test_figure_claims_hold_at_quick_size(gallery):
    out, results = gallery
    # the m-approach and finite-m figures agree raw at d = 100
    assert results["rf-m-approach"]["ok"] and results["gvm25-finite-m"]["ok"]
    # the finite-size deviations decay (fitted exponents below -0.6, i.e. about 1/d)
    meta = json.loads((out / "rf-finite-size.json").read_text())
    assert all(v < -0.6 for v in meta["summary"]["slopes"].values()), meta["summary"]
    # n* against D at fixed d: slope 1 +- 0.15 for the linear manifold (on-manifold error),
    # far below 1 for the whole score error of the non-linear manifold
    slopes = json.loads((out / "gm26-sample-complexity.json").read_text())["summary"]["slopes"]
    assert abs(slopes["linear-manifold par"] - 1.0) < 0.15, slopes
    assert slopes["hidden-manifold total"] < 0.5, slopes
    # hidden-manifold score errors (test error minus the GAMP C_t, over Delta) meet the theory
    # after the 1/d extrapolation from d = 100, 200
    rows = Table.from_csv(out / "gm26-score-errors.csv").rows
    hidden = [r for r in rows if r["kind"] == "simulation" and r["panel"] == "hidden-manifold"]
    assert len(hidden) == 3 and all(r["verdict_extrapolated"] == "agree" for r in hidden), hidden


def test_manifold_validation_table_at_quick_size(gallery):
    """Subspace and linear manifold, tanh and relu, m in {1, 4, 32}, psi_p in {0.5, 4}:
    every value agrees with the theory after the 1/d extrapolation from d = 100, 200, except
    where convergence is known to be slow: relu features with m >= 4 and psi_p = 4 on the
    linear manifold (a sweep at psi_n = psi_p = 4 measured off-manifold deviations of
    -33/-20/-12/-6.8/-3.6 % at d = 100 ... 1600, see the README).  Those few must undershoot
    the theory by less than that sweep's d = 400 value (12 %)."""
    out, _ = gallery
    rows = [r for r in Table.from_csv(out / "gm26-validation.csv").rows
            if r["kind"] == "simulation"]
    assert len(rows) == 144
    slow = [r for r in rows if r["verdict_extrapolated"] != "agree"]
    for r in slow:
        assert (r["data"], r["activation"], r["psi_p"]) == ("linear-manifold", "relu", 4.0), r
        assert r["m"] in (4, 32) and r["quantity"] in ("test_error_perp", "score_error"), r
        assert -0.12 < r["extrapolated"] / r["theory"] - 1.0 < 0, r
    assert len(slow) <= 4


def test_plot_step_is_separate_from_data(gallery, tmp_path):
    out, _ = gallery
    spec = REGISTRY["gvm25-finite-m"]
    table = Table.from_csv(out / "gvm25-finite-m.csv")
    table.meta = json.loads((out / "gvm25-finite-m.json").read_text())
    spec.plot(table, str(tmp_path / "again.png"))
    assert (tmp_path / "again.png").stat().st_size > 10_000


def test_sampling_figure_claims_at_quick_size(gallery):
    """VE sampling figures: the rates in N, the Monte Carlo checks, the rho argmins and the
    linear growth in d, as measured."""
    out, results = gallery

    def summary(fid):
        return json.loads((out / f"{fid}.json").read_text())["summary"]

    s = summary("wht24-bound-terms")
    assert s["ok"], s["text"]  # every Monte Carlo point within 3 SE
    for grid in ("edm", "geometric"):
        assert -1.1 < s["slopes"][f"{grid} path KL"] < -0.85
        assert -1.1 < s["slopes"][f"{grid} bound"] < -0.85
        assert -2.1 < s["slopes"][f"{grid} sampled KL"] < -1.9
    rows = [r for r in Table.from_csv(out / "wht24-bound-terms.csv").rows
            if r["kind"] == "theory"]
    by = {(r["panel"], r["series"], r["x"]): r["y"] for r in rows}
    for (panel, series, x), y in by.items():
        if series == "bound":
            assert y >= by[(panel, "path KL", x)] >= by[(panel, "sampled KL", x)]
    a = summary("wht24-rho")["argmin"]
    assert math.isinf(a["N=18 E_D explicit"]) and math.isinf(a["N=50 E_D explicit"])
    assert 3.0 < a["N=18 path KL"] < 8.0 and 3.0 < a["N=50 path KL"] < 8.0
    d = summary("wht24-dimension")
    assert d["ok"] and abs(d["gaussian_slope"] / d["gaussian_slope_exact"] - 1) < 0.05
    assert d["chi2"] < 16.0  # 3 dof: p < 0.001 would fail the linear fit
    r = summary("wht24-ranking")
    assert 0.01 < r["crossing_eta"] < 1.0


def test_molrmog_figure_claims_at_quick_size(gallery):
    out, results = gallery
    gen = json.loads((out / "ylj26-generation.json").read_text())
    models = {m["model"]: m for m in gen["models"]}
    mog, gau, gen_ = models["latent MoG"], models["latent Gaussian"], models["generic"]
    # the MoG network: far lower score error than the Gaussian one, no worse than the generic
    # network with 10x its parameters, and its samples land on the modes
    assert mog["score_error"] < gau["score_error"] / 5
    assert mog["score_error"] <= 3 * gen_["score_error"]
    assert gen_["parameters"] >= 8 * mog["parameters"]
    assert mog["on_mode"] >= 0.9 > gau["on_mode"]
    # gradient descent: within 10 % of (kappa-1)/(kappa+1) wherever the modes are separated
    assert results["ylj26-gd-rate"]["ok"], results["ylj26-gd-rate"]["summary"]
    lc = json.loads((out / "ylj26-learning-curves.json").read_text())
    # the bound lies above every measured error; the error falls with n
    assert results["ylj26-learning-curves"]["ok"]
    assert all(s < -0.4 for s in lc["slopes"].values()), lc["slopes"]


def test_molrg_figure_claims_at_quick_size(gallery):
    out, results = gallery
    # ideal learners: no success below d, success probability >= 0.9 (2 SE) from d + 2; the
    # trained denoisers: none below d, >= 0.8 (2 SE) from 2d
    phase = json.loads((out / "wzz24-phase.json").read_text())["summary"]
    assert results["wzz24-phase"]["ok"], phase["text"]
    assert all(c["max_below"] == 0.0 for c in phase["checks"]), phase["checks"]
    # PCA's error meets the first-order noise theory (within 20 %) and multinomial success
    # meets the exact probability (within 3.5 SE)
    rec = json.loads((out / "wzz24-recovery.json").read_text())["summary"]
    assert results["wzz24-recovery"]["ok"], rec["text"]
    assert rec["floor_rel_diff"] < 0.05
    # the generic network stops copying its training set at some N_k for every d
    assert results["wzz24-generic"]["ok"], results["wzz24-generic"]["summary"]


def test_localized_figure_claims_at_quick_size(gallery):
    out, results = gallery
    # the decay bound holds and r_loc(t) does not depend on d
    assert results["glmrt25-decay"]["ok"], results["glmrt25-decay"]["summary"]
    # r* of the calculator within 1 of the measured KL minimizer for n = 16 ... 1024, and the
    # Girsanov path bound holds in every cell
    assert results["glmrt25-radius"]["ok"], results["glmrt25-radius"]["summary"]
    # localized KL per coordinate flat in d (within 15 %), global grows >= 4x from 16 to 128
    assert results["glmrt25-dimension"]["ok"], results["glmrt25-dimension"]["summary"]
    # trained per-site networks: interior minimizer, not decreasing in n
    assert results["glmrt25-trained"]["ok"], results["glmrt25-trained"]["summary"]
    # phi^4: a radius-0 model cannot produce neighbour correlation, radius >= 1 can
    assert results["glmrt25-phi4"]["ok"], results["glmrt25-phi4"]["summary"]
    rows = json.loads((out / "glmrt25-phi4.json").read_text())["rows"]
    ref = rows[0]["nn_correlation"]
    by_r = {r["r"]: r["nn_correlation"] for r in rows[2:]}
    assert abs(by_r["0"] - ref) > 0.2 and abs(by_r["2"] - ref) < 0.1, by_r
