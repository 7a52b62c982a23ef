"""Theory results as pandas DataFrames and xarray Datasets (lowdim.theory.tidy): coordinates,
dtypes, NaN where a point did not converge, and round trips through netCDF and CSV."""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowdim.theory.activations import moments
from lowdim.theory.localized import Lattice, banded_gaussian, error_curve
from lowdim.theory.molrmog import BoundSetting, integrated_bound, local_hessian_spectrum
from lowdim.theory.rf import (RFSetting, hidden_manifold_exact_score, predict,
                              sample_complexity, spectrum, time_scales)
from lowdim.theory.sampling import (GaussianMixture, kl_bound, make_grid, path_kl_1d,
                                    sampler_law_1d)
from lowdim.theory.solvers import continuation_newton
from lowdim.theory.tidy import Tidy, TidyData, grid_data, netcdf_attrs, records_data, require

pd = pytest.importorskip("pandas")
xr = pytest.importorskip("xarray")

GRID = RFSetting(psi_n=np.array([1.0, 2.0, 4.0])[:, None], psi_p=np.array([0.5, 2.0]), t=0.1,
                 m=np.array([[1.0, np.inf]]))


def _netcdf(ds, tmp_path):
    path = tmp_path / "result.nc"
    ds.to_netcdf(path, engine="scipy")
    with xr.open_dataset(path, engine="scipy") as back:
        return back.load()


def _same_back(ds, back):
    """What netCDF3 gives back: the same values, bools as bools, ints as int32, bool
    attributes as 0/1."""
    xr.testing.assert_equal(back, ds)
    for name, var in ds.variables.items():
        got = back[name].dtype
        if var.dtype.kind == "i":
            assert got.kind == "i", name
        elif var.dtype.kind in "OU":
            assert got.kind in "OU", name
        else:
            assert got == var.dtype, name
    assert set(back.attrs) == set(ds.attrs)
    for key, value in ds.attrs.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back.attrs[key], value)
        else:
            assert back.attrs[key] == value, key


# --------------------------------------------------------------------------- RFPrediction
def test_prediction_on_a_product_grid():
    pred = predict(GRID)
    df = pred.to_pandas()
    assert len(df) == GRID.size
    assert list(df.columns[:5]) == ["psi_n", "psi_p", "m", "t", "lam"]
    # rows in the grid's C order
    np.testing.assert_array_equal(df["psi_n"], GRID.psi_n.ravel())
    np.testing.assert_array_equal(df["test_error"], pred.test_error.ravel())
    assert df["test_error"].dtype == np.float64 and df["m"].dtype == np.float64
    assert df["converged"].dtype == bool and df["status"].dtype == np.int64
    assert df.attrs["activation"] == "tanh" and df.attrs["success"] is True

    ds = pred.to_xarray()
    assert dict(ds.sizes) == {"psi_n": 3, "psi_p": 2}
    np.testing.assert_array_equal(ds["psi_n"], [1.0, 2.0, 4.0])
    np.testing.assert_array_equal(ds["psi_p"], [0.5, 2.0])
    # m runs along psi_p (a path): a coordinate over the grid, not a dimension
    assert ds["m"].dims == ("psi_n", "psi_p")
    assert ds["t"].ndim == 0 and float(ds["t"]) == 0.1
    np.testing.assert_array_equal(ds["test_error"], pred.test_error)
    assert ds["converged"].dtype == bool
    sel = ds["score_error"].sel(psi_n=2.0, psi_p=2.0)
    assert float(sel) == pred.score_error[1, 1]


def test_prediction_dimensions_follow_the_grid_axes():
    s = RFSetting(psi_n=2.0, psi_p=np.array([1.0, 3.0])[:, None], t=np.array([0.1, 0.5, 1.0]))
    ds = predict(s).to_xarray()
    assert ds["test_error"].dims == ("psi_p", "t")
    assert ds["psi_n"].ndim == 0


def test_prediction_path_and_scattered_points():
    path = predict(RFSetting(psi_n=np.array([1.0, 2.0, 3.0]), psi_p=np.array([0.5, 2.0, 4.0])))
    ds = path.to_xarray()
    assert ds["test_error"].dims == ("psi_n",) and ds["psi_p"].dims == ("psi_n",)
    scattered = predict(RFSetting(psi_n=np.array([1.0, 2.0, 2.0]),
                                  psi_p=np.array([0.5, 2.0, 4.0])))
    ds = scattered.to_xarray()
    assert ds["test_error"].dims == ("point",)
    np.testing.assert_array_equal(ds["psi_n"], [1.0, 2.0, 2.0])


def test_scalar_prediction_has_no_dimension():
    pred = predict(RFSetting(psi_n=2.0, psi_p=3.0, data="linear-manifold", psi_d=0.5))
    df = pred.to_pandas()
    assert len(df) == 1 and df["psi_d"].iloc[0] == 0.5 and df.attrs["data"] == "linear-manifold"
    ds = pred.to_xarray()
    assert ds["test_error"].ndim == 0 and "psi_d" in ds.coords


def test_nan_where_not_converged():
    # a tolerance no solve reaches: every point is reported as not converged
    failed = predict(RFSetting(psi_n=np.array([1.0, 2.0]), psi_p=2.0), tol=1e-30)
    assert not failed.converged.any() and np.isfinite(failed.q).all()
    df = failed.to_pandas()
    assert df["test_error"].isna().all() and df["q"].isna().all()
    assert not df["converged"].any() and df["residual"].notna().all()
    assert (df["status"] != 0).all()
    # one point marked as failed: NaN there only, the result object unchanged
    pred = predict(GRID)
    mask = np.ones(GRID.shape, dtype=bool)
    mask[1, 0] = False
    bad = dataclasses.replace(pred, converged=mask)
    ds = bad.to_xarray()
    assert np.isnan(ds["q"].sel(psi_n=2.0, psi_p=0.5))
    assert np.isnan(ds["test_error"].values).sum() == 1
    assert float(ds["residual"].sel(psi_n=2.0, psi_p=0.5)) == pred.residual[1, 0]
    assert np.isfinite(bad.q).all()


def test_prediction_round_trips(tmp_path):
    pred = predict(GRID)
    mask = np.ones(GRID.shape, dtype=bool)
    mask[2, 1] = False
    pred = dataclasses.replace(pred, converged=mask, success=False)
    ds = pred.to_xarray()
    back = _netcdf(ds, tmp_path)
    _same_back(ds, back)
    assert back["converged"].dtype == bool and not bool(back["converged"][2, 1])
    assert np.isinf(back["m"]).sum() == 3
    df = pred.to_pandas()
    df.to_csv(tmp_path / "result.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "result.csv"), df,
                                  check_exact=True)


# --------------------------------------------------------------------------- the other types
def _solver_result():
    target = np.array([4.0, -1.0])   # the second point has no real root: it fails

    def fun(x, s, sel):
        c = 1.0 + s * (target[sel] - 1.0)
        y = np.exp(x[:, 0])
        return ((y * y - c)[:, None], (2 * y * y)[:, None, None],
                (-(target[sel] - 1.0))[:, None], (y * y + np.abs(c))[:, None])

    return continuation_newton(fun, np.zeros((2, 1)), 2)


def _results():
    grid = make_grid("edm", 6)
    mix = GaussianMixture(np.array([0.5, 0.5]), np.array([[-1.0], [1.0]]),
                          np.array([0.1, 0.1]))
    manifold = RFSetting(psi_n=1.0, psi_p=np.array([4.0, 16.0]), m=np.inf, activation="relu",
                         data="linear-manifold", psi_d=np.array([0.1, 0.2])[:, None])
    return {
        "RFPrediction": predict(GRID),
        "SampleComplexity": sample_complexity(manifold, grid=21),
        "TimeScales": time_scales(RFSetting(psi_n=2.0, psi_p=4.0, m=4)),
        "USpectrum": spectrum(RFSetting(psi_n=2.0, psi_p=4.0, m=4)),
        "ExactScoreConstant": hidden_manifold_exact_score(np.array([0.2, 0.5]),
                                                          np.array([0.1, 1.0])[:, None]),
        "ActivationMoments": moments("tanh", np.array([1.0, 2.0]), 0.5),
        "SolverResult": _solver_result(),
        "RadiusCurve": error_curve(banded_gaussian(Lattice((12,))), [16, 256],
                                   radii=[0, 1, 2, None], steps=6),
        "HessianSpectrum": local_hessian_spectrum(0.5, [2, 3], [0.5, 0.5]),
        "IntegratedBound": integrated_bound(BoundSetting(n_modes=(2, 2), dims=(2, 2), R=5.0),
                                            [100, 1000]),
        "BoundTerms": kl_bound(grid, 4, 1.0),
        "PathKL": path_kl_1d(grid, mix),
        "SamplerLaw1D": sampler_law_1d(grid, mix, n_nodes=256),
    }


@pytest.fixture(scope="module")
def results():
    return _results()


EXPECTED_DIMS = {
    "RFPrediction": {"psi_n", "psi_p"}, "SampleComplexity": {"psi_d", "psi_p"},
    "TimeScales": set(), "USpectrum": {"x", "atom", "bulk"}, "ExactScoreConstant": {"t", "psi_d"},
    "ActivationMoments": {"variance"}, "SolverResult": {"point"},
    "RadiusCurve": {"radius", "n", "time"}, "HessianSpectrum": {"mode"}, "IntegratedBound": {"n"},
    "BoundTerms": set(), "PathKL": {"step"}, "SamplerLaw1D": {"x"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_DIMS))
def test_every_theory_result_converts(results, name, tmp_path):
    res = results[name]
    assert isinstance(res, Tidy) and type(res).__name__ == name
    df = res.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) >= 1
    floats = [c for c in df.columns if df[c].dtype.kind == "f"]
    assert floats and all(df[c].dtype == np.float64 for c in floats)
    ds = res.to_xarray()
    assert set(ds.sizes) == EXPECTED_DIMS[name]
    _same_back(ds, _netcdf(ds, tmp_path))
    df.to_csv(tmp_path / "r.csv", index=False)
    back = pd.read_csv(tmp_path / "r.csv")
    pd.testing.assert_frame_equal(back, df, check_dtype=False, check_exact=True)


def test_radius_curve_layout(results):
    curve = results["RadiusCurve"]
    df = curve.to_pandas()
    assert list(df.columns[:2]) == ["radius", "n"] and len(df) == 4 * 2
    assert np.isinf(df["radius"].iloc[-1])              # the global model
    np.testing.assert_array_equal(df["total"], curve.total.ravel())
    assert df["first_order"].dtype == bool
    assert np.shape(df.attrs["eps_loc"]) == curve.per_time["eps_loc"].shape
    ds = curve.to_xarray()
    assert ds["eps_loc"].dims == ("radius", "time") and ds["r_star"].dims == ("n",)
    assert ds.attrs["fit_c"] == curve.fit["c"]


def test_solver_result_nan_where_not_converged(results):
    res = results["SolverResult"]
    assert res.converged.tolist() == [True, False] and np.isfinite(res.x).all()
    df = res.to_pandas()
    assert df["x0"].notna().tolist() == [True, False]
    assert df["converged"].tolist() == [True, False] and df["status"].iloc[1] != 0
    assert df.attrs["success"] is False


def test_spectrum_and_samples_sizes(results):
    sc = results["SampleComplexity"]
    df = sc.to_pandas()
    assert "psi_n" not in df.columns and df["converged"].dtype == bool
    np.testing.assert_array_equal(df["converged"], sc.status.ravel() != 3)
    hs = results["HessianSpectrum"].to_xarray()
    assert hs["block"].dims == ("mode",) and hs["multiplicity"].dtype == np.int64
    ib = results["IntegratedBound"].to_xarray()
    np.testing.assert_array_equal(ib["n"], [100, 1000])
    ts = results["TimeScales"].to_pandas()
    assert len(ts) == 1 and ts.attrs["dynamics"] == "gradient flow"


# --------------------------------------------------------------------------- the machinery
def test_import_does_not_load_pandas():
    probe = ("import sys, lowdim.theory.rf, lowdim.theory.tidy, lowdim.theory.sampling, "
             "lowdim.theory.localized, lowdim.theory.molrmog, lowdim.compare.table, "
             "lowdim.compare.verdict; "
             "print(sorted(m for m in ('pandas', 'xarray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"lowdim-diffusion\[tidy\]"):
        predict(RFSetting(psi_n=2.0, psi_p=3.0)).to_pandas()
    with pytest.raises(ImportError, match=r"lowdim-diffusion\[tidy\]"):
        require("pandas")


def test_netcdf_attrs():
    got = netcdf_attrs({"a": 1, "b": None, "c": True, "d": {"x": [1, 2]}, "e": [1.0, 2.0],
                        "f": ["u", "v"], "g": np.float64(0.5), "h": 2**40, "i": [1, 2],
                        "j": [1, 2**40]})
    assert got["a"] == 1 and "b" not in got and got["c"] is True and got["g"] == 0.5
    assert got["h"] == "1099511627776" and got["i"].dtype == np.int32
    assert got["j"] == "[1, 1099511627776]"
    assert got["d"] == '{"x": [1, 2]}' and got["f"] == '["u", "v"]'
    np.testing.assert_array_equal(got["e"], [1.0, 2.0])


def test_tidy_data_checks_lengths():
    with pytest.raises(ValueError, match="^b: length 3"):
        TidyData({"x": [1.0, 2.0]}, {"a": (("x",), [1.0, 2.0]), "b": (("x",), [1.0, 2.0, 3.0])})
    with pytest.raises(ValueError, match="unknown dimension"):
        TidyData({}, {"a": (("y",), [1.0])})


def test_records_data_types():
    rows = [{"a": 1, "b": 1.5, "c": "inf", "d": True, "e": "x", "f": 2},
            {"a": 2, "b": None, "c": 3, "d": False, "e": None, "f": "<= 3"}]
    df = records_data(list("abcdef"), rows, {"k": 1}).to_pandas()
    assert df["a"].dtype == np.int64 and df["b"].dtype == np.float64
    assert np.isnan(df["b"].iloc[1]) and np.isinf(df["c"].iloc[0])
    assert df["d"].dtype == bool and df["e"].iloc[0] == "x" and df.attrs == {"k": 1}
    ds = records_data(list("abcdef"), rows).to_xarray()
    assert ds["f"].values.tolist()[0] == 2.0 and ds["f_text"].values.tolist() == ["", "<= 3"]
    assert ds["e"].values.tolist() == ["x", ""]


_values = st.floats(-1e6, 1e6, allow_nan=False)


@given(st.lists(_values, min_size=1, max_size=4, unique=True),
       st.lists(_values, min_size=1, max_size=3, unique=True),
       st.integers(0, 2**32 - 1))
def test_grid_data_puts_every_point_in_its_cell(a, b, seed):
    """Any product grid, in any order: each point lands in the cell of its coordinates, and
    the DataFrame keeps the grid's own order."""
    rng = np.random.default_rng(seed)
    A, B = np.meshgrid(np.array(a), np.array(b), indexing="ij")
    order = rng.permutation(A.size)
    A, B = A.ravel()[order], B.ravel()[order]
    value = rng.normal(size=A.size)
    ok = rng.random(A.size) > 0.3
    data = grid_data({"a": A, "b": B, "c": 7.0}, {"value": value, "converged": ok})
    df = data.to_pandas()
    np.testing.assert_array_equal(df["a"], A)
    np.testing.assert_array_equal(df["value"], np.where(ok, value, np.nan))
    assert (df["c"] == 7.0).all()
    ds = data.to_xarray()
    assert ds["c"].ndim == 0
    varying = [k for k, v in (("a", a), ("b", b)) if len(v) > 1]
    assert set(ds.sizes) == set(varying)
    for k in range(A.size):
        cell = ds["value"].sel({n: x for n, x in (("a", A[k]), ("b", B[k])) if n in varying})
        got = float(cell)
        assert (np.isnan(got) and not ok[k]) or got == value[k]
