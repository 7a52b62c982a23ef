"""Fault tests for the engine: the cache touches only its own files and never runs code from
an entry, a cache that cannot be written costs the caching and nothing else, worker
processes die with their parent, SIGTERM unwinds like Ctrl-C, and ``lowdim figures`` says in
its exit code when a figure's checks disagree."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import lowdim.compare.cache as cache_mod
from lowdim.compare.cache import MARKER, ResultCache, key_digest, task_key
from _cli import run as _run  # tests/_cli.py
from lowdim.compare.sweep import Runner, map_tasks, using
from lowdim.compare.table import Table

FIG = "rf-m-approach"  # 30 sweep tasks, a few seconds on 2 cores


def value_task(x):
    """A sweep task whose result has every kind of value the cache stores."""
    return {"x": np.arange(3.0) * x, "label": ("a", x), "meta": {1: [None, True, float("nan")]},
            "table": Table(["x"], [{"x": float(x), "_a": np.ones(2)}], {"n": {3: "three"}})}


def _same(a, b):
    return pickle.dumps(a) == pickle.dumps(b) or repr(a) == repr(b)


# --------------------------------------------------------------------------- own files only
def _foreign_tree(root):
    """A user's project folder: files named like cache entries but not ours."""
    files = {"ml/model.pkl": b"weights", "db/index.pkl": b"index", "zz/notes.pkl": b"notes",
             "README.txt": b"mine"}
    for rel, blob in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return files


def test_clear_refuses_a_folder_that_is_not_a_cache(tmp_path, capsys):
    proj = tmp_path / "proj"
    files = _foreign_tree(proj)
    code, _, err = _run(capsys, ["cache", "--cache", str(proj), "--clear"])
    assert code == 2 and err.startswith("lowdim: error: dir: ") and "not a lowdim cache" in err
    code, out, _ = _run(capsys, ["cache", "--cache", str(proj)])
    assert code == 0 and ": 0 entries" in out and "not a lowdim cache" in out
    for rel, blob in files.items():
        assert (proj / rel).read_bytes() == blob, rel
    # and a run pointed at it does not make it a cache: it goes on without one
    msgs = []
    cache = ResultCache(str(proj), warn=msgs.append)
    with using(Runner(cache=cache)):
        assert _same(map_tasks(value_task, [{"x": 1}]), [value_task(1)])
    assert len(msgs) == 1 and "not a lowdim cache" in msgs[0]
    assert not (proj / MARKER).exists()


def test_clear_removes_only_the_caches_own_files(tmp_path, capsys):
    root = tmp_path / "cache"
    cache = ResultCache(str(root))
    paths = [cache.put(task_key(value_task, {"x": i}), value_task(i)) for i in range(3)]
    sub = os.path.dirname(paths[0])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ("ab" * 32 + ".ldc")).write_bytes(b"precious")
    foreign = {os.path.join(sub, "notes.pkl"): b"notes",               # in an entry folder
               os.path.join(sub, os.path.basename(sub) + "0" * 62 + ".ldc"): b"not an entry",
               str(root / "zz" / "notes.pkl"): b"more notes",
               str(root / "README.txt"): b"mine"}
    for path, blob in foreign.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(blob)
    os.symlink(outside / ("ab" * 32 + ".ldc"), os.path.join(sub, "cd" * 32 + ".ldc"))
    os.symlink(outside, root / "ab")                       # a linked entry folder
    leftover = os.path.join(sub, ".ldc-tmp-dead")          # an interrupted write
    with open(leftover, "wb") as fh:
        fh.write(b"lowdim-cac")
    assert sorted(cache.entries()) == sorted(paths)
    code, out, _ = _run(capsys, ["cache", "--cache", str(root)])
    assert code == 0 and ": 3 entries" in out
    code, out, _ = _run(capsys, ["cache", "--cache", str(root), "--clear"])
    assert code == 0 and "removed 4 files" in out
    for path, blob in foreign.items():
        assert open(path, "rb").read() == blob, path
    assert (outside / ("ab" * 32 + ".ldc")).read_bytes() == b"precious"
    assert not any(os.path.exists(p) for p in paths + [leftover])
    assert (root / MARKER).exists() and cache.entries() == []


def test_an_old_format_cache_is_adopted_and_never_unpickled(tmp_path):
    root = tmp_path / "old"
    sentinel = tmp_path / "ran"
    payload = pickle.dumps({"value": _Evil(str(sentinel))})
    digest = key_digest(task_key(value_task, {"x": 1}))
    path = root / digest[:2] / f"{digest}.pkl"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"lowdim-cache 1\n" + hashlib.sha256(payload).hexdigest().encode()
                     + b"\n" + payload)
    cache = ResultCache(str(root))
    with using(Runner(cache=cache)):
        assert _same(map_tasks(value_task, [{"x": 1}]), [value_task(1)])
    assert not sentinel.exists() and (root / MARKER).exists()
    assert cache.clear() == 2 and not path.exists()       # the old entry and the new one


# --------------------------------------------------------------------------- data only
class _Evil:
    """Unpickling this creates a file: the proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _entry(cache, key, payload: bytes, digest=None):
    """A current-format entry for ``key`` with a correct header and payload digest."""
    digest = digest or key_digest(key)
    header = json.dumps({"key": digest, "sha256": hashlib.sha256(payload).hexdigest(),
                         "bytes": len(payload)}).encode() + b"\n"
    path = cache.path(key_digest(key))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(cache_mod._MAGIC + header + payload)
    return path


def test_a_crafted_entry_never_runs_code(tmp_path):
    sentinel = str(tmp_path / "ran")
    cache = ResultCache(str(tmp_path / "c"))
    assert cache.writable()[0]
    key = task_key(value_task, {"x": 7})
    import io

    npz = io.BytesIO()
    np.savez(npz, a0=np.array([_Evil(sentinel)], dtype=object))   # pickled inside the npz
    crafted = [pickle.dumps({"key": key, "value": _Evil(sentinel)}),   # a bare pickle
               b'{"$array":0}\n' + npz.getvalue(),                     # an object array
               b'{"$obj":"os.system"}\n' + npz.getvalue()]             # an unknown tag
    for payload in crafted:
        _entry(cache, key, payload)
        before = cache.stats["corrupt"]
        assert cache.get(key) == (False, None)
        assert cache.stats["corrupt"] == before + 1
        assert not os.path.exists(sentinel)
    # a sound entry of another key, renamed to this key's path, is refused by its header
    other = task_key(value_task, {"x": 8})
    os.replace(cache.put(other, value_task(8)), cache.path(key_digest(key)))
    assert cache.get(key) == (False, None)


def test_values_round_trip_exactly(tmp_path):
    cache = ResultCache(str(tmp_path))
    key = task_key(value_task, {"x": 3})
    value = value_task(3)
    cache.put(key, value)
    hit, got = cache.get(key)
    assert hit and _same(got, value)
    assert got["table"].rows[0]["_a"].dtype == np.float64 and got["meta"][1][2] != got["meta"][1][2]
    with pytest.warns(cache_mod.CacheWarning, match="cannot store a value of type"):
        assert cache.put(task_key(value_task, {"x": 4}), {"f": object()}) is None


# --------------------------------------------------------------------------- odd files
def _finishes(fn, seconds=20.0):
    """``fn()`` in a thread; fails the test if it has not returned after ``seconds``."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"did not return within {seconds} s"
    return box["value"]


def test_entries_that_are_not_regular_files_are_skipped(tmp_path):
    msgs = []
    cache = ResultCache(str(tmp_path / "c"), warn=msgs.append, max_entry_bytes=10_000)
    assert cache.writable()[0]
    key = task_key(value_task, {"x": 1})
    path = cache.path(key_digest(key))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.mkfifo(path)                                                  # would block a plain open
    assert _finishes(lambda: cache.get(key)) == (False, None)
    os.remove(path)
    os.symlink("/dev/zero", path)                                    # would read forever
    assert _finishes(lambda: cache.get(key)) == (False, None)
    assert os.path.islink(path)                                      # skipped, not followed
    os.remove(path)
    os.mkdir(path)                                                   # a folder in its place
    assert cache.get(key) == (False, None)
    assert cache.put(key, value_task(1)) is None and os.path.isdir(path)
    os.rmdir(path)
    big = {"x": np.zeros(10_000)}                                    # larger than the limit
    assert cache.put(key, big) is not None
    assert cache.get(key) == (False, None) and os.path.exists(path)
    assert cache.stats["skipped"] == 4
    assert any("skipped" in m for m in msgs) and any("cannot write" in m for m in msgs)


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
@pytest.mark.parametrize("marked", [True, False])
def test_a_cache_that_cannot_be_written_degrades_to_no_cache(tmp_path, monkeypatch, code,
                                                              marked):
    """Read-only or full: the results come back, one warning says the cache was not used."""
    root = tmp_path / "c"
    if marked:
        assert ResultCache(str(root)).writable()[0]

    def fail(path, blob):
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(cache_mod, "_write_atomic", fail)
    msgs = []
    cache = ResultCache(str(root), warn=msgs.append)
    with using(Runner(cache=cache)) as runner:
        got = map_tasks(value_task, [{"x": i} for i in range(3)])
    assert _same(got, [value_task(i) for i in range(3)])
    assert runner.counts["computed"] == 3 and cache.entries() == []
    assert len(msgs) == 1 and os.strerror(code) in msgs[0]
    ok, why = cache.writable()
    assert not ok and os.strerror(code) in why


def test_doctor_tells_the_truth_about_writability(tmp_path, monkeypatch):
    from lowdim.compare.doctor import diagnose

    def writable_row(cache_dir):
        rows = diagnose(cache_dir=cache_dir, smoke=False).rows
        row = next(r for r in rows if r["section"] == "cache" and r["item"] == "writable")
        assert (row["status"] == "ok") == (row["value"] == "yes")
        return row["value"]

    assert writable_row(str(tmp_path / "good")) == "yes"
    (tmp_path / "file").write_text("x")
    assert "not a folder" in writable_row(str(tmp_path / "file"))

    def refuse(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(cache_mod.tempfile, "mkstemp", refuse)
    assert os.strerror(errno.EROFS) in writable_row(str(tmp_path / "good"))


@pytest.mark.parametrize("setup", ["env-is-a-file", "subfolders-are-files"])
def test_figures_are_written_when_the_cache_cannot_be(tmp_path, monkeypatch, capsys, setup):
    out = tmp_path / "out"
    root = tmp_path / "cache"
    if setup == "env-is-a-file":
        root.write_text("not a folder")
    else:                        # every entry subfolder taken by a file: no entry can be made
        assert ResultCache(str(root)).writable()[0]
        os.rmdir(root / "00")
        for i in range(256):
            (root / f"{i:02x}").write_text("in the way")
    monkeypatch.setenv("LOWDIM_CACHE", str(root))
    code, _, err = _run(capsys, ["figures", FIG, "--out", str(out), "--executor", "serial",
                                 "-q"])
    assert code in (0, 4), err
    assert (out / f"{FIG}.png").stat().st_size > 1000 and (out / f"{FIG}.csv").exists()
    warnings_ = [line for line in err.splitlines() if line.startswith("lowdim: warning: cache")]
    assert len(warnings_) == 1, err
    assert "Traceback" not in err
    assert "not written" in err


# --------------------------------------------------------------------------- processes
def _children(pid):
    kids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(name))
    return kids


def _alive(pids):
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(pid)
        except OSError:
            pass
    return out


def _sigint_restored():
    """Before exec in a child: Ctrl-C back to its default.  A job a shell starts in the
    background inherits SIGINT ignored, and Python then installs no KeyboardInterrupt
    handler, so the test would measure the shell instead of the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_workers(args, tmp_path, n=2):
    """A ``lowdim`` run in its own session, once ``n`` worker processes are up."""
    proc = subprocess.Popen([sys.executable, "-m", "lowdim.compare.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=str(tmp_path),
                            preexec_fn=_sigint_restored)
    t0 = time.time()
    while time.time() - t0 < 120:
        kids = _children(proc.pid)
        if len(kids) >= n or proc.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(1.0)                                  # into the tasks
    return proc, _children(proc.pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_workers_die_with_their_parent(tmp_path, sig):
    cache = tmp_path / "cache"
    args = ["figures", FIG, "--out", str(tmp_path / "out"), "--cache", str(cache),
            "--executor", "local", "--workers", "2", "--oversubscribe", "-q"]
    proc, kids = _start_workers(args, tmp_path)
    assert proc.poll() is None and len(kids) >= 2, "the run ended before it could be stopped"
    t0 = time.time()
    os.kill(proc.pid, sig)
    proc.wait(30)
    stopped = time.time() - t0
    while _alive(kids) and time.time() - t0 < 10:
        time.sleep(0.05)
    assert _alive(kids) == [], "worker processes outlived the run"
    err = proc.stderr.read().decode()
    if sig != signal.SIGKILL:
        assert proc.returncode == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig]
        assert err.strip() == {signal.SIGTERM: "lowdim: terminated",
                               signal.SIGINT: "lowdim: interrupted"}[sig], err
        assert stopped < 10
    leftovers = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs
                 if ".tmp" in f or f.startswith(".ldc-tmp")]
    assert sig == signal.SIGKILL or leftovers == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dask_workers_die_with_their_parent(tmp_path):
    pytest.importorskip("distributed")
    script = ("import time\nfrom lowdim.compare.sweep import DaskExecutor\n"
              "ex = DaskExecutor(workers=2)\nprint('up', flush=True)\ntime.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.stdout.readline().strip() == b"up"
    kids = _children(proc.pid)
    assert len(kids) >= 2
    t0 = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    while _alive(kids) and time.time() - t0 < 10:
        time.sleep(0.05)
    assert _alive(kids) == [], "Dask worker processes outlived their parent"


# --------------------------------------------------------------------------- figures' verdict
def fake_build(preset="quick", device="auto", progress=None, ok=True):
    from lowdim.compare.verdict import Report, holds

    summary = Report([holds("fake check", ok)], "fake check").summary()
    return Table(["x"], [{"x": 1.0}], {"summary": summary})


def test_a_figure_summary_must_come_from_a_report(tmp_path, monkeypatch, capsys):
    from lowdim.compare import figures

    def loose(preset="quick", device="auto", progress=None):
        return Table(["x"], [{"x": 1.0}], {"summary": {"ok": True, "text": "judged by hand"}})

    monkeypatch.setitem(figures.REGISTRY, "fake-loose", figures.FigureSpec(
        "fake-loose", "a fake figure", "this package", "none", loose, fake_plot))
    with pytest.raises(TypeError, match="must come from lowdim.compare.verdict.Report"):
        figures.build_one("fake-loose", out_dir=str(tmp_path))
    assert not (tmp_path / "fake-loose.png").exists()


def fake_build_bad(preset="quick", device="auto", progress=None):
    return fake_build(ok=False)


def fake_plot(table, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(path)
    plt.close(fig)


def test_figures_exit_code_counts_disagreeing_figures(tmp_path, monkeypatch, capsys):
    from lowdim.compare import figures

    for fid, build in (("fake-good", fake_build), ("fake-bad", fake_build_bad)):
        monkeypatch.setitem(figures.REGISTRY, fid, figures.FigureSpec(
            fid, "a fake figure", "this package", "none", build, fake_plot))
    argv = ["--out", str(tmp_path), "--no-cache", "--executor", "serial", "-q"]
    code, _, err = _run(capsys, ["figures", "fake-good", *argv])
    assert code == 0 and "every stated check of the 1 figures agrees" in err
    code, _, err = _run(capsys, ["figures", "fake-good", "fake-bad", *argv])
    assert code == 4 and "1 of 2 figures have checks that disagree: fake-bad" in err
    assert (tmp_path / "fake-bad.png").exists()                 # built all the same
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]


def test_workers_are_bounded_by_the_cores(capsys):
    cores = os.cpu_count() or 1
    code, _, err = _run(capsys, ["figures", FIG, "--workers", str(cores + 1)])
    assert code == 2 and err.startswith("lowdim: error: workers: ") and "--oversubscribe" in err
    code, _, err = _run(capsys, ["figures", FIG, "--workers", "1000", "--oversubscribe"])
    assert code == 2 and err.startswith("lowdim: error: workers: at most")
    code, _, err = _run(capsys, ["figures", FIG, "--executor", "dask", "--scheduler", "bogus://"])
    assert code == 2 and err.startswith("lowdim: error: scheduler: expected an address")


def test_ctrl_c_is_honoured_within_seconds_in_training():
    """Trained MoLRG denoisers (batched small eigh, then SGD) stop within seconds of a Ctrl-C.
    The libraries are imported first (a signal that lands inside torch's own import code
    ends the interpreter by SIGINT rather than through our handler), then the command runs
    for a few seconds and is interrupted."""
    script = ("import sys\nimport lowdim.compare.molrg, lowdim.simulate.molrg\n"
              "from lowdim.compare.cli import main\n"
              "print('ready', flush=True)\n"
              "sys.exit(main(['molrg', 'phase', '--learner', 'trained', '-q']))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_sigint_restored)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(4.0)
        assert proc.poll() is None, "finished before it could be interrupted"
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        latency = time.time() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    lines = err.strip().splitlines()               # a note on the run's size may come first
    assert proc.returncode == 130 and lines[-1] == "lowdim: interrupted", (proc.returncode, err)
    assert all(line.startswith("lowdim: ") for line in lines), err
    print(f"stopped {latency:.2f} s after the signal")
    assert latency < 5.0, f"took {latency:.1f} s to stop"
