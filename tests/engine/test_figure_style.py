"""The figure style and its checker: the checker catches each defect it names (shown on
deliberately broken figures), the style's own passes repair what they claim to, every
gallery figure redrawn from its committed quick-preset data passes, and every CLI
``--plot`` writes a labelled figure that states its setting."""
import os
import shutil
import warnings

import matplotlib
import numpy as np
import pytest

from lowdim.compare import plots
from lowdim.compare.cli import main
from lowdim.compare.figure_check import check_figure
from lowdim.compare.figures import REGISTRY, read_figure_table, replot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GALLERY = os.path.join(os.path.dirname(__file__), "..", "..", "figures")


def _good(ax):
    x = np.geomspace(1, 1e3, 20)
    ax.plot(x, 1 / x, label="theory")
    ax.errorbar(x[::4], 1 / x[::4], yerr=0.05 / x[::4], fmt="o", label="simulation")
    ax.set(xscale="log", yscale="log", xlabel="n", ylabel="error")
    ax.legend(loc="lower left")


def _checked(fig, layout=True):
    if layout:
        fig.tight_layout()
    problems = check_figure(fig)
    plt.close(fig)
    return problems


# ------------------------------------------------------------ the checker can fail
def test_a_well_made_figure_passes():
    fig, axes = plots.new_figure(1, 1)
    _good(axes[0, 0])
    assert _checked(fig) == []


def test_missing_labels_are_caught():
    fig, axes = plots.new_figure(1, 1)
    axes[0, 0].plot([0, 1], [0, 1])
    problems = _checked(fig)
    assert "panel 1: no x label" in problems and "panel 1: no y label" in problems


def test_overlapping_tick_labels_are_caught():
    fig, ax = plt.subplots(figsize=(1.5, 1.5))
    ax.plot(np.arange(40), np.arange(40))
    ax.set_xticks(np.arange(40))
    ax.set(xlabel="x", ylabel="y")
    assert any("x tick labels overlap" in p for p in _checked(fig))


def test_a_legend_over_the_data_is_caught():
    fig, ax = plt.subplots(figsize=(2, 2))
    x = np.linspace(0, 1, 200)
    for k in range(6):
        ax.plot(x, x + 0.01 * k, label=f"a long legend entry {k}")
    ax.set(xlabel="x", ylabel="y")
    ax.legend(loc="center")
    assert any("legend covers" in p for p in _checked(fig))


def test_simulation_points_without_error_bars_are_caught():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 2, 3], "o", label="simulation")
    ax.set(xlabel="x", ylabel="y")
    assert _checked(fig) == ["panel 1: points without error bars (simulation)"]
    fig, ax = plt.subplots()   # exact values may say so
    ax.plot([1, 2, 3], [1, 2, 3], "o", gid="no-se: exact")
    ax.set(xlabel="x", ylabel="y")
    assert _checked(fig) == []


def test_text_past_the_edge_and_a_missing_setting_are_caught():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2], [1, 2])
    ax.set(xlabel="x", ylabel="y", title="a title far too long to fit in a small figure")
    assert any("runs past the figure's edge" in p for p in _checked(fig, layout=False))
    fig, axes = plots.new_figure(1, 1)
    _good(axes[0, 0])
    fig.tight_layout()
    assert check_figure(fig, setting=True) == [
        "the setting is not stated (lowdim.compare.plots.subtitle)"]
    plots.subtitle(fig, "tanh, t = 0.1")
    assert _checked(fig) == []


# ------------------------------------------------------------ the style repairs
def _saved(fig, tmp_path, name="f.png"):
    with plots.checking() as found:
        plots.save(fig, tmp_path / name)
    return found[0][1]


def test_save_repairs_short_log_axes_long_titles_and_covering_legends(tmp_path):
    fig, axes = plots.new_figure(3, 1, width=3.0, height=2.6)
    x = np.array([150.0, 600.0, 2000.0])          # less than two decades: plain labels
    axes[0, 0].errorbar(x, 1 / x, yerr=1e-5, fmt="o-", label="measured")
    axes[0, 0].set(xscale="log", yscale="log", xlabel="n", ylabel="error",
                   title="a panel title that is too long for a third of a page")
    t = np.linspace(0, 1, 100)
    for k in range(4):                         # a legend placed right over the data
        axes[0, 1].plot(t, 0.5 + 0.1 * k + 0 * t, label=f"series {k}")
    axes[0, 1].set(xlabel="t", ylabel="value", ylim=(0, 1))
    axes[0, 1].legend(loc="center")
    axes[0, 2].plot(np.arange(30), np.arange(30))
    axes[0, 2].set(xlabel="k", ylabel="k")
    plots.integer_ticks(axes[0, 2])
    assert _saved(fig, tmp_path) == []
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_vector_copy_is_written_atomically_beside(tmp_path):
    fig, axes = plots.new_figure(1, 1)
    _good(axes[0, 0])
    with plots.also_save(tmp_path / "f.pdf"):
        plots.save(fig, tmp_path / "f.png")
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(os.listdir(tmp_path)) == ["f.pdf", "f.png"]
    first = (tmp_path / "f.pdf").read_bytes()
    fig, axes = plots.new_figure(1, 1)      # the same figure again: the same bytes (no date)
    _good(axes[0, 0])
    with plots.also_save(tmp_path / "f.pdf"):
        plots.save(fig, tmp_path / "f.png")
    assert (tmp_path / "f.pdf").read_bytes() == first


def test_paper_sizes():
    fig, _ = plots.new_figure(1, 1)
    assert fig.get_size_inches()[0] == pytest.approx(plots.PAPER_WIDTH["single"])
    plt.close(fig)
    fig, _ = plots.new_figure(3, 1, width=4.3, height=3.4)
    assert fig.get_size_inches()[0] == pytest.approx(plots.PAPER_WIDTH["double"])
    plt.close(fig)
    with pytest.raises(ValueError, match="column"):
        plots.new_figure(1, 1, column="triple")


# ------------------------------------------------------------ every gallery figure
PAPER = os.path.join(GALLERY, "paper")


def _drawn():
    """Every figure from its committed quick data, and from its paper data where run.  The
    quick figures that tests/engine/test_figures.py builds (and checks as it draws them) run
    here under ``slow`` only, to keep CI short."""
    from test_figures import BUILT

    out = [pytest.param(fid, GALLERY, id=fid,
                        marks=[pytest.mark.slow] if fid in BUILT else [])
           for fid in REGISTRY]
    return out + [pytest.param(fid, PAPER, id=f"{fid}-paper") for fid in REGISTRY
                  if os.path.exists(os.path.join(PAPER, f"{fid}.csv"))]


@pytest.mark.parametrize("fid,folder", _drawn())
def test_gallery_figure_passes_the_check(fid, folder, tmp_path):
    """Each gallery figure, redrawn by the current code from its committed data (the quick
    preset, and the paper preset where it was run), passes every check."""
    table = read_figure_table(fid, folder)
    with warnings.catch_warnings(), plots.checking() as found:
        warnings.simplefilter("ignore", UserWarning)
        REGISTRY[fid].plot(table, str(tmp_path / f"{fid}.png"))
    assert found and found[0][1] == [], "\n".join(found[0][1])


def test_replot_redraws_png_and_pdf_without_touching_the_data(tmp_path):
    fid = "gvm25-finite-m"
    for ext in ("csv", "json"):
        shutil.copy(os.path.join(GALLERY, f"{fid}.{ext}"), tmp_path)
    before = (tmp_path / f"{fid}.csv").read_bytes()
    assert main(["figures", fid, "--replot", "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{fid}.png").stat().st_size > 10_000
    assert (tmp_path / f"{fid}.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / f"{fid}.csv").read_bytes() == before
    with pytest.raises(ValueError, match="figure id: wzz24-phase has no data"):
        replot(["wzz24-phase"], str(tmp_path))


# ------------------------------------------------------------ every CLI --plot
CLI_PLOTS = {
    "rf curve": ["rf", "curve", "--m", "1,4,inf", "--psi-p", "0.1:100:30"],
    "rf curve, manifold": ["rf", "curve", "--data", "linear-manifold", "--psi-d", "0.25",
                           "--m", "inf", "--psi-p", "4", "--psi-n", "0.1:50:12"],
    "rf validate": ["rf", "validate", "--d", "40", "--seeds", "2", "--psi-p", "0.5,4", "-q"],
    "rf spectrum": ["rf", "spectrum", "--psi-n", "2", "--psi-p", "4", "--m", "1,inf"],
    "rf sample-complexity": ["rf", "sample-complexity", "--d", "1000", "--intrinsic-dim",
                             "10,20,40"],
    "sampling bound": ["sampling", "bound", "--steps", "6,18,50", "--data-variance", "0.25"],
    "molrmog bound": ["molrmog", "bound", "--n", "100,1000,10000"],
    "molrg phase": ["molrg", "phase", "--K", "1", "--d", "2-3", "--N", "1-5", "--trials",
                    "10", "--ambient-dim", "16", "-q"],
    "localized radius": ["localized", "radius", "--d", "32", "--n", "16,1024", "--radii",
                         "0-8", "-q"],
}


@pytest.mark.parametrize("name", list(CLI_PLOTS))
def test_cli_plot_is_labelled_and_states_its_setting(name, tmp_path, capsys):
    png = tmp_path / "p.png"
    with plots.checking(setting=True) as found:
        code = main(CLI_PLOTS[name] + ["--format", "csv", "--plot", str(png)])
    capsys.readouterr()
    assert code != 2 and png.stat().st_size > 5_000   # a verdict's code, not a usage error
    assert found and found[0][1] == [], "\n".join(found[0][1])
