"""The four steps as the DAG's tasks and the CLI run them: each reads its settings from the environment (`config`),
takes the run's parameters (the DAG's `params`, a dict), calls the library and returns its JSON result; and
`profile_step`, the semantic layer of a table already in the lake (the CLI's `profile`).

`run_step` is the Airflow side of the error contract (`errors`): a `PipelineError` pushes the XCom `datapilot_error`
and fails the task at once (`AirflowFailException`: no retry); any other error is re-raised for Airflow to retry, and
pushes `datapilot_error` only on the task's last try.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .bronze_to_gold import load
from .config import (
    lake_bucket_from_env,
    neo4j_driver,
    neo4j_settings_from_env,
    s3_client,
    s3_settings_from_env,
    spark_remote_from_env,
    spark_session,
)
from .errors import PipelineError, failure_xcom
from .profile import current_version, profile_table
from .publish import publish, publish_profile
from .quality import quality_report
from .validate import validate_upload

ERROR_XCOM_KEY = "datapilot_error"
"""XCom key of a failure the user can act on (`subgraphs/lake/src/runs/pipeline.ts` reads it)."""


def _upload(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "org_id": params["org_id"],
        "table": params["table"],
        "upload_id": params["upload_id"],
        "bronze_key": params["bronze_key"],
    }


def validate_step(params: Mapping[str, Any]) -> dict[str, Any]:
    """`validate.validate_upload` for the run `params` (env: LAKE_BUCKET, S3_*). Returns `{"format", "size_bytes"}`."""
    s3 = s3_client(s3_settings_from_env())
    return validate_upload(
        s3, bucket=lake_bucket_from_env(), fmt=params["format"], size_bytes=params["size_bytes"], **_upload(params)
    )


def load_step(params: Mapping[str, Any]) -> dict[str, Any]:
    """`bronze_to_gold.load` for the run `params` on a new Spark Connect session (env: LAKE_BUCKET, SPARK_REMOTE)."""
    bucket = lake_bucket_from_env()
    with spark_session(spark_remote_from_env()) as spark:
        return load(
            spark,
            bucket=bucket,
            fmt=params["format"],
            mode=params["mode"],
            pipeline_run_id=params["pipeline_run_id"],
            max_bad_records=params.get("max_bad_records", 0),
            **_upload(params),
        )


def quality_step(params: Mapping[str, Any], load_result: Mapping[str, Any]) -> dict[str, Any]:
    """`quality.quality_report` of `load_result` (env: LAKE_BUCKET, SPARK_REMOTE)."""
    bucket = lake_bucket_from_env()
    with spark_session(spark_remote_from_env()) as spark:
        return quality_report(
            spark, bucket=bucket, org_id=params["org_id"], table=params["table"], load=dict(load_result)
        )


def publish_step(params: Mapping[str, Any], report: Mapping[str, Any], dag_run_id: str) -> dict[str, Any]:
    """`profile.profile_table` of the version `report` describes (2 Spark jobs), then `publish.publish` of `report`
    with that profile: lineage, Dataset and semantic layer in one Neo4j transaction (env: NEO4J_URI, NEO4J_USER,
    NEO4J_PASSWORD, LAKE_BUCKET, SPARK_REMOTE). The profile is computed here rather than in a task of its own so that
    no XCom carries its value lists and the DAG keeps its four tasks."""
    settings = neo4j_settings_from_env()
    bucket = lake_bucket_from_env()
    with spark_session(spark_remote_from_env()) as spark:
        profile = profile_table(
            spark,
            bucket=bucket,
            org_id=params["org_id"],
            table=params["table"],
            delta_version=int(report["delta_version"]),
        )
    with neo4j_driver(settings) as driver:
        return publish(
            driver,
            fmt=params["format"],
            mode=params["mode"],
            pipeline_run_id=params["pipeline_run_id"],
            dag_run_id=dag_run_id,
            report=dict(report),
            profile=profile,
            **_upload(params),
        )


def profile_step(org_id: str, table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The semantic layer of the current version of the gold table `table` of `org_id`, profiled on Spark and written
    with `publish.publish_profile` (env: LAKE_BUCKET, SPARK_REMOTE, NEO4J_*). Returns (the profile, the write's
    result). Raises PipelineError INVALID_PARAMS / OBJECT_MISSING (no such table); service errors propagate."""
    settings = neo4j_settings_from_env()
    bucket = lake_bucket_from_env()
    with spark_session(spark_remote_from_env()) as spark:
        version = current_version(spark, bucket=bucket, org_id=org_id, table=table)
        profile = profile_table(
            spark, bucket=bucket, org_id=org_id, table=table, delta_version=version["delta_version"]
        )
    with neo4j_driver(settings) as driver:
        written = publish_profile(
            driver, org_id=org_id, table=table, profile=profile, committed_at=version["committed_at"]
        )
    return profile, written


def run_step(name: str, ti: Any, step: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Runs `step(*args)` as the Airflow task `name` with task instance `ti` (error contract in the module doc).

    Returns the step's result (the task's XCom return value). Raises AirflowFailException for a PipelineError
    (after pushing `{"code", "message"}` under `ERROR_XCOM_KEY`); re-raises anything else, after pushing
    `errors.failure_xcom` when `ti.try_number > ti.max_tries` (no retry left).
    """
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return step(*args)
    except PipelineError as e:
        ti.xcom_push(key=ERROR_XCOM_KEY, value=e.to_xcom())
        raise AirflowFailException(f"{e.code}: {e.message}") from e
    except Exception as e:
        if ti.try_number > ti.max_tries:
            ti.xcom_push(key=ERROR_XCOM_KEY, value=failure_xcom(name, e))
        raise
