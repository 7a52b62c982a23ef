"""Property tests of the public theory entry points of every family and of the fast CLI
actions: for any input, the result is finite (or flagged as not converged, never a silent
NaN) or a ``ValueError`` whose message starts with the name of a parameter; the CLI exits
with a documented code and at most one line on stderr, never a traceback.

The number of generated cases comes from the Hypothesis profile registered in
``conftest.py``: ``ci`` (the default, 25 per entry point) or ``thorough`` (``pytest
tests/properties/test_properties.py --hypothesis-profile=thorough``, 400 each).
"""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from _props import _named_error, as_array, check, counts, reals

from lowdim.compare.cli import main


# --------------------------------------------------------------------------- sampling
@given(kind=st.sampled_from(["edm", "geometric", "uniform", "cosine?"]), N=counts(400),
       smin=reals(0, 10), smax=reals(0, 200), rho=reals(-5, 50), d=counts(1000),
       m2=reals(-1, 1e4), eps=reals(-1, 10))
def test_sampling_grid_bound_and_gaussian_kl(kind, N, smin, smax, rho, d, m2, eps):
    from lowdim.theory.sampling import gaussian_kl, kl_bound, make_grid

    names = ("kind", "N", "sigma_min", "sigma_max", "rho", "d", "m2", "score_error",
             "data_variance", "grid")
    grid = check(lambda: make_grid(kind, N, smin, smax, rho=rho), names)
    if grid is None:
        return
    assert np.all(np.diff(grid.sigmas) < 0)
    check(lambda: kl_bound(grid, d, m2, eps), names)
    check(lambda: gaussian_kl(grid, m2, d), names)


@given(eps=reals(-1, 10), m2=reals(-1, 1e4), d=counts(10_000),
       design=st.sampled_from(["edm", "geometric", "song", "x"]), N=counts(2000),
       rho=reals(-1, 100))
def test_sampling_design_space(eps, m2, d, design, N, rho):
    from lowdim.theory.sampling import score_error_factor, steps_needed

    names = ("eps", "m2", "d", "design", "N", "sigma_min", "sigma_max", "rho")
    check(lambda: steps_needed(eps, m2, d, design=design, rho=rho), names)
    check(lambda: score_error_factor(N, design=design), names)


@given(w=st.lists(reals(-1, 2), min_size=1, max_size=3),
       mu=st.lists(reals(-20, 20), min_size=1, max_size=3),
       var=st.lists(reals(-1, 5), min_size=1, max_size=3), N=counts(30))
def test_sampling_mixture_path_kl(w, mu, var, N):
    from lowdim.theory.sampling import GaussianMixture, make_grid, path_kl_1d

    names = ("weights", "means", "variances", "mixture", "N", "grid", "score_error")
    mix = check(lambda: GaussianMixture(as_array(w), as_array(mu), as_array(var)), names)
    if mix is None:
        return
    grid = check(lambda: make_grid("edm", N), names)
    if grid is not None:
        check(lambda: path_kl_1d(grid, mix, n_nodes=40, n_sub=2), names)


# --------------------------------------------------------------------------- molrmog
@given(k=st.integers(min_value=-1, max_value=4), nk=counts(6), dk=counts(8), R=reals(-1, 100),
       t=reals(-1, 20), n=reals(-10, 1e9))
def test_molrmog_bounds(k, nk, dk, R, t, n):
    from lowdim.theory.molrmog import BoundSetting, estimation_error_bound, gd_rate, integrated_bound

    names = ("n_modes", "dims", "R", "B_mu", "C1", "C2", "eta", "D", "t", "n", "setting",
             "kappa", "delta", "T")
    setting = check(lambda: BoundSetting((nk,) * max(k, 0), (dk,) * max(k, 0), R=R), names)
    if setting is None:
        return
    check(lambda: estimation_error_bound(setting, t, n), names)
    check(lambda: integrated_bound(setting, n), names)
    check(lambda: gd_rate(R), names)


@given(t=reals(-1, 20), dims=st.lists(counts(6), min_size=1, max_size=3),
       weights=st.lists(reals(-1, 2), min_size=1, max_size=3),
       process=st.sampled_from(["vp", "ve", "sub-vp?"]))
def test_molrmog_hessian(t, dims, weights, process):
    from lowdim.theory.molrmog import local_hessian_spectrum

    names = ("t", "dims", "weights", "process", "form")
    check(lambda: local_hessian_spectrum(t, dims, weights, process=process), names)


# --------------------------------------------------------------------------- molrg
@given(D=counts(300), K=counts(5), d=counts(20), noise=reals(-1, 5), N=counts(200),
       threshold=reals(-1, 2))
def test_molrg_recovery_theory(D, K, d, noise, N, threshold):
    from lowdim.theory.molrg import (MoLRG, failure_floor, noise_boundary, noisy_error_rms,
                              prob_all_components)

    names = ("D", "K", "d", "noise", "N", "threshold", "weights")
    setting = check(lambda: MoLRG(D, K, d, noise=noise), names)
    check(lambda: failure_floor(N, d, D), names)
    # inf is documented: the first-order error diverges for N <= d + 1, and the noise
    # boundary is beyond every representable N when noise^2 / threshold^2 overflows
    check(lambda: noisy_error_rms(N, d, D, noise), names, allow_inf=True)
    check(lambda: noise_boundary(d, D, noise, threshold), names, allow_inf=True)
    if setting is not None:
        check(lambda: prob_all_components(N, d, setting.weights), names)


# --------------------------------------------------------------------------- localized
@given(d=counts(40), r0=counts(6), kappa=reals(-1, 200), t=reals(-1, 10), eps=reals(-1, 1),
       periodic=st.booleans())
def test_localized_target_and_radius(d, r0, kappa, t, eps, periodic):
    from lowdim.theory.localized import Lattice, banded_gaussian, localization_radius, noised_precision

    names = ("shape", "periodic", "lattice", "r0", "kappa", "t", "eps", "method", "bandwidth")
    lat = check(lambda: Lattice((d,), periodic=periodic), names)
    if lat is None:
        return
    target = check(lambda: banded_gaussian(lat, r0, kappa), names)
    if target is None:
        return
    check(lambda: noised_precision(target, t), names)
    check(lambda: localization_radius(target, t, eps=eps), names)


@given(n=st.lists(reals(-5, 1e6), min_size=1, max_size=3),
       radii=st.lists(counts(8), min_size=1, max_size=4), delta=reals(-1, 1), T=reals(-1, 20),
       steps=counts(40))
def test_localized_calculator(n, radii, delta, T, steps):
    from lowdim.theory.localized import Lattice, banded_gaussian, error_curve

    names = ("n", "radii", "r", "delta", "T", "steps", "times", "exact_kl")
    target = banded_gaussian(Lattice((16,)), 1, 10.0)
    check(lambda: error_curve(target, n, radii, delta=delta, T=T, steps=steps, exact_kl=False),
          names)


# --------------------------------------------------------------------------- rf
@given(eps=reals(-1, 2), psi_d=reals(-1, 2),
       criterion=st.sampled_from(["par", "total", "perp?"]))
def test_rf_sample_complexity(eps, psi_d, criterion):
    from lowdim.theory.rf import RFSetting, sample_complexity

    names = ("eps", "criterion", "psi_d", "setting", "psi_n_range", "grid", "rtol", "data")
    setting = check(lambda: RFSetting(psi_n=1.0, psi_p=4.0, t=0.1, lam=1e-3, m=np.inf,
                                      activation="relu", data="linear-manifold", psi_d=psi_d),
                    names)
    if setting is None:
        return
    try:
        res = sample_complexity(setting, eps=eps, criterion=criterion)
    except ValueError as exc:
        _named_error(exc, names)
        return
    # n* is a number, "never reached" (inf), or NaN flagged by a status and a message
    unflagged = np.isnan(res.psi_n_star) & (np.asarray(res.status) == 0)
    assert not np.any(unflagged)
    if np.any(np.isnan(res.psi_n_star)):
        assert not res.success and res.message


# --------------------------------------------------------------------------- threads
@given(side=counts(2 * 512), value=reals())
def test_thread_caps_restore_and_pass_values_through(side, value):
    """small_matrices caps exactly the small sides (or names a bad ``side``), single_threaded
    passes arguments and results through, and both restore every BLAS copy's threads."""
    from threadpoolctl import threadpool_info

    from lowdim.theory.threads import SMALL_SIDE, single_threaded, small_matrices

    def blas():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    before = blas()
    try:
        cm = small_matrices(side)
    except ValueError as exc:  # ParameterTypeError included
        _named_error(exc, ("side",))
    else:
        with cm:
            inside = blas()
        n = int(np.asarray(side))
        assert (set(inside) == {1}) if n <= SMALL_SIDE else (inside == before)
    assert blas() == before
    echoed = single_threaded(lambda v: v)(value)
    assert echoed is value and blas() == before


# --------------------------------------------------------------------------- CLI
_CODES = {0, 2, 3, 4, 5}
# the CLI reads strings: its tokens are the reprs of plain reals (the wrong kinds of Python
# objects are the library's concern, drawn by the tests above)
token = st.one_of(reals(kinds=False).map(repr), st.sampled_from(["nan", "inf", "-1", "0", "1e400", "",
                                                      "abc", "1,2", "1:10:3", "3:1:0"]))


def arg(*valid, bad=()):
    """A CLI value: one of the ``valid`` ones (a typical setting, lists and ranges included)
    four times in five, otherwise any token or one of the argument's own ``bad`` values.
    With five arguments about a third of the cases are fully valid, so the computing path
    is exercised as well as the argument checks."""
    wrong = st.one_of(token, st.sampled_from(bad)) if bad else token
    return st.sampled_from([True, True, True, True, False]).flatmap(
        lambda ok: st.sampled_from(valid) if ok else wrong)


# capsys is reset by every call of _cli, so sharing it across generated cases is safe
_cli_settings = settings(suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])


def _cli(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # --help and the like
        code = exc.code
    out, err = capsys.readouterr()
    if currently_in_test_context():
        event(f"exit {code}")  # counted by --hypothesis-show-statistics
    assert code in _CODES, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("lowdim: error: "), (argv, err)
    if code == 0:
        assert "nan" not in out.lower().replace("nanmean", ""), (argv, out)
    return code


@_cli_settings
@given(psi_n=arg("2", "0.5,4", "0.1:10:3"), psi_p=arg("4", "1,2,8", "1e-3:1e3:4"),
       t=arg("0.1", "1e-3,1", "0.01:1:3"), lam=arg("1e-3", "1e-6,1"), m=arg("1", "inf", "1,4,inf"))
def test_cli_rf_curve(capsys, psi_n, psi_p, t, lam, m):
    _cli(capsys, ["rf", "curve", "--psi-n", psi_n, "--psi-p", psi_p, "--t", t, "--lam", lam,
                  "--m", m, "--format", "csv"])


@_cli_settings
@given(N=arg("18", "10,40"), d=arg("16", "2,100"), m2=arg("16", "1"), eps=arg("0", "0.01"),
       smin=arg("0.002", "0.01"), smax=arg("80", "10"))
def test_cli_sampling_bound(capsys, N, d, m2, eps, smin, smax):
    _cli(capsys, ["sampling", "bound", "--steps", N, "--d", d, "--m2", m2, "--score-error", eps,
                  "--sigma-min", smin, "--sigma-max", smax, "--format", "csv"])


@_cli_settings
@given(modes=arg("2", "2,3"), dims=arg("3", "3,4"), n=arg("1000", "1e3,1e6"),
       t=arg("0.5", "0.1,1"), R=arg("1", "2"))
def test_cli_molrmog_bound(capsys, modes, dims, n, t, R):
    _cli(capsys, ["molrmog", "bound", "--n-modes", modes, "--dims", dims, "--n", n, "--t", t,
                  "--R", R, "--format", "csv"])


@_cli_settings
@given(d=arg("16", "12", bad=("-4", "7", "1e9")), r0=arg("1", "2"), kappa=arg("10", "50"),
       n=arg("100", "10,1000"), radii=arg("0-4", "0,1,2", "3", bad=("-1", "0-400", "4-2")))
def test_cli_localized_radius(capsys, d, r0, kappa, n, radii):
    _cli(capsys, ["localized", "radius", "--d", d, "--r0", r0, "--kappa", kappa, "--n", n,
                  "--radii", radii, "--steps", "12", "--format", "csv"])


@_cli_settings
@given(t=arg("0.1", "0.01,1"), lam=arg("1e-3"), psi_p=arg("4", "2,8"), eps=arg("0.01", "0.1"),
       size=st.sampled_from([["--psi-d", "0.5"], ["--psi-d", "0,1.5"],
                             ["--d", "100", "--intrinsic-dim", "10"],
                             ["--d", "10", "--intrinsic-dim", "100"], ["--d", "100"],
                             ["--psi-d", "x"]]),
       m=st.sampled_from(["1", "inf", "0", "-2", "nan"]))
def test_cli_rf_sample_complexity(capsys, t, lam, psi_p, eps, size, m):
    _cli(capsys, ["rf", "sample-complexity", "--t", t, "--lam", lam, "--psi-p", psi_p,
                  "--eps", eps, "--m", m, *size, "--format", "csv"])


@_cli_settings
@given(K=arg("2", "1", bad=("40", "1e7")), d=arg("2", "1-3", bad=("3-1", "50")),
       N=arg("1-4", "3", bad=("-2", "2,x")), D=arg("12", "8", bad=("2",)),
       noise=arg("0.05", "0", bad=("1e300",)), threshold=arg("0.1", "0.5"),
       learner=st.sampled_from(["ideal", "oracle", "trained"]))
def test_cli_molrg_phase(capsys, K, d, N, D, noise, threshold, learner):
    _cli(capsys, ["molrg", "phase", "--K", K, "--d", d, "--N", N, "--ambient-dim", D, "--noise", noise,
                  "--threshold", threshold, "--learner", learner, "--trials", "2",
                  "--steps", "5", "--restarts", "1", "--quiet", "--device", "cpu",
                  "--format", "csv"])


@pytest.mark.parametrize("argv", [
    ["molrg", "phase", "--d", "0"], ["molrg", "phase", "--N", "x"],
    ["molrg", "validate", "--trials", "0"], ["localized", "validate", "--datasets", "1"],
    ["molrmog", "validate", "--n-train", "-3"], ["rf", "validate", "--d", "2"],
    ["sampling", "validate", "--steps", "0"], ["figures", "nope"], ["bench", "--device", "tpu"],
    ["doctor", "--format", "yaml"], ["cache", "--bogus"],
])
def test_cli_heavy_actions_reject_bad_input_before_work(capsys, argv):
    assert _cli(capsys, argv) == 2
