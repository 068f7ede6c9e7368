"""Settings from the environment and the clients built from them; only entry points (the DAG's tasks, the CLI,
test fixtures) call the `*_from_env` functions, and pass what they get to the library's functions.

Variables (all required where used; a missing or bad one raises `ConfigError` naming it):
- `LAKE_BUCKET`: the lake's bucket (bronze and gold prefixes).
- `S3_ENDPOINT` (e.g. `http://127.0.0.1:9000`), `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`: the object
  store, addressed path-style (S3Proxy needs it). Only tasks that read object heads (validate) and the CLI's
  `stage` use them; Spark has its own S3A credentials on the server (`spark.hadoop.fs.s3a.*`).
- `SPARK_REMOTE`: the Spark Connect server, `sc://host:port`.
- `NEO4J_URI`, `NEO4J_USER` (default `neo4j`), `NEO4J_PASSWORD`: the catalog graph.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .lake import check_bucket


class ConfigError(RuntimeError):
    """A required environment variable is missing or malformed; the message names it."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


@dataclass(frozen=True)
class S3Settings:
    """Where and how to reach the object store (path-style addressing)."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"S3Settings(endpoint={self.endpoint!r}, region={self.region!r}, access_key_id=***)"


@dataclass(frozen=True)
class Neo4jSettings:
    """Bolt URI and credentials of the catalog graph."""

    uri: str
    user: str
    password: str

    def __repr__(self) -> str:
        return f"Neo4jSettings(uri={self.uri!r}, user={self.user!r}, password=***)"


def lake_bucket_from_env(env: Mapping[str, str] = os.environ) -> str:
    """`LAKE_BUCKET`, checked as an S3 bucket name. Raises ConfigError."""
    try:
        return check_bucket(_required(env, "LAKE_BUCKET"))
    except ValueError as e:
        raise ConfigError(str(e)) from e


def s3_settings_from_env(env: Mapping[str, str] = os.environ) -> S3Settings:
    """`S3_ENDPOINT`, `S3_REGION`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`. Raises ConfigError."""
    endpoint = _required(env, "S3_ENDPOINT")
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError("S3_ENDPOINT must be an http:// or https:// URL")
    return S3Settings(
        endpoint=endpoint,
        region=_required(env, "S3_REGION"),
        access_key_id=_required(env, "S3_ACCESS_KEY_ID"),
        secret_access_key=_required(env, "S3_SECRET_ACCESS_KEY"),
    )


def spark_remote_from_env(env: Mapping[str, str] = os.environ) -> str:
    """`SPARK_REMOTE` (`sc://host:port`). Raises ConfigError."""
    remote = _required(env, "SPARK_REMOTE")
    if not remote.startswith("sc://"):
        raise ConfigError("SPARK_REMOTE must be a Spark Connect URL, sc://host:port")
    return remote


def neo4j_settings_from_env(env: Mapping[str, str] = os.environ) -> Neo4jSettings:
    """`NEO4J_URI`, `NEO4J_USER` (default `neo4j`), `NEO4J_PASSWORD`. Raises ConfigError."""
    return Neo4jSettings(
        uri=_required(env, "NEO4J_URI"),
        user=env.get("NEO4J_USER", "").strip() or "neo4j",
        password=_required(env, "NEO4J_PASSWORD"),
    )


def s3_client(settings: S3Settings) -> Any:
    """A boto3 S3 client for `settings`: path-style addressing, checksums only where S3 requires them (S3Proxy
    does not check the CRC trailers recent SDKs add by default), 5 s connect / 60 s read timeouts, 3 attempts."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=settings.region,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


@contextmanager
def spark_session(remote: str) -> Iterator[Any]:
    """A NEW Spark Connect session on `remote` for the block (its own SQL conf and temporary views), stopped after,
    which releases it on the server. Nothing runs locally: the tasks only build plans; the server does the work."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(remote).create()
    try:
        yield spark
    finally:
        spark.stop()


@contextmanager
def neo4j_driver(settings: Neo4jSettings) -> Iterator[Any]:
    """A Neo4j driver for the block, closed after. Raises the driver's error when Neo4j is unreachable."""
    import neo4j

    driver = neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password))
    try:
        yield driver
    finally:
        driver.close()
