"""Shared pytest fixtures of the Python side (spark-apps/tests, orchestration/tests).

Spark: the Spark Connect server named by SPARK_REMOTE (e.g. `sc://127.0.0.1:15002`) when set, else a local
Spark with the Delta jars of `.local/jars/delta`, started once per test run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO_ROOT / "orchestration"))
sys.path.insert(0, str(REPO_ROOT / "spark-apps"))


@pytest.fixture(scope="session")
def spark():
    """A Spark session with Delta and UTC session time (Spark Connect via SPARK_REMOTE, or local)."""
    from spark_session import get_spark

    remote = os.environ.get("SPARK_REMOTE")
    session = get_spark(remote, app_name="datapilot-tests")
    yield session
    if remote:
        session.stop()
