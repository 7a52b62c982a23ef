"""The one verdict: the band rule, conditions, reports and their exit codes."""
import math

import pytest

from lowdim.compare.verdict import (AGREE, DISAGREE, EXIT_DISAGREE, EXIT_INCONCLUSIVE, EXIT_OK,
                                    INCONCLUSIVE, Check, Report, compare, holds, run_checks,
                                    se_multiplier)


def test_band_rule_allowance_se_band_and_seeds():
    # within the allowance: agree whatever the seeds
    assert compare("x", 1.02, 1.0, se=0.1, dof=1, n_seeds=2, rel_tol=0.03).verdict == AGREE
    # within k SE with enough seeds (k = t quantile at 7 dof, 4.53)
    c = compare("x", 1.10, 1.0, se=0.03, dof=7, n_seeds=8, rel_tol=0.03)
    assert c.verdict == AGREE and c.tolerance == pytest.approx(se_multiplier(3.0, 7) * 0.03)
    # the same band with too few seeds cannot confirm
    c = compare("x", 1.10, 1.0, se=0.03, dof=2, n_seeds=3, rel_tol=0.03)
    assert c.verdict == INCONCLUSIVE and "3 seeds" in c.reason
    # beyond the band
    c = compare("x", 1.30, 1.0, se=0.03, dof=7, n_seeds=8, rel_tol=0.03)
    assert c.verdict == DISAGREE and c.deviation == pytest.approx(0.3) and c.reason
    # a standard error known exactly (no dof, no seeds): k = z
    assert compare("x", 1.0 + 2.9e-3, 1.0, se=1e-3).verdict == AGREE
    assert compare("x", 1.0 + 3.1e-3, 1.0, se=1e-3).verdict == DISAGREE
    # a relative allowance on a stated scale (a difference judged on the errors' scale)
    assert compare("gap", 0.12, 0.1, rel_tol=0.03, scale=1.0).verdict == AGREE
    assert compare("gap", 0.12, 0.1, rel_tol=0.03).verdict == DISAGREE


def test_missing_reference_and_nan_are_never_agree():
    assert compare("x", 1.0, None, se=0.1).verdict == INCONCLUSIVE
    c = compare("x", math.nan, 1.0, se=0.1, rel_tol=0.5)
    assert c.verdict == DISAGREE and "NaN" in c.reason


def test_conditions_and_the_vocabulary():
    assert holds("b >= a", True, 2.0, ">= 1").verdict == AGREE
    c = holds("b >= a", False, 0.5, ">= 1")
    assert c.verdict == DISAGREE and c.reason == "needs >= 1"
    with pytest.raises(ValueError, match="verdict"):
        Check("x", verdict="pass")


def test_report_counts_exit_codes_and_not_counted_checks():
    ok = holds("a", True)
    bad = holds("b", False)
    unsure = compare("c", 1.1, 1.0, se=0.03, dof=2, n_seeds=3)
    assert Report([ok]).exit_code == EXIT_OK and Report([]).ok
    assert Report([ok, unsure]).exit_code == EXIT_INCONCLUSIVE
    assert Report([ok, unsure, bad]).exit_code == EXIT_DISAGREE
    shown = bad.not_counted("near a peak")
    r = Report([ok, shown])
    assert r.ok and r.exit_code == EXIT_OK and not shown.counted and "near a peak" in shown.reason
    s = Report([ok, bad, unsure]).summary(extra=1)
    assert (s["ok"], s[AGREE], s[DISAGREE], s[INCONCLUSIVE], s["counted"]) == (False, 1, 1, 1, 3)
    assert s["failed"] == ["b", "c"] and s["exit_code"] == EXIT_DISAGREE and s["extra"] == 1
    assert "1/3 checks agree" in s["text"]
    table = Report([ok, bad]).table({"kind": "demo"})
    assert [r["verdict"] for r in table.rows] == [AGREE, DISAGREE]


def test_run_checks_fills_one_report_with_progress():
    seen = []

    def first(report, x):
        report.add(holds("first", x > 0))

    def second(report, x):
        report.add(holds("second", x > 1))

    report = run_checks((first, second), 1, progress=lambda d, t: seen.append((d, t)))
    assert [c.verdict for c in report.checks] == [AGREE, DISAGREE]
    assert seen == [(1, 2), (2, 2)] and report.text.startswith("1/2 checks agree")


def test_combine_one_row_of_several_quantities():
    from lowdim.compare.verdict import combine

    assert combine([AGREE, AGREE], ["", ""]) == (AGREE, "")
    assert combine([AGREE, INCONCLUSIVE], ["", "b: 3 seeds"]) == (INCONCLUSIVE, "b: 3 seeds")
    assert combine([INCONCLUSIVE, DISAGREE], ["a: x", "b: y"]) == (DISAGREE, "a: x; b: y")
