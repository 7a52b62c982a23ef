"""The sweep engine: cache keys, atomic and checked cache entries, resuming a killed run,
and the same numbers from every executor."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lowdim.compare.cache import (ResultCache, canonical, code_version, key_digest, source_closure,
                                  task_key)
from lowdim.compare.figures import build_figures
from lowdim.compare.rf import seed_task
from lowdim.compare.sweep import DaskExecutor, Runner, SerialExecutor, make_executor, map_tasks, using
from lowdim.simulate.rf import RFSize
from lowdim.theory.localized import Lattice
from lowdim.theory.rf import RFSetting

FIG = "rf-m-approach"  # 30 sweep tasks (6 points x 5 seeds), a few seconds on 2 cores


def _setting(**kw):
    base = dict(psi_n=2.0, psi_p=1.0, t=0.1, lam=1e-3, m=4)
    base.update(kw)
    return RFSetting(**base)


# --------------------------------------------------------------------------- keys
def test_keys_are_equal_exactly_when_arguments_are():
    a = task_key(seed_task, {"setting": _setting(), "size": RFSize(d=20, seeds=(0,)), "seed": 0})
    b = task_key(seed_task, {"setting": _setting(), "size": RFSize(d=20, seeds=(0,)), "seed": 0})
    assert key_digest(a) == key_digest(b)
    # the settings' moment caches are filled by use and must not change the key
    s = _setting()
    _ = s.moments
    c = task_key(seed_task, {"setting": s, "size": RFSize(d=20, seeds=(0,)), "seed": 0})
    assert key_digest(a) == key_digest(c)
    for other in ({"setting": _setting(psi_p=math.nextafter(1.0, 2.0))},  # one ulp
                  {"setting": _setting(activation="relu")},
                  {"size": RFSize(d=21, seeds=(0,))}, {"seed": 1}):
        kw = {"setting": _setting(), "size": RFSize(d=20, seeds=(0,)), "seed": 0}
        kw.update(other)
        assert key_digest(task_key(seed_task, kw)) != key_digest(a), other
    # the device kind is part of the key (CPU and CUDA random streams differ)
    assert key_digest(task_key(seed_task, {}, device_kind="cpu")) != \
        key_digest(task_key(seed_task, {}, device_kind="cuda"))


def test_canonical_forms():
    assert canonical(np.array([1.0, 2.0])) != canonical(np.array([1.0, 2.0], dtype=np.float32))
    assert canonical((1, 2)) != canonical([1, 2])
    assert canonical(float("inf")) == {"f": "inf"}
    assert canonical(Lattice((8,), periodic=True)) != canonical(Lattice((8,), periodic=False))
    with pytest.raises(TypeError, match="cannot key"):
        canonical(object())


def test_code_version_follows_the_family_only():
    closure = source_closure("lowdim.compare.localized")
    assert "lowdim.theory.localized._calculator" in closure and "lowdim.simulate.localized" in closure
    rf = ("lowdim.theory.rf", "lowdim.simulate.rf", "lowdim.compare.rf")
    assert not any(m.startswith(rf) for m in closure)
    assert "lowdim.theory.rf._system" in source_closure("lowdim.compare.rf")
    assert code_version("lowdim.compare.rf") != code_version("lowdim.compare.localized")


# --------------------------------------------------------------------------- cache
def test_cache_round_trip_and_corruption(tmp_path):
    cache = ResultCache(str(tmp_path))
    key = task_key(seed_task, {"seed": 3})
    value = {"x": np.arange(5.0), "y": 2.5}
    path = cache.put(key, value)
    hit, got = cache.get(key)
    assert hit and np.array_equal(got["x"], value["x"]) and got["y"] == 2.5
    blob = open(path, "rb").read()
    damaged = [blob[: len(blob) // 2],                                   # truncated
               blob[:-3] + bytes([blob[-3] ^ 0xFF]) + blob[-2:],         # one flipped byte
               b"",                                                      # empty
               b"not a cache entry at all"]
    for bad in damaged:
        with open(path, "wb") as fh:
            fh.write(bad)
        before = cache.stats["corrupt"]
        assert cache.get(key) == (False, None)
        assert cache.stats["corrupt"] == before + 1
        assert not os.path.exists(path)  # removed, so it is recomputed, never read
    # a sound entry stored under another key's name is not served either
    other = task_key(seed_task, {"seed": 4})
    os.makedirs(os.path.dirname(cache.path(key_digest(key))), exist_ok=True)
    os.replace(cache.put(other, 1), cache.path(key_digest(key)))
    assert cache.get(key) == (False, None)
    # leftovers of an interrupted write are never entries
    open(os.path.join(os.path.dirname(path), ".ldc-tmp-dead"), "wb").write(blob[:10])
    assert all(not os.path.basename(p).startswith(".tmp") for p in cache.entries())
    assert cache.clear() >= 1 and cache.entries() == []


def test_runner_computes_only_what_is_missing(tmp_path):
    items = [{"setting": _setting(), "size": RFSize(d=16, seeds=(s,), n_test=256,
                                                    device="cpu"), "seed": s}
             for s in range(4)]
    plain = map_tasks(seed_task, items)  # no runner: a plain loop
    cache = ResultCache(str(tmp_path))
    first = Runner(cache=cache)
    with using(first):
        got = map_tasks(seed_task, items[:2])
    assert first.counts["computed"] == 2
    second = Runner(cache=cache, executor=SerialExecutor())
    with using(second):
        got = map_tasks(seed_task, items)
    assert second.counts == {**second.counts, "tasks": 4, "cached": 2, "computed": 2}
    for a, b in zip(plain, got):
        assert a["values"] == b["values"] and a["mc_se"] == b["mc_se"]


def test_bad_executor_options():
    with pytest.raises(ValueError, match="executor"):
        make_executor("threads")
    with pytest.raises(ValueError, match="workers"):
        make_executor("local", workers=0)
    with pytest.raises(ValueError, match="module-level"):
        list(SerialExecutor().imap(lambda: 1, [{}]))


# --------------------------------------------------------------------------- resuming
def _lowdim(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "lowdim.compare.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _json(out):
    return json.loads((out / f"{FIG}.json").read_text())


def test_killed_sweep_resumes_and_matches_an_uninterrupted_run(tmp_path):
    full = tmp_path / "full"
    assert _lowdim("figures", FIG, "--out", str(full), "--cache", str(tmp_path / "c0"),
                   "--executor", "serial", "-q").wait(300) == 0
    total = _json(full)["tasks"]["tasks"]
    cache = ResultCache(str(tmp_path / "c1"))
    proc = _lowdim("figures", FIG, "--out", str(tmp_path / "killed"), "--cache", cache.root,
                   "--executor", "serial", "-q", start_new_session=True)
    t0 = time.time()
    while len(cache.entries()) < total // 3 and proc.poll() is None and time.time() - t0 < 300:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    kept = len(cache.entries())
    assert 0 < kept < total
    resumed = tmp_path / "resumed"
    assert _lowdim("figures", FIG, "--out", str(resumed), "--cache", cache.root,
                   "--executor", "serial", "-q").wait(300) == 0
    tasks = _json(resumed)["tasks"]
    assert tasks == {"tasks": total, "cached": kept, "computed": total - kept}
    assert (resumed / f"{FIG}.csv").read_bytes() == (full / f"{FIG}.csv").read_bytes()
    # a second rerun takes the whole figure from the cache
    again = tmp_path / "again"
    assert _lowdim("figures", FIG, "--out", str(again), "--cache", cache.root,
                   "-q").wait(300) == 0
    assert _json(again)["from_cache"] is True
    assert (again / f"{FIG}.csv").read_bytes() == (full / f"{FIG}.csv").read_bytes()


def test_corrupted_entries_are_recomputed(tmp_path):
    cache = ResultCache(str(tmp_path / "c"))
    ref = build_figures([FIG], out_dir=str(tmp_path / "a"), device="cpu", cache=cache)[0]
    entries = cache.entries()
    assert len(entries) == ref["tasks"]["tasks"] + 1  # every task and the figure's data
    for i, path in enumerate(entries):  # truncate half of them, flip a byte in the rest
        blob = open(path, "rb").read()
        bad = blob[: len(blob) // 2] if i % 2 else blob[:-1] + bytes([blob[-1] ^ 1])
        open(path, "wb").write(bad)
    cache2 = ResultCache(cache.root)
    res = build_figures([FIG], out_dir=str(tmp_path / "b"), device="cpu", cache=cache2)[0]
    assert not res["cached"] and res["tasks"]["computed"] == res["tasks"]["tasks"]
    assert cache2.stats["corrupt"] == len(entries)
    assert (tmp_path / "a" / f"{FIG}.csv").read_bytes() == \
        (tmp_path / "b" / f"{FIG}.csv").read_bytes()


# --------------------------------------------------------------------------- executors
def _numbers(path):
    from lowdim.compare.table import Table

    rows = Table.from_csv(path).rows
    return [(k, v) for r in rows for k, v in sorted(r.items())]


def test_local_and_dask_executors_give_the_same_numbers(tmp_path):
    """Workers of the local and Dask executors run one thread each: bitwise the same.  The
    serial executor runs in this process with every thread, and a multithreaded BLAS splits
    its sums differently, so it agrees to rounding (measured: 1e-9 relative at most)."""
    pytest.importorskip("distributed")
    outs = {}
    for kind in ("serial", "local", "dask"):
        out = tmp_path / kind
        build_figures([FIG], out_dir=str(out), device="cpu", cache=None, executor=kind,
                      workers=2)
        outs[kind] = out / f"{FIG}.csv"
        meta = _json(out)
        assert meta["executor"] == {"kind": kind, "workers": 1 if kind == "serial" else 2}
        assert meta["tasks"]["computed"] == meta["tasks"]["tasks"] > 0
    assert outs["dask"].read_bytes() == outs["local"].read_bytes()
    for (k, a), (k2, b) in zip(_numbers(outs["serial"]), _numbers(outs["local"]), strict=True):
        assert k == k2
        if isinstance(a, float) and isinstance(b, float):
            assert a == pytest.approx(b, rel=1e-8, abs=1e-300), k
        else:
            assert a == b, k


def test_dask_against_a_running_scheduler(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        ex = make_executor("dask", scheduler=cluster.scheduler_address)
        try:
            assert ex.workers == 2
            items = [{"setting": _setting(), "size": RFSize(d=16, seeds=(s,), n_test=256,
                                                            device="cpu"), "seed": s}
                     for s in range(4)]
            with using(Runner(executor=ex)):
                remote = map_tasks(seed_task, items)
        finally:
            ex.close()
    here = map_tasks(seed_task, items)
    assert [r["values"] for r in remote] == [r["values"] for r in here]


def test_derived_activations_travel_and_key_by_their_recipe():
    import pickle

    from lowdim.theory.activations import centred

    a, b = centred("relu"), centred("relu", variance=2.0)
    assert canonical(a) == canonical(centred("relu")) and canonical(a) != canonical(b)
    back = pickle.loads(pickle.dumps(_setting(activation=a)))
    x = np.linspace(-2, 2, 9)
    assert np.array_equal(back.activation.fn(x), a.fn(x))
    with pytest.raises(TypeError, match="lambda"):
        canonical(_setting(activation=lambda x: x**3))


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ValueError, match="^scheduler: cannot reach"):
        DaskExecutor(f"tcp://127.0.0.1:{port}", timeout=2)
