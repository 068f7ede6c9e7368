"""Fixtures of the ingest tests (helpers in `lakes.py`)."""

from __future__ import annotations

import uuid

import pytest
from lakes import Lake


@pytest.fixture(scope="module")
def lake(spark, s3, bucket) -> Lake:
    """A Lake on the module's bucket for a new org."""
    return Lake(spark, s3, bucket, str(uuid.uuid4()))
