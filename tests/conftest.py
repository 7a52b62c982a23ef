import os
import sys
from pathlib import Path

# `python -m pytest` puts the checkout first on sys.path, where theory/, simulate/ and
# compare/ would import under their folder names; the tests import what the install
# provides (lowdim.theory, lowdim.simulate, lowdim.compare) and nothing else
_ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT]
# the tests are grouped in folders (one per family, the engine, shared theory, the property
# contract); their shared helpers (_props.py, _repro_probe.py) sit here
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# generated cases per property test: "ci" by default (the same 25 cases every run, so a CI
# result does not depend on luck), "thorough" with --hypothesis-profile=thorough (400 fresh
# cases each run: the slow job explores; tests/properties/test_thorough.py)
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _threads():
    try:
        import torch

        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    except ImportError:  # pragma: no cover
        pass
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
