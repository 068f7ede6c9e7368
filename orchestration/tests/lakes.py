"""Helpers of the ingest tests: `Lake` uploads bytes to a bucket and runs the library's steps on them (validate,
load, quality) as the DAG does, with the real S3Proxy and Spark Connect over s3a."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datapilot_pipeline.bronze_to_gold import load
from datapilot_pipeline.lake import bronze_upload_prefix, gold_key, s3a_uri
from datapilot_pipeline.quality import quality_report
from datapilot_pipeline.validate import validate_upload

DATA_DIR = Path(__file__).resolve().parents[2] / "node_modules" / "vega-datasets" / "data"
"""The vega-datasets files (npm package `vega-datasets`)."""


@dataclass
class Upload:
    """One object put in bronze: its upload id, key and size in bytes."""

    upload_id: str
    key: str
    size: int


@dataclass
class Lake:
    """The module's bucket with a Spark session and an S3 client; one org per Lake."""

    spark: Any
    s3: Any
    bucket: str
    org_id: str

    def upload(self, table: str, data: bytes, name: str = "data.csv") -> Upload:
        """Puts `data` at bronze/org=<org>/<table>/<new upload id>/<name>."""
        upload_id = str(uuid.uuid4())
        key = bronze_upload_prefix(self.org_id, table, upload_id) + name
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        return Upload(upload_id, key, len(data))

    def ingest(
        self,
        table: str,
        upload: Upload,
        fmt: str,
        mode: str = "OVERWRITE",
        run_id: str | None = None,
        max_bad_records: int = 0,
        size: int | None = None,
    ) -> dict[str, Any]:
        """validate, load, quality for `upload` (the announced size defaults to the real one); returns each result."""
        ids = {"org_id": self.org_id, "table": table, "upload_id": upload.upload_id, "bronze_key": upload.key}
        checked = validate_upload(self.s3, bucket=self.bucket, fmt=fmt, size_bytes=size or upload.size, **ids)
        loaded = load(
            self.spark,
            bucket=self.bucket,
            fmt=fmt,
            mode=mode,
            pipeline_run_id=run_id or str(uuid.uuid4()),
            max_bad_records=max_bad_records,
            **ids,
        )
        report = quality_report(self.spark, bucket=self.bucket, org_id=self.org_id, table=table, load=loaded)
        return {"validate": checked, "load": loaded, "quality": report}

    def gold_uri(self, table: str) -> str:
        return s3a_uri(self.bucket, gold_key(self.org_id, table))

    def gold(self, table: str, version: int | None = None) -> Any:
        """The gold table (at `version` when given) as a DataFrame."""
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.gold_uri(table))

    def versions(self, table: str) -> list[int]:
        """The table's Delta versions, oldest first."""
        rows = self.spark.sql(f"DESCRIBE HISTORY delta.`{self.gold_uri(table)}`").select("version").collect()
        return sorted(r[0] for r in rows)
