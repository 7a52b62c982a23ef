import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# generated cases per property test: "ci" by default, "thorough" with
# --hypothesis-profile=thorough (tests/test_properties.py)
settings.register_profile("ci", max_examples=25, deadline=None,
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
