"""The package's boundaries, read from the import graph (function-level and lazy imports
included); the rules are those of ``docs/design.md``.

- ``lowdim.theory`` imports neither ``lowdim.simulate`` nor ``lowdim.compare``;
  ``lowdim.simulate`` does not import ``lowdim.compare``.
- ``lowdim.simulate`` takes from ``lowdim.theory`` only the names in :data:`SIMULATE_TAKES`:
  the settings that describe a problem, the closed forms a sampler needs, the thread
  caps, and the conversion of results to pandas / xarray (``lowdim.theory.tidy``).  A
  simulation never calls a prediction it is meant to check.
- No module imports a private name (a module or attribute whose name starts with ``_``) of
  another package, or of another family of its own package; a package's shared modules
  (those that belong to no family, such as ``lowdim.theory._checks``) are open to every
  module of that package.
- The graph has no cycle (a cycle held together by function-level imports is still one).
- No module imports ``theory``, ``simulate`` or ``compare`` under their folder names, and
  the packages listed in ``pyproject.toml`` are exactly the folders that hold an
  ``__init__.py``.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from lowdim.compare.cache import import_targets
from lowdim.compare.registry import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("theory", "simulate", "compare")

#: What lowdim.simulate may import from lowdim.theory: module -> names.
SIMULATE_TAKES = {
    "lowdim.theory.threads": {"single_threaded", "small_matrices"},
    "lowdim.theory.activations": {"ACTIVATIONS", "Activation", "get_activation"},
    "lowdim.theory.rf": {"RFSetting"},
    "lowdim.theory.molrg": {"MoLRG"},
    "lowdim.theory.molrmog": {"MoLRMoG", "PROCESSES"},
    "lowdim.theory.localized": {"Lattice", "check_radius", "noised_covariance",
                                "noised_precision"},
    "lowdim.theory.sampling": {"GaussianMixture", "SamplingGrid", "step_quadrature"},
    # the one conversion of results to pandas / xarray, shared by theory and simulation
    "lowdim.theory.tidy": {"Tidy", "TidyData"},
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return "lowdim." + ".".join(parts)


def source_files():
    for pkg in PACKAGES:
        yield from sorted((ROOT / pkg).rglob("*.py"))


def family(name: str) -> str:
    """``"<package>:<family>"`` of a dotted module name, or ``"<package>:shared"``."""
    parts = name.split(".")
    pkg = parts[1]
    rest = parts[2:]
    if rest:
        head = rest[0].lstrip("_")
        for fam in FAMILIES:
            if head == fam or head.startswith(fam + "_"):
                return f"{pkg}:{fam}"
    return f"{pkg}:shared"


def imports(path: Path, source: str | None = None):
    """``(line, imported dotted name)`` for every import in a file (read by
    :func:`lowdim.compare.cache.import_targets`, the reader the cache hashes by):
    ``from m import a`` gives ``m.a``, ``import m`` and ``LazyModule("m")`` give ``m``."""
    text = source if source is not None else path.read_text()
    out = []
    for line, mod, names in import_targets(text, module_name(path), path.name == "__init__.py"):
        out.extend((line, f"{mod}.{n}") for n in names) if names else out.append((line, mod))
    return out


def violations(path: Path, source: str | None = None) -> list[str]:
    """Every broken rule in one source file, as ``"file:line: message"``."""
    me = module_name(path)
    my_pkg, my_family = me.split(".")[1], family(me)
    where = path.relative_to(ROOT)
    bad = []
    for line, target in imports(path, source):
        top = target.split(".")[0]
        if top in PACKAGES:
            bad.append(f"{where}:{line}: imports {target} under its folder name (lowdim.{target})")
            continue
        if top != "lowdim" or target.count(".") < 1:
            continue
        parts = target.split(".")
        pkg = parts[1]
        if my_pkg == "theory" and pkg in ("simulate", "compare"):
            bad.append(f"{where}:{line}: theory imports {target}")
        if my_pkg == "simulate" and pkg == "compare":
            bad.append(f"{where}:{line}: simulate imports {target}")
        if my_pkg == "simulate" and pkg == "theory":
            mod, _, attr = target.rpartition(".")
            if not (attr in SIMULATE_TAKES.get(mod, ()) or target in SIMULATE_TAKES):
                bad.append(f"{where}:{line}: simulate takes {target} from theory (not in "
                           "SIMULATE_TAKES)")
        private = any(p.startswith("_") and not p.startswith("__") for p in parts[2:])
        if private and pkg != my_pkg:
            bad.append(f"{where}:{line}: imports {target}, a private name of lowdim.{pkg}")
        elif private and family(target) not in (my_family, f"{pkg}:shared"):
            bad.append(f"{where}:{line}: imports {target}, a private name of the family "
                       f"{family(target)}")
    return bad


def import_graph() -> dict:
    """Module -> the modules of ours it imports (an imported attribute counts as its module)."""
    modules = {module_name(p): p for p in source_files()}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for _, target in imports(path):
            parts = target.split(".")
            found = next((".".join(parts[:k]) for k in range(len(parts), 1, -1)
                          if ".".join(parts[:k]) in modules), None)
            if found is not None and found != name:
                deps.add(found)
        graph[name] = deps
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, found = {}, {}, set(), [], []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(graph) == [["a", "b", "c"]]
    graph = import_graph()
    graph["lowdim.simulate.device"].add("lowdim.simulate.rf")  # rf imports device
    assert any("lowdim.simulate.rf" in c for c in cycles(graph))


def test_no_module_crosses_a_boundary():
    found = [v for path in source_files() for v in violations(path)]
    assert not found, "\n".join(found)


def test_tests_import_only_the_installed_names():
    bare = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            bare += [f"{path.name}:{node.lineno}: {n}" for n in names
                     if n.split(".")[0] in PACKAGES]
    assert not bare, "\n".join(bare)


@pytest.mark.parametrize("line, expect", [
    ("from lowdim.simulate.device import torch_device", "theory imports"),
    ("from lowdim.theory.molrmog._spec import _int", "private name of the family"),
    ("from lowdim.compare import cli", "theory imports"),
    ("import theory.rf", "under its folder name"),
    ("x = LazyModule('lowdim.compare.cache')", "theory imports"),
])
def test_the_rules_can_fail(line, expect):
    """A forbidden import added to a theory module is reported."""
    path = ROOT / "theory" / "molrg" / "_setting.py"
    source = path.read_text() + "\n\ndef _probe():\n    " + line + "\n"
    found = violations(path, source)
    assert any(expect in v for v in found), found


def test_simulate_taking_a_prediction_fails():
    path = ROOT / "simulate" / "rf.py"
    source = path.read_text() + "\n\ndef _probe():\n    from lowdim.theory.rf import predict\n"
    assert any("SIMULATE_TAKES" in v for v in violations(path, source))


def test_compare_taking_a_private_of_theory_fails():
    path = ROOT / "compare" / "bench.py"
    source = (path.read_text()
              + "\n\ndef _probe():\n    from lowdim.theory.rf._system import log_system\n")
    assert any("private name of lowdim.theory" in v for v in violations(path, source))


def test_tests_are_grouped_by_family():
    """Every registered family has its folder of tests (``tests/<family>/test_*.py``)."""
    missing = [f for f in FAMILIES if not list((ROOT / "tests" / f).glob("test_*.py"))]
    assert not missing, f"families without tests/<family>/: {missing}"


def test_pyproject_lists_every_package_folder():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M).group(1)
    listed = set(re.findall(r'"([\w.]+)"', block))
    folders = {module_name(p) for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py")}
    assert listed == folders


def test_the_checkout_is_not_on_the_path():
    """The tests see the installed names only (tests/conftest.py drops the checkout)."""
    assert all(Path(p or ".").resolve() != ROOT for p in sys.path)
