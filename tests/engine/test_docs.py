"""The documentation site, checked without building it (CI builds it with Sphinx, warnings as
errors, after the tests): every page the tables of contents name exists and every page is
in one, every example has a title and is picked up by the gallery, every API module exists,
the README's links into docs/ resolve, and CI runs the build command the README gives."""
import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: Pages written at build time: the gallery's index (from docs/examples/README.txt).
GENERATED = {"auto_examples/index": DOCS / "examples" / "README.txt"}


def _toctree_entries() -> list:
    """The documents named by the ``toctree`` directives of the root page."""
    text = (DOCS / "index.rst").read_text()
    entries = []
    for block in re.findall(r"^\.\. toctree::\n((?:[ \t]+.*\n|\n)+)", text, flags=re.M):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith(":"):
                entries.append(line)
    return entries


def _page(name: str):
    if name in GENERATED:
        return GENERATED[name]
    for suffix in (".md", ".rst"):
        if (DOCS / f"{name}{suffix}").is_file():
            return DOCS / f"{name}{suffix}"
    return None


def _gallery_conf() -> dict:
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "sphinx_gallery_conf"):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py sets no sphinx_gallery_conf")


def test_every_page_of_the_tables_of_contents_exists_and_every_page_is_in_one():
    entries = _toctree_entries()
    assert len(entries) >= 15
    missing = [e for e in entries if _page(e) is None]
    assert not missing, f"toctree names pages that do not exist: {missing}"
    assert len(entries) == len(set(entries)), "a page listed twice"
    pages = {p.stem for p in DOCS.glob("*.md")} | {p.stem for p in DOCS.glob("*.rst")}
    orphans = sorted(pages - set(entries) - {"index", "sg_execution_times"})
    assert not orphans, f"pages in no table of contents: {orphans}"


def test_the_required_pages_are_there():
    entries = set(_toctree_entries())
    for page in ("getting-started", "cli", "rf", "sampling", "molrmog", "molrg", "localized",
                 "agreement", "tolerances", "provenance", "presets", "cache", "api", "design",
                 "adding-a-family", "dynamics", "figures", "auto_examples/index"):
        assert page in entries, page


def test_every_example_has_a_title_and_the_gallery_runs_it():
    conf = _gallery_conf()
    folder = DOCS / conf["examples_dirs"]
    examples = sorted(folder.glob("*.py"))
    names = {p.stem for p in examples}
    for family in ("rf", "sampling", "molrmog", "molrg", "localized"):
        assert any(n.startswith(f"plot_{family}") for n in names), family
    assert (folder / "README.txt").is_file()
    for path in examples:
        assert re.search(conf["filename_pattern"], f"/{path.name}"), \
            f"{path.name}: the gallery would not execute it (filename_pattern)"
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc, f"{path.name}: no docstring"
        lines = doc.splitlines()
        assert len(lines) >= 3 and lines[1] and set(lines[1]) == {"="}, \
            f"{path.name}: the docstring must open with a title underlined by '='"
        assert len(lines[1]) >= len(lines[0]), f"{path.name}: title underline too short"
        assert any(line.strip() for line in lines[2:]), f"{path.name}: no explanation"


def test_every_module_of_the_api_reference_exists():
    text = (DOCS / "api.rst").read_text()
    modules = re.findall(r"^   (lowdim\.[\w.]+)\s*$", text, flags=re.M)
    assert len(modules) >= 30
    for name in ("lowdim.theory.rf", "lowdim.theory.molrmog", "lowdim.theory.molrg",
                 "lowdim.theory.localized", "lowdim.theory.sampling", "lowdim.theory.spectra",
                 "lowdim.simulate.rf", "lowdim.compare.verdict", "lowdim.compare.table",
                 "lowdim.compare.cache", "lowdim.compare.sweep"):
        assert name in modules, name
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    assert not missing, missing


@pytest.mark.parametrize("page", ["README.md", *sorted(p.name for p in DOCS.glob("*.md"))])
def test_relative_links_resolve(page):
    path = ROOT / page if page == "README.md" else DOCS / page
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)   # not inside code blocks
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (path.parent / target.split("#")[0]).exists():
            bad.append(target)
    assert not bad, f"{page}: links to nothing: {bad}"


def test_readme_links_into_the_docs_and_ci_builds_them():
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\(docs/([\w-]+)\.md", readme))
    for page in ("getting-started", "rf", "sampling", "molrmog", "molrg", "localized",
                 "agreement", "tolerances", "provenance", "presets", "cache"):
        assert page in linked, page
    build = re.findall(r"```bash\n(pip install -e '\.\[docs\]'[^\n]*sphinx[^\n]*)\n```", readme)
    assert len(build) == 1, "the README gives the docs build command once"
    assert "-W" in build[0]
    assert build[0] in (ROOT / ".ci" / "run").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    docs_extra = re.search(r"^docs = \[(.*?)\]", pyproject, flags=re.M | re.S)
    assert docs_extra, "pyproject.toml has no docs extra"
    for package in ("sphinx", "numpydoc", "sphinx-gallery", "myst-parser"):
        assert f'"{package}>=' in docs_extra.group(1), package


def test_build_outputs_stay_out_of_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    for path in ("docs/_build/", "docs/api/generated/", "docs/auto_examples/",
                 "docs/generated/", "docs/sg_execution_times.rst"):
        assert path in ignored, path
