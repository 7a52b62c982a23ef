"""The engine's own commands: ``lowdim figures``, ``doctor``, ``cache`` and ``bench``."""
from __future__ import annotations

import os
import sys
import time

from .cli_common import (EXIT_DISAGREE, EXIT_FAIL, EXIT_OK, add_device_option, add_format_options,
                         chosen_columns, emit, positive_int, warn_line)
from .table import TEXT_WIDTH

__all__ = ["add_engine_commands"]


_CACHE_HELP = "result cache folder (default $LOWDIM_CACHE or ~/.cache/lowdim-diffusion)"


def add_engine_commands(sub) -> None:
    """Add the engine's commands to the ``lowdim`` sub-parsers ``sub``."""
    f = sub.add_parser("figures", help="regenerate the paper figures into figures/")
    f.add_argument("ids", nargs="*", help="figure ids (default: all)")
    f.add_argument("--all", action="store_true", help="every registered figure")
    f.add_argument("--list", action="store_true", help="list the figures and exit")
    f.add_argument("--preset", choices=("quick", "paper"), default="quick",
                   help="quick (CPU-sized) or paper (the papers' sizes) (default quick)")
    f.add_argument("--out", default="figures", help="output directory (default figures)")
    add_device_option(f)
    f.add_argument("--executor", choices=("local", "serial", "dask"), default="local",
                   help="where sweep tasks run: local processes (default), this process, or "
                        "a Dask cluster")
    f.add_argument("--workers", type=positive_int, default=None,
                   help="local processes, or workers of a local Dask cluster (default: one per "
                        "core; one local process on a GPU; at most one per core without "
                        "--oversubscribe)")
    f.add_argument("--oversubscribe", action="store_true",
                   help="allow more --workers than cores")
    f.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="address of a running Dask scheduler (tcp://host:8786); without it "
                        "--executor dask starts a local cluster")
    f.add_argument("--cache", default=None, metavar="DIR", help=_CACHE_HELP)
    f.add_argument("--no-cache", action="store_true", help="compute everything, keep nothing")
    f.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    f.add_argument("--replot", action="store_true",
                   help="draw the figures again from the CSV and JSON already in --out "
                        "(after a change of style); nothing is computed")
    f.set_defaults(func=_cmd_figures)

    dr = sub.add_parser("doctor", help="versions, devices, threads, dtypes, cache, smoke checks")
    add_device_option(dr, help="device to resolve and smoke-test (default auto)")
    dr.add_argument("--cache", default=None, metavar="DIR", help=_CACHE_HELP)
    dr.add_argument("--no-smoke", action="store_true", help="skip the two smoke checks")
    add_format_options(dr)
    dr.set_defaults(func=_cmd_doctor)

    c = sub.add_parser("cache", help="where the result cache is, how big, and clearing it")
    c.add_argument("--cache", default=None, metavar="DIR", help=_CACHE_HELP)
    c.add_argument("--clear", action="store_true",
                   help="remove every entry (only the cache's own files: a folder without "
                        "its CACHEDIR.TAG marker is refused)")
    c.set_defaults(func=_cmd_cache)

    b = sub.add_parser("bench", help="speed of theory and simulation, as ratios to their floors")
    b.add_argument("--quick", action="store_true", help="smaller sizes (seconds)")
    add_device_option(b)
    add_format_options(b)
    b.set_defaults(func=_cmd_bench)


def _check_workers(args) -> None:
    """``--workers`` within the core count (unless ``--oversubscribe``), before any work."""
    if args.workers is None:
        return
    cores = os.cpu_count() or 1
    if args.workers > cores and not args.oversubscribe:
        raise ValueError(f"workers: {args.workers} is more than the {cores} cores of this "
                         f"machine (each worker holds its own copy of the libraries, about "
                         f"0.5 GB); pass --oversubscribe to run that many anyway")
    from .sweep import max_workers

    if args.workers > max_workers():
        raise ValueError(f"workers: at most {max_workers()} processes on this machine "
                         f"(got {args.workers})")


def _check_scheduler(address: str) -> None:
    """A Dask scheduler address, ``tcp://host:port`` or ``host:port``, checked by form."""
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme not in ("tcp", "tls", "inproc", "ucx", "ws", "wss") \
            or not parts.hostname or (parts.scheme != "inproc" and port is None):
        raise ValueError(f"scheduler: expected an address like tcp://host:8786 "
                         f"(got {address!r})")


def _cmd_figures(args):
    from .figures import REGISTRY, build_figures

    if args.list:
        _list_figures(REGISTRY)
        return EXIT_OK
    ids = list(REGISTRY) if args.all or not args.ids else args.ids
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"figure id: unknown {', '.join(unknown)}; see `lowdim figures --list`")
    if args.scheduler and args.executor != "dask":
        raise ValueError("scheduler: only meaningful with --executor dask")
    if args.scheduler:
        _check_scheduler(args.scheduler)
    _check_workers(args)
    if args.out == "-" or os.path.isfile(args.out):
        raise ValueError(f"out: {args.out!r} is not a folder")
    if args.replot:
        from .figures import replot

        t0 = time.perf_counter()
        written = replot(ids, args.out)
        print(f"{len(written)} figures redrawn from their data in {args.out} in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        return EXIT_OK
    from .cache import ResultCache

    cache = None if args.no_cache else ResultCache(args.cache, warn=warn_line)
    t0 = time.perf_counter()

    def report(r):
        t = r["tasks"]
        how = ("figure data from the cache" if r["cached"] else
               f"{t['computed']} tasks computed, {t['cached']} from the cache")
        print(f"{r['id']:24s} {r['run_seconds']:7.1f} s  ({how})  {r['summary']}",
              file=sys.stderr, flush=True)

    results = build_figures(ids, preset=args.preset, out_dir=args.out, device=args.device,
                            quiet=args.quiet, cache=cache, executor=args.executor,
                            workers=args.workers, scheduler=args.scheduler, report=report)
    computed = sum(r["tasks"]["computed"] for r in results)
    from_cache = sum(r["cached"] for r in results)
    if cache is None:
        where = "no cache"
    elif cache.stats["write_errors"] or not cache.writable()[0]:
        where = f"cache {cache.root} not written"
    else:
        where = f"cache {cache.root}"
    corrupt = f", {cache.stats['corrupt']} corrupt entries recomputed" if cache and \
        cache.stats["corrupt"] else ""
    disagree = [r["id"] for r in results if not r["ok"]]
    print(f"{len(results)} figures in {time.perf_counter() - t0:.1f} s on {args.executor}: "
          f"{from_cache} whole from the cache, {computed} sweep tasks computed ({where}"
          f"{corrupt}); gallery {args.out}/README.md", file=sys.stderr)
    # every figure is built, misses included; the exit code says whether all checks agree
    if disagree:
        print(f"{len(disagree)} of {len(results)} figures have checks that disagree: "
              f"{', '.join(disagree)}", file=sys.stderr)
        return EXIT_DISAGREE
    print(f"every stated check of the {len(results)} figures agrees", file=sys.stderr)
    return EXIT_OK


def _list_figures(registry) -> None:
    """``figures --list``: one figure a line, id, paper and title in aligned columns, a
    long title wrapped under itself so that no line is wider than :data:`TEXT_WIDTH`."""
    import textwrap

    wid = max(map(len, registry), default=0)
    wpaper = max((len(fig.paper) for fig in registry.values()), default=0)
    for fid, fig in registry.items():
        head = f"{fid:{wid}s}  {fig.paper:{wpaper}s}  "
        lines = textwrap.wrap(fig.title, TEXT_WIDTH - len(head)) or [""]
        print(head + lines[0])
        for more in lines[1:]:
            print(" " * len(head) + more)


def _cmd_doctor(args):
    from .doctor import diagnose

    table = diagnose(device=args.device, cache_dir=args.cache, smoke=not args.no_smoke)
    emit(table, args, wrap=("value",))
    if not table.meta["ok"]:
        print(f"lowdim doctor: failed: {', '.join(table.meta['failed'])}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _cmd_cache(args):
    from .cache import MARKER, ResultCache

    cache = ResultCache(args.cache)
    if os.path.lexists(cache.root) and not os.path.isdir(cache.root):
        raise ValueError(f"cache: {cache.root!r} is not a folder")
    entries = cache.entries()
    size = sum(os.path.getsize(p) for p in entries)
    if args.clear:
        removed = cache.clear()
        print(f"{cache.root}: removed {removed} files ({size / 1e6:.1f} MB of entries)")
    else:
        note = "" if cache.is_marked() or not os.path.isdir(cache.root) else \
            f" (no {MARKER}: not a lowdim cache)"
        print(f"{cache.root}: {len(entries)} entries, {size / 1e6:.1f} MB{note}")
    return EXIT_OK


def _cmd_bench(args):
    from .bench import COLUMNS, TEXT_COLUMNS, TEXT_WRAP, run_benchmarks

    chosen_columns(args, COLUMNS)   # a bad --columns is refused before the minutes of timing
    table = run_benchmarks(quick=args.quick, device=args.device)
    emit(table, args, TEXT_COLUMNS, wrap=TEXT_WRAP)
    return EXIT_OK
