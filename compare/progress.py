"""Progress of the steps inside one long computation: the networks a figure trains, the
steps of each training, the grid points of a loop, for the progress bars of the command line.

A bar (the figure bar of ``lowdim figures``, the stage bar of an action) listens inside
``with reporting(show):``; the code underneath reports with :func:`report_step`, iterates
with :func:`counted`, or hands :func:`step_callback` to a loop of :mod:`lowdim.simulate`
(which cannot import this package and takes a ``progress(done, total)`` callback instead).
Levels nest by name: ``model 2/3 · training step 300/1500``.

Outside such a block nothing is reported and nothing is printed: :func:`report_step` costs
one context-variable read, :func:`step_callback` returns ``None`` (so the loops skip their
calls) and :func:`counted` returns its items unchanged.  Sweep tasks are counted by the
runner (:mod:`lowdim.compare.sweep`), not here.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
import threading
import time

__all__ = ["report_step", "step_callback", "counted", "advance", "reporting", "Steps", "Bar"]

_LISTENER: contextvars.ContextVar = contextvars.ContextVar("lowdim_step_listener",
                                                            default=None)


def report_step(done: int, total: int, what: str) -> None:
    """``done`` of ``total`` steps of the level ``what`` (a noun: ``"model"``,
    ``"training step"``) are finished; heard by the current listener, if any."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(done, total, what)


def step_callback(what: str):
    """``progress(done, total)`` reporting the level ``what`` to the current listener, or
    ``None`` when nobody listens (the callback a simulation loop takes)."""
    listener = _LISTENER.get()
    return None if listener is None else functools.partial(_forward, listener, what)


def _forward(listener, what, done, total):
    listener(done, total, what)


def counted(items, what: str, progress=None):
    """``items``, reporting the level ``what`` as they are consumed: ``0/n`` first, then
    ``k/n`` once the loop's body has finished with the ``k``-th; to ``progress(done,
    total)`` instead when given (see :func:`advance`).  ``items`` unchanged when nobody
    listens."""
    if progress is None and _LISTENER.get() is None:
        return items
    return _counting(list(items), what, progress)


def _counting(items, what, progress):
    n = len(items)
    advance(progress, 0, n, what)
    for k, item in enumerate(items):
        yield item
        advance(progress, k + 1, n, what)


def advance(progress, done: int, total: int, what: str) -> None:
    """A step of a function that takes ``progress(done, total)``: to ``progress`` when the
    caller gave one (its own bar counts these steps), else to the current listener."""
    if progress is not None:
        progress(done, total)
    else:
        report_step(done, total, what)


@contextlib.contextmanager
def reporting(show):
    """Send the steps reported inside the ``with`` block to ``show(done, total, what)``;
    ``show=None`` silences them there."""
    token = _LISTENER.set(show)
    try:
        yield show
    finally:
        _LISTENER.reset(token)


class Steps:
    """The levels under way, outermost first, as one line of text.

    A level is added when first reported and removed once complete; a report of a level
    drops the levels below it (left over from its previous step)."""

    def __init__(self):
        self.levels: dict[str, tuple[int, int]] = {}

    def update(self, done: int, total: int, what: str) -> bool:
        """Record a report; true when the line's shape changed (a level started, finished,
        or an outer level moved), which a throttled display should show at once."""
        names = list(self.levels)
        moved = what not in self.levels or what != names[-1]
        if what in self.levels:
            for name in names[names.index(what) + 1:]:
                del self.levels[name]
        if done >= total:
            self.levels.pop(what, None)
            return True
        self.levels[what] = (done, total)
        return moved or done == 0

    def text(self) -> str:
        """``"model 2/3 · training step 300/1500"``; empty when nothing is under way."""
        return " · ".join(f"{what} {done}/{total}" for what, (done, total) in self.levels.items())


class Bar:
    """A tqdm bar on stderr that counts (``unit``) and shows the inner steps after its
    description (``desc: model 2/3 · training step 300/1500``); with nothing counted, only
    that line and the elapsed time.  Inert unless ``enabled`` and stderr is a terminal.

    ``eager``: draw from the start; otherwise only once there is more than one thing to
    count or a step to show.  Steps that only move on are redrawn at most every
    :attr:`INTERVAL` seconds; a step that starts, ends or moves an outer level at once.
    While the bar is shown, a daemon thread redraws it every :attr:`TICK` seconds, so that
    its elapsed time runs on through a long step that reports nothing."""

    INTERVAL = 0.1
    TICK = 1.0
    _STEPS_ONLY = "{desc} [{elapsed}]"

    def __init__(self, enabled: bool, desc: str, *, unit: str = "it", total: int = 0,
                 eager: bool = True):
        self.live = bool(enabled) and sys.stderr.isatty()
        self.desc, self.unit = desc, unit
        self.done, self.total, self.postfix = 0, total, {}
        self.steps = Steps()
        self._tqdm = None
        self._drawn = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if self.live and (eager or total > 1):
            with self._lock:
                self._open()

    def count(self, done: int, total: int, **postfix) -> None:
        """``done`` of ``total`` counted, with ``postfix`` values to show (``cached=3``)."""
        if self.live:
            with self._lock:
                self.done, self.total = done, total
                self.postfix.update(postfix)
                self._draw()

    def step(self, done: int, total: int, what: str) -> None:
        """An inner step (the listener given to :func:`reporting`)."""
        if self.live:
            with self._lock:
                moved = self.steps.update(done, total, what)
                if moved or time.monotonic() - self._drawn >= self.INTERVAL:
                    self._draw()

    def _open(self):
        from tqdm import tqdm

        self._tqdm = tqdm(desc=self.desc, unit=self.unit, file=sys.stderr, leave=False,
                          total=self.total or None,
                          bar_format=None if self.total else self._STEPS_ONLY)
        threading.Thread(target=self._tick, name="lowdim-progress", daemon=True).start()

    def _tick(self):
        while not self._stop.wait(self.TICK):
            with self._lock:
                if self._tqdm is not None:
                    self._draw()

    def _draw(self):
        """Redraw (the caller holds the lock); opens a lazy bar once it has something."""
        if self._tqdm is None:
            if self._stop.is_set() or (self.total <= 1 and not self.steps.levels):
                return
            self._open()
        bar, text = self._tqdm, self.steps.text()
        bar.total, bar.n = (self.total or None), self.done
        bar.set_description_str(f"{self.desc}: {text}" if text else self.desc, refresh=False)
        if self.postfix:
            bar.set_postfix(self.postfix, refresh=False)
        bar.bar_format = None if self.total else self._STEPS_ONLY
        bar.refresh()
        self._drawn = time.monotonic()

    def close(self) -> None:
        """Remove the bar and stop its thread."""
        self._stop.set()
        with self._lock:
            if self._tqdm is not None:
                self._tqdm.close()
                self._tqdm = None
