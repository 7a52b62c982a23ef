"""Progress of the steps inside one figure or action (:mod:`lowdim.compare.progress`): what
the figure bar and an action's bar hear and show, the sweep-task count beside them, and
silence (nothing printed, nothing listened to) when progress is off."""
from __future__ import annotations

import io
import sys

import pytest

from lowdim.compare import cli_common, figures
from lowdim.compare.cache import ResultCache
from lowdim.compare.progress import Bar, Steps, counted, report_step, reporting, step_callback
from lowdim.compare.sweep import Runner, map_tasks, using
from lowdim.compare.table import Table
from lowdim.compare.verdict import Report, holds

FID = "fake-steps"
#: What the fake builder saw: the training-step callback of each net (None when unheard).
SEEN: list = []


class _Tty(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def square(x):
    """A sweep task."""
    return x * x


def build_with_steps(preset="quick", device="auto", progress=None):
    """Three 'nets' of five 'training steps' each, then four sweep tasks."""
    for _ in counted(range(3), "net"):
        train = step_callback("training step")
        SEEN.append(train)
        for k in range(5):
            if train is not None:
                train(k + 1, 5)
    values = map_tasks(square, [{"x": i} for i in range(4)])
    summary = Report([holds("fake check", True)], "fake check").summary()
    return Table(["x"], [{"x": float(sum(values))}], {"summary": summary})


def plot_nothing(table, path):
    with open(path, "wb") as fh:
        fh.write(b"")


class _Recording(figures._Bar):
    """The figure bar, recording what it hears."""

    calls: list = []

    def step(self, done, total, what):
        self.calls.append(("step", done, total, what))
        super().step(done, total, what)

    def tasks(self, done, total, cached):
        self.calls.append(("tasks", done, total, cached))
        super().tasks(done, total, cached)


@pytest.fixture
def fake_figure(monkeypatch):
    monkeypatch.setitem(figures.REGISTRY, FID, figures.FigureSpec(
        FID, "a fake figure", "this package", "none", build_with_steps, plot_nothing))
    monkeypatch.setattr(figures, "_Bar", _Recording)
    _Recording.calls = []
    SEEN.clear()


def _steps(calls, what):
    return [(c[1], c[2]) for c in calls if c[0] == "step" and c[3] == what]


def test_inner_steps_and_sweep_tasks_reach_the_figure_bar(fake_figure, tmp_path, monkeypatch):
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(Bar, "INTERVAL", 0.0)   # draw every step
    cache = ResultCache(str(tmp_path / "cache"))
    with using(Runner(cache=cache, context={"device_kind": "cpu"})):   # two tasks cached
        map_tasks(square, [{"x": 0}, {"x": 1}])
    result = figures.build_one(FID, out_dir=str(tmp_path), device="cpu", quiet=False,
                               cache=cache)
    calls = _Recording.calls
    assert _steps(calls, "net") == [(0, 3), (1, 3), (2, 3), (3, 3)]
    train = _steps(calls, "training step")
    assert len(train) == 15 and train[-1] == (5, 5)
    assert all(cb is not None for cb in SEEN)
    # the sweep tasks are counted as before: the last count is the whole, with its cached part
    assert [c for c in calls if c[0] == "tasks"][-1] == ("tasks", 4, 4, 2)
    assert result["tasks"] == {"tasks": 4, "cached": 2, "computed": 2}
    shown = tty.getvalue()
    assert f"{FID}: net 1/3 · training step 2/5" in shown
    assert "cached=2" in shown and "4/4" in shown


@pytest.mark.parametrize("quiet, terminal", [(True, True), (False, False)])
def test_quiet_or_no_terminal_prints_and_listens_to_nothing(fake_figure, tmp_path, monkeypatch,
                                                            capsys, quiet, terminal):
    tty = _Tty()
    if terminal:
        monkeypatch.setattr(sys, "stderr", tty)
    figures.build_one(FID, out_dir=str(tmp_path), device="cpu", quiet=quiet)
    assert tty.getvalue() == "" and capsys.readouterr().err == ""
    assert SEEN == [None, None, None]            # the loops had nothing to call
    assert _steps(_Recording.calls, "net") == []


def test_without_a_listener_reporting_costs_nothing():
    items = [1, 2, 3]
    assert step_callback("step") is None
    assert counted(items, "item") is items
    report_step(1, 2, "step")                     # no listener: nothing happens
    heard = []
    with reporting(lambda *a: heard.append(a)):
        assert step_callback("step") is not None
        with reporting(None):                     # a quiet block inside a listened one
            assert step_callback("step") is None
            report_step(1, 2, "muted")
        report_step(1, 2, "step")
        assert list(counted(items, "item")) == items
    assert heard == [(1, 2, "step"), (0, 3, "item"), (1, 3, "item"), (2, 3, "item"),
                     (3, 3, "item")]
    assert step_callback("step") is None          # the listener is gone after the block


def test_counted_gives_the_count_to_the_callers_progress_when_given():
    got = []
    with reporting(lambda *a: pytest.fail("the caller's progress takes the count")):
        assert list(counted("ab", "letter", lambda d, t: got.append((d, t)))) == ["a", "b"]
    assert got == [(0, 2), (1, 2), (2, 2)]


def test_steps_nest_by_name_and_end_when_complete():
    s = Steps()
    assert s.update(0, 3, "model")                # a level starts: draw now
    assert s.update(0, 100, "training step")
    assert not s.update(40, 100, "training step")  # only moves on: may wait
    assert s.text() == "model 0/3 · training step 40/100"
    assert s.update(1, 3, "model")                # an outer level drops the inner ones
    assert s.text() == "model 1/3"
    assert s.update(3, 3, "model") and s.text() == ""


def test_an_action_bar_shows_the_inner_steps(monkeypatch):
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(Bar, "INTERVAL", 0.0)

    def run(update):
        update(0, 2)
        for _ in counted(range(2), "model"):
            step = step_callback("training step")
            for k in range(3):
                step(k + 1, 3)
        update(1, 2)
        return "done"

    assert cli_common.with_progress(True, 2, "act", run) == "done"
    shown = tty.getvalue()
    assert "act: model 1/2 · training step 2/3" in shown and "1/2" in shown

    quiet = _Tty()
    monkeypatch.setattr(sys, "stderr", quiet)

    def unheard(update):
        assert update is None and step_callback("training step") is None
        report_step(1, 2, "model")
        return "done"

    assert cli_common.with_progress(False, 2, "act", unheard) == "done"
    assert quiet.getvalue() == ""


def test_a_real_builder_step_reports_its_inner_loops_and_keeps_its_numbers():
    """The gradient-descent table of ylj26-gd-rate: times, Hessian rows and GD iterations,
    each level ending at its total; the numbers are those of an unheard run."""
    from lowdim.compare import molrmog as exp

    spec = exp.make_spec(**exp.GD_SPEC)
    heard = []
    with reporting(lambda d, t, w: heard.append((d, t, w))):
        table = exp.gd_table(spec, [0.3], n_mc=200)
    levels = {w for _, _, w in heard}
    assert levels == {"time t", "Hessian row", "GD iteration"}
    for what in levels:
        last = [(d, t) for d, t, w in heard if w == what][-1]
        assert last[0] == last[1], what
    assert table.rows == exp.gd_table(spec, [0.3], n_mc=200).rows
