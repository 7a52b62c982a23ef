"""What every ``lowdim`` action shares: the parser class and exit codes, the output,
run and resource options, progress bars, the output writers, the budget check, and the
readers of list options.  A family's actions (``compare/<family>_cli.py``) are built from
these, so that every action speaks the same option grammar."""
from __future__ import annotations

import argparse
import functools
import sys

import numpy as np

from .limits import MAX_INT, MAX_SEED, check_integer
from .table import TEXT_WIDTH
from .verdict import EXIT_DISAGREE, EXIT_INCONCLUSIVE, EXIT_OK

__all__ = ["UsageError", "ColumnsError", "Parser", "EXIT_OK", "EXIT_FAIL", "EXIT_USAGE",
           "EXIT_NOT_CONVERGED", "EXIT_DISAGREE", "EXIT_INCONCLUSIVE", "progress", "with_progress",
           "positive_int", "integer_option", "as_typed", "named_as_typed", "emit", "emit_verdict",
           "save_plot", "chosen_columns", "table_text", "text_columns", "CHECK_TEXT", "CHECK_WRAP",
           "add_run_options", "add_output_options", "add_limit_options", "add_device_option",
           "add_format_options", "add_validate_options", "run_validation", "validation_run",
           "option_count", "option_axis", "option_defaults", "check_budget", "announce", "choice_list",
           "int_list", "int_range", "warn_line", "CURVE_POINT_BYTES", "CURVE_POINT_WORK"]

EXIT_FAIL, EXIT_USAGE, EXIT_NOT_CONVERGED = 1, 2, 3   # and the verdict's 0, 4, 5


# -------------------------------------------------- the parser and its errors
class UsageError(Exception):
    pass


class ColumnsError(ValueError):
    """A ``--columns`` naming what the table does not have.  Its message lists column names
    as the table spells them (``psi_n``), so :func:`named_as_typed` leaves it as it is."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors and no traceback."""

    def error(self, message):
        raise UsageError(message)


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 (got {text!r})")
    return value


def integer_option(name: str, low: int, high: int = MAX_INT):
    """An argparse ``type`` for an integer option in ``[low, high]``.

    A bad value is the one line ``<name>: must be an integer between low and high (got ...)``,
    naming the option as typed, at parse time (before any work); ``1e3`` is read as 1000, and
    integers beyond what the backends take (``1e23``) are refused, not handed to torch.
    """
    def convert(text):
        try:
            return check_integer(name, text, low, high)
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    convert.__name__ = f"{name} integer"
    return convert


def as_typed(message: str, args) -> str:
    """``message`` with the options of the action spelled as typed: an error
    ``sigma_min: must be smaller than sigma_max`` (Python names, from a library) becomes
    ``sigma-min: must be smaller than sigma-max`` when ``--sigma-min`` and ``--sigma-max``
    are options of the action.  Other words are left as they are."""
    import re

    options = [k for k in vars(args) if "_" in k and not k.startswith("_")]
    if not options:
        return message
    pattern = r"(?<![\w-])(" + "|".join(map(re.escape, options)) + r")(?![\w-])"
    return re.sub(pattern, lambda m: m.group(1).replace("_", "-"), message)


def named_as_typed(func=None, **aliases):
    """Decorate an action so that its errors name options as the user typed them
    (:func:`as_typed`).  ``aliases`` maps a library's parameter name to the option that
    sets it where the two differ (``@named_as_typed(D="ambient-dim")``): an error
    ``D: ...`` (or ``d, D: ...``) from the library then names ``ambient-dim``."""
    if func is None:
        return lambda f: named_as_typed(f, **aliases)

    @functools.wraps(func)
    def run(args):
        try:
            return func(args)
        except ColumnsError:
            raise
        except ValueError as exc:
            message = as_typed(str(exc), args)
            head, colon, rest = message.partition(":")
            names = [h.strip() for h in head.split(",")]
            if colon and any(n in aliases for n in names):   # "D: ..." or "delta, T: ..."
                message = ", ".join(aliases.get(n, n) for n in names) + colon + rest
            if message == str(exc):
                raise
            raise ValueError(message) from None

    return run


def warn_line(message: str) -> None:
    """One line on stderr for a problem the run goes on despite."""
    print(f"lowdim: warning: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------ options every action shares
def add_device_option(p, help="auto (CUDA if present), cpu or cuda (default auto)"):
    """``--device``: where simulations run."""
    p.add_argument("--device", default="auto", help=help)


def add_run_options(p):
    """``--seed``, ``--device`` and ``--quiet``, shared by every command that simulates."""
    p.add_argument("--seed", type=integer_option("seed", 0, MAX_SEED), default=0,
                   help="random seed, an integer >= 0 (default 0)")
    add_device_option(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def add_format_options(p):
    """``--format`` and ``--output``: how and where a table is written."""
    p.add_argument("--format", choices=("table", "csv", "json"), default="table",
                   help="table, csv or json (default table)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write the table to FILE (atomically, with FILE.meta.json beside it "
                        "unless --format json); - for stdout (the default)")
    p.add_argument("--columns", metavar="A,B,...", default=None,
                   help="the columns to write, in this order (default: --format table shows "
                        f"the ones that fit in {TEXT_WIDTH} characters and names the others; "
                        "csv and json have them all)")


def add_output_options(p, *, plot=True):
    """``--format``, ``--output``, ``--plot`` (where the action draws one) and the resource
    options (:func:`add_limit_options`): every action that computes takes them."""
    add_format_options(p)
    if plot:
        p.add_argument("--plot", metavar="FILE",
                       help="also draw a picture to FILE (PNG, or the format its extension "
                            "names: pdf, svg, ...)")
    add_limit_options(p)


def add_limit_options(p):
    """``--max-memory`` and ``--max-work``: the budgets a request is checked against, from
    its arguments, before any work (:mod:`lowdim.compare.limits`)."""
    g = p.add_argument_group("resources (requests estimated beyond these are refused up front)")
    g.add_argument("--max-memory", metavar="SIZE", default=None,
                   help="memory budget, e.g. 4G or 512M (default: $LOWDIM_MAX_MEMORY, else "
                        "half the physical memory)")
    g.add_argument("--max-work", metavar="OPS", default=None,
                   help="work budget in floating-point operations, e.g. 1e16 (default: "
                        "$LOWDIM_MAX_WORK, else 1e15, about 5 hours on two CPU cores)")


def add_validate_options(p):
    """What every ``validate`` action takes besides its own sizes: the run options and the
    output options without a plot."""
    add_run_options(p)
    add_output_options(p, plot=False)


# ---------------------------------------------------- readers of list options
def choice_list(name, text, known, *, error=ValueError, hint="use") -> list:
    """A comma-separated list of option values, each one of ``known`` (checked up front);
    otherwise ``error`` naming ``name`` and listing ``known`` after ``hint``."""
    items = [g.strip() for g in str(text).split(",") if g.strip()]
    unknown = [g for g in items if g not in known]
    if unknown or not items:
        raise error(f"{name}: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                    f"{hint} {', '.join(known)}")
    return items


def int_list(name, text, low=None, high=MAX_INT) -> list:
    """One integer per item, in the order given (say, one per component), in the grammar of
    :mod:`lowdim.compare.ranges`; each in ``[low, high]`` (``low=None``: ``-high``)."""
    from .ranges import parse_integers

    return parse_integers(name, text, low, high, distinct=False)


def int_range(name, text, low=None, high=MAX_INT) -> list:
    """An integer grid axis in the grammar of :mod:`lowdim.compare.ranges` (``2-8``,
    ``1:1000:10``, ``1,2,4``): sorted distinct integers in ``[low, high]``."""
    from .ranges import parse_integers

    return parse_integers(name, text, low, high)


def option_count(values: dict, *names, allow_inf=("m",)) -> int:
    """Product of the numbers of values of list options (``None`` ones count 1), counted
    without expanding a range."""
    from .ranges import count_values

    total = 1
    for name in names:
        if values.get(name) is not None:
            total *= count_values(name.replace("_", "-"), values[name],
                                  allow_inf=name in allow_inf)
    return total


def option_axis(values: dict, name: str, *, inf_as=None) -> np.ndarray:
    """The magnitudes of a list option, for an estimate: infinities become ``inf_as`` and a
    NaN is left out (the setting refuses it by name later)."""
    from .ranges import parse_values

    x = parse_values(name.replace("_", "-"), values[name], allow_inf=inf_as is not None)
    if inf_as is not None:
        x = np.where(np.isinf(x), float(inf_as), x)
    x = np.abs(x[np.isfinite(x)])
    return x if x.size else np.ones(1)


# ------------------------------------------- resources: estimates and budgets
#: Bytes per point of a theory curve: prediction arrays and the table row (measured 2.7 KiB
#: for a table, 6.5 KiB for JSON).
CURVE_POINT_BYTES = 8 * 2**10
#: Operations per point of a curve (the self-consistent solve, about 40 us).
CURVE_POINT_WORK = 2e6


def option_defaults(args) -> dict:
    """Every option's default for the action of ``args`` (the action's own parser, which
    :func:`lowdim.compare.cli.build_parser` leaves in ``args._action_parser``)."""
    return vars(args._action_parser.parse_args([]))


def check_budget(args, estimate):
    """Refuse, before any work, a request whose estimated peak memory or work exceeds the
    budgets (:mod:`lowdim.compare.limits`), naming the option responsible as typed.  Returns the
    footprint, for :func:`announce`."""
    from .limits import check_footprint

    return check_footprint(estimate, vars(args), lambda: option_defaults(args),
                           max_memory=args.max_memory, max_work=args.max_work)


def announce(footprint) -> None:
    """Once every check has passed, just before the work: say on stderr (even under
    ``--quiet``) when the run will take a while."""
    from . import limits

    if footprint.flops > limits.NOTE_WORK:
        print(f"lowdim: note: {footprint.work_what} is about {footprint.flops:.2g} "
              f"floating-point operations, roughly {limits.duration(footprint.flops)} on two "
              f"CPU cores", file=sys.stderr)


# -------------------------------------------------------- running and writing
def progress(enabled: bool, total: int, desc: str):
    """A tqdm bar on stderr when enabled and stderr is a terminal, else a no-op callback:
    ``(update(done, total), close)``.  The bar is drawn once there is more than one stage
    to count or an inner step to show (:class:`lowdim.compare.progress.Bar`)."""
    update, close, _ = _stage_bar(enabled, total, desc)
    return update, close


def _stage_bar(enabled, total, desc):
    """``(update, close, listener)`` of a stage bar (see :func:`progress`); ``update`` and
    ``listener`` are ``None`` when it is inert."""
    from .progress import Bar

    bar = Bar(enabled, desc, total=total, eager=False)
    if not bar.live:
        return None, lambda: None, None
    return bar.count, bar.close, bar.step


def with_progress(enabled: bool, total: int, desc: str, run):
    """``run(update)`` under a progress bar (see :func:`progress`), closed whatever happens;
    the inner steps reported meanwhile (:mod:`lowdim.compare.progress`) show after its
    description."""
    from .progress import reporting

    update, close, listener = _stage_bar(enabled, total, desc)
    try:
        with reporting(listener):
            return run(update)
    finally:
        close()


def save_plot(path, draw):
    """``draw(tmp)`` to a temporary file beside ``path``, renamed over it when complete."""
    from .atomic import write_with

    write_with(path, draw)


def chosen_columns(args, known):
    """The columns of ``--columns`` (``None`` when not given), each one of ``known``:
    checked before any work where the columns of the table are known up front."""
    text = getattr(args, "columns", None)
    if text is None:
        return None
    return choice_list("columns", text, known, error=ColumnsError, hint="known:")


def text_columns(table, settings, results, *, hide=()) -> list:
    """The columns of ``table``'s text table, most telling first: those of ``settings``
    whose value differs between rows (they tell the rows apart), then ``results``, then the
    settings that are the same in every row.  Columns in neither list, and those in ``hide``
    (say the columns of a data model other than the one run), are left to csv and json,
    which keep one schema whatever the run."""
    def here(names):
        return [c for c in names if c in table.columns and c not in hide]

    varying = [c for c in here(settings) if len({repr(v) for v in table.column(c)}) > 1]
    same = [c for c in here(settings) if c not in varying]
    return varying + [c for c in here(results) if c not in settings] + same


def table_text(table, args, columns=None, *, wrap=()) -> str:
    """``table`` in ``--format``: all its columns in csv and json, and in the text table
    ``columns`` (default all) in order of priority, fitted into :data:`TEXT_WIDTH` with
    ``wrap`` the columns whose long cells continue on the next lines
    (:meth:`lowdim.compare.table.Table.to_text`); ``--columns`` chooses the columns of
    every format, shown in full."""
    chosen = chosen_columns(args, table.columns)
    if args.format == "csv":
        return table.select(chosen or table.columns).to_csv()
    if args.format == "json":
        return table.select(chosen or table.columns).to_json()
    if chosen is not None:
        return table.to_text(chosen, width=None)
    return table.to_text(columns, wrap=wrap)


def emit(table, args, columns=None, *, plot=None, wrap=()):
    """Write ``table`` in ``--format`` to stdout, or atomically to ``--output`` (``-`` is
    stdout) with its metadata in ``FILE.meta.json`` (json output carries it already).

    ``columns`` and ``wrap`` lay out the text table (:func:`table_text`): the columns that
    mean something for this run, most important first, the others left to csv and json.
    ``plot`` names the drawing for ``--plot FILE`` as ``"module:function"`` of this package,
    called as ``function(table, path)``; it is imported only when a picture is asked for
    (matplotlib stays unloaded otherwise)."""
    text = table_text(table, args, columns, wrap=wrap)
    text = text if text.endswith("\n") else text + "\n"
    if args.output and args.output != "-":
        import json

        from .atomic import write_text

        write_text(args.output, text)
        if args.format != "json":
            write_text(args.output + ".meta.json",
                       json.dumps(table.meta, indent=1, default=str) + "\n")
    else:
        sys.stdout.write(text)
    if plot is not None and getattr(args, "plot", None):
        import importlib

        module, _, name = plot.partition(":")
        draw = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        save_plot(args.plot, lambda path: draw(table, path))


#: How a table of checks (:meth:`lowdim.compare.verdict.Report.table`) reads in a terminal:
#: the verdict first (with its reason, :func:`_checks_text`), then the claim, the measured
#: value and the reference, their words wrapped rather than cut; the standard error and the
#: allowance where there is room for them (and something in them).
CHECK_TEXT = ["verdict", "check", "measured", "reference", "se", "allowance"]
CHECK_WRAP = ("verdict", "check", "measured", "reference")


def _checks_text(table):
    """A table of checks as its text table shows it: a verdict that needs a reason carries
    it (``disagree: deviation 0.05 > ...``), since that is what a reader looks for next."""
    from .table import Table

    rows = [dict(r, verdict=f"{r['verdict']}: {r['reason']}" if r.get("reason") else
                 r["verdict"]) for r in table.rows]
    return Table(list(table.columns), rows, table.meta)


def emit_verdict(table, args, columns=None):
    """Write a validation table, its one-line summary on stderr, and the exit code of its
    report (:class:`lowdim.compare.verdict.Report`).  The text table of a table of checks
    is laid out as :data:`CHECK_TEXT`; ``columns`` lays out any other (:func:`emit`)."""
    from .verdict import CHECK_COLUMNS

    shown = table
    if columns is None and table.columns == CHECK_COLUMNS:
        columns = CHECK_TEXT
        if args.format == "table" and getattr(args, "columns", None) is None:
            shown = _checks_text(table)
    emit(shown, args, columns, wrap=CHECK_WRAP)
    summary = table.meta["summary"]
    print(summary["text"], file=sys.stderr)
    return summary["exit_code"]


def run_validation(args, estimate, stages: int, desc: str, make_table, *, known=None,
                   text=None) -> int:
    """The run every ``validate`` action shares once its own arguments are checked:
    ``--columns`` against ``known`` (the table's columns, when known up front), the budget
    (``estimate``), the device, a note when the run is long, ``make_table(update)`` under a
    progress bar of ``stages`` steps, then the table, its summary and the exit code
    (:func:`emit_verdict`); ``text(table)`` gives the columns of its text table (default
    all)."""
    from lowdim.simulate.device import resolve_device

    if known is not None:
        chosen_columns(args, known)
    footprint = check_budget(args, estimate)
    resolve_device(args.device)
    announce(footprint)
    table = with_progress(not args.quiet, stages, desc, make_table)
    return emit_verdict(table, args, None if text is None else text(table))


def validation_run(family: str, help: str, stages: int, estimate, sizes: dict):
    """The run of ``lowdim <family> validate``: each option of ``sizes`` (``{dest: (least,
    what)}``) at least its least value, then :func:`run_validation` of
    ``lowdim.compare.<family>.validation_table`` with those options, the seed and the
    device.  ``help`` is the action's help (its docstring, read by the registry)."""
    def run(args):
        for dest, (least, what) in sizes.items():
            value = getattr(args, dest)
            if value < least:
                raise ValueError(f"{dest.replace('_', '-')}: need at least {least} {what} "
                                 f"(got {value})")
        import importlib

        from .verdict import CHECK_COLUMNS

        table = importlib.import_module(f"{__package__}.{family}").validation_table
        kwargs = {dest: getattr(args, dest) for dest in sizes}
        return run_validation(args, estimate, stages, f"{family} validate",
                              lambda update: table(**kwargs, seed=args.seed,
                                                   device=args.device, progress=update),
                              known=list(CHECK_COLUMNS))

    run.__doc__ = help
    run.__name__ = f"run_{family}_validate"
    return named_as_typed(run)
