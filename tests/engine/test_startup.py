"""Start-up cost: a theory-only command imports neither torch, nor the simulations, nor
matplotlib, nor another family's theory, nor the slow SciPy modules it does not use.  Each
case runs in a fresh interpreter (the test process has everything imported already)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Never needed by a theory-only action (pandas and xarray only by to_pandas / to_xarray).
ALWAYS_ABSENT = ("torch", "lowdim.simulate", "matplotlib", "sklearn", "dask", "pandas",
                 "xarray")

CASES = {
    "rf curve": (["rf", "curve", "--m", "1,4,inf", "--psi-n", "2", "--psi-p", "0.5,2"],
                 ("scipy.integrate", "scipy.optimize", "scipy.special", "scipy.stats",
                  "lowdim.theory.sampling", "lowdim.theory.molrg")),
    "sampling bound": (["sampling", "bound", "--grid", "edm,geometric", "--steps", "18,100",
                        "--d", "10", "--data-variance", "0.25"],
                       ("scipy.integrate", "scipy.optimize", "scipy.interpolate", "scipy.stats",
                        "lowdim.theory.rf", "lowdim.theory.molrmog")),
    "molrmog bound": (["molrmog", "bound", "--n-modes", "4,4", "--dims", "4,4", "--n", "1000",
                       "--t", "0.1,1", "--R", "5"],
                      ("scipy.integrate", "scipy.optimize", "scipy.stats", "lowdim.theory.rf",
                       "lowdim.theory.sampling", "lowdim.theory.molrg")),
    "localized radius": (["localized", "radius", "--d", "16", "--n", "64", "--steps", "20"],
                         ("scipy.integrate", "scipy.stats", "lowdim.theory.molrg",
                          "lowdim.theory.molrmog")),
}

_PROBE = """
import contextlib, io, json, sys
import lowdim.compare.cli
with contextlib.redirect_stdout(io.StringIO()):
    code = lowdim.compare.cli.main(json.loads(sys.argv[1]))
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("name", sorted(CASES))
def test_theory_command_imports_only_what_it_needs(name):
    argv, absent = CASES[name]
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["code"] == 0, out.stderr
    loaded = set(got["modules"])
    for top in ALWAYS_ABSENT + absent:
        assert top not in loaded, f"lowdim {name} imported {top}"


def test_lazy_module_imports_at_first_attribute():
    probe = ("import sys; from lowdim.compare._lazy import LazyModule; m = LazyModule('fractions'); "
             "a = 'fractions' in sys.modules; r = repr(m); f = m.Fraction(1, 3); "
             "print(a, 'not yet' in r, 'fractions' in sys.modules, f == m.Fraction(2, 6))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stderr
