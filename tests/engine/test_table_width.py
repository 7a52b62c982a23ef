"""Text tables fit a terminal: no line of ``--format table`` is wider than 100 characters,
the columns left out are named, the columns shown mean something for the run, and
``--columns`` chooses them (csv and json keep every column)."""
import csv
import io

import pytest

from _cli import run as _run  # tests/_cli.py
from lowdim.compare.table import TEXT_WIDTH, Table

WIDTH = 100


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _rule(out: str) -> int:
    """The index of the rule line under the header (lines above the header may state the
    values every row shares)."""
    return next(i for i, line in enumerate(out.splitlines()) if line.startswith("-"))


def _header(out: str) -> list:
    return out.splitlines()[_rule(out) - 1].split()


def _column_words(out: str, name: str) -> str:
    """The words of column ``name`` of a text table, its wrapped lines joined."""
    import re

    lines = out.splitlines()
    rule = _rule(out)
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    a, b = spans[_header(out).index(name)]
    return " ".join(" ".join(line[a:b].split()) for line in lines[rule + 1:]
                    if not line.startswith("(+")).strip()


def _footnote(out: str) -> str:
    last = out.strip().splitlines()[-1]
    return last if last.startswith("(+") else ""


# --------------------------------------------------------------------------- Table.to_text
def _wide_table(rows=3, extra=12):
    cols = ["name", "value"] + [f"column_with_a_long_name_{k}" for k in range(extra)]
    data = [dict({c: 1000.0 * k + j for j, c in enumerate(cols[1:])}, name=f"row {k}")
            for k in range(rows)]
    return Table(cols, data)


def test_width_is_the_terminal_default():
    assert TEXT_WIDTH == WIDTH


def test_wide_table_drops_columns_from_the_right_and_names_them():
    table = _wide_table()
    text = table.to_text()
    assert _widest(text) <= WIDTH
    shown = _header(text)
    assert shown == table.columns[:len(shown)] and len(shown) < len(table.columns)
    note = _footnote(text)
    hidden = table.columns[len(shown):]
    assert note.startswith(f"(+{len(hidden)} more columns: {hidden[0]}, ")
    assert note.endswith("; --columns or --format csv)")
    # without a width every column is printed, in full
    assert _header(table.to_text(width=None)) == table.columns


def test_footnote_is_shortened_to_the_width():
    table = _wide_table(extra=40)
    note = _footnote(table.to_text())
    assert len(note) <= WIDTH and "\u2026" in note and note.startswith("(+")


def test_columns_empty_in_every_row_are_left_out_of_the_text_only():
    table = Table(["a", "empty", "blank", "b"],
                  [{"a": 1.0, "empty": None, "blank": "", "b": 2.0} for _ in range(3)])
    assert _header(table.to_text()) == ["a", "b"]
    assert table.to_csv().splitlines()[0] == "a,empty,blank,b"


def test_long_text_is_shortened_or_wrapped_never_numbers():
    note = "a long note about what was measured and against what " * 4
    table = Table(["x", "note", "y"], [{"x": 123456.789, "note": note, "y": 1e-7}])
    cut = table.to_text()
    assert _widest(cut) <= WIDTH and "\u2026" in cut and len(cut.splitlines()) == 3
    assert "1.235e+05" in cut and "1.000e-07" in cut
    wrapped = table.to_text(wrap=("note",))
    assert _widest(wrapped) <= WIDTH and len(wrapped.splitlines()) > 3
    assert _column_words(wrapped, "note") == note.strip()


def test_priority_order_is_the_display_order():
    table = _wide_table(extra=2)
    assert _header(table.to_text(["value", "name"])) == ["value", "name"]


# --------------------------------------------------------------------------- --columns
def test_columns_option_chooses_the_columns_of_every_format(capsys):
    code, out, err = _run(capsys, ["rf", "curve", "--psi-p", "0.5,2", "--columns",
                                   "psi_p,test_error_perp,psi_d,residual"])
    assert code == 0, err
    assert _header(out) == ["psi_p", "test_error_perp", "psi_d", "residual"]  # as asked
    assert not _footnote(out)
    code, out, err = _run(capsys, ["rf", "curve", "--psi-p", "0.5,2", "--columns",
                                   "psi_p,test_error", "--format", "csv"])
    assert code == 0 and out.splitlines()[0] == "psi_p,test_error"


@pytest.mark.parametrize("argv", [
    ["rf", "curve", "--psi-p", "0.5"],
    ["sampling", "bound"],
    ["molrg", "validate"],          # refused before the minutes of the run
    ["bench"],                      # likewise
])
def test_unknown_column_is_refused_by_name(capsys, argv):
    code, out, err = _run(capsys, argv + ["--columns", "nope"])
    assert code == 2 and out == ""
    line = err.strip()
    assert line.startswith("lowdim: error: columns: unknown 'nope'; known: ") and "\n" not in line
    if argv[0] == "rf":
        assert "psi_n, psi_p" in line   # column names as the table spells them


# --------------------------------------------------------------------------- actions
CHEAP = [
    ["rf", "curve"],
    ["rf", "curve", "--data", "hidden-manifold", "--psi-d", "0.5", "--psi-p", "0.5:8:5"],
    ["rf", "dynamics", "--tau", "1,100,inf"],
    ["rf", "dynamics", "--data", "linear-manifold", "--psi-d", "0.5", "--tau", "1,inf"],
    ["rf", "stop", "--data", "linear-manifold", "--psi-d", "0.5"],
    ["rf", "spectrum", "--m", "1,inf"],
    ["rf", "sample-complexity", "--d", "1000", "--intrinsic-dim", "25,50"],
    ["sampling", "bound", "--steps", "18,50"],
    ["sampling", "bound", "--steps", "18,50", "--data-variance", "0.25"],
    ["molrmog", "bound"],
    ["molrg", "phase", "--K", "1", "--d", "2-3", "--N", "1-5", "--trials", "10",
     "--ambient-dim", "16", "-q"],
    ["localized", "radius", "--d", "32", "--n", "16,1024", "--radii", "0-8", "-q"],
    ["figures", "--list"],
]


@pytest.mark.parametrize("argv", CHEAP, ids=lambda a: " ".join(a[:2]))
def test_every_line_of_a_text_table_fits(capsys, argv):
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    assert out and _widest(out) <= WIDTH, out


def test_rf_curve_shows_only_what_the_data_model_means(capsys):
    code, out, err = _run(capsys, ["rf", "curve"])
    assert code == 0, err
    shown = set(_header(out))
    assert {"psi_p", "test_error", "train_error", "score_error"} <= shown
    for col in ("psi_d", "manifold_activation", "test_error_par", "test_error_perp", "data"):
        assert col not in out, col          # neither shown nor named in the footnote
    # csv keeps one schema whatever the data model
    code, out, _ = _run(capsys, ["rf", "curve", "--psi-p", "1", "--format", "csv"])
    row = next(csv.DictReader(io.StringIO(out)))
    assert row["psi_d"] == "1.0" and row["manifold_activation"] == "" and \
        float(row["test_error_perp"]) == 0
    # on a manifold the split of the test error is what the text table shows first
    code, out, _ = _run(capsys, ["rf", "curve", "--data", "linear-manifold", "--psi-d",
                                 "0.2,0.5", "--psi-p", "1,2"])
    assert {"psi_d", "test_error_par", "test_error_perp"} <= set(_header(out))
    assert "manifold_activation" not in out


def test_rf_dynamics_with_a_tiny_tau_list(capsys):
    code, out, err = _run(capsys, ["rf", "dynamics", "--m", "4", "--tau", "1,inf"])
    assert code == 0, err
    assert _widest(out) <= WIDTH
    assert _header(out)[0] == "time" and "test_error_perp" not in out
    assert "time_kind = tau" in out.splitlines()[0]      # one value: stated above the table
    assert len([line for line in out.splitlines() if line[:4].strip() in ("1", "inf")]) == 2


def test_localized_radius_note_names_a_column_it_shows(capsys):
    code, out, err = _run(capsys, ["localized", "radius", "--d", "32", "--n", "16,1024",
                                   "--radii", "0-8", "-q"])
    assert code == 0, err
    assert "first_order" in err and "first_order" in _header(out)
    assert " NO" in out           # the rows the note is about


def test_molrg_phase_says_what_it_judges_and_flags_n_equal_d(capsys):
    code, out, err = _run(capsys, ["molrg", "phase", "--K", "1", "--d", "2-3", "--N", "1-5",
                                   "--trials", "10", "--ambient-dim", "16", "-q"])
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0].startswith("N_k <= d-1: max success 0.00 (theory 0: agree); N_k >= d+2:")
    assert all(len(line) <= WIDTH for line in lines)
    note = " ".join(lines[1:])
    assert note.startswith("note: at N_k = d theory_success says 1") and "noise_boundary" in note
    assert {"theory_success", "noise_boundary"} <= set(_header(out))


def test_doctor_wraps_long_values(capsys, tmp_path):
    code, out, err = _run(capsys, ["doctor", "--no-smoke", "--cache", str(tmp_path / "c")])
    assert code == 0, err
    assert _widest(out) <= WIDTH and "\u2026" not in out


# --------------------------------------------------------------------------- bench and checks
#: Rows as ``lowdim bench`` writes them (their lengths measured on a real run).
BENCH_ROWS = [
    {"family": "rf", "benchmark": "theory vs scipy root loop, 60x60 (psi_n, psi_p) grid, m=4",
     "seconds": 0.006304, "floor_seconds": 0.1927, "ratio": 30.565,
     "floor": "peer: scipy root(hybr) per point, warm-started (ratio = peer/package)",
     "ratio_with_test_features": None, "threads": "1 (theory solver capped)",
     "note": "loop disagrees (|dq/q|, |dr/r| > 1e-06) at 0 of 3600 points (0 of them "
             "reported as success), loop failures 0; loop 11.5 residual evaluations per "
             "point; package converged=True, Newton iterations mean 15.7 max 16"},
    {"family": "rf", "benchmark": "simulation seed, d=200, n=400, p=1600, m=16, n_test=2048, "
     "cpu", "seconds": 2.5578, "floor_seconds": 1.3298, "ratio": 1.9234,
     "floor": "train features + Gram + Cholesky", "ratio_with_test_features": 1.6677,
     "threads": "BLAS 2, torch 2", "note": "draw 0.044s, features_gram 1.862s, solve 0.225s"},
    {"family": "localized", "benchmark": "localized exact generated law, 8 estimators, d=64, "
     "60 Van Loan steps", "seconds": 1.7095, "floor_seconds": 0.9845, "ratio": 1.7364,
     "floor": "the batched 2d x 2d matrix exponentials", "ratio_with_test_features": None,
     "threads": "1 (small matrices capped)", "note": ""},
]


def test_bench_table_fits_and_keeps_what_its_ratio_means(capsys, monkeypatch):
    import lowdim.compare.bench as bench

    monkeypatch.setattr(bench, "run_benchmarks",
                        lambda quick, device: Table(list(bench.COLUMNS), BENCH_ROWS))
    code, out, err = _run(capsys, ["bench", "--quick"])
    assert code == 0, err
    assert _widest(out) <= WIDTH
    assert _header(out)[:4] == ["benchmark", "seconds", "floor_seconds", "ratio"]
    assert "(ratio = peer/package)" in _column_words(out, "floor")
    assert "60x60 (psi_n, psi_p) grid, m=4" in _column_words(out, "benchmark")
    assert "note" in _footnote(out)


def test_a_table_of_checks_keeps_every_claim_whole(capsys):
    from types import SimpleNamespace

    from lowdim.compare.cli_common import emit_verdict
    from lowdim.compare.verdict import Report, holds

    report = Report()
    claim = ("calculator r* for d = 32 ... 256, path side; KL side for d <= 128 "
             "(n = 16 ... 1024)")
    report.add(holds(claim, True, "32: [1, 2, 3, 4]; 64: [1, 2, 3, 4]; 128: [1, 2, 3, 4]; "
                     "256: [1, 2, 3, 4] | 32: [1, 2, 3, 3]; 64: [1, 2, 3, 3]",
                     "identical across d"))
    report.add(holds("a short one", False, "1", ">= 2", reason="below the reference"))
    table = report.table({"summary": report.summary()})
    args = SimpleNamespace(format="table", output=None, columns=None)
    assert emit_verdict(table, args) == 4
    out, err = capsys.readouterr()
    assert _widest(out) <= WIDTH and _header(out)[:2] == ["verdict", "check"]
    assert claim in _column_words(out, "check")
    assert "disagree: below the reference" in _column_words(out, "verdict")
    assert err.strip() == "1/2 checks agree (1 disagree)"
