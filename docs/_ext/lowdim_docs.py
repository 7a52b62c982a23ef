"""Pages of the documentation generated from the code at build time.

- ``generated/cli.md``: the ``--help`` of every ``lowdim`` command, from the parser itself;
- ``generated/figures.md``: every registered gallery figure, its paper and its claim;
- ``generated/presets.md``: the sizes of the ``quick`` and ``paper`` presets, from the
  ``PRESETS`` of every family's figure modules;
- ``generated/provenance.md``: every docstring that carries a provenance tag, with its tags,
  read from the sources (nothing is imported for it).

Each file is rewritten only when its text changes, so an unchanged build stays incremental.
The module also holds the order of the example gallery (:class:`ExampleOrder`).
"""
from __future__ import annotations

import argparse
import ast
import os
import re
from pathlib import Path

from lowdim.compare.registry import FAMILIES

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
OUT = DOCS / "generated"

#: The one provenance grammar (docs/design.md; checked by tests/theory/test_provenance.py).
TAG = re.compile(r"\[(paper|derived|reconstructed|code)(?::([^\]]*))?\]")
PACKAGES = {"theory": "lowdim.theory", "simulate": "lowdim.simulate", "compare": "lowdim.compare"}
KINDS = ("paper", "derived", "reconstructed", "code")

#: The gallery's order: the families as the registry lists them, real data last.
EXAMPLE_ORDER = (*FAMILIES, "real_data")


class ExampleOrder:
    """Sort key of the example gallery: by family (:data:`EXAMPLE_ORDER`), then by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename) -> str:
        name = os.path.basename(str(filename))
        rank = next((i for i, key in enumerate(EXAMPLE_ORDER)
                     if name.startswith(f"plot_{key}")), len(EXAMPLE_ORDER))
        return f"{rank:02d}-{name}"

    def __repr__(self):
        return f"{type(self).__name__}()"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    """Inline code, also when ``text`` holds a backtick."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


# ----------------------------------------------------------------------------- CLI
def _commands(parser, prefix):
    """``(command line, parser)`` for every leaf command under ``parser``."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, child in subs[0].choices.items():
        yield from _commands(child, f"{prefix} {name}")


def cli_reference() -> str:
    from lowdim.compare.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "92"          # a fixed width, whatever the terminal
    try:
        parser, _ = build_parser()
        lines = ["<!-- generated from lowdim.compare.cli.build_parser at build time -->", ""]
        for command, sub in _commands(parser, "lowdim"):
            lines += [f"### `{command}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures
def figure_list() -> str:
    from lowdim.compare.figures import REGISTRY

    lines = ["<!-- generated from lowdim.compare.figures.REGISTRY at build time -->", "",
             "| figure | paper | title | claim |", "|---|---|---|---|"]
    for spec in REGISTRY.values():
        lines.append(f"| `{spec.id}` | {_cell(spec.paper)} | {_cell(spec.title)} | "
                     f"{_cell(spec.claim)} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- presets
def _flat(value, prefix=""):
    """``(dotted key, value)`` pairs of a nested dict."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flat(sub, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def _show(value) -> str:
    """A preset value in a few characters: long sequences by their ends and length."""
    import numpy as np

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = ["global" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)
                 for v in value]
        if len(items) > 8:
            return f"{items[0]}, {items[1]}, …, {items[-1]} ({len(items)} values)"
        return ", ".join(items) if items else "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def preset_tables() -> str:
    import importlib

    from lowdim.compare.registry import families

    lines = ["<!-- generated from the PRESETS of the figure modules at build time -->", ""]
    for family in families():
        for name in family.figures:
            presets = getattr(importlib.import_module(f"lowdim.compare.{name}"), "PRESETS", None)
            if not (isinstance(presets, dict) and {"quick", "paper"} <= set(presets)):
                continue
            quick, paper = dict(_flat(presets["quick"])), dict(_flat(presets["paper"]))
            lines += [f"### `{name}` ({family.name})", "", "| size | quick | paper |",
                      "|---|---|---|"]
            for key in list(dict.fromkeys([*quick, *paper])):
                lines.append(f"| `{key}` | {_cell(_show(quick.get(key, '')))} | "
                             f"{_cell(_show(paper.get(key, '')))} |")
            lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- provenance
def tagged_docstrings():
    """``(package, module, object, [(kind, source), ...])`` for every docstring with a tag."""
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            module = ".".join([package, *parts])
            tree = ast.parse(path.read_text(), filename=str(path))
            nodes = [(tree, "(module)")]
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    nodes.append((node, node.name))
                    nodes += [(child, f"{node.name}.{child.name}") for child in node.body
                              if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))]
            seen = {id(n) for n, _ in nodes}
            nodes += [(n, n.name) for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and id(n) not in seen]
            for node, name in nodes:
                doc = ast.get_docstring(node, clean=False)
                tags = [(m.group(1), " ".join((m.group(2) or "").split()))
                        for m in TAG.finditer(doc or "")]
                if tags:
                    yield package, module, name, tags


def provenance_list() -> str:
    rows = list(tagged_docstrings())
    counts = {k: sum(1 for r in rows for kind, _ in r[3] if kind == k) for k in KINDS}
    lines = ["<!-- generated from the docstrings of theory/, simulate/ and compare/ at build "
             "time -->", "",
             f"{len(rows)} docstrings carry {sum(counts.values())} tags: "
             + ", ".join(f"{counts[k]} `{k}`" for k in KINDS) + ".", ""]
    for package in PACKAGES.values():
        mine = [r for r in rows if r[0] == package]
        if not mine:
            continue
        lines += [f"### `{package}`", "", "| module | object | tags |", "|---|---|---|"]
        for _, module, name, tags in mine:
            shown = "; ".join(_code(f"[{kind}: {src}]" if src else f"[{kind}]")
                              for kind, src in dict.fromkeys(tags))
            lines.append(f"| `{module}` | `{name}` | {_cell(shown)} |")
        lines.append("")
    return "\n".join(lines)


def generate(app=None) -> None:
    _write(OUT / "cli.md", cli_reference())
    _write(OUT / "figures.md", figure_list())
    _write(OUT / "presets.md", preset_tables())
    _write(OUT / "provenance.md", provenance_list())


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
