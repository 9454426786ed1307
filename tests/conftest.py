"""Test isolation: Prefect state, results and caches live in a temp dir per session."""

import os
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="aural-prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = os.path.join(_PREFECT_HOME, "storage")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

SR = 22050


@pytest.fixture(scope="session")
def prefect_harness():
    """One real, temporary Prefect server (SQLite) for every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
