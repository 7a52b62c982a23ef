"""Project wiring: the README's commands, CI, the benchmark, property tests of entry points."""
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lowdim.theory.rf import RFSetting, predict

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", setup, flags=re.S)


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    main_job, tests = _readme_commands()
    assert "pip install" in main_job and "lowdim" in main_job
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci


def test_bench_quick_reports_ratios():
    from lowdim.compare.bench import run_benchmarks

    table = run_benchmarks(quick=True, device="cpu")
    # every registered family with bench rows has them in the table, and nothing else does
    from lowdim.compare.registry import families

    benched = {f.name for f in families() if f.bench is not None}
    assert set(table.column("family")) == benched
    names = " ".join(r["benchmark"] for r in table.rows)
    for peer in ("scipy root loop", "plain NumPy"):   # the rf family's peer rows
        assert peer in names, peer
    for row in table.rows:
        assert row["ratio"] > 0 and math.isfinite(row["ratio"])
        assert row["floor_seconds"] > 0
        assert row["threads"]


positive = st.one_of(st.floats(min_value=-1e3, max_value=1e4),
                     st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e-300]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(psi_n=positive, psi_p=positive, t=positive, lam=positive,
       m=st.one_of(st.integers(min_value=-3, max_value=10_000), st.just(math.inf),
                   st.floats(allow_nan=True, allow_infinity=True)),
       activation=st.sampled_from(["tanh", "relu", "erf", "linear", "softsign?"]))
def test_predict_gives_finite_converged_values_or_a_named_value_error(psi_n, psi_p, t, lam, m,
                                                                      activation):
    try:
        s = RFSetting(psi_n=psi_n, psi_p=psi_p, t=t, lam=lam, m=m, activation=activation)
    except ValueError as exc:
        assert str(exc).split(":")[0].split(" ")[0] in (
            "psi_n", "psi_p", "t", "lam", "m", "activation"), str(exc)
        return
    p = predict(s)
    if p.success:
        for q in ("test_error", "train_error", "train_error_reg", "score_error"):
            assert np.all(np.isfinite(getattr(p, q)))
    else:  # a failure is flagged and carries no number
        assert np.all(np.isnan(p.test_error[~p.converged]))
        assert "did not converge" in p.message


def test_readme_python_example_runs():
    text = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.+?)\n```", text, flags=re.S)[0]
    code = code.replace("seeds=range(8)", "seeds=range(2)")  # same code, fewer seeds
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["pred"].success
    assert namespace["meas"].mean["test_error"] > 0


def _shown_commands():
    """``(page, command)`` for every ``lowdim ...`` line of the README and of the
    documentation pages (the README keeps a short tour; the families' commands live in
    docs/)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [(page.relative_to(ROOT), line.split("#")[0].strip())
            for page in pages for line in page.read_text().splitlines()
            if line.strip().startswith("lowdim ")]


def test_every_command_the_readme_and_the_docs_show_parses():
    """Each ``lowdim ...`` line of the README and the docs names actions and options that
    exist (the options were renamed once; the documentation must follow)."""
    import shlex

    from lowdim.compare.cli import _join_negative_values, build_parser
    from lowdim.compare.cli_common import UsageError

    parser, _ = build_parser()
    shown = _shown_commands()
    assert len([c for page, c in shown if page.name == "README.md"]) >= 5
    assert len(shown) > 20
    for page, cmd in shown:
        try:
            parser.parse_args(_join_negative_values(shlex.split(cmd)[1:]))
        except UsageError as exc:
            pytest.fail(f"{page}: {cmd!r}: {exc}")
