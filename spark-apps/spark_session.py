"""Spark sessions for DataPilot's Python jobs: a Spark Connect client, or a local Spark with Delta and s3a.

The Delta and s3a jars (hadoop-aws with the AWS SDK v2 modules it uses) are the ones `infra/spark` resolves
with Maven into `<repo>/.local/jars/delta`; only those whose artifact name pyspark's own `jars/` directory
lacks are handed to Spark (the same rule as `infra/spark/paths.ts` `deltaJarsToPass`), so no library is on the
classpath twice in two versions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from pyspark.sql import SparkSession

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The repository root (this file lives in `<repo>/spark-apps/`)."""

DEFAULT_JARS_DIR = REPO_ROOT / ".local" / "jars" / "delta"
"""Where `tsx infra/spark/cli.ts setup` puts the Delta jars."""

# `delta-spark_4.1_2.13-4.4.0.jar` -> artifact `delta-spark_4.1_2.13`; `zstd-jni-1.5.7-3.jar` -> `zstd-jni`.
_JAR_NAME = re.compile(r"^(?P<artifact>.+?)-(?P<version>\d[^/]*)\.jar$")

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
}
"""Session settings every DataPilot job runs with (also the server-wide defaults `infra/spark` starts Spark
Connect with); small shuffles because the data is small and the machine has 2 cores."""


def jar_artifact(file_name: str) -> str | None:
    """The Maven artifact name of a jar file (`delta-storage-4.4.0.jar` -> `delta-storage`); None if unversioned."""
    m = _JAR_NAME.match(file_name)
    return m.group("artifact") if m else None


def pyspark_jars_dir() -> Path:
    """The `jars/` directory of the installed pyspark package (Spark's own classpath)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def delta_jars(jars_dir: Path | None = None) -> list[Path]:
    """The Delta jars to hand to Spark: those in `jars_dir` whose artifact name is not in pyspark's `jars/`.

    Raises FileNotFoundError (naming the setup command) when the Delta jars have not been resolved.
    """
    jars_dir = jars_dir or DEFAULT_JARS_DIR
    present = sorted(jars_dir.glob("delta-spark_*.jar")) if jars_dir.is_dir() else []
    if not present:
        raise FileNotFoundError(f"No Delta jars in {jars_dir}: run `npx tsx infra/spark/cli.ts setup` first.")
    bundled = {jar_artifact(p.name) for p in pyspark_jars_dir().glob("*.jar")}
    return sorted(p for p in jars_dir.glob("*.jar") if jar_artifact(p.name) not in bundled)


def s3a_conf(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Spark confs that let s3a reach the lake's S3-compatible store, from the variables of the README.

    Reads `S3_ENDPOINT` (`http(s)://host:port`), `S3_REGION` (default `us-east-1`), `S3_ACCESS_KEY_ID` and
    `S3_SECRET_ACCESS_KEY` from `env` (default `os.environ`); returns {} when `S3_ENDPOINT` is unset. Each key is
    `spark.hadoop.fs.s3a.<name>`: `endpoint`, `endpoint.region`, `path.style.access=true`,
    `connection.ssl.enabled` (true for https), `aws.credentials.provider=...SimpleAWSCredentialsProvider` (the two
    keys only), `access.key`, `secret.key`: the same settings as `infra/spark/connect-server.ts` `s3aConf`.

    Raises ValueError when `S3_ENDPOINT` is not an http(s) URL or a key is missing.
    """
    env = os.environ if env is None else env
    endpoint = env.get("S3_ENDPOINT")
    if not endpoint:
        return {}
    scheme = urlsplit(endpoint).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"S3_ENDPOINT must be http(s)://host:port, got {endpoint!r}")
    missing = [k for k in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY") if not env.get(k)]
    if missing:
        raise ValueError(f"S3_ENDPOINT is set but {' and '.join(missing)} is not")
    p = "spark.hadoop.fs.s3a."
    return {
        f"{p}endpoint": endpoint,
        f"{p}endpoint.region": env.get("S3_REGION") or "us-east-1",
        f"{p}path.style.access": "true",
        f"{p}connection.ssl.enabled": str(scheme == "https").lower(),
        f"{p}aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        f"{p}access.key": env["S3_ACCESS_KEY_ID"],
        f"{p}secret.key": env["S3_SECRET_ACCESS_KEY"],
    }


def get_spark(remote: str | None = None, app_name: str = "datapilot") -> SparkSession:
    """A Spark session with Delta and DataPilot's session settings (UTC, deletion vectors off by default).

    - `remote` given (`sc://host:port`): a NEW Spark Connect session on that server (its own SQL conf and
      temporary views); the caller stops it with `spark.stop()`, which releases the server-side session. The
      server has its own S3 settings (`infra/spark` starts it with them).
    - `remote` None: the process's local Spark (`local[2]`, 2 GiB driver, Delta and s3a jars from
      `.local/jars/delta`, the s3a settings of `s3a_conf()` when S3_ENDPOINT is set), created on first use and
      shared by later calls (`getOrCreate`, which keeps the first call's settings).
    """
    if remote:
        spark = SparkSession.builder.remote(remote).create()
        for key, value in SESSION_CONF.items():
            spark.conf.set(key, value)
        return spark
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("SPARK_LOCAL_DIRS", str(REPO_ROOT / ".local" / "spark" / "local" / "tmp"))
    state = REPO_ROOT / ".local" / "spark" / "local"
    state.mkdir(parents=True, exist_ok=True)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.jars", ",".join(str(p) for p in delta_jars()))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.warehouse.dir", str(state / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={state / 'derby'}")
        .config("spark.ui.enabled", "false")
    )
    for key, value in {**SESSION_CONF, **s3a_conf()}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
