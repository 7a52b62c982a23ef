"""The ``lowdim`` command line::

    lowdim rf curve     [setting options] [--format table|csv|json] [--plot FILE] [--output FILE]
    lowdim rf validate  [setting options] [--d 200] [--seeds 3] [--device auto] [--sim-m 64] ...
    lowdim rf sample-complexity [--data linear-manifold] [--d 1000 --intrinsic-dim 25,50]
    lowdim sampling bound [--grid edm,geometric] [--steps 18] [--d 1] [--m2] [--score-error 0] ...
    lowdim sampling validate [--grid edm,geometric,uniform] [--steps 6,18,50] [--eta 0,0.1] ...
    lowdim molrmog bound [--n-modes 4,4] [--dims 4,4] [--n 1000,10000] [--t 0.1,0.5,1] [--R 5]
    lowdim molrmog validate [--n-train 4096] [--steps 1500] [--device auto]
    lowdim molrg phase [--K 2] [--learner ideal|trained|oracle] [--d 2-8] [--N 1-15] ...
    lowdim molrg validate [--trials 40] [--device auto]
    lowdim localized radius [--d 64] [--r0 1] [--kappa 20] [--n 16,64,256,1024] [--radii 0-12]
    lowdim localized validate [--datasets 8] [--device auto]
    lowdim figures      [ID ...|--all] [--preset quick|paper] [--out figures] [--list]
                        [--executor local|serial|dask] [--workers N] [--scheduler ADDR]
                        [--cache DIR | --no-cache]
    lowdim cache        [--cache DIR] [--clear]
    lowdim doctor       [--device auto] [--cache DIR] [--no-smoke] [--format table|csv|json]
    lowdim bench        [--quick]

Numeric options share one grammar (:mod:`lowdim.compare.ranges`): a comma list of numbers,
log ranges ``start:stop:count`` (``:lin`` for linear) and inclusive integer ranges ``a-b``;
integer options round a range and drop repeats.

A table prints as text (``--format table``, the default) no wider than 100 characters: the
columns that mean something for the run come first, those empty in every row or of another data
model are left out, long words wrap or end in "…", and a last line names the columns that did
not fit.  ``--format csv`` and ``json`` carry every column; ``--columns a,b,c`` picks the
columns of any format (an unknown name is refused, the known ones listed).

Every action that computes also takes ``--max-memory SIZE`` and ``--max-work OPS``: a request
whose estimated memory or work exceeds them (defaults: half the physical memory, 1e15
operations; ``LOWDIM_MAX_MEMORY``, ``LOWDIM_MAX_WORK``) is refused before any work, naming
the option responsible (:mod:`lowdim.compare.limits`).  ``-o FILE`` is written atomically; ``-o -``
is stdout.

Exit codes: 0 success; 2 bad input (one line on stderr); 3 a theory point did not converge;
4 ``rf validate``, ``sampling validate``, ``molrmog validate``, ``molrg validate`` or
``localized validate`` found a disagreement; ``localized radius`` exits 3 when r* sits at the
largest radius asked for (the minimum may lie beyond); 5 ``rf validate`` was
inconclusive somewhere (too few seeds to confirm a deviation beyond the 3 % allowance); 1 any
other failure (``doctor``: a check failed).  ``figures`` builds every figure asked for,
misses included, reports the agreement of each, and exits 4 when the stated checks of any
figure disagree (the closing lines name them), 0 when all agree.  Interrupted: 130 (Ctrl-C)
or 143 (SIGTERM), after one line on stderr, with no temporary file and no worker process
left behind.
"""
from __future__ import annotations

import os
import sys

from .cli_common import EXIT_FAIL, EXIT_USAGE, Parser, UsageError

__all__ = ["main", "build_parser"]


def build_parser():
    """The ``lowdim`` parser: one sub-command per registered family (its actions from the
    registry, :mod:`lowdim.compare.registry`), then the engine's commands.  Returns the
    parser and ``{family: its sub-parser}`` (printed when an action is missing)."""
    from .engine_cli import add_engine_commands
    from .provenance import package_version
    from .registry import families

    p = Parser(prog="lowdim", description="Theory of diffusion models on low-dimensional data, "
                                          "checked against finite-size simulations.")
    p.add_argument("--version", action="version", version=f"lowdim-diffusion {package_version()}")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    family_parsers = {}
    for family in families():
        fp = sub.add_parser(family.name, help=family.help)
        actions = fp.add_subparsers(dest="action", parser_class=Parser)
        for action in family.actions:
            ap = actions.add_parser(action.name, help=action.help)
            action.options(ap)
            ap.set_defaults(func=action.run, _action_parser=ap)
        family_parsers[family.name] = fp
    add_engine_commands(sub)
    return p, family_parsers


def _join_negative_values(argv):
    """``--lam -1e-3`` -> ``--lam=-1e-3`` so that negative numbers reach our validators
    (argparse would take ``-1e-3`` for an option)."""
    out = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if (tok.startswith("--") and "=" not in tok and i + 1 < len(argv)
                and argv[i + 1].startswith("-") and len(argv[i + 1]) > 1):
            try:
                float(argv[i + 1].split(",")[0].split(":")[0])
                out.append(f"{tok}={argv[i + 1]}")
                i += 2
                continue
            except ValueError:
                pass
        out.append(tok)
        i += 1
    return out


def _check_plot_format(path: str) -> None:
    """``--plot FILE``: a file name whose extension is a format matplotlib writes (checked
    before any work, not after it)."""
    if path == "-":
        raise UsageError("plot: a picture cannot go to stdout; give a file name like plot.png")
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if ext not in formats:
        got = f"extension .{ext}" if ext else "no extension"
        raise UsageError(f"plot: {path!r} has {got}; use one of "
                         f"{', '.join('.' + f for f in sorted(formats))}")


def _check_destinations(args) -> None:
    """Fail before computing when ``--output`` or ``--plot`` cannot be written, or when
    ``--plot`` names a format matplotlib does not write."""
    plot = getattr(args, "plot", None)
    if isinstance(plot, str) and plot:
        _check_plot_format(plot)
    for name in ("output", "plot"):
        path = getattr(args, name, None)
        if not isinstance(path, str) or not path or path == "-":
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise UsageError(f"{name}: {path!r} is a directory; give a file name")
        if not os.path.isdir(folder):
            raise UsageError(f"{name}: folder {folder!r} does not exist")
        if not os.access(folder, os.W_OK):
            raise UsageError(f"{name}: folder {folder!r} is not writable")


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that it unwinds like Ctrl-C: temporary files
    removed, worker processes ended, one line on stderr."""


def _on_sigterm(signum, frame):
    raise Terminated()


def main(argv=None) -> int:
    import signal
    import threading

    parser, subs = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = parser.parse_args(_join_negative_values(argv))
        if getattr(args, "command", None) is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command in subs and getattr(args, "action", None) is None:
            subs[args.command].print_help()
            return EXIT_USAGE
        _check_destinations(args)
        return int(args.func(args))
    except UsageError as exc:
        print(f"lowdim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"lowdim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("lowdim: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("lowdim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback
        print(f"lowdim: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
