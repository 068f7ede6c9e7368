"""The ingest pipeline without Airflow, for tests and debugging: the same four steps the `datapilot_ingest` DAG runs
(`datapilot_pipeline.steps`), in order, in this process.

    pipeline.py stage --org <uuid> --table <name> --file <path> [--upload-id <uuid>] [--name <stored file name>]
        puts a local file at bronze/org=<org>/<table>/<upload id>/<name> (boto3) and prints
        {"bronze_key", "size_bytes", "upload_id"}.
    pipeline.py run --org <uuid> --table <name> --upload-id <uuid> --key <bronze key> --format CSV|JSON|NDJSON|PARQUET
                    --size-bytes <n> [--mode OVERWRITE|APPEND] [--run-id <uuid>] [--max-bad-records <n>]
        runs validate, load, quality and publish, and prints the quality report (the quality task's XCom) as JSON.
    pipeline.py profile --org <uuid> --table <name>
        profiles the current version of the org's gold table and writes only its semantic layer to the catalog graph
        (the Dataset's basic properties, Column nodes, references; no lineage), for tables written to Delta outside
        the pipeline; prints the profile's summary (`profile.profile_summary`, plus "catalog_updated" and
        "references") as JSON.

Settings from the environment as for the DAG's tasks (`datapilot_pipeline.config`). Progress as JSON log lines
(`{"time", "level", "service": "pipeline", "msg", ...}`) on stderr. Exit 0 done, 2 a failure the user must fix
(the log line carries its `code` and `message`), 1 any other failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "dags"))

from datapilot_pipeline import steps  # noqa: E402
from datapilot_pipeline.config import lake_bucket_from_env, s3_client, s3_settings_from_env  # noqa: E402
from datapilot_pipeline.errors import PipelineError  # noqa: E402
from datapilot_pipeline.lake import FORMATS, MODES, bronze_upload_prefix, check_bronze_key  # noqa: E402
from datapilot_pipeline.profile import profile_summary  # noqa: E402


def log(msg: str, level: str = "info", **fields: Any) -> None:
    """One JSON log line on stderr, in the shape of `@datapilot/common` createLogger."""
    line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    line.update(level=level, service="pipeline", msg=msg, **fields)
    print(json.dumps(line), file=sys.stderr, flush=True)


def stage_file(
    s3: Any, *, bucket: str, org_id: str, table: str, upload_id: str, path: str, file_name: str | None = None
) -> dict[str, Any]:
    """Puts the local file `path` at `bronze/org=<org_id>/<table>/<upload_id>/<file_name>` (default: its base name)
    in `bucket`, replacing what is there. Returns `{"bronze_key", "size_bytes", "upload_id"}`.

    Raises PipelineError INVALID_PARAMS / BAD_KEY for bad ids or a refused file name; OSError for an unreadable file;
    boto3's errors.
    """
    key = bronze_upload_prefix(org_id, table, upload_id) + (file_name or os.path.basename(path))
    check_bronze_key(key, org_id, table, upload_id)
    # boto3 signs the payload over http, and S3Proxy then holds a single PUT in its heap (a 46 MB PUT ran out of its
    # 128 MiB): upload_file sends files over 8 MiB as a multipart upload of 8 MiB parts.
    s3.upload_file(path, bucket, key)
    return {"bronze_key": key, "size_bytes": os.path.getsize(path), "upload_id": upload_id}


def run(params: dict[str, Any], dag_run_id: str) -> dict[str, Any]:
    """Runs the four steps for `params` (the DAG's params) and returns `{"validate", "load", "quality", "publish"}`,
    each step's result. Raises what the steps raise (PipelineError for a failure the user must fix)."""
    results: dict[str, Any] = {}
    started = time.monotonic()
    results["validate"] = steps.validate_step(params)
    log("validated", **results["validate"])
    results["load"] = steps.load_step(params)
    load = results["load"]
    log(
        "loaded",
        delta_version=load["delta_version"],
        rows_written=load["rows_written"],
        rows_rejected=load["rows_rejected"],
    )
    results["quality"] = steps.quality_step(params, load)
    log("quality", row_count=results["quality"]["row_count"])
    results["publish"] = steps.publish_step(params, results["quality"], dag_run_id)
    log("published", ms=round((time.monotonic() - started) * 1000), **results["publish"])
    return results


def main(argv: list[str] | None = None) -> int:
    """The CLI (module doc)."""
    parser = argparse.ArgumentParser(description="DataPilot ingest pipeline without Airflow.")
    sub = parser.add_subparsers(dest="command", required=True)
    stage = sub.add_parser("stage", help="put a local file into an org's bronze prefix")
    stage.add_argument("--org", required=True)
    stage.add_argument("--table", required=True)
    stage.add_argument("--file", required=True)
    stage.add_argument("--upload-id", default=None, help="default: a new UUID")
    stage.add_argument("--name", default=None, help="stored file name (default: the file's base name)")
    go = sub.add_parser("run", help="validate, load, quality, publish one bronze object")
    go.add_argument("--org", required=True)
    go.add_argument("--table", required=True)
    go.add_argument("--upload-id", required=True)
    go.add_argument("--key", required=True, help="the bronze key")
    go.add_argument("--format", required=True, choices=FORMATS)
    go.add_argument("--size-bytes", required=True, type=int)
    go.add_argument("--mode", default="OVERWRITE", choices=MODES)
    go.add_argument("--run-id", default=None, help="pipeline run id (default: a new UUID)")
    go.add_argument("--max-bad-records", default=0, type=int)
    prof = sub.add_parser("profile", help="write the semantic layer of a gold table already in the lake")
    prof.add_argument("--org", required=True)
    prof.add_argument("--table", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "profile":
            started = time.monotonic()
            profile, written = steps.profile_step(args.org, args.table)
            summary = {**profile_summary(profile), **{k: written[k] for k in ("catalog_updated", "references")}}
            log("profiled", ms=round((time.monotonic() - started) * 1000), dataset=args.table)
            print(json.dumps(summary), flush=True)
            return 0
        if args.command == "stage":
            result = stage_file(
                s3_client(s3_settings_from_env()),
                bucket=lake_bucket_from_env(),
                org_id=args.org,
                table=args.table,
                upload_id=args.upload_id or str(uuid.uuid4()),
                path=args.file,
                file_name=args.name,
            )
            print(json.dumps(result), flush=True)
            return 0
        run_id = args.run_id or str(uuid.uuid4())
        params = {
            "org_id": args.org,
            "table": args.table,
            "upload_id": args.upload_id,
            "pipeline_run_id": run_id,
            "bronze_key": args.key,
            "format": args.format,
            "mode": args.mode,
            "size_bytes": args.size_bytes,
            "max_bad_records": args.max_bad_records,
        }
        print(json.dumps(run(params, dag_run_id=f"cli__{run_id}")["quality"]), flush=True)
        return 0
    except PipelineError as e:
        log("refused", level="error", code=e.code, message=e.message)
        return 2
    except Exception as e:  # noqa: BLE001 - the CLI reports every failure as one log line and exit 1
        log("pipeline failed", level="error", error=f"{type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
