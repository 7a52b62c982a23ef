"""The family registry: each family is one :class:`Family`, defined beside its actions in
``compare/<name>_cli.py`` and registered by one line in :data:`FAMILIES`.

The command line (:mod:`lowdim.compare.cli`), the figure gallery
(:mod:`lowdim.compare.figures`), the bench (:mod:`lowdim.compare.bench`) and the tests
iterate over :func:`families`; none of them names a family.  ``docs/adding-a-family.md``
walks through adding one.
"""
from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Callable

__all__ = ["FAMILIES", "Family", "Action", "action", "FigureSpec", "families", "THIS_PACKAGE"]

#: The registered families, in the order of ``lowdim --help``, the gallery and the bench.
FAMILIES = ("rf", "sampling", "molrmog", "molrg", "localized")

#: The ``paper`` of a figure whose claim is this package's own (not a paper's).
THIS_PACKAGE = "this package"


@dataclass(frozen=True)
class Action:
    """``lowdim <family> <name>``: ``options(parser)`` adds the action's options (shared ones
    from :mod:`lowdim.compare.cli_common`), ``run(args)`` does the work and returns the exit
    code."""

    name: str
    help: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def action(name: str, options, run) -> Action:
    """An :class:`Action` whose help is the first paragraph of ``run``'s docstring, written
    as ``--help`` lists (no final period, lower case unless the first word is an acronym)."""
    first = " ".join((run.__doc__ or "").strip().split("\n\n")[0].split()).rstrip(".")
    if not first:
        raise ValueError(f"action {name!r}: its run function needs a docstring (the help)")
    if len(first) > 1 and first[1].islower():
        first = first[0].lower() + first[1:]
    return Action(name, first, options, run)


@dataclass(frozen=True)
class FigureSpec:
    """One gallery figure: its id, title, the paper it reproduces (a short tag, or
    :data:`THIS_PACKAGE`), the claim it shows, and its two steps: ``build(preset, device,
    progress) -> Table`` (the data; cached) and ``plot(table, path)``."""

    id: str
    title: str
    paper: str
    claim: str
    build: Callable
    plot: Callable


@dataclass(frozen=True)
class Family:
    """One family: its CLI actions, the compare modules whose ``FIGURES`` list its figures,
    and the compare module whose ``bench_groups(quick, device)`` gives its bench rows."""

    name: str
    help: str
    actions: tuple
    figures: tuple = ()
    bench: str | None = None

    def figure_specs(self) -> list:
        """The family's :class:`FigureSpec` s (imports its figure modules)."""
        return [spec for module in self.figures
                for spec in importlib.import_module(f"{__package__}.{module}").FIGURES]

    def bench_module(self):
        return None if self.bench is None else importlib.import_module(
            f"{__package__}.{self.bench}")


def families() -> list:
    """The registered :class:`Family` objects, in :data:`FAMILIES` order."""
    return [importlib.import_module(f"{__package__}.{name}_cli").FAMILY for name in FAMILIES]
