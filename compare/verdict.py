"""One verdict for every comparison: a :class:`Check` per claim, a :class:`Report` per run.

Every validate action and every figure summary judges its claims here, in one vocabulary:

- ``agree``: the measured value lies within the band around its reference, or the stated
  condition holds;
- ``disagree``: it does not;
- ``inconclusive``: the data cannot decide (too few seeds for the standard-error band to
  mean anything, or a reference that did not converge).

The band rule (:func:`compare`) is the project's tolerance policy: with deviation
``|measured - reference|``,

    agree         when deviation <= allowance,
    agree         when deviation <= k SE and there are at least ``min_seeds`` seeds,
    inconclusive  when deviation <= k SE with fewer seeds,
    disagree      otherwise,

where the allowance is the stated finite-size allowance ``max(rel_tol |reference|,
abs_tol)``, ``SE`` the simulation's standard error, and ``k`` the Student-t quantile at
the two-sided confidence of ``z`` normal standard errors with the SE's degrees of freedom
(``k = z`` for a standard error known exactly).  A condition that is not a band (an
inequality, a count, an ordering) is judged by :func:`holds`.

A check may be shown but not counted (``counted=False``, with its reason): rf points
next to an interpolation peak, where finite-size corrections are largest, are drawn and
judged but do not enter a figure's verdict.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from lowdim.theory.tidy import Tidy, records_data

__all__ = ["AGREE", "DISAGREE", "INCONCLUSIVE", "VERDICTS", "CHECK_COLUMNS", "Check",
           "Report", "compare", "combine", "holds", "run_checks", "se_multiplier", "EXIT_OK",
           "EXIT_DISAGREE", "EXIT_INCONCLUSIVE"]

AGREE, DISAGREE, INCONCLUSIVE = "agree", "disagree", "inconclusive"
VERDICTS = (AGREE, DISAGREE, INCONCLUSIVE)

#: exit codes of a run judged by a :class:`Report` (the CLI's other codes are in cli_common)
EXIT_OK, EXIT_DISAGREE, EXIT_INCONCLUSIVE = 0, 4, 5

#: the columns of a table of checks (:meth:`Report.table`)
CHECK_COLUMNS = ["check", "measured", "reference", "se", "allowance", "verdict", "reason"]
#: the columns of :meth:`Report.to_pandas`: all of a check
_TIDY_COLUMNS = ["check", "measured", "reference", "se", "allowance", "tolerance", "deviation",
                 "verdict", "reason", "counted"]


def se_multiplier(z: float, dof: float) -> float:
    """The Student-t quantile at the two-sided confidence of ``z`` normal standard errors."""
    if dof is None or not math.isfinite(dof) or dof > 1e6:
        return float(z)
    conf = math.erf(z / math.sqrt(2.0))
    from scipy.stats import t as student_t

    return float(student_t.ppf(0.5 + conf / 2.0, max(dof, 1.0)))


@dataclass(frozen=True)
class Check(Tidy):
    """One claim, judged once; ``to_pandas()`` and ``to_xarray()`` give it as the one row
    of a :class:`Report`'s.

    Attributes
    ----------
    name : str
        What is checked, in words.
    measured, reference : float or str or None
        The measured value and what it is compared with (a number, or the condition it must
        meet in words, say ``"<= 3.5"``).
    se : float or None
        Standard error of ``measured`` (``None`` for an exact or non-random value).
    allowance : float or None
        The finite-size allowance: deviations up to it agree whatever the SE.
    tolerance : float or None
        The band the deviation was judged against: ``max(k SE, allowance)``.
    verdict : str
        ``agree``, ``disagree`` or ``inconclusive``.
    reason : str
        Why the verdict is what it is when that is not plain (empty for a plain agree).
    counted : bool
        Whether the check enters its report's verdict (shown either way).
    """

    name: str
    measured: object = None
    reference: object = None
    se: float | None = None
    allowance: float | None = None
    tolerance: float | None = None
    verdict: str = AGREE
    reason: str = ""
    counted: bool = True

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict: must be one of {', '.join(VERDICTS)} (got {self.verdict!r})")

    @property
    def ok(self) -> bool:
        return self.verdict == AGREE

    @property
    def deviation(self) -> float | None:
        """``measured - reference`` when both are numbers."""
        if _is_number(self.measured) and _is_number(self.reference):
            return float(self.measured) - float(self.reference)
        return None

    def not_counted(self, reason: str) -> Check:
        """The same check, shown but kept out of its report's verdict for ``reason``."""
        why = reason if not self.reason else f"{reason}; {self.reason}"
        return replace(self, counted=False, reason=why)

    def _tidy(self):
        return Report([self])._tidy()

    def row(self) -> dict:
        """The check as a table row (:data:`CHECK_COLUMNS`)."""
        return {"check": self.name, "measured": self.measured, "reference": self.reference,
                "se": self.se, "allowance": self.allowance, "verdict": self.verdict,
                "reason": self.reason}


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) or (
        hasattr(x, "dtype") and getattr(x, "ndim", 1) == 0)


def compare(name: str, measured: float, reference: float | None, *, se: float | None = None,
            dof: float | None = None, n_seeds: int | None = None, z: float = 3.0,
            rel_tol: float = 0.0, abs_tol: float = 0.0, scale: float | None = None,
            min_seeds: int = 5) -> Check:
    """A measured value against its reference by the band rule (module docstring).

    ``rel_tol`` is relative to ``|scale|`` (``|reference|`` by default: a difference of two
    errors is judged on the scale of the errors); ``dof`` the degrees of freedom of ``se``
    (``None``: known exactly); ``n_seeds`` the number of independent seeds behind it
    (``None``: not a seed mean, the SE band always counts).  A ``reference`` of ``None``
    (a theory that did not converge) gives ``inconclusive``.
    """
    if reference is None:
        return Check(name, measured, None, se=se, verdict=INCONCLUSIVE,
                     reason="reference not available (theory not converged)")
    measured, reference = float(measured), float(reference)
    allowance = max(rel_tol * abs(reference if scale is None else scale), abs_tol)
    band = se_multiplier(z, dof) * se if se is not None and math.isfinite(se) else 0.0
    tol = max(band, allowance)
    dev = abs(measured - reference)
    common = dict(se=se, allowance=allowance, tolerance=tol)
    if dev <= allowance:
        return Check(name, measured, reference, **common)
    if dev <= band:
        if n_seeds is None or n_seeds >= min_seeds:
            return Check(name, measured, reference, **common)
        return Check(name, measured, reference, verdict=INCONCLUSIVE,
                     reason=f"{n_seeds} seeds: within {z:g} SE, but fewer than {min_seeds} "
                            "seeds cannot confirm it", **common)
    if measured != measured:
        return Check(name, measured, reference, verdict=DISAGREE, reason="measured NaN",
                     **common)
    return Check(name, measured, reference, verdict=DISAGREE,
                 reason=f"off by {dev:.3g} > {tol:.3g}", **common)


def combine(verdicts, reasons) -> tuple:
    """One verdict for a row judged on several quantities: ``disagree`` when any is,
    ``agree`` when all are, else ``inconclusive``; the reason lists the others' reasons."""
    verdicts = list(verdicts)
    verdict = (DISAGREE if DISAGREE in verdicts else
               AGREE if all(v == AGREE for v in verdicts) else INCONCLUSIVE)
    return verdict, "; ".join(r for v, r in zip(verdicts, reasons) if v != AGREE)


def holds(name: str, ok: bool, measured=None, reference=None, reason: str = "") -> Check:
    """A condition that holds or not (an inequality, a count, an ordering): ``agree`` when
    ``ok``; ``reference`` states the condition in words, ``reason`` why it failed."""
    ok = bool(ok)
    if not ok and not reason:
        reason = "condition not met" if reference is None else f"needs {reference}"
    return Check(name, measured, reference, verdict=AGREE if ok else DISAGREE,
                 reason="" if ok else reason)


@dataclass
class Report(Tidy):
    """The checks of one run (a validate action or a figure) and what they add up to.

    ``ok`` is True when every counted check agrees; ``exit_code`` is ``EXIT_DISAGREE`` when
    a counted check disagrees, else ``EXIT_INCONCLUSIVE`` when one is inconclusive, else
    ``EXIT_OK``.  ``text`` is the run's one-line summary (a count of the checks when not
    given).  ``to_pandas()`` gives one row per check (``check``, ``measured``,
    ``reference``, ``se``, ``allowance``, ``tolerance``, ``deviation``, ``verdict``,
    ``reason``, ``counted``) with :meth:`summary` in ``df.attrs``; ``to_xarray()`` the same
    over the ``row`` dimension.
    """

    checks: list = field(default_factory=list)
    text: str = ""

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    @property
    def counted(self) -> list:
        return [c for c in self.checks if c.counted]

    def count(self, verdict: str) -> int:
        """How many counted checks have ``verdict``."""
        return sum(c.verdict == verdict for c in self.counted)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.counted)

    @property
    def exit_code(self) -> int:
        if self.count(DISAGREE):
            return EXIT_DISAGREE
        return EXIT_INCONCLUSIVE if self.count(INCONCLUSIVE) else EXIT_OK

    def counts_text(self) -> str:
        """``"7/8 checks agree (1 disagree)"``: the counted checks by verdict."""
        n = len(self.counted)
        text = f"{self.count(AGREE)}/{n} checks agree"
        others = [f"{self.count(v)} {v}" for v in (DISAGREE, INCONCLUSIVE) if self.count(v)]
        shown = len(self.checks) - n
        if shown:
            others.append(f"{shown} shown, not counted")
        return text + (f" ({', '.join(others)})" if others else "")

    def summary(self, **extra) -> dict:
        """The summary a figure or validate table carries in its ``meta``: ``ok``, ``text``,
        the counts by verdict, ``exit_code``, the failed checks by name, and ``extra``."""
        failed = [c.name for c in self.counted if not c.ok]
        out = {"ok": self.ok, "text": self.text or self.counts_text(),
               AGREE: self.count(AGREE), DISAGREE: self.count(DISAGREE),
               INCONCLUSIVE: self.count(INCONCLUSIVE), "counted": len(self.counted),
               "exit_code": self.exit_code}
        if failed:
            out["failed"] = failed
        out.update(extra)
        return out

    def rows(self) -> list:
        return [c.row() for c in self.checks]

    def _tidy(self):
        rows = [{**c.row(), "tolerance": c.tolerance, "deviation": c.deviation,
                 "counted": c.counted} for c in self.checks]
        return records_data(_TIDY_COLUMNS, rows, self.summary())

    def table(self, meta: dict):
        """The checks as a :class:`lowdim.compare.table.Table` (:data:`CHECK_COLUMNS`)."""
        from .table import Table

        return Table(list(CHECK_COLUMNS), self.rows(), meta)


def run_checks(steps, *args, progress=None) -> Report:
    """One report filled by ``step(report, *args)`` for each of ``steps`` in turn, with
    ``progress(done, total)`` after each; its text counts the checks and the seconds."""
    t0 = time.perf_counter()
    report = Report()
    for done, step in enumerate(steps, 1):
        step(report, *args)
        if progress:
            progress(done, len(steps))
    report.text = f"{report.counts_text()} ({time.perf_counter() - t0:.0f} s)"
    return report
