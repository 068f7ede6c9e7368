"""`datapilot_ingest`: loads one uploaded file of an organization into its gold Delta table and the catalog graph.

Triggered only by the lake subgraph (no schedule), with the DAG run id `datapilot__<pipeline_run_id>` so that a
repeated trigger is refused (409) instead of starting a second run. Its `conf` is checked at trigger time against
the typed `Param`s below (a bad conf answers 400); `validate` then checks what a Param cannot (the key's place).

Tasks, in order: `validate` -> `load` -> `quality` -> `publish` (library: `datapilot_pipeline`, beside this file);
`publish` profiles the version written on Spark (`datapilot_pipeline.profile`) and writes lineage, Dataset and the
semantic layer (Column nodes, references) in one Neo4j transaction.
Each is idempotent; a transient failure (Spark, S3 or Neo4j unreachable) retries with exponential backoff, a failure
the user must fix fails at once and leaves `{"code", "message"}` under the XCom key `datapilot_error`.
XCom return values:
- validate: `{"format", "size_bytes"}`
- load: `{"delta_version", "committed_at", "rows_read", "rows_written", "rows_rejected", "rejected", "columns"}`
- quality: `{"delta_version", "committed_at", "row_count", "rows_read", "rows_written", "rows_rejected",
  "null_counts", "rejected", "columns"}`
- publish: `{"dataset", "delta_version", "catalog_updated"}`
Environment of the workers: LAKE_BUCKET, S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY,
SPARK_REMOTE, NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from datapilot_pipeline import steps
from datapilot_pipeline.lake import FORMATS, MAX_BAD_RECORDS_LIMIT, MODES, TABLE_NAME_PATTERN, UUID_PATTERN


def _exact(pattern: str) -> str:
    """`pattern` (anchored with ^...$) for a Param: jsonschema matches with Python's `re.search`, whose `$` also
    matches before a final newline; `(?!\n)` refuses that newline (and means nothing to an ECMA-262 engine)."""
    return pattern + r"(?!\n)"


def _uuid(description: str) -> Param:
    return Param(type="string", pattern=_exact(UUID_PATTERN), maxLength=36, description=description)


PARAMS = {
    "org_id": _uuid("The organization (from the verified token of the upload's creator)."),
    "table": Param(type="string", pattern=_exact(TABLE_NAME_PATTERN), description="Gold table name."),
    "upload_id": _uuid("The upload."),
    "pipeline_run_id": _uuid("The pipeline run: Delta txnAppId and userMetadata of the commit."),
    "bronze_key": Param(
        type="string",
        pattern=r"^bronze/org=",
        maxLength=400,
        description="bronze/org=<org_id>/<table>/<upload_id>/<file name> (checked by validate).",
    ),
    "format": Param(type="string", enum=list(FORMATS), description="Announced file format."),
    "mode": Param(type="string", enum=list(MODES), description="OVERWRITE replaces the table, APPEND adds rows."),
    "size_bytes": Param(type="integer", minimum=1, description="Announced size of the file, in bytes."),
    "max_bad_records": Param(
        0, type="integer", minimum=0, maximum=MAX_BAD_RECORDS_LIMIT, description="Malformed records tolerated."
    ),
}


def _run(name: str, step: Any, *args: Any) -> dict[str, Any]:
    context = get_current_context()
    return steps.run_step(name, context["ti"], step, dict(context["params"]), *args)


@dag(
    dag_id="datapilot_ingest",
    schedule=None,
    catchup=False,
    max_active_runs=4,
    params=PARAMS,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=5),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=1),
    },
    tags=["datapilot"],
    doc_md=__doc__,
)
def datapilot_ingest() -> None:
    @task(multiple_outputs=False)
    def validate() -> dict[str, Any]:
        return _run("validate", steps.validate_step)

    @task(multiple_outputs=False)
    def load() -> dict[str, Any]:
        return _run("load", steps.load_step)

    @task(multiple_outputs=False)
    def quality(load_result: dict[str, Any]) -> dict[str, Any]:
        return _run("quality", steps.quality_step, load_result)

    @task(multiple_outputs=False)
    def publish(report: dict[str, Any]) -> dict[str, Any]:
        return _run("publish", steps.publish_step, report, get_current_context()["run_id"])

    loaded = load()
    validate() >> loaded
    publish(quality(loaded))


datapilot_ingest()
