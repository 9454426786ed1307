"""One native topology for the whole end-to-end session (see topology.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .postgres import pg_bindir
from .topology import native_topology


@pytest.fixture(scope="session")
def topology(tmp_path_factory):
    try:
        pg_bindir()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))  # make e2e was asked for: a missing part is a failure, not a skip
    with native_topology(tmp_path_factory.mktemp("e2e")) as topo:
        yield topo


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Where screenshots go: $AURAL_E2E_ARTIFACTS (CI keeps it), else the session's temp dir."""
    folder = Path(os.environ.get("AURAL_E2E_ARTIFACTS") or tmp_path_factory.mktemp("e2e-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
