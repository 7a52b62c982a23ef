"""Sweeps: many independent simulation tasks, cached and run on an executor.

A sweep is a list of calls ``fn(**kwargs)`` of one module-level function whose result
depends only on its arguments (every random draw is seeded from them).  :func:`map_tasks`
runs them through the *current runner*: by default the calls simply run here, one after
the other, with no cache, so library code that uses it behaves like a plain loop.  Inside
``with using(Runner(...)):`` (what ``lowdim figures`` does) each call is first looked up in
a :class:`~lowdim.compare.cache.ResultCache`, and only the missing ones are computed on the
runner's executor, each result stored the moment it arrives.  A run killed at any point
therefore keeps every finished task, and a rerun computes only what is missing; since a
task's result does not depend on where or when it ran, the outputs equal those of an
uninterrupted run.

Executors:

* ``serial``: in this process.
* ``local``: a pool of ``workers`` local processes (spawned, each limited to an equal share
  of the CPU threads).
* ``dask``: a Dask distributed cluster, given by its scheduler address, or a local cluster
  of ``workers`` processes when no address is given.  Workers need this package installed;
  each task imports its function there.

Tasks submitted from inside a task (a worker) run serially there: the runner is a property
of the driving process.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
import pickle
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from .cache import ResultCache, task_key

__all__ = ["Runner", "SerialExecutor", "LocalExecutor", "DaskExecutor", "make_executor",
           "map_tasks", "using", "current_runner", "EXECUTORS"]

EXECUTORS = ("serial", "local", "dask")


def _call(module: str, name: str, kwargs: dict):
    fn = getattr(importlib.import_module(module), name)
    return fn(**kwargs)


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _limit_threads(n: int):
    """Give a worker process ``n`` BLAS/OpenMP and torch threads.

    The environment variables reach libraries loaded later; the libraries the simulations
    use (NumPy's and SciPy's OpenBLAS, torch) are loaded here first so that threadpoolctl
    limits them too.  Unlimited workers would run ``workers x cores`` threads, and an
    oversubscribed OpenBLAS slows down several times."""
    for var in _THREAD_VARIABLES:
        os.environ[var] = str(n)
    import scipy.linalg  # noqa: F401 - load SciPy's BLAS before limiting it

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        pass
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:  # pragma: no cover
        pass


def _die_with_parent(parent_pid: int, pdeathsig: bool) -> None:
    """End this worker process when the process ``parent_pid`` that drives it ends, however
    it ends (``kill -9`` included), so that no worker outlives a run.

    On Linux, when the pool was started from the parent's main thread, the kernel sends
    SIGKILL at the parent's death (``PR_SET_PDEATHSIG``).  Everywhere, a daemon thread also
    checks once a second that the parent is still there and exits otherwise."""
    if pdeathsig and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)        # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - not glibc: the thread remains
            pass

    direct = os.getppid() == parent_pid            # else started through a fork server

    def gone() -> bool:
        if direct and os.getppid() != parent_pid:      # re-parented: the parent has ended
            return True
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # pragma: no cover - alive, under another user
            pass
        return False

    if gone():                                           # it died before we got here
        os._exit(1)

    def watch():
        while True:
            time.sleep(1.0)
            if gone():
                os._exit(1)

    threading.Thread(target=watch, name="lowdim-parent-watch", daemon=True).start()


def _init_worker(threads: int, parent_pid: int, pdeathsig: bool) -> None:
    """Initializer of every worker process: die with the parent, limit the threads, and leave
    SIGINT to the parent (which ends the workers itself), so that a Ctrl-C in a terminal does
    not print a traceback from each of them."""
    _die_with_parent(parent_pid, pdeathsig)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads(threads)


def device_kind(device) -> str:
    """``cpu`` or ``cuda``: where ``device`` (``auto`` included) resolves in this process."""
    from lowdim.simulate.device import resolve_device

    return resolve_device(device).type


def _check_picklable(kwargs, executor):
    """Fail here, with a clear message, on arguments another process cannot receive (a
    failure inside the pool's feeder thread would leave the pool unusable)."""
    try:
        pickle.dumps(kwargs)
    except Exception as exc:  # noqa: BLE001 - any pickling failure
        raise ValueError(f"executor: the {executor} executor cannot send a task's arguments "
                         f"to another process ({exc}); use module-level functions (not "
                         f"lambdas or closures) or --executor serial") from exc


def max_workers() -> int:
    """The most worker processes an executor starts here: 4 per core (and 64 more)."""
    return 4 * (os.cpu_count() or 1) + 64


def _check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: must be an integer >= 1 (got {workers!r})")
    if workers > max_workers():
        raise ValueError(f"workers: at most {max_workers()} processes on this machine "
                         f"(got {workers})")
    return workers


def _ref(fn):
    module, name = fn.__module__, fn.__qualname__
    if "." in name or "<" in name:
        raise ValueError(f"fn: sweep tasks must be module-level functions (got {module}.{name})")
    return module, name


class SerialExecutor:
    """Run the tasks here, in order."""

    name = "serial"
    workers = 1

    def device_kind(self, device) -> str:
        """Where tasks asking for ``device`` run (part of every cache key)."""
        return device_kind(device)

    def imap(self, fn, items):
        module, name = _ref(fn)
        for i, kw in enumerate(items):
            yield i, _call(module, name, kw)

    def close(self, abort: bool = False):
        """Release the executor; ``abort``: end running tasks now instead of waiting."""


class LocalExecutor(SerialExecutor):
    """A pool of ``workers`` spawned local processes, created on first use."""

    name = "local"

    def __init__(self, workers: int | None = None):
        cores = os.cpu_count() or 1
        workers = _check_workers(cores if workers is None else workers)
        self.workers = workers
        self._threads = max(1, cores // workers)
        self._pool = None

    def imap(self, fn, items):
        module, name = _ref(fn)
        if self.workers == 1:  # no process to spawn for one worker
            yield from super().imap(fn, items)
            return
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        if self._pool is None:
            main = threading.current_thread() is threading.main_thread()
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_init_worker,
                                             initargs=(self._threads, os.getpid(), main))
        for kw in items:
            _check_picklable(kw, self.name)
        futures = {self._pool.submit(_call, module, name, kw): i for i, kw in enumerate(items)}
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield futures[f], f.result()
        finally:
            for f in futures:
                f.cancel()

    def close(self, abort: bool = False):
        """Shut the pool down; ``abort`` (an interrupted run): cancel what is queued and end
        the worker processes at once rather than wait for their running tasks."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        if not abort:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        for proc in processes:
            proc.join(timeout=5)
            if proc.is_alive():  # pragma: no cover - ignored SIGTERM
                proc.kill()
                proc.join(timeout=5)


class DaskExecutor:
    """Tasks on a Dask distributed cluster.

    ``scheduler``: the address of a running scheduler (``tcp://host:8786``); ``None`` starts a
    local cluster of ``workers`` processes (one thread each) on the loopback interface and
    shuts it down on :meth:`close`.  ``timeout``: seconds to wait for the scheduler.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, *,
                 timeout: float = 20.0):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ValueError("executor: dask needs the 'distributed' package "
                             "(pip install 'lowdim-diffusion[dask]')") from exc
        self._cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout=f"{timeout}s")
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"scheduler: cannot reach a Dask scheduler at {scheduler!r} "
                                 f"({exc})") from exc
        else:
            cores = os.cpu_count() or 1
            workers = _check_workers(cores if workers is None else workers)
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                         processes=True, host="127.0.0.1",
                                         dashboard_address=None)
            self.client = Client(self._cluster)
            self.client.run(_init_worker, max(1, cores // workers), os.getpid(), False)
        self.workers = len(self.client.scheduler_info().get("workers", {})) or workers
        self.address = self.client.scheduler.address

    def device_kind(self, device) -> str:
        """Resolved on a worker: a CPU-only client may drive GPU workers."""
        return self.client.submit(device_kind, device, pure=False).result()

    def imap(self, fn, items):
        from distributed import as_completed

        module, name = _ref(fn)
        for kw in items:
            _check_picklable(kw, self.name)
        futures = [self.client.submit(_call, module, name, kw, pure=False) for kw in items]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f in as_completed(futures):
                yield index[f.key], f.result()
        finally:
            self.client.cancel(futures)

    def close(self, abort: bool = False):
        """Disconnect; a local cluster is shut down with its worker processes."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str = "serial", *, workers: int | None = None,
                  scheduler: str | None = None):
    """An executor by name: ``serial``, ``local`` (processes) or ``dask``."""
    if kind == "serial":
        return SerialExecutor()
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, workers)
    raise ValueError(f"executor: must be one of {', '.join(EXECUTORS)} (got {kind!r})")


@dataclass
class Runner:
    """Where sweep tasks run and where their results are kept.

    Parameters
    ----------
    cache : ResultCache, optional
        No cache when ``None``.
    executor : optional
        :class:`SerialExecutor` when ``None``.
    context : dict
        Extra key material shared by every task (for example the device kind, whose random
        streams differ).
    progress : callable, optional
        ``progress(done, total, cached)`` after every task, counted over the runner's life.
    """

    cache: ResultCache | None = None
    executor: object = None
    context: dict = field(default_factory=dict)
    progress: object = None
    counts: dict = field(default_factory=lambda: {"tasks": 0, "cached": 0, "computed": 0,
                                                  "compute_seconds": 0.0})

    def map(self, fn, items: list[dict], progress=None) -> list:
        """``[fn(**kw) for kw in items]``, from the cache where possible.

        ``progress(done, total)``, if given, is called as this map's tasks finish (cached
        ones count as done at the start)."""
        items = list(items)
        ex = self.executor or SerialExecutor()
        results = [None] * len(items)
        keys = [task_key(fn, kw, **self.context) for kw in items] if self.cache else None
        missing = []
        for i in range(len(items)):
            hit, value = self.cache.get(keys[i]) if self.cache else (False, None)
            if hit:
                results[i] = value
            else:
                missing.append(i)
        c = self.counts
        c["tasks"] += len(items)
        c["cached"] += len(items) - len(missing)
        self._report()
        done = len(items) - len(missing)
        if progress is not None:
            progress(done, len(items))
        t0 = time.perf_counter()
        for j, value in ex.imap(fn, [items[i] for i in missing]):
            i = missing[j]
            if self.cache:
                self.cache.put(keys[i], value)
            results[i] = value
            c["computed"] += 1
            self._report()
            done += 1
            if progress is not None:
                progress(done, len(items))
        c["compute_seconds"] += time.perf_counter() - t0
        return results

    def _report(self):
        if self.progress is not None:
            c = self.counts
            self.progress(c["cached"] + c["computed"], c["tasks"], c["cached"])


_CURRENT: contextvars.ContextVar[Runner | None] = contextvars.ContextVar("lowdim_runner",
                                                                         default=None)


def current_runner() -> Runner:
    """The runner set by :func:`using`, else a serial runner without a cache."""
    return _CURRENT.get() or Runner()


@contextlib.contextmanager
def using(runner: Runner):
    """Make ``runner`` the current runner inside the ``with`` block."""
    token = _CURRENT.set(runner)
    try:
        yield runner
    finally:
        _CURRENT.reset(token)


def map_tasks(fn, items, progress=None) -> list:
    """``[fn(**kw) for kw in items]`` on the current runner (cached, on its executor);
    ``progress(done, total)`` as they finish."""
    return current_runner().map(fn, items, progress=progress)
