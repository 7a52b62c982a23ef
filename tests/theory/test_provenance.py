"""Every docstring that states an equation says where it comes from, in one grammar
(``docs/design.md``, Provenance):

    [paper: KEY place]     stated in a paper (KEY such as WHT24, GVM25, MM22; place optional)
    [derived]              derived in this package or its research notes (``[derived: where]``)
    [reconstructed]        rebuilt where the source could not be read; simulation-backed
    [code: repository path]  a fact read from public code

A docstring "states an equation" when, after a blank line, it displays an indented line with
an ``=`` (the way the equations are written throughout).  The older notations ([PAPER],
[SRC], [DERIVED], [S], [R], ...) are refused.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TAG = re.compile(r"\[(paper|derived|reconstructed|code)(?::([^\]]*))?\]")
OLD = re.compile(r"\[(PAPER|SRC|CODE|DERIVED|RECONSTRUCTED|VERIFIED-NUM|S|R|A|R✓)"
                 r"(?=[\]\s,:;])[^\]]*\]")


def displayed_equations(doc: str) -> list[str]:
    """The indented lines with an ``=`` that follow a blank line in a docstring."""
    lines = doc.expandtabs().split("\n")
    body = [line for line in lines[1:] if line.strip()]
    if not body:
        return []
    base = min(len(line) - len(line.lstrip()) for line in body)
    found, blank = [], False
    for line in lines[1:]:
        text = line.strip()
        if not text:
            blank = True
            continue
        indent = len(line) - len(line.lstrip())
        if (blank and indent >= base + 4 and re.search(r"[^=<>!]=[^=]", text)
                and not text.startswith((">>>", "...", "``"))):
            found.append(text)
        blank = False
    return found


def problems(doc: str, where: str) -> list[str]:
    """What is wrong with the provenance of one docstring."""
    out = [f"{where}: old notation {m.group(0)!r}" for m in OLD.finditer(doc)]
    tags = list(TAG.finditer(doc))
    for m in tags:
        if m.group(1) in ("paper", "code") and not (m.group(2) or "").strip():
            out.append(f"{where}: {m.group(0)!r} needs its source after the colon")
    eqs = displayed_equations(doc)
    if eqs and not tags:
        out.append(f"{where}: states {eqs[0][:50]!r} without a provenance tag")
    return out


def docstrings():
    for pkg in ("theory", "simulate", "compare"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            nodes = [tree] + [n for n in ast.walk(tree) if isinstance(
                n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            for node in nodes:
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    name = getattr(node, "name", "<module>")
                    yield f"{path.relative_to(ROOT)}:{name}", doc


def test_every_stated_equation_has_a_provenance_tag_in_the_one_grammar():
    found = [p for where, doc in docstrings() for p in problems(doc, where)]
    assert not found, "\n".join(found)


def test_the_scan_sees_the_equations():
    with_equations = [where for where, doc in docstrings() if displayed_equations(doc)]
    assert len(with_equations) >= 30   # the families' formulas are found


@pytest.mark.parametrize("doc, expect", [
    ("Title.\n\nThe step\n\n    y = x + h f(x).\n", "without a provenance tag"),
    ("Title.\n\nThe step [PAPER]\n\n    y = x + h f(x).\n", "old notation"),
    ("Title.\n\nThe step [paper:]\n\n    y = x + h f(x).\n", "needs its source"),
    ("Title [S].\n", "old notation"),
])
def test_the_rule_can_fail(doc, expect):
    assert any(expect in p for p in problems(doc, "probe"))


@pytest.mark.parametrize("doc", [
    "Title.\n\nThe step [paper: WHT24 eq. (10)]\n\n    y = x + h f(x).\n",
    "Title.\n\nThe step [derived]\n\n    y = x + h f(x).\n",
    "Title without equations [paper/](link).\n",
])
def test_the_rule_accepts_the_grammar(doc):
    assert problems(doc, "probe") == []
