"""Step 3, quality: the data-quality report of the version a load committed, read back from the gold table by time
travel (`versionAsOf`), so it describes exactly what the run produced. Read only, so idempotent.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from .bronze_to_gold import describe_columns
from .lake import gold_key, s3a_uri


def quality_report(
    spark: SparkSession, *, bucket: str, org_id: str, table: str, load: dict[str, Any]
) -> dict[str, Any]:
    """The report of the load `load` (the load step's result) on the gold table `s3a://<bucket>/gold/org=<org_id>/
    <table>`, computed by one Spark job over the table at `load["delta_version"]`.

    Returns the quality task's XCom: `{"delta_version": int, "committed_at": str, "row_count": int (rows of the table
    at that version: for APPEND, earlier rows included), "rows_read", "rows_written", "rows_rejected": int (from the
    load), "null_counts": {column: int} (nulls per column of the table at that version), "rejected": [...] (from the
    load), "columns": [{"name", "type", "nullable"}]}`.

    Raises PipelineError INVALID_PARAMS for a bad org or table; Spark errors propagate (transient: retry).
    """
    target = s3a_uri(bucket, gold_key(org_id, table))
    version = int(load["delta_version"])
    df = spark.read.format("delta").option("versionAsOf", version).load(target)
    names = df.columns
    aggs = [F.count(F.lit(1)).alias("rows")] + [
        F.count_if(F.col("`" + c.replace("`", "``") + "`").isNull()).alias(f"n{i}") for i, c in enumerate(names)
    ]
    counts = df.agg(*aggs).first()
    return {
        "delta_version": version,
        "committed_at": load["committed_at"],
        "row_count": int(counts["rows"]),
        "rows_read": int(load["rows_read"]),
        "rows_written": int(load["rows_written"]),
        "rows_rejected": int(load["rows_rejected"]),
        "null_counts": {c: int(counts[f"n{i}"]) for i, c in enumerate(names)},
        "rejected": list(load["rejected"]),
        "columns": describe_columns(df.schema),
    }
