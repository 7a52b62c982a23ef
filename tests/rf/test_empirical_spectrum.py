"""Empirical spectra: the random-features theory with a covariance given by its eigenvalues
(``data="spectrum"``) reduces to the isotropic and subspace models exactly, reads files and
data matrices on the CLI, and agrees with a simulation on Gaussian data of that covariance."""
import csv
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowdim.compare.cli import main
from lowdim.simulate.data import resampled_eigenvalues
from lowdim.theory.rf import RFSetting, predict
from lowdim.theory.spectra import covariance_eigenvalues, empirical, mixture, point_mass

PSI_P = np.geomspace(0.1, 100, 25)


def _rel(a, b):
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1.0)))


@pytest.mark.parametrize("m", [1, 4, np.inf])
def test_all_ones_is_the_isotropic_model(m):
    iso = predict(RFSetting(psi_n=2.0, psi_p=PSI_P, m=m))
    emp = predict(RFSetting(psi_n=2.0, psi_p=PSI_P, m=m, data="spectrum",
                            eigenvalues=np.ones(300)))
    assert emp.success
    for q in ("test_error", "score_error"):
        assert _rel(getattr(emp, q), getattr(iso, q)) < 1e-10, q
    # train errors fall to 1e-7 at m = 1: compared on the scale of the test error
    assert np.max(np.abs(emp.train_error - iso.train_error)) < 1e-10
    # no direction is off the data's span: the off-manifold part is 0 to rounding
    assert np.max(np.abs(emp.test_error_perp) / emp.test_error) < 1e-10


@pytest.mark.parametrize("m", [1, 4, np.inf])
def test_a_projector_is_the_subspace_model(m):
    sub = predict(RFSetting(psi_n=2.0, psi_p=PSI_P, m=m, data="subspace", psi_d=0.3))
    emp = predict(RFSetting(psi_n=2.0, psi_p=PSI_P, m=m, data="spectrum",
                            eigenvalues=np.r_[np.ones(30), np.zeros(70)]))
    assert emp.setting.psi_d == pytest.approx(0.3)
    for q in ("test_error", "test_error_par", "test_error_perp", "score_error"):
        assert _rel(getattr(emp, q), getattr(sub, q)) < 1e-10, q
    assert np.max(np.abs(emp.train_error - sub.train_error)) < 1e-10


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.0, 50.0), min_size=1, max_size=40).filter(lambda v: max(v) > 0),
       st.floats(1e-3, 10.0), st.floats(0.0, 10.0))
def test_empirical_integrals_are_sums_over_atoms(values, A, B):
    """Each integral of ``empirical`` is the weighted sum of the atom terms, the zero
    eigenvalues off the manifold; its mass is 1 and its mean the mean eigenvalue."""
    lam = np.array(values)
    spec = empirical(lam)
    got = spec.integrals(A, B)
    den = A + B * lam
    assert got.I0 == pytest.approx(np.mean(1 / den), rel=1e-12)
    assert got.I1 == pytest.approx(np.mean(lam / den), rel=1e-12, abs=1e-300)
    assert got.K2 == pytest.approx(np.mean(lam**2 / den**2), rel=1e-12, abs=1e-300)
    assert float(spec.mass()) == pytest.approx(1.0, abs=1e-14)
    assert float(spec.mean()) == pytest.approx(lam.mean(), rel=1e-12, abs=1e-300)
    assert float(spec.mass(on_manifold=False)) == pytest.approx(np.mean(lam == 0))
    loc, w = spec.atoms()
    assert w.sum() == pytest.approx(1.0) and set(np.round(loc, 12)) == set(np.round(lam, 12))


def test_empirical_equals_the_mixture_of_its_atoms():
    spec = empirical([0.5, 1.5, 1.5, 0.0])
    ref = mixture((0.25, point_mass(0.5)), (0.5, point_mass(1.5)),
                  (0.25, point_mass(0.0, on_manifold=False)))
    for on in (None, True, False):
        a, b = spec.integrals(0.7, 2.0, on), ref.integrals(0.7, 2.0, on)
        for k in ("I0", "I1", "K0", "K1", "K2"):
            assert getattr(a, k) == pytest.approx(getattr(b, k), rel=1e-14, abs=1e-300)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 40), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_covariance_eigenvalues_of_a_data_matrix(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + 3.0
    if np.ptp(x, axis=0).max() == 0:
        return
    eig = covariance_eigenvalues(x)
    ref = np.linalg.eigvalsh(np.cov(x.T, bias=True).reshape(d, d))
    assert eig.mean() == pytest.approx(1.0)                       # normalised
    assert np.allclose(eig * ref.mean(), np.clip(ref, 0, None), atol=1e-10 * ref.max())
    raw = covariance_eigenvalues(x, normalize=False)
    assert raw.mean() == pytest.approx(ref.mean())
    assert covariance_eigenvalues(x - 3.0, center=False, normalize=False).max() < \
        covariance_eigenvalues(x, center=False, normalize=False).max()   # the mean counts


@pytest.mark.parametrize("bad,match", [
    ([], "non-empty"), ([[1.0, 2.0]], "1-d"), ([1.0, -1.0], ">= 0"),
    ([1.0, np.nan], "finite"), ([0.0, 0.0], "all zero")])
def test_empirical_refuses_bad_eigenvalues(bad, match):
    with pytest.raises(ValueError, match=f"eigenvalues: .*{match}"):
        empirical(bad)
    with pytest.raises(ValueError, match="eigenvalues"):
        RFSetting(psi_n=1, psi_p=1, data="spectrum", eigenvalues=bad)


def test_setting_fields_of_the_spectrum_model():
    with pytest.raises(ValueError, match="eigenvalues: data='spectrum' needs"):
        RFSetting(psi_n=1, psi_p=1, data="spectrum")
    with pytest.raises(ValueError, match="psi_d: data='spectrum' reads"):
        RFSetting(psi_n=1, psi_p=1, data="spectrum", eigenvalues=[1.0], psi_d=0.5)
    with pytest.raises(ValueError, match="eigenvalues: only used"):
        RFSetting(psi_n=1, psi_p=1, eigenvalues=[1.0])
    s = RFSetting(psi_n=[1, 2], psi_p=1, data="spectrum", eigenvalues=[2.0, 0.0])
    assert s.point(1).eigenvalues.tolist() == [2.0, 0.0]
    assert s.replace(data="gaussian").data == "gaussian"
    assert s.to_dict()["eigenvalues"] == [2.0, 0.0] and "2 in [0, 2]" in repr(s)
    assert float(s.data_variance[0]) == 1.0


def test_resampled_eigenvalues_keep_the_law():
    eig = np.arange(1, 101, dtype=float)
    assert np.array_equal(resampled_eigenvalues(eig[::-1], 100), eig)
    half = resampled_eigenvalues(eig, 50)
    assert half.size == 50 and half.mean() == pytest.approx(eig.mean(), rel=0.02)


# ----------------------------------------------------------------------------- the CLI
def _curve(capsys, argv):
    code = main(["rf", "curve", "--psi-p", "0.5,2,8", "--m", "1,inf", "--format", "csv",
                 "--columns", "psi_p,m,test_error,test_error_perp,train_error", *argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return [{k: float(v) if k != "m" else v for k, v in r.items()}
            for r in csv.DictReader(io.StringIO(out))]


def _close(rows_a, rows_b, tol=1e-10):
    for a, b in zip(rows_a, rows_b, strict=True):
        assert a["m"] == b["m"]
        for k in ("test_error", "test_error_perp"):
            assert abs(a[k] - b[k]) <= tol * max(abs(b[k]), 1.0), (k, a, b)
        assert abs(a["train_error"] - b["train_error"]) <= tol


def test_cli_spectrum_file_reproduces_gaussian_and_subspace(capsys, tmp_path):
    np.save(tmp_path / "ones.npy", np.ones(64))
    (tmp_path / "proj.txt").write_text("# a projector of rank 16\n" + "1\n" * 16 + "0\n" * 48)
    _close(_curve(capsys, ["--data", "spectrum", "--spectrum", str(tmp_path / "ones.npy")]),
           _curve(capsys, []))
    _close(_curve(capsys, ["--data", "spectrum", "--spectrum", str(tmp_path / "proj.txt")]),
           _curve(capsys, ["--data", "subspace", "--psi-d", "0.25"]))


def test_cli_reads_a_data_matrix(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8)) * np.sqrt(np.arange(1, 9)) + 5.0
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "eig.npy", covariance_eigenvalues(x))
    _close(_curve(capsys, ["--data", "spectrum", "--spectrum", str(tmp_path / "x.npy")]),
           _curve(capsys, ["--data", "spectrum", "--spectrum", str(tmp_path / "eig.npy")]))


@pytest.mark.parametrize("argv,match", [
    (["--data", "spectrum"], "spectrum: --data spectrum and --spectrum FILE go together"),
    (["--spectrum", "{p}/ones.npy"], "spectrum: --data spectrum and --spectrum FILE go"),
    (["--data", "spectrum", "--spectrum", "{p}/missing.npy"], "spectrum: no such file"),
    (["--data", "spectrum", "--spectrum", "{p}/words.txt"], "spectrum: cannot read numbers"),
    (["--data", "spectrum", "--spectrum", "{p}/cube.npy"], "spectrum: expected a 1-d array"),
    (["--data", "spectrum", "--spectrum", "{p}/neg.npy"], "eigenvalues: covariance"),
])
def test_cli_refuses_bad_spectrum_files(capsys, tmp_path, argv, match):
    np.save(tmp_path / "ones.npy", np.ones(4))
    np.save(tmp_path / "cube.npy", np.ones((2, 2, 2)))
    np.save(tmp_path / "neg.npy", np.array([1.0, -2.0]))
    (tmp_path / "words.txt").write_text("one two\n")
    code = main(["rf", "curve", *[a.replace("{p}", str(tmp_path)) for a in argv]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("lowdim: error: ") and match in err, err


# ------------------------------------------------------------------ against simulation
def test_simulation_on_gaussian_data_of_the_spectrum_agrees(capsys, tmp_path):
    """The Gaussian surrogate of a decaying spectrum, d = 120 and 60, 1/d-extrapolated:
    every checked point agrees under the package's verdict."""
    eig = 1.0 / np.arange(1, 121) ** 0.8
    np.save(tmp_path / "eig.npy", eig / eig.mean())
    code = main(["rf", "validate", "--data", "spectrum", "--spectrum", str(tmp_path / "eig.npy"),
                 "--psi-p", "0.5,4", "--m", "1", "--d", "120", "--seeds", "4", "-q",
                 "--format", "csv"])
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and code == 0, err
