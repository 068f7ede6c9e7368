"""Shared pytest fixtures of the Python side (orchestration/tests, spark-apps).

The tests run against real services named by the environment (the variables of the README, as
`test/global-setup.ts` sets them for the Node tests; CI sets them for pytest too):
- object store: `S3_ENDPOINT`, `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY` (unset: the tests that need it
  are skipped, saying so). Each test module gets a bucket of its own (`bucket`), removed after.
- Spark: the Spark Connect server named by SPARK_REMOTE (e.g. `sc://127.0.0.1:15002`), whose S3A settings reach the
  same store; unset, a local Spark with the Delta and s3a jars of `.local/jars/delta`, started once per test run.
- Neo4j: `NEO4J_URI`, `NEO4J_USER` (default `neo4j`), `NEO4J_PASSWORD` (unset: skipped, saying so).
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO_ROOT / "orchestration"))
sys.path.insert(0, str(REPO_ROOT / "orchestration" / "dags"))
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


@pytest.fixture(scope="session")
def s3_settings():
    """The object store's settings from the environment; skips the test when S3_ENDPOINT is unset."""
    from datapilot_pipeline.config import s3_settings_from_env

    if not os.environ.get("S3_ENDPOINT"):
        pytest.skip("S3_ENDPOINT is not set: start S3Proxy (npx tsx infra/s3/cli.ts start) and export S3_*")
    return s3_settings_from_env()


@pytest.fixture(scope="session")
def s3(s3_settings):
    """A boto3 S3 client of the object store (path-style)."""
    from datapilot_pipeline.config import s3_client

    return s3_client(s3_settings)


@pytest.fixture(scope="module")
def bucket(s3):
    """A new, empty bucket for the test module (`dp-test-<random>`), deleted with its objects after."""
    name = f"dp-test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def neo4j_driver():
    """A Neo4j driver from NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD; skips the test when NEO4J_URI is unset."""
    from datapilot_pipeline.config import neo4j_driver as open_driver
    from datapilot_pipeline.config import neo4j_settings_from_env

    if not os.environ.get("NEO4J_URI"):
        pytest.skip("NEO4J_URI is not set: start Neo4j (npx tsx infra/neo4j/cli.ts start) and export NEO4J_*")
    with open_driver(neo4j_settings_from_env()) as driver:
        yield driver
