"""The property tests at the ``thorough`` Hypothesis profile (400 generated cases per entry
point instead of CI's 25), as one slow job:
``python -m pytest -m slow tests/properties/test_thorough.py``.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_property_tests_pass_at_the_thorough_profile():
    files = sorted(str(p) for p in HERE.glob("test_properties*.py"))
    assert len(files) >= 1
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "--hypothesis-profile=thorough", "--hypothesis-show-statistics",
                          *files], cwd=HERE.parents[1], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
