"""Step 4, publish: the dataset, its columns and the run's lineage written to the catalog graph (Neo4j), idempotently.

Graph (every node carries `orgId`; Community Neo4j has one database, tenant isolation is that property):
    (:Upload {orgId, id, table, fileName, format, mode})
      -[:LOADED_BY]->(:PipelineRun {orgId, id, dagRunId, mode, finishedAt})
      -[:PRODUCED {deltaVersion}]->(:Dataset {orgId, name, rowCount, deltaVersion, updatedAt,
                                              columnNames, columnTypes, columnNullable})
The Dataset's properties are those `upsertDatasets` of `subgraphs/graph/src/data/datasets.ts` writes (columns as three
parallel lists, `updatedAt` a DATETIME); here `updatedAt` is the Delta commit's time, so a repeated publish writes the
same values.
"""

from __future__ import annotations

from typing import Any

from .lake import FORMATS, MODES, check_bronze_key, check_choice, check_uuid

DATABASE = "neo4j"
"""The database the graph lives in (Community has one user database)."""

CATALOG_SCHEMA = (
    "CREATE CONSTRAINT dataset_org_name_unique IF NOT EXISTS FOR (d:Dataset) REQUIRE (d.orgId, d.name) IS UNIQUE",
    "CREATE CONSTRAINT upload_org_id_unique IF NOT EXISTS FOR (u:Upload) REQUIRE (u.orgId, u.id) IS UNIQUE",
    "CREATE CONSTRAINT pipeline_run_org_id_unique IF NOT EXISTS FOR (r:PipelineRun) REQUIRE (r.orgId, r.id) IS UNIQUE",
)
"""Uniqueness constraints the publish relies on for its MERGEs (composite uniqueness works on Community); the first
is the one `ensureGraphSchema` of the graph subgraph creates."""

_PUBLISH = """
MERGE (d:Dataset {orgId: $orgId, name: $table})
SET d._lock = true
WITH d, coalesce(d.deltaVersion, -1) <= $deltaVersion AS fresh
FOREACH (_ IN CASE WHEN fresh THEN [1] ELSE [] END |
  SET d.rowCount = $rowCount, d.deltaVersion = $deltaVersion, d.updatedAt = datetime($updatedAt),
      d.columnNames = $columnNames, d.columnTypes = $columnTypes, d.columnNullable = $columnNullable)
REMOVE d._lock
MERGE (u:Upload {orgId: $orgId, id: $uploadId})
ON CREATE SET u.mode = $mode
SET u.table = $table, u.fileName = $fileName, u.format = $format
MERGE (r:PipelineRun {orgId: $orgId, id: $runId})
ON CREATE SET r.finishedAt = datetime()
SET r.dagRunId = $dagRunId, r.mode = $mode
MERGE (u)-[:LOADED_BY]->(r)
MERGE (r)-[p:PRODUCED]->(d)
SET p.deltaVersion = $deltaVersion
RETURN fresh
"""


def ensure_catalog_schema(driver: Any) -> None:
    """Creates `CATALOG_SCHEMA` if missing (`IF NOT EXISTS`: a no-op when it, or an equivalent constraint under
    another name, exists). Raises the driver's error when Neo4j is unreachable."""
    for statement in CATALOG_SCHEMA:
        driver.execute_query(statement, database_=DATABASE)


def publish(
    driver: Any,
    *,
    org_id: str,
    table: str,
    upload_id: str,
    bronze_key: str,
    fmt: str,
    mode: str,
    pipeline_run_id: str,
    dag_run_id: str,
    report: dict[str, Any],
) -> dict[str, Any]:
    """Writes the run's dataset and lineage for `report` (the quality step's result) in one transaction of MERGEs.

    The Dataset's properties change only when the run's Delta version is >= the Dataset's current `deltaVersion`
    (the node is locked first, so two concurrent publishes of one table cannot interleave): a late retry of an older
    run does not roll the catalog back, while its Upload, PipelineRun and PRODUCED edge are still recorded.
    `rowCount` is the table's rows at that version (`report["row_count"]`).

    Returns the publish task's XCom: `{"dataset": table, "delta_version": int, "catalog_updated": bool}` (whether the
    Dataset's properties were written). Raises PipelineError INVALID_PARAMS or BAD_KEY for bad parameters; the
    driver's errors (Neo4j unreachable: transient) propagate.
    """
    file_name = check_bronze_key(bronze_key, org_id, table, upload_id)
    check_uuid(pipeline_run_id, "pipeline_run_id")
    check_choice(fmt, FORMATS, "format")
    check_choice(mode, MODES, "mode")
    version = int(report["delta_version"])
    columns = report["columns"]
    ensure_catalog_schema(driver)
    records, _, _ = driver.execute_query(
        _PUBLISH,
        {
            "orgId": org_id,
            "table": table,
            "uploadId": upload_id,
            "fileName": file_name,
            "format": fmt,
            "mode": mode,
            "runId": pipeline_run_id,
            "dagRunId": dag_run_id,
            "deltaVersion": version,
            "rowCount": int(report["row_count"]),
            "updatedAt": report["committed_at"],
            "columnNames": [c["name"] for c in columns],
            "columnTypes": [c["type"] for c in columns],
            "columnNullable": [bool(c["nullable"]) for c in columns],
        },
        database_=DATABASE,
    )
    return {"dataset": table, "delta_version": version, "catalog_updated": bool(records[0]["fresh"])}
