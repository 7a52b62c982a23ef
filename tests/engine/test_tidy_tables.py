"""Tables, reports of checks and simulation results as pandas DataFrames and xarray
Datasets: columns, dtypes, NaN where not converged, round trips through netCDF and CSV."""
import numpy as np
import pytest
import torch

from lowdim.compare.table import Table
from lowdim.compare.verdict import Check, Report, compare, holds
from lowdim.simulate import glm_amp, molrg, molrmog, rf_dynamics, sampling, score_nets
from lowdim.simulate.activations import torch_activation
from lowdim.simulate.rf import RFSize, fit_seed, run
from lowdim.theory.activations import get_activation
from lowdim.theory.rf import RFSetting
from lowdim.theory.sampling import GaussianMixture, make_grid
from lowdim.theory.tidy import Tidy

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")


def _netcdf(ds, tmp_path):
    path = tmp_path / "result.nc"
    ds.to_netcdf(path, engine="scipy")
    with xr.open_dataset(path, engine="scipy") as back:
        back = back.load()
    xr.testing.assert_equal(back, ds)
    for name, var in ds.variables.items():
        if var.dtype.kind in "bf":
            assert back[name].dtype == var.dtype, name
    return back


def _csv(df, tmp_path):
    path = tmp_path / "result.csv"
    df.to_csv(path, index=False)
    back = pd.read_csv(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False, check_exact=True)
    return back


# --------------------------------------------------------------------------- Table
ROWS = [
    {"psi_n": 1.0, "m": 1, "act": "tanh", "err": 0.5, "ok": True, "note": None, "n": 10},
    {"psi_n": 1.0, "m": "inf", "act": "tanh", "err": None, "ok": False, "note": "peak",
     "n": 20},
    {"psi_n": 2.0, "m": 1, "act": "tanh", "err": 0.25, "ok": True, "note": None, "n": 10},
    {"psi_n": 2.0, "m": "inf", "act": "tanh", "err": 0.125, "ok": True, "note": None, "n": 20},
]
META = {"kind": "rf-curve", "setting": {"psi_n": [1.0, 2.0]}, "seconds": 0.5}


def test_table_to_pandas():
    table = Table(["psi_n", "m", "act", "err", "ok", "note", "n"], ROWS, META)
    df = table.to_pandas()
    assert list(df.columns) == table.columns and len(df) == len(table)
    assert df["psi_n"].dtype == np.float64 and df["m"].dtype == np.float64
    assert np.isinf(df["m"].iloc[1]) and np.isnan(df["err"].iloc[1])
    assert df["ok"].dtype == bool and df["n"].dtype == np.int64
    assert pd.api.types.is_string_dtype(df["act"]) and df["note"].iloc[1] == "peak"
    assert pd.isna(df["note"].iloc[0])
    assert df.attrs == META and df.attrs is not table.meta


def test_table_round_trips(tmp_path):
    table = Table(["psi_n", "m", "act", "err", "ok", "note", "n"], ROWS, META)
    _csv(table.to_pandas(), tmp_path)
    ds = table.to_xarray()
    assert dict(ds.sizes) == {"row": 4} and ds["note"].values.tolist()[:2] == ["", "peak"]
    back = _netcdf(ds, tmp_path)
    assert back.attrs["setting"] == '{"psi_n": [1.0, 2.0]}'   # a nested value as JSON text


def test_table_to_xarray_over_its_parameters(tmp_path):
    table = Table(["psi_n", "m", "act", "err", "ok", "note", "n"], ROWS, META)
    ds = table.to_xarray(coords=["psi_n", "m", "act"])
    assert dict(ds.sizes) == {"psi_n": 2, "m": 2}
    assert ds["act"].ndim == 0 and str(ds["act"].values) == "tanh"
    assert float(ds["err"].sel(psi_n=2.0, m=np.inf)) == 0.125
    assert np.isnan(ds["err"].sel(psi_n=1.0, m=np.inf))
    _netcdf(ds, tmp_path)
    # rows that are not a product of the coordinates lie along "point"
    part = table.filter(lambda r: r is not ROWS[-1])
    assert part.to_xarray(coords=["psi_n", "m"])["err"].dims == ("point",)
    with pytest.raises(ValueError, match="^coords: not columns of the table: nope"):
        table.to_xarray(coords=["nope"])


def test_empty_and_mixed_columns():
    table = Table(["a", "b"], [{"a": None, "b": 1.0}, {"a": None, "b": "<= 2"}])
    df = table.to_pandas()
    assert df["a"].isna().all() and df["a"].dtype == np.float64
    assert df["b"].tolist() == [1.0, "<= 2"]
    ds = table.to_xarray()
    assert ds["b"].values.tolist()[0] == 1.0 and ds["b_text"].values.tolist() == ["", "<= 2"]


# --------------------------------------------------------------------------- Report, Check
def _report():
    report = Report(text="3 checks")
    report.add(compare("test error", 1.0, 1.01, se=0.1, n_seeds=10))
    report.add(holds("ordering", False, measured=3, reference="<= 2"))
    report.add(compare("score error", 2.0, None).not_counted("next to the peak"))
    return report


def test_report_to_pandas(tmp_path):
    report = _report()
    df = report.to_pandas()
    assert len(df) == 3 and df["check"].tolist() == ["test error", "ordering", "score error"]
    assert list(df.columns) == ["check", "measured", "reference", "se", "allowance",
                                "tolerance", "deviation", "verdict", "reason", "counted"]
    assert df["measured"].dtype == np.float64 and df["counted"].dtype == bool
    assert df["verdict"].tolist() == ["agree", "disagree", "inconclusive"]
    assert df["deviation"].iloc[0] == pytest.approx(-0.01) and np.isnan(df["se"].iloc[1])
    assert df.attrs["exit_code"] == report.exit_code and df.attrs["failed"] == ["ordering"]
    ds = report.to_xarray()
    assert ds["reference"].values[0] == 1.01 and ds["reference_text"].values[1] == "<= 2"
    back = _netcdf(ds, tmp_path)
    assert back.attrs["ok"] == 0 and back.attrs["text"] == "3 checks"


def test_check_is_one_row():
    check = compare("x", 1.0, 1.0)
    assert isinstance(check, Check)
    df = check.to_pandas()
    assert len(df) == 1 and df["verdict"].iloc[0] == "agree" and bool(df["counted"].iloc[0])
    assert dict(check.to_xarray().sizes) == {"row": 1}


# --------------------------------------------------------------------------- simulation results
SETTING = RFSetting(psi_n=1.0, psi_p=2.0, t=0.1, m=2)
SIZE = RFSize(d=16, seeds=(0, 1), n_test=512)


def test_measurement(tmp_path):
    meas = run(SETTING, SIZE)
    df = meas.to_pandas()
    qs = list(meas.per_seed)
    assert len(df) == 2 * len(qs)
    assert list(df.columns[:7]) == ["quantity", "seed", "psi_n", "psi_p", "m", "t", "lam"]
    assert df["seed"].dtype == np.int64 and df["value"].dtype == np.float64
    first = df[df["quantity"] == "test_error"]
    np.testing.assert_array_equal(first["value"], meas.per_seed["test_error"])
    assert (first["mean"] == meas.mean["test_error"]).all()
    assert df.attrs["d"] == 16 and df.attrs["device"] == meas.device
    ds = meas.to_xarray()
    assert ds["value"].dims == ("quantity", "seed") and ds["mean"].dims == ("quantity",)
    assert float(ds["psi_p"]) == 2.0
    assert float(ds["uncertainty"].sel(quantity="score_error")) == \
        meas.uncertainty("score_error")
    _netcdf(ds, tmp_path)
    _csv(df, tmp_path)


def test_seed_and_dynamics_results(tmp_path):
    seed = fit_seed(SETTING, SIZE, 3)
    df = seed.to_pandas()
    assert set(df["quantity"]) == set(seed.values) and (df["seed"] == 3).all()
    dyn = rf_dynamics.fit_dynamics(SETTING, SIZE, 0, [0.5, np.inf])
    df = dyn.to_pandas()
    assert len(df) == 2 * len(dyn.values) and np.isinf(df["time"]).sum() == len(dyn.values)
    assert len(df.attrs["eigenvalues"]) == dyn.eigenvalues.size
    ds = dyn.to_xarray()
    assert ds["value"].dims == ("quantity", "time") and ds["eigenvalues"].dims == ("eigenvalue",)
    _netcdf(ds, tmp_path)
    _csv(df, tmp_path)


def test_gamp_nan_where_not_converged():
    phi = torch_activation(get_activation("tanh"))
    inst = glm_amp.draw_instance(0.5, 0.5, phi, 32, 0)
    good = glm_amp.gamp_posterior_mean(inst.F, inst.y, phi, inst.a, inst.delta)
    bad = glm_amp.gamp_posterior_mean(inst.F, inst.y, phi, inst.a, inst.delta, max_iter=1)
    assert good.converged and not bad.converged
    df = good.to_pandas()
    assert len(df) == 32 and df["x_hat"].notna().all() and df["converged"].dtype == bool
    np.testing.assert_array_equal(df["x_hat"], good.x_hat.numpy())
    df = bad.to_pandas()
    assert df["x_hat"].isna().all() and df["v_mean"].isna().all()
    assert not df["converged"].any() and (df["iterations"] > 0).all()
    assert np.isnan(bad.to_xarray()["z_hat"]).all()


def test_exact_score_estimates(tmp_path):
    est = glm_amp.estimate_exact_score_constant(0.5, 0.5, d=32, seeds=(0, 1), device="cpu",
                                                max_iter=1)
    assert not est.converged.any()
    df = est.to_pandas()
    assert df["seed"].tolist() == [0, 1] and df["per_seed"].isna().all()
    assert df["c_t"].isna().all() and np.isfinite(est.c_t)
    ds = est.to_xarray()
    assert ds["converged"].dtype == bool and float(ds["psi_d"]) == 0.5
    _netcdf(ds, tmp_path)
    phi = torch_activation(get_activation("tanh"))
    inst = glm_amp.draw_instance(0.5, 0.5, phi, 32, 0)
    one = glm_amp.instance_exact_score_constant(inst.F, phi, 0.5, n_samples=2,
                                                generator=torch.Generator().manual_seed(0))
    df = one.to_pandas()
    assert len(df) == 2 and df["n_failed"].dtype == np.int64


def test_the_small_results(tmp_path):
    x = torch.randn(400, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grid = make_grid("edm", 4)
    mix = GaussianMixture(np.array([0.5, 0.5]), np.array([[-1.0], [1.0]]), np.array([0.1, 0.1]))
    results = {
        "KLEstimate": (sampling.gaussian_kl_estimate(x, np.ones(3), n_batches=4), {"batch"}),
        "PathKLEstimate": (sampling.path_kl_estimate(grid, mix, n=200, device="cpu"), set()),
        "MMD": (molrmog.mmd(x[:200], x[200:], blocks=4), set()),
        "ScoreError": (molrmog.ScoreError(t=np.array([0.1, 1.0]), mse=np.array([1.0, 2.0]),
                                          se=np.array([0.1, 0.2]), rel=np.array([0.5, 0.6]),
                                          rel_se=np.array([0.01, 0.02]), n=10), {"t"}),
        "GDTrace": (molrmog.GDTrace(distances=np.array([1.0, 0.5, 0.25]),
                                    losses=np.array([3.0, 2.0, 1.0]), step=0.1, n_mc=5),
                    {"iteration"}),
        "ScoreErrorProfile": (score_nets.ScoreErrorProfile(
            sigmas=np.array([0.1, 1.0]), eps2=np.array([0.2, 0.1]), se=np.array([0.01, 0.01]),
            relative=np.array([0.1, 0.2]), exact2=np.array([2.0, 0.5]), n=100), {"sigma"}),
        "GeneralizationReport": (molrg.GeneralizationReport(0.1, 0.2, 0.9, 0.8, 50), set()),
    }
    for name, (res, dims) in results.items():
        assert isinstance(res, Tidy) and type(res).__name__ == name
        df = res.to_pandas()
        assert len(df) >= 1 and all(df[c].dtype == np.float64 for c in df.columns
                                    if df[c].dtype.kind == "f"), name
        ds = res.to_xarray()
        assert set(ds.sizes) == dims, name
        _netcdf(ds, tmp_path)
        _csv(df, tmp_path)
    kl = results["KLEstimate"][0].to_pandas()
    assert len(kl) == 4 and (kl["kl"] == results["KLEstimate"][0].kl).all()
    assert results["GDTrace"][0].to_pandas()["distance"].tolist() == [1.0, 0.5, 0.25]
