"""The figure gallery: every registered family's figures (each a
:class:`~lowdim.compare.registry.FigureSpec` beside its builder and plotter: one id, its
paper, the claim it shows, separate data and plotting steps).  ``build_figures`` writes
``ID.png``, ``ID.csv`` and ``ID.json`` per figure and regenerates the gallery ``README.md``
of the output directory."""
from __future__ import annotations

import json
import os
import time

from .atomic import write_with
from .cache import ResultCache, task_key
from .progress import Bar, reporting
from .provenance import provenance
from .registry import FigureSpec, families
from .sweep import Runner, SerialExecutor, device_kind, make_executor, using

__all__ = ["FigureSpec", "REGISTRY", "PRESETS", "build_one", "build_figures", "replot",
           "read_figure_table", "write_gallery"]

PRESETS = ("quick", "paper")

#: Every registered family's figures (``FIGURES`` of its figure modules), by id, in the
#: registry's order.
REGISTRY: dict[str, FigureSpec] = {spec.id: spec for family in families()
                                   for spec in family.figure_specs()}


class _Bar(Bar):
    """The bar of one figure (when enabled and stderr is a terminal): its sweep tasks, as
    the runner counts them (postfix ``cached=``), and the inner steps reported under it
    after the figure id (``ylj26-digits: model 2/3 · training step 300/1500``)."""

    def __init__(self, enabled, desc):
        super().__init__(enabled, desc, unit="task")

    def tasks(self, done, total, cached):
        """``Runner.progress``."""
        self.count(done, total, cached=cached)


def _atomic_write(path, writer, suffix=None):
    write_with(path, writer, suffix=suffix)


def _draw(spec, table, png):
    """The figure as ``png`` and, beside it, the same figure as a vector PDF (each written
    atomically)."""
    from .plots import also_save

    with also_save(png[:-len(".png")] + ".pdf"):
        _atomic_write(png, lambda p: spec.plot(table, p), suffix=".png")


#: Columns of a figure's tidy table that hold text even when a value reads as a number.
_TEXT_COLUMNS = ("kind", "panel", "series", "note")


def read_figure_table(fid: str, out_dir="figures"):
    """A built figure's table, read back from ``ID.csv`` with the metadata of ``ID.json``
    in ``out_dir``: what :func:`replot` draws from."""
    from .table import Table

    paths = [os.path.join(out_dir, f"{fid}.{ext}") for ext in ("csv", "json")]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise ValueError(f"figure id: {fid} has no data in {out_dir} ({', '.join(missing)} "
                         "missing); build it first with `lowdim figures " + fid + "`")
    table = Table.from_csv(paths[0])
    for row in table.rows:
        for col in _TEXT_COLUMNS:
            if row.get(col) is not None and not isinstance(row[col], str):
                row[col] = str(row[col])
    with open(paths[1]) as fh:
        table.meta = json.load(fh)
    return table


def replot(ids, out_dir="figures") -> list:
    """Draw the figures ``ids`` again from the data already in ``out_dir`` (PNG and PDF) and
    regenerate the gallery index from their metadata; nothing is computed and the CSV and
    JSON are left as they are.  Returns the paths of the PNGs written."""
    ids = list(ids)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"figure id: unknown {', '.join(unknown)}; see `lowdim figures --list`")
    tables = {fid: read_figure_table(fid, out_dir) for fid in ids}   # all present, first
    written = []
    for fid, table in tables.items():
        png = os.path.join(out_dir, f"{fid}.png")
        _draw(REGISTRY[fid], table, png)
        written.append(png)
    write_gallery(out_dir)
    return written


def build_one(fid: str, *, preset="quick", out_dir="figures", device="auto", quiet=True,
              cache: ResultCache | None = None, executor=None) -> dict:
    """Build one figure: its data (from ``cache`` where present; missing sweep tasks on
    ``executor``), then the plot, the CSV and the JSON metadata, each written atomically.

    Returns ``{"id", "seconds", "run_seconds", "cached", "tasks", "summary", "ok"}``:
    ``seconds`` is the compute time of the data (of the run that computed it, when it came
    from the cache), ``run_seconds`` this call's wall time, ``tasks`` the sweep counts
    (``tasks``, ``cached``, ``computed``).

    Unless ``quiet`` (or stderr is not a terminal), a bar counts the sweep tasks and shows
    the steps the builder reports inside them (:mod:`lowdim.compare.progress`); the
    builder's own ``progress`` argument stays ``None``, so that its loops report there."""
    if fid not in REGISTRY:
        raise ValueError(f"figure id: unknown {fid!r}; see `lowdim figures --list`")
    if preset not in PRESETS:
        raise ValueError(f"preset: must be one of {', '.join(PRESETS)} (got {preset!r})")
    spec = REGISTRY[fid]
    os.makedirs(out_dir, exist_ok=True)
    t_run = time.perf_counter()
    context = {"device_kind": (executor or SerialExecutor()).device_kind(device)}
    started = provenance()  # the code revision that runs, recorded before the long work
    bar = _Bar(not quiet, fid)
    runner = Runner(cache=cache, executor=executor, context=context, progress=bar.tasks)
    key = task_key(spec.build, {"preset": preset, "device": device}, **context)
    hit, stored = cache.get(key) if cache is not None else (False, None)
    try:
        if hit:
            table, seconds = stored["table"], stored["seconds"]
        else:
            t0 = time.perf_counter()
            with using(runner), reporting(bar.step if bar.live else None):
                table = spec.build(preset=preset, device=device, progress=None)
            seconds = time.perf_counter() - t0
            if cache is not None:
                cache.put(key, {"table": table, "seconds": seconds})
    finally:
        bar.close()
    summary = table.meta.get("summary", {})
    if "counted" not in summary:   # every figure is judged through one Report
        raise TypeError(f"figure {fid}: its summary must come from "
                        "lowdim.compare.verdict.Report.summary()")
    png = os.path.join(out_dir, f"{fid}.png")
    csv_path = os.path.join(out_dir, f"{fid}.csv")
    json_path = os.path.join(out_dir, f"{fid}.json")
    _draw(spec, table, png)
    _atomic_write(csv_path, lambda p: table.to_csv(p, digits=10))
    tasks = {k: runner.counts[k] for k in ("tasks", "cached", "computed")}
    ex = executor or SerialExecutor()
    meta = dict(started, figure=fid, title=spec.title, paper=spec.paper, claim=spec.claim,
                preset=preset, device=device, device_kind=context["device_kind"],
                seconds=seconds, run_seconds=time.perf_counter() - t_run,
                from_cache=bool(hit), tasks=tasks,
                executor={"kind": ex.name, "workers": ex.workers},
                command=f"lowdim figures {fid} --preset {preset}"
                + ("" if os.path.normpath(out_dir) == "figures" else f" --out {out_dir}"),
                **{k: v for k, v in table.meta.items()})

    def write_json(p):
        with open(p, "w") as fh:
            json.dump(meta, fh, indent=1, default=str)
            fh.write("\n")

    _atomic_write(json_path, write_json)
    return {"id": fid, "seconds": seconds, "run_seconds": meta["run_seconds"],
            "cached": bool(hit), "tasks": tasks, "summary": summary.get("text", ""),
            "ok": bool(summary["ok"])}


def build_figures(ids, *, preset="quick", out_dir="figures", device="auto", quiet=True,
                  cache: ResultCache | str | None = None, executor="serial",
                  workers: int | None = None, scheduler: str | None = None,
                  report=None) -> list:
    """Build the figures ``ids`` (see :func:`build_one`) and regenerate the gallery.

    ``cache``: a :class:`ResultCache`, a directory, or ``None`` for no cache.  ``executor``:
    ``serial``, ``local`` (``workers`` processes; by default one per core, or one when the
    device is a GPU) or ``dask`` (the cluster at ``scheduler``, or a local one of ``workers``
    processes), or an executor object (left open).
    ``report(result)`` is called as each figure is done."""
    ids = list(ids)
    unknown = [i for i in ids if i not in REGISTRY]
    if unknown:
        raise ValueError(f"figure id: unknown {', '.join(unknown)}; see `lowdim figures --list`")
    if isinstance(cache, str):
        cache = ResultCache(cache)
    own = isinstance(executor, str)
    if own and executor == "local" and workers is None and device_kind(device) == "cuda":
        workers = 1  # one GPU runs its tasks one at a time; more processes only add contexts
    ex = make_executor(executor, workers=workers, scheduler=scheduler) if own else executor
    finished = False
    try:
        results = []
        for fid in ids:
            results.append(build_one(fid, preset=preset, out_dir=out_dir, device=device,
                                     quiet=quiet, cache=cache, executor=ex))
            if report is not None:
                report(results[-1])
        finished = True
    finally:
        if own:                     # interrupted: end the workers' running tasks at once
            ex.close(abort=not finished)
    write_gallery(out_dir)
    return results


def _where(meta) -> str:
    ex = meta.get("executor") or {}
    kind = meta.get("device_kind") or meta.get("device", "?")
    return f"{kind}, {ex.get('kind', 'serial')} x{ex.get('workers', 1)}" if ex else kind


def write_gallery(out_dir="figures"):
    """Regenerate ``out_dir/README.md`` from the JSON metadata present there: an agreement
    table (one row per figure: paper, verdict, compute time) and a section per figure."""
    metas = {}
    for fid in REGISTRY:
        path = os.path.join(out_dir, f"{fid}.json")
        if os.path.exists(path):
            with open(path) as fh:
                metas[fid] = json.load(fh)
    lines = ["# Figure gallery", "",
             "Generated by `lowdim figures`; each figure has a vector copy (`.pdf`), its data "
             "(`.csv`) and metadata (`.json`: setting, sizes, seeds, device, timing, version) "
             "beside it.", ""]
    if os.path.isdir(os.path.join(out_dir, "paper")):
        lines += ["Runs at the papers' sizes (`--preset paper --out figures/paper`) are in "
                  "[paper/](paper/README.md).", ""]
    if metas:
        lines += ["| figure | paper | every check agrees | measured agreement | compute s |",
                  "|---|---|---|---|---|"]
        for fid, meta in metas.items():
            summary = meta.get("summary", {})
            ok = "yes" if summary.get("ok", True) else "**no**"
            text = str(summary.get("text", "n/a")).replace("|", "\\|")
            lines.append(f"| [{fid}](#{fid}) | {REGISTRY[fid].paper} | {ok} | {text} | "
                         f"{meta.get('seconds', 0):.0f} |")
        lines.append("")
    for fid, meta in metas.items():
        spec = REGISTRY[fid]
        summary = meta.get("summary", {})
        lines += [f"<a id=\"{fid}\"></a>", "", f"## {fid}: {spec.title}", "",
                  f"Paper: {spec.paper}. Claim: {spec.claim}", "",
                  f"![{fid}]({fid}.png)", "",
                  f"Command: `{meta.get('command')}` ({meta.get('preset')} preset, "
                  f"{meta.get('seconds', 0):.0f} s on {_where(meta)}, revision "
                  f"{meta.get('git_revision')}).", "",
                  f"Agreement: {summary.get('text', 'n/a')}", ""]
    def write(p):
        with open(p, "w") as fh:
            fh.write("\n".join(lines))

    _atomic_write(os.path.join(out_dir, "README.md"), write)
