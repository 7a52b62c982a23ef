"""The "Adding a family" guide is true: its five files and one registration line, applied to
a copy of the package, give a family whose actions, figure, bench row and tests work and
which keeps every boundary and coverage rule."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "adding-a-family.md"


def _blocks(marker):
    """``(path, code)`` of the guide's code blocks whose first line is ``# <marker>: path``."""
    text = GUIDE.read_text()
    return re.findall(rf"```python\n# {marker}: (\S+)\n(.*?)```", text, re.S)


def _copy(tmp: Path) -> tuple[Path, Path]:
    """A copy of the repository's packages and the tests the rules live in; and a folder
    whose ``lowdim/`` maps onto the copy (what the install does)."""
    repo, path = tmp / "repo", tmp / "path" / "lowdim"
    ignore = shutil.ignore_patterns("__pycache__")
    for pkg in ("theory", "simulate", "compare"):
        shutil.copytree(ROOT / pkg, repo / pkg, ignore=ignore)
    shutil.copytree(ROOT / "tests", repo / "tests", ignore=ignore)  # the rules read them
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    path.mkdir(parents=True)
    for pkg in ("theory", "simulate", "compare"):
        (path / pkg).symlink_to(repo / pkg, target_is_directory=True)
    return repo, path.parent


def _run(args, cwd, pythonpath, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(pythonpath), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_guide_adds_a_family_in_five_files_and_one_line(tmp_path):
    files = _blocks("file")
    edits = _blocks("edit")
    assert len(files) == 5 and len({p for p, _ in files}) == 5
    assert len(edits) == 1
    repo, pythonpath = _copy(tmp_path)
    for rel, code in files:
        target = repo / rel
        assert not target.exists(), f"{rel} would overwrite a file of the repository"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    # the registration: the guide's line replaces the one FAMILIES line of the registry
    rel, line = edits[0]
    registry = repo / rel
    before = registry.read_text()
    after = re.sub(r"^FAMILIES = .*$", line.strip(), before, count=1, flags=re.M)
    changed = [a for a, b in zip(after.splitlines(), before.splitlines()) if a != b]
    assert len(changed) == 1 and len(after.splitlines()) == len(before.splitlines())
    registry.write_text(after)

    cli = "import sys; from lowdim.compare.cli import main; sys.exit(main(sys.argv[1:]))"
    out = _run(["-c", cli, "noised", "variance", "--s2", "0.5,2", "--t", "0.1,1",
                "--format", "csv"], repo, pythonpath)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "s2,t,variance" and len(out.stdout.splitlines()) == 5
    out = _run(["-c", cli, "noised", "validate", "--n", "4000"], repo, pythonpath)
    assert out.returncode == 0, out.stdout + out.stderr
    out = _run(["-c", cli, "figures", "--list"], repo, pythonpath)
    assert "noised-variance" in out.stdout, out.stderr
    probe = ("from lowdim.compare.noised import bench_groups; "
             "rows = [r for g in bench_groups(True, 'cpu') for r in g.make()]; "
             "assert rows and rows[0]['ratio'] > 0, rows")
    out = _run(["-c", probe], repo, pythonpath)
    assert out.returncode == 0, out.stderr
    # the family's tests, the boundary rules and the property-test coverage rule, on the copy
    out = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/noised/test_noised.py",
                "tests/engine/test_boundaries.py", "tests/properties/test_property_coverage.py"],
               repo, pythonpath)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
