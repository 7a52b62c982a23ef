"""The command line refuses what it cannot do, before doing any work, naming the option as
typed: distinct seeds, fits through distinct points, memory and work budgets, integers the
backends take, errors before work, atomic output files, and no option that is silently
ignored."""
import csv
import io
import json
import os
import subprocess
import sys
import warnings

import pytest

from lowdim.compare import limits
from lowdim.compare.atomic import write_text
from _cli import run as _run  # tests/_cli.py
from lowdim.compare.cli import main
from lowdim.compare.rf_cli import _sample_complexity_slopes
from lowdim.compare.ranges import count_values, parse_seeds, parse_values


def _refused(capsys, argv, name):
    """``argv`` exits 2 with one line ``lowdim: error: <name>: ...`` and prints nothing."""
    code, out, err = _run(capsys, argv)
    assert code == 2, (argv, code, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lowdim: error: {name}:"), (argv, err)
    return lines[0]


def _never(*args, **kwargs):
    pytest.fail("the action started working before refusing its input")


# --------------------------------------------------------------------------- A. seeds
def test_duplicate_seeds_are_refused_by_parse_seeds():
    for text in ("0,0,0,0,1", "0,0,0,0,0", "3,1,3"):
        with pytest.raises(ValueError, match=r"^seeds: each seed must be distinct"):
            parse_seeds(text)
    assert parse_seeds("5,1,0") == (5, 1, 0)


def test_rf_validate_refuses_repeated_seeds_before_work(capsys, monkeypatch):
    import lowdim.compare.rf

    monkeypatch.setattr(lowdim.compare.rf, "experiment", _never)
    for seeds in ("0,0,0,0,1", "0,0,0,0,0"):
        _refused(capsys, ["rf", "validate", "--seeds", seeds, "--d", "20", "--psi-p", "0.5",
                          "--m", "1", "-q"], "seeds")


def test_simulation_sizes_and_experiments_count_distinct_seeds_only():
    from lowdim.simulate.rf import RFSize, SeedResult, measurement
    from lowdim.theory.rf import RFSetting

    from lowdim.compare.rf import experiment

    with pytest.raises(ValueError, match="^seeds: each seed must be distinct"):
        RFSize(seeds=(0, 0, 1))
    # a size whose seeds were forced to repeat is refused by the experiment and the
    # assembly of measurements, before any seed is simulated
    size = RFSize(d=20, seeds=(0, 1, 2), n_test=256, device="cpu")
    object.__setattr__(size, "seeds", (0, 0, 1))
    setting = RFSetting(psi_n=2.0, psi_p=0.5, t=0.1, lam=1e-3, m=1)
    with pytest.raises(ValueError, match="^seeds: each seed must be distinct"):
        experiment(setting, size)
    results = [SeedResult(seed=s, n=40, p=10, m=1, D=20, values={"test_error": 1.0},
                          mc_se={"test_error": 0.0}) for s in (0, 0, 1)]
    with pytest.raises(ValueError, match="seeds must be distinct"):
        measurement(setting, size, results)


# --------------------------------------------------------------------------- B. slopes
def _sc_row(D, n_star, d=1000):
    return {"psi_p": 16.0, "m": "inf", "t": 0.1, "lam": 1e-3, "d": d, "D": D,
            "n_star": n_star}


def test_sample_complexity_slope_needs_two_distinct_abscissae():
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a RankWarning would fail here
        assert _sample_complexity_slopes([_sc_row(10, 500.0)] * 3) == []
        lines = _sample_complexity_slopes([_sc_row(10, 500.0), _sc_row(10, 500.0),
                                           _sc_row(40, 2000.0)])
    assert len(lines) == 1 and lines[0].endswith(": 1.000")


def test_sample_complexity_cli_repeated_D_gives_one_row_and_no_slope(capsys):
    code, out, err = _run(capsys, ["rf", "sample-complexity", "--d", "1000",
                                   "--intrinsic-dim", "10,10,10", "--format", "csv"])
    assert code == 0, err
    assert len(list(csv.DictReader(io.StringIO(out)))) == 1
    assert "slope" not in err and "RankWarning" not in err


# --------------------------------------------------------------------------- C. resources
def test_sizes_and_budgets(monkeypatch):
    assert limits.parse_size("4G") == 4 * 2**30
    assert limits.parse_size("512M") == 512 * 2**20
    assert limits.parse_size("1.5GiB") == 3 * 2**29
    assert limits.parse_size("2e9") == 2 * 10**9
    for bad in ("", "-1G", "4X", "nan", "G"):
        with pytest.raises(ValueError, match="^max-memory:"):
            limits.parse_size(bad)
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    total = limits.physical_memory()
    assert total is None or limits.memory_budget() == int(total * limits.MEMORY_FRACTION)
    monkeypatch.setenv(limits.MEMORY_ENV, "3G")
    assert limits.memory_budget() == 3 * 2**30
    assert limits.memory_budget("1G") == 2**30              # the option wins
    monkeypatch.setenv(limits.MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match=f"^{limits.MEMORY_ENV}:"):
        limits.memory_budget()
    monkeypatch.setenv(limits.WORK_ENV, "1e20")
    assert limits.work_budget() == 1e20 and limits.work_budget("5e3") == 5e3
    with pytest.raises(ValueError, match=r"^psi-p: a grid needs about 2 GiB, more than the "
                                         r"budget of 1 GiB \(set --max-memory or "
                                         r"LOWDIM_MAX_MEMORY to raise it\)$"):
        limits.require_memory(2 * 2**30, "a grid", option="psi-p", budget=2**30)
    with pytest.raises(ValueError, match="^steps: .* more than the work budget of 1e\\+06"):
        limits.require_work(1e9, "a run", option="steps", budget=1e6)


def test_values_are_counted_before_they_are_expanded():
    assert count_values("x", "1:2:5,3,0:1:7:lin") == 13
    with pytest.raises(ValueError, match="^x: at most 1000000 values"):
        count_values("x", ",".join(["1:2:100000"] * 11))
    with pytest.raises(ValueError, match="^x: at most 1000000 values"):
        parse_values("x", ",".join(["1:2:100000"] * 11))


# every request is refused by name, with an explicit budget so that the outcome does not
# depend on the machine
OVERSIZE = [
    (["rf", "curve", "--psi-n", "1:2:1000", "--psi-p", "1:2:1000", "--t", "0.1:1:10"], "psi-n"),
    (["molrg", "phase", "--N", "1-2000", "-q"], "N"),
    (["rf", "validate", "--psi-p", "1e6", "-q"], "psi-p"),
    (["rf", "validate", "--seeds", "1000000000", "-q"], "seeds"),
    (["localized", "radius", "--radii", "0-99999999999", "-q"], "radii"),
    (["localized", "radius", "--radii", "0-5000000", "-q"], "radii"),
    (["sampling", "bound", "--steps", "1e9"], "steps"),
    (["localized", "radius", "--d", "10000000", "-q"], "d"),
    (["localized", "radius", "--steps", "100000", "-q"], "steps"),
    (["sampling", "validate", "--n", "1000000000", "-q"], "n"),
    (["molrmog", "validate", "--n-train", "1000000000", "-q"], "n-train"),
    (["molrg", "validate", "--trials", "100000", "-q"], "trials"),
    (["localized", "validate", "--datasets", "1000000", "-q"], "datasets"),
    (["rf", "sample-complexity", "--d", "1000", "--intrinsic-dim", "1:1000:100000"], "intrinsic-dim"),
    # work: typo-sized counts that would run for days
    (["rf", "validate", "--m", "1e9", "-q"], "m"),
    (["rf", "validate", "--sim-m", "1000000000", "-q"], "sim-m"),
    (["rf", "validate", "--n-test", "1000000000", "-q"], "n-test"),
    (["localized", "radius", "--d", "1024", "-q"], "d"),
    (["molrmog", "validate", "--steps", "1000000000", "-q"], "steps"),
    (["molrg", "phase", "--learner", "trained", "--steps", "1000000000", "-q"], "steps"),
]


@pytest.mark.parametrize("argv,name", OVERSIZE)
def test_oversize_requests_are_refused_by_name(capsys, argv, name):
    line = _refused(capsys, argv + ["--max-memory", "4G", "--max-work", "1e15"], name)
    assert "--max-memory" in line or "--max-work" in line or "at most" in line \
        or "between" in line


def test_the_budget_options_and_environment_decide(capsys, monkeypatch):
    # defaults everywhere: no option to blame but the budget itself
    line = _refused(capsys, ["rf", "curve", "--max-memory", "1K"], "max-memory")
    assert "more than the budget of 1 KiB" in line
    _refused(capsys, ["rf", "curve", "--max-work", "1e3"], "max-work")
    _refused(capsys, ["rf", "curve", "--max-memory", "lots"], "max-memory")
    monkeypatch.setenv(limits.MEMORY_ENV, "1K")
    assert "LOWDIM_MAX_MEMORY" in _refused(capsys, ["sampling", "bound"], "max-memory")
    monkeypatch.delenv(limits.MEMORY_ENV)
    argv = ["sampling", "bound", "--steps", "2000000", "--grid", "edm", "--format", "csv"]
    _refused(capsys, argv + ["--max-memory", "100M"], "steps")
    code, out, err = _run(capsys, argv + ["--max-memory", "1G"])
    assert code == 0, err
    assert out.count("\n") == 2


def test_long_runs_are_announced_even_when_quiet(capsys, monkeypatch):
    monkeypatch.setattr(limits, "NOTE_WORK", 1.0)
    code, _, err = _run(capsys, ["sampling", "bound", "--steps", "18"])
    assert code == 0 and "lowdim: note:" in err and "floating-point operations" in err


def test_every_computing_action_documents_the_budget_options(capsys):
    for argv in (["rf", "curve"], ["rf", "validate"], ["rf", "sample-complexity"],
                 ["sampling", "bound"], ["sampling", "validate"], ["molrmog", "bound"],
                 ["molrmog", "validate"], ["molrg", "phase"], ["molrg", "validate"],
                 ["localized", "radius"], ["localized", "validate"]):
        with pytest.raises(SystemExit):
            main(argv + ["--help"])
        out = capsys.readouterr().out
        assert "--max-memory" in out and "LOWDIM_MAX_MEMORY" in out, argv
        assert "--max-work" in out and "LOWDIM_MAX_WORK" in out, argv


_PEAK = """
import resource, subprocess, sys
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, 8 * 2**30))
p = subprocess.run([sys.executable, "-m", "lowdim.compare.cli", *sys.argv[1:]], preexec_fn=cap,
                   capture_output=True, text=True)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(p.stderr.strip())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB and RLIMIT_AS: Linux")
@pytest.mark.parametrize("argv,name", [OVERSIZE[i] for i in (0, 1, 2, 3, 4, 6, 7, 14)])
def test_refused_requests_stay_small(argv, name):
    """Peak resident memory of the whole command (libraries included) under 1 GB."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", _PEAK, *argv, "--max-memory", "4G"],
                         capture_output=True, text=True, cwd=root, timeout=120)
    first, message = res.stdout.split("\n", 1)
    code, peak_kib = (int(v) for v in first.split())
    assert code == 2 and message.startswith(f"lowdim: error: {name}:"), res.stdout
    assert peak_kib * 1024 < 1e9, (argv, peak_kib)


# --------------------------------------------------------------------------- D. integers
@pytest.mark.parametrize("argv,name", [
    (["rf", "validate", "--d", "1e23"], "d"),
    (["rf", "validate", "--d", "100000000000000000000000"], "d"),
    (["rf", "validate", "--n-test", "9223372036854775808"], "n-test"),
    (["molrg", "phase", "--N", "100000000000000000000000"], "N"),
    (["molrg", "phase", "--ambient-dim", "100000000000000000000000"], "ambient-dim"),
    (["molrg", "phase", "--trials", "100000000000000000000000"], "trials"),
    (["molrg", "phase", "--K", "2.5"], "K"),
    (["localized", "radius", "--simulate", "--datasets", "100000000000000000000000"],
     "datasets"),
    (["localized", "radius", "--d", "x"], "d"),
    (["molrmog", "bound", "--dims", "4,100000000000000000000000"], "dims"),
])
def test_integers_beyond_the_backends_are_refused_by_name(capsys, argv, name):
    line = _refused(capsys, argv + ["-q"] if argv[0] != "molrmog" else argv, name)
    assert "must be an integer between" in line or "integers" in line


def test_integer_options_read_exact_scientific_notation(capsys):
    code, out, err = _run(capsys, ["sampling", "bound", "--d", "1e1", "--format", "csv"])
    assert code == 0, err
    assert {r["d"] for r in csv.DictReader(io.StringIO(out))} == {"10"}


def test_simulation_sizes_validate_their_integers():
    from lowdim.simulate.rf import RFSize

    for kw, name in ((dict(d=10**23), "d"), (dict(n_test=2**63), "n_test"),
                     (dict(seeds=(2**63,)), "seeds"), (dict(seeds=10**9), "seeds"),
                     (dict(seeds=range(10**9)), "seeds"), (dict(noise_block=0), "noise_block")):
        with pytest.raises(ValueError, match=f"^{name}:"):
            RFSize(**kw)
    from lowdim.simulate.localized import sample_gaussian
    from lowdim.simulate.molrg import draw_batch
    from lowdim.theory.molrg import MoLRG

    with pytest.raises(ValueError, match="^n: must be an integer between 1 and"):
        sample_gaussian(None, 10**23)
    with pytest.raises(ValueError, match="^trials: must be an integer between 1 and"):
        draw_batch(MoLRG(8, 1, 2), [3], 2**63)


# --------------------------------------------------------------------------- E. names, order
def test_messages_name_the_option_as_typed(capsys):
    _refused(capsys, ["molrg", "phase", "--seed", "-1", "-q"], "seed")
    _refused(capsys, ["sampling", "validate", "--seed", "-1", "-q"], "seed")
    _refused(capsys, ["sampling", "bound", "--data-variance", "nan"], "data-variance")
    _refused(capsys, ["sampling", "bound", "--data-variance", "1e308", "--d", "10"],
             "data-variance")
    line = _refused(capsys, ["sampling", "bound", "--sigma-min", "2", "--sigma-max", "1"],
                    "sigma-min")
    assert "sigma_max" not in line and "sigma-max" in line
    _refused(capsys, ["sampling", "bound", "--score-error", "-1"], "score-error")
    _refused(capsys, ["rf", "curve", "--psi-p", "0"], "psi-p")
    _refused(capsys, ["rf", "validate", "--n-test", "1", "-q"], "n-test")
    _refused(capsys, ["rf", "validate", "--sim-m", "0", "-q"], "sim-m")
    _refused(capsys, ["rf", "validate", "--rel-tol", "2", "-q"], "rel-tol")


def test_plot_format_is_checked_before_work(capsys, monkeypatch, tmp_path):
    import lowdim.compare.rf

    monkeypatch.setattr(lowdim.compare.rf, "curve", _never)
    line = _refused(capsys, ["rf", "curve", "--plot", str(tmp_path / "x.jpgzz")], "plot")
    assert ".png" in line
    _refused(capsys, ["rf", "curve", "--plot", str(tmp_path / "x")], "plot")
    _refused(capsys, ["rf", "curve", "--plot", "-"], "plot")
    _refused(capsys, ["rf", "curve", "--tol", "0"], "tol")


def test_checks_come_before_work(capsys, monkeypatch):
    import lowdim.compare.localized
    import lowdim.compare.sampling
    import lowdim.theory.localized

    monkeypatch.setattr(lowdim.compare.localized, "calculator_table", _never)
    monkeypatch.setattr(lowdim.theory.localized, "banded_gaussian", _never)
    _refused(capsys, ["localized", "radius", "--simulate", "--datasets", "1", "-q"], "datasets")
    _refused(capsys, ["localized", "radius", "--simulate", "--device", "tpu", "-q"], "device")
    _refused(capsys, ["localized", "radius", "--n", "0"], "n")
    monkeypatch.setattr(lowdim.compare.sampling, "validation_table", _never)
    _refused(capsys, ["sampling", "validate", "--grid", "edm,spiral", "-q"], "grid")
    _refused(capsys, ["sampling", "validate", "--data", "gaussian,foo", "-q"], "data")
    _refused(capsys, ["sampling", "validate", "--device", "tpu", "-q"], "device")


# --------------------------------------------------------------------------- F. output files
def _leftovers(folder, name):
    return [f for f in os.listdir(folder) if f.startswith(f".{name}.")]


def test_write_text_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    write_text(path, "old\n")
    os.chmod(path, 0o640)
    write_text(path, "new\n")
    assert path.read_text() == "new\n" and (path.stat().st_mode & 0o777) == 0o640
    import lowdim.compare.atomic

    for exc in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        def fail(fd, exc=exc):
            raise exc

        monkeypatch.setattr(lowdim.compare.atomic.os, "fsync", fail)
        with pytest.raises(type(exc)):
            write_text(path, "partial" * 1000)
        monkeypatch.undo()
        assert path.read_text() == "new\n"
        assert _leftovers(tmp_path, "table.csv") == []


def test_output_dash_is_stdout(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, ["sampling", "bound", "--format", "csv", "-o", "-"])
    assert code == 0, err
    assert out.startswith("grid,") and os.listdir(tmp_path) == []


def test_a_failed_write_keeps_the_previous_output(capsys, tmp_path, monkeypatch):
    target = tmp_path / "bound.csv"
    code, _, err = _run(capsys, ["sampling", "bound", "--format", "csv", "-o", str(target)])
    assert code == 0, err
    before, meta_before = target.read_text(), (tmp_path / "bound.csv.meta.json").read_text()
    assert json.loads(meta_before)["kind"] == "sampling-bound"
    import lowdim.compare.atomic

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lowdim.compare.atomic.os, "fsync", full_disk)
    code, _, err = _run(capsys, ["sampling", "bound", "--steps", "5,6", "--format", "csv",
                                 "-o", str(target)])
    assert code == 1 and "No space left on device" in err
    assert target.read_text() == before
    assert (tmp_path / "bound.csv.meta.json").read_text() == meta_before
    assert sorted(os.listdir(tmp_path)) == ["bound.csv", "bound.csv.meta.json"]


# --------------------------------------------------------------------------- G. --plot
@pytest.mark.parametrize("argv", [
    ["rf", "sample-complexity", "--d", "1000", "--intrinsic-dim", "10,20,40"],
    ["rf", "sample-complexity", "--psi-d", "0.01,0.04"],
    ["sampling", "bound", "--steps", "6,18,50", "--data-variance", "0.25"],
    ["molrmog", "bound", "--n", "100,1000,10000"],
])
def test_plot_is_honoured(capsys, tmp_path, argv):
    png = tmp_path / "p.png"
    code, _, err = _run(capsys, argv + ["--format", "csv", "--plot", str(png)])
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000


@pytest.mark.parametrize("argv", [["sampling", "validate"], ["molrmog", "validate"],
                                  ["molrg", "validate"], ["localized", "validate"]])
def test_plot_is_not_offered_where_nothing_is_drawn(capsys, tmp_path, argv):
    code, out, err = _run(capsys, argv + ["--plot", str(tmp_path / "p.png")])
    assert code == 2 and out == "" and "unrecognized arguments: --plot" in err
    assert not (tmp_path / "p.png").exists()

