"""Training-time dynamics, simulated: gradient flow and gradient descent from one
eigendecomposition, against the ridge simulation (infinite time), explicit gradient descent,
and the exact start (A = 0)."""
import math

import numpy as np
import pytest

from lowdim.simulate.rf import RFSize, fit_seed, seed_draws
from lowdim.simulate.rf_dynamics import (fit_dynamics, gradient_descent, spectrum,
                                         time_factor)
from lowdim.theory.rf import RFSetting

SIZE = RFSize(d=24, seeds=(3,), n_test=768, device="cpu")


@pytest.mark.parametrize("model", [{}, {"data": "linear-manifold", "psi_d": 0.5},
                                   {"data": "hidden-manifold", "psi_d": 0.5}])
def test_infinite_time_is_the_ridge_minimiser(model):
    s = RFSetting(psi_n=1.0, psi_p=1.5, t=0.2, lam=0.05, m=2, activation="tanh", **model)
    ridge = fit_seed(s, SIZE, 3)
    dyn = fit_dynamics(s, SIZE, 3, [0.5, math.inf])
    assert set(dyn.values) == set(ridge.values)
    for q, v in ridge.values.items():
        assert dyn.values[q][-1] == pytest.approx(v, rel=1e-9, abs=1e-12), q
    # the streams are those of the ridge simulation: same spectrum as a separate call
    assert np.allclose(dyn.eigenvalues, spectrum(s, SIZE, 3), rtol=0, atol=1e-12)


def test_time_zero_is_the_zero_score():
    s = RFSetting(psi_n=1.0, psi_p=2.0, t=0.1, lam=1e-3, m=3, activation="relu",
                  data="subspace", psi_d=0.5)
    dyn = fit_dynamics(s, SIZE, 3, [0.0, 1.0])
    # s = 0: the test loss is its control-variate mean 1 on every batch, the train loss the
    # noises' mean square, and the score error E||grad log p_t||^2 / d
    assert dyn.values["test_error"][0] == 1.0 and dyn.mc_se["test_error"][0] == 0.0
    _, _, Xi = seed_draws(s, SIZE, 3)
    assert dyn.values["train_error"][0] == pytest.approx(float((Xi**2).mean()), rel=1e-12)
    assert dyn.values["train_error"][0] == dyn.values["train_error_reg"][0]
    assert dyn.values["test_error"][1] < 1.0


def test_regularised_train_loss_falls_along_gradient_flow():
    s = RFSetting(psi_n=1.0, psi_p=3.0, t=0.05, lam=1e-3, m=1, activation="tanh")
    taus = np.geomspace(1e-2, 1e5, 30)
    dyn = fit_dynamics(s, SIZE, 3, taus)
    reg = dyn.values["train_error_reg"]
    assert np.all(np.diff(reg) <= 1e-12)
    # memorization: the train error falls far below the test error at long times
    assert dyn.values["train_error"][-1] < 0.2 * dyn.values["test_error"][-1]


def test_gradient_descent_formula_matches_explicit_steps():
    s = RFSetting(psi_n=1.0, psi_p=1.5, t=0.3, lam=0.01, m=2, activation="tanh")
    size = RFSize(d=16, seeds=(1,), n_test=512, noise_block=1, device="cpu")
    u_max = spectrum(s, size, 1)[-1]
    c = 1.5 / (u_max + 0.01)
    steps = [1, 4, 30, 200]
    formula = fit_dynamics(s, size, 1, steps, gd_step=c)
    explicit = gradient_descent(s, size, 1, c, steps)
    for q in ("train_error", "train_error_reg"):
        assert formula.values[q] == pytest.approx(explicit[q], rel=1e-10), q
    # and many steps reach the ridge minimiser
    assert fit_dynamics(s, size, 1, [20000], gd_step=c).values["train_error"][0] == \
        pytest.approx(fit_seed(s, size, 1).values["train_error"], rel=1e-8)


def test_time_factor_limits():
    u = np.array([0.0, 1e-20, 0.5, 2.0])
    tau = np.array([0.0, 1.0, np.inf])
    g = time_factor(u, 0.0, tau)
    assert np.all(g[:, 0] == 0.0)
    assert g[0, 1] == 1.0 and g[1, 1] == pytest.approx(1.0)          # tau at u + lam = 0
    assert g[2, 1] == pytest.approx(-math.expm1(-0.5) / 0.5, rel=1e-15)
    assert g[0, 2] == 0.0 and g[3, 2] == 0.5                          # pseudo-inverse
    gd = time_factor(u, 0.1, np.array([3.0]), gd_step=0.2)
    x = u + 0.1
    assert gd[:, 0] == pytest.approx((1 - (1 - 0.2 * x) ** 3) / x, rel=1e-12)


def test_bad_times_and_unstable_steps_are_refused():
    s = RFSetting(psi_n=1.0, psi_p=1.5, t=0.3, lam=0.01, m=1)
    for bad in ([], [-1.0], [np.nan]):
        with pytest.raises(ValueError, match="^tau: "):
            fit_dynamics(s, SIZE, 3, bad)
    with pytest.raises(ValueError, match="^steps: .*whole"):
        fit_dynamics(s, SIZE, 3, [1.5], gd_step=0.1)
    with pytest.raises(ValueError, match="^gd-step: .*diverges"):
        fit_dynamics(s, SIZE, 3, [10], gd_step=100.0)
    with pytest.raises(ValueError, match="^n_test: "):
        fit_dynamics(s, RFSize(d=24, seeds=(3,), n_test=256, device="cpu"), 3, [1.0])


def test_measurements_over_seeds_are_time_by_time():
    from lowdim.compare.rf_dynamics import measure_dynamics

    s = RFSetting(psi_n=1.0, psi_p=1.5, t=0.2, lam=0.05, m=2, activation="tanh")
    size = RFSize(d=20, seeds=(0, 1, 2), n_test=512, device="cpu")
    taus = [0.1, 10.0, math.inf]
    meas = measure_dynamics(s, size, taus)
    runs = [fit_dynamics(s, size, seed, taus) for seed in size.seeds]
    assert len(meas) == 3
    for j, m in enumerate(meas):
        for q in ("test_error", "train_error", "score_error"):
            vals = np.array([r.values[q][j] for r in runs])
            assert m.mean[q] == pytest.approx(vals.mean(), rel=1e-14)
            assert m.se[q] == pytest.approx(vals.std(ddof=1) / math.sqrt(3), rel=1e-10)
    # the last time is the ridge measurement
    ridge = fit_seed(s, size, 1)
    assert meas[-1].per_seed["test_error"][1] == pytest.approx(ridge.values["test_error"],
                                                                rel=1e-9)


def test_spectrum_command_theory_and_simulation(capsys, tmp_path):
    import csv
    import io

    from _cli import run

    code, out, err = run(capsys, ["rf", "spectrum", "--psi-n", "2", "--psi-p", "4", "--m", "1,inf",
                                  "--format", "csv"])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    kinds = {(r["m"], r["kind"]) for r in rows}
    assert kinds == {("1", "theory"), ("1", "atom"), ("inf", "theory"), ("inf", "atom")}
    assert "m=1 t=0.1: bulks [0.007179, 0.09945], [0.1313, 5.607]; atoms 0.5 at 0" in err
    # with a simulation: histograms, the measured atom, and a verdict through the exit code
    plot = tmp_path / "spectrum.png"
    code, out, err = run(capsys, ["rf", "spectrum", "--psi-n", "2", "--psi-p", "4", "--m", "1",
                                  "--simulate", "--d", "40", "--seeds", "2", "--device", "cpu",
                                  "-q", "--format", "csv", "--plot", str(plot)])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    atom = [r for r in rows if r["kind"] == "simulated atom"]
    assert len(atom) == 1 and float(atom[0]["mass"]) == 0.5       # p - n m zero eigenvalues
    assert "1/1 checks agree: W1 distance / mean eigenvalue within 4/d = 0.1" in err
    assert plot.stat().st_size > 10_000


def test_spectrum_command_refuses_what_it_cannot_do(capsys):
    from _cli import run

    code, _, err = run(capsys, ["rf", "spectrum", "--bins", "0", "--simulate"])
    assert code == 2 and "bins" in err


def test_dynamics_command_theory_early_stopping_and_simulation(capsys):
    import csv
    import io

    from _cli import run

    code, out, err = run(capsys, ["rf", "dynamics", "--m", "4", "--tau", "1,100,inf",
                                  "--format", "csv"])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["time"] for r in rows] == ["1.0", "100.0", "inf"]
    assert float(rows[0]["test_error"]) < float(rows[-1]["test_error"])   # memorisation
    assert "stop at tau = 0.732, test error 0.898 against 2.107" in err
    # with a simulation, every row judged by the package's verdict
    code, out, err = run(capsys, ["rf", "dynamics", "--m", "4", "--tau", "1,inf", "--simulate",
                                  "--d", "40", "--seeds", "5", "--n-test", "512",
                                  "--device", "cpu", "-q", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["verdict"] for r in rows} <= {"agree", "disagree", "inconclusive"}
    assert code == {"agree": 0, "disagree": 4, "inconclusive": 5}[
        "disagree" if any(r["verdict"] == "disagree" for r in rows) else
        "inconclusive" if any(r["verdict"] == "inconclusive" for r in rows) else "agree"]
    assert "checks agree" in err and "1/d-extrapolated from d = 20, 40, 5 seeds" in err


def test_dynamics_command_refuses_bad_input(capsys):
    from _cli import run

    for argv, start in ((["--tau", "-1"], "tau: "), (["--gd-step", "0"], "gd-step: "),
                        (["--tau", "1", "--gd-step", "100"], "gd-step: c (u_max + lam)")):
        code, _, err = run(capsys, ["rf", "dynamics", *argv])
        assert code == 2 and err.startswith(f"lowdim: error: {start}"), (argv, err)


def test_stop_command_in_flow_time_and_in_steps_of_plain_gradient_descent(capsys):
    import csv
    import io

    from _cli import run

    code, out, err = run(capsys, ["rf", "stop", "--m", "4", "--format", "csv"])
    assert code == 0, err
    (flow,) = list(csv.DictReader(io.StringIO(out)))
    assert flow["time_kind"] == "tau" and float(flow["stop_at"]) == pytest.approx(0.732, rel=2e-3)
    assert float(flow["time_gen"]) < float(flow["stop_at"]) < float(flow["time_mem"])
    assert "stop at tau 0.732, test error 0.898 against 2.107" in err
    # plain gradient descent, A <- A - lr grad L at d = 100: c = 2 Delta lr / (d p) and the
    # stopping step is the flow time over c (docs/dynamics.md sect. 1)
    code, out, err = run(capsys, ["rf", "stop", "--m", "4", "--lr", "1", "--d", "100",
                                  "--format", "csv"])
    assert code == 0, err
    (gd,) = list(csv.DictReader(io.StringIO(out)))
    delta = 1.0 - math.exp(-0.2)
    c = 2.0 * delta / (100 * 400)
    assert gd["time_kind"] == "steps of plain GD"
    assert float(gd["stop_at"]) * c == pytest.approx(float(flow["stop_at"]), rel=0.05)
    assert float(gd["test_at_stop"]) == pytest.approx(float(flow["test_at_stop"]), rel=1e-3)
    for argv, start in ((["--lr", "1"], "d: --lr needs"), (["--d", "100"], "d: only used"),
                        (["--lr", "1e9", "--d", "100"], "lr: plain gradient descent diverges"),
                        (["--lr", "1", "--d", "100", "--gd-step", "0.1"], "lr: give either"),
                        (["--lr", "-1", "--d", "100"], "lr: must be")):
        code, _, err = run(capsys, ["rf", "stop", "--m", "4", *argv])
        assert code == 2 and err.startswith(f"lowdim: error: {start}"), (argv, err)
