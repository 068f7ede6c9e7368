"""Step 4, publish: the dataset, its columns and the run's lineage written to the catalog graph (Neo4j), idempotently.

Graph (every node carries `orgId`; Community Neo4j has one database, tenant isolation is that property):
    (:Upload {orgId, id, table, fileName, format, mode})
      -[:LOADED_BY]->(:PipelineRun {orgId, id, dagRunId, mode, finishedAt})
      -[:PRODUCED {deltaVersion}]->(:Dataset {orgId, name, rowCount, deltaVersion, updatedAt,
                                              columnNames, columnTypes, columnNullable})
The Dataset's properties are those `upsertDatasets` of `subgraphs/graph/src/data/datasets.ts` writes (columns as three
parallel lists, `updatedAt` a DATETIME); here `updatedAt` is the Delta commit's time, so a repeated publish writes the
same values.

With a profile (`profile.profile_table` of the same version), the same transaction writes the semantic layer
(/work/coord/CONTRACTS.md section 1), when the version is the Dataset's current one:
    (:Dataset)-[:HAS_COLUMN]->(:Column {orgId, dataset, name, position, type, nullable, distinctCount, nullCount,
        minValue, maxValue, isKey, semanticType, unit, synonyms, sampleValues, valuesComplete, geoKind, aliasNames,
        aliasValues, deltaVersion, edited})
    (:Column)-[:REFERENCES {cardinality, origin: 'PROFILED', coverage}]->(:Column)
Columns are MERGEd on (orgId, dataset, name); a property named in a Column's `edited` list keeps its value (a person
edited it); `description` is never written here, and `Dataset.columnDescriptions` is rewritten from the Columns'
descriptions in `columnNames` order ('' for none); Columns no longer in the table are deleted with their edges.
References are then inferred again for every pair of columns of the organization where the dataset is either side
(`infer_references`): PROFILED ones that touch the dataset are replaced, DEFINED ones (a person's) are never touched,
and no PROFILED edge is added beside a DEFINED one between the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .lake import FORMATS, MODES, check_bronze_key, check_choice, check_table, check_uuid

DATABASE = "neo4j"
"""The database the graph lives in (Community has one user database)."""

CATALOG_SCHEMA = (
    "CREATE CONSTRAINT dataset_org_name_unique IF NOT EXISTS FOR (d:Dataset) REQUIRE (d.orgId, d.name) IS UNIQUE",
    "CREATE CONSTRAINT upload_org_id_unique IF NOT EXISTS FOR (u:Upload) REQUIRE (u.orgId, u.id) IS UNIQUE",
    "CREATE CONSTRAINT pipeline_run_org_id_unique IF NOT EXISTS FOR (r:PipelineRun) REQUIRE (r.orgId, r.id) IS UNIQUE",
    "CREATE CONSTRAINT column_org_dataset_name_unique IF NOT EXISTS "
    "FOR (c:Column) REQUIRE (c.orgId, c.dataset, c.name) IS UNIQUE",
)
"""Uniqueness constraints the publish relies on for its MERGEs (composite uniqueness works on Community); the first
is the one `ensureGraphSchema` of the graph subgraph creates; the last is the Column key of the contract."""

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
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Writes the run's dataset and lineage for `report` (the quality step's result) in one transaction of MERGEs,
    and with `profile` (`profile.profile_table` of the same table and version) the semantic layer (module doc).

    The Dataset's properties change only when the run's Delta version is >= the Dataset's current `deltaVersion`
    (the node is locked first, so two concurrent publishes of one table cannot interleave): a late retry of an older
    run does not roll the catalog back, while its Upload, PipelineRun and PRODUCED edge are still recorded.
    `rowCount` is the table's rows at that version (`report["row_count"]`).

    Returns the publish task's XCom: `{"dataset": table, "delta_version": int, "catalog_updated": bool}` (whether the
    Dataset's properties, and the semantic layer, were written). Raises PipelineError INVALID_PARAMS or BAD_KEY for
    bad parameters, ValueError for a profile of another table or version; the driver's errors (Neo4j unreachable,
    a deadlock between concurrent publishes after the driver's retries: transient) propagate.
    """
    file_name = check_bronze_key(bronze_key, org_id, table, upload_id)
    check_uuid(pipeline_run_id, "pipeline_run_id")
    check_choice(fmt, FORMATS, "format")
    check_choice(mode, MODES, "mode")
    version = int(report["delta_version"])
    columns = report["columns"]
    _check_profile(profile, table, version)
    params = {
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
    }
    ensure_catalog_schema(driver)

    def work(tx: Any) -> tuple[bool, list[dict[str, Any]]]:
        fresh = bool(tx.run(_PUBLISH, params).single()["fresh"])
        references = write_semantic_layer(tx, org_id, table, profile) if fresh and profile is not None else []
        return fresh, references

    with driver.session(database=DATABASE) as session:
        fresh, _ = session.execute_write(work)
    return {"dataset": table, "delta_version": version, "catalog_updated": fresh}


PROFILED_PROPERTIES = (
    "position",
    "type",
    "nullable",
    "distinctCount",
    "nullCount",
    "minValue",
    "maxValue",
    "isKey",
    "semanticType",
    "unit",
    "synonyms",
    "sampleValues",
    "valuesComplete",
    "geoKind",
    "aliasNames",
    "aliasValues",
)
"""The Column properties the profiler writes (besides `deltaVersion`); each keeps its value when named in the
Column's `edited` list. `aliasNames` and `aliasValues` are one parallel pair: an edit of either keeps both."""

_PAIRED = {"aliasNames": ("aliasNames", "aliasValues"), "aliasValues": ("aliasNames", "aliasValues")}


def _kept(prop: str) -> str:
    names = _PAIRED.get(prop, (prop,))
    return " OR ".join(f"'{n}' IN ed" for n in names)


_COLUMNS = (
    """
MATCH (d:Dataset {orgId: $orgId, name: $table})
UNWIND $columns AS col
MERGE (c:Column {orgId: $orgId, dataset: $table, name: col.name})
ON CREATE SET c.edited = []
MERGE (d)-[:HAS_COLUMN]->(c)
WITH c, col, coalesce(c.edited, []) AS ed
SET c.deltaVersion = col.deltaVersion, c.edited = ed,
"""
    + ",\n".join(f"  c.{p} = CASE WHEN {_kept(p)} THEN c.{p} ELSE col.{p} END" for p in PROFILED_PROPERTIES)
    + "\nRETURN count(c) AS n"
)
"""MERGEs the profile's Columns (`$columns`, profile column dicts) of the Dataset `$table`, sparing edited
properties."""

_PRUNE = """
MATCH (c:Column {orgId: $orgId, dataset: $table})
WHERE NOT c.name IN $names
DETACH DELETE c
"""
"""Deletes the Columns of `$table` that are not in `$names` (the table's columns now), with their edges."""

_DESCRIPTIONS = """
MATCH (d:Dataset {orgId: $orgId, name: $table})
OPTIONAL MATCH (d)-[:HAS_COLUMN]->(c:Column {orgId: $orgId})
WITH d, collect(c) AS cs
SET d.columnDescriptions = [n IN coalesce(d.columnNames, []) |
  coalesce(head([c IN cs WHERE c.name = n | c.description]), '')]
"""
"""`Dataset.columnDescriptions`: the Columns' descriptions in `columnNames` order, '' for a column without one."""

_LOCK_ORG = """
MATCH (d:Dataset {orgId: $orgId})
WITH d ORDER BY d.name
SET d._lock = true
REMOVE d._lock
"""
"""Write-locks every Dataset of the org until the transaction ends, so two publishes of one org infer references
one after the other (the second sees the first's columns; concurrent MERGEs could duplicate an edge)."""

INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")

_PAIR = """
WHERE a <> k AND k.isKey AND k.valuesComplete AND a.valuesComplete AND a.distinctCount >= 2
  AND k.distinctCount >= a.distinctCount * $coverage AND a.semanticType <> 'TEXT'
  AND ((a.type = 'string' AND k.type = 'string')
       OR (a.type IN $integers AND k.type IN $integers AND a.semanticType = 'IDENTIFIER'))
RETURN a.dataset AS fromDataset, a.name AS fromColumn, a.isKey AS fromKey, a.sampleValues AS fromValues,
       k.dataset AS toDataset, k.name AS toColumn, k.sampleValues AS toValues
"""
_CANDIDATES = (
    "MATCH (a:Column {orgId: $orgId, dataset: $table}) MATCH (k:Column {orgId: $orgId})"
    + _PAIR
    + "UNION\nMATCH (k:Column {orgId: $orgId, dataset: $table}) MATCH (a:Column {orgId: $orgId})"
    + _PAIR
)
"""Pairs (A, K) of the org's columns where the dataset is either side and a reference is possible (contract section
1): K a key, both value lists complete, |A| >= 2, |K| >= coverage x |A|, both strings, or both integers with A an
identifier; A not free text."""

_REPLACE_REFERENCES = """
MATCH (a:Column {orgId: $orgId})-[r:REFERENCES {origin: 'PROFILED'}]->(k:Column {orgId: $orgId})
WHERE a.dataset = $table OR k.dataset = $table
DELETE r
WITH count(*) AS removed
UNWIND $references AS ref
MATCH (a:Column {orgId: $orgId, dataset: ref.fromDataset, name: ref.fromColumn})
MATCH (k:Column {orgId: $orgId, dataset: ref.toDataset, name: ref.toColumn})
WHERE NOT EXISTS { (a)-[:REFERENCES {origin: 'DEFINED'}]->(k) }
CREATE (a)-[:REFERENCES {cardinality: ref.cardinality, origin: 'PROFILED', coverage: ref.coverage}]->(k)
"""
"""Replaces the PROFILED references touching `$table` with `$references`, never beside a DEFINED one."""

REFERENCE_COVERAGE = 0.95
"""Least share of the referencing column's distinct values found in the key (contract section 1)."""


def infer_references(candidates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The references among `candidates` (rows of `_CANDIDATES`: `fromDataset`, `fromColumn`, `fromKey`,
    `fromValues`, `toDataset`, `toColumn`, `toValues`): those where coverage = |A ∩ K| / |A| >= `REFERENCE_COVERAGE`
    (A's and K's value lists, both complete). Returns `[{"fromDataset", "fromColumn", "toDataset", "toColumn",
    "cardinality": "ONE_TO_ONE" (A is a key) | "MANY_TO_ONE", "coverage": float rounded to 6 places}]`, sorted."""
    found = []
    for c in candidates:
        values = set(c["fromValues"])
        if len(values) < 2:
            continue
        coverage = len(values & set(c["toValues"])) / len(values)
        if coverage >= REFERENCE_COVERAGE:
            found.append(
                {
                    "fromDataset": c["fromDataset"],
                    "fromColumn": c["fromColumn"],
                    "toDataset": c["toDataset"],
                    "toColumn": c["toColumn"],
                    "cardinality": "ONE_TO_ONE" if c["fromKey"] else "MANY_TO_ONE",
                    "coverage": round(coverage, 6),
                }
            )
    return sorted(found, key=lambda r: (r["fromDataset"], r["fromColumn"], r["toDataset"], r["toColumn"]))


def write_semantic_layer(tx: Any, org_id: str, table: str, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """In the transaction `tx`, after the Dataset `table` of `org_id` was written at the profile's version: MERGEs
    its Columns, deletes those gone, rewrites `columnDescriptions`, then replaces the PROFILED references where the
    dataset is either side (module doc). Returns the references written (`infer_references`)."""
    keys = {"orgId": org_id, "table": table}
    columns = profile["columns"]
    tx.run(_COLUMNS, {**keys, "columns": columns}).consume()
    tx.run(_PRUNE, {**keys, "names": [c["name"] for c in columns]}).consume()
    tx.run(_DESCRIPTIONS, keys).consume()
    tx.run(_LOCK_ORG, keys).consume()
    params = {**keys, "coverage": REFERENCE_COVERAGE, "integers": list(INTEGER_TYPES)}
    references = infer_references([r.data() for r in tx.run(_CANDIDATES, params)])
    tx.run(_REPLACE_REFERENCES, {**keys, "references": references}).consume()
    return references


def _check_profile(profile: dict[str, Any] | None, table: str, version: int) -> None:
    if profile is not None and (profile["dataset"] != table or int(profile["delta_version"]) != version):
        raise ValueError(
            f"the profile is of {profile['dataset']}@{profile['delta_version']}, not of the published {table}@{version}"
        )


_DATASET = """
MERGE (d:Dataset {orgId: $orgId, name: $table})
SET d._lock = true
WITH d, coalesce(d.deltaVersion, -1) <= $deltaVersion AS fresh
FOREACH (_ IN CASE WHEN fresh THEN [1] ELSE [] END |
  SET d.rowCount = $rowCount, d.deltaVersion = $deltaVersion, d.updatedAt = datetime($updatedAt),
      d.columnNames = $columnNames, d.columnTypes = $columnTypes, d.columnNullable = $columnNullable)
REMOVE d._lock
RETURN fresh
"""
"""The Dataset part of `_PUBLISH` alone (no lineage), for a table profiled outside a pipeline run."""


def publish_profile(
    driver: Any, *, org_id: str, table: str, profile: dict[str, Any], committed_at: str
) -> dict[str, Any]:
    """Writes the semantic layer of `profile` (`profile.profile_table`) for the table `table` of `org_id`, without
    lineage (the CLI's `profile`, for tables written to Delta outside the pipeline): the Dataset is MERGEd with its
    basic properties (`rowCount`, `deltaVersion`, `updatedAt` = `committed_at` (ISO-8601), the column lists) unless
    it already describes a later version, then the Columns and references as `publish` writes them, in one
    transaction.

    Returns `{"dataset", "delta_version", "catalog_updated": bool, "references": [...]}` (`infer_references`; empty
    when not updated). Raises PipelineError INVALID_PARAMS for a bad org or table; the driver's errors propagate.
    """
    check_uuid(org_id, "org_id")
    check_table(table)
    version = int(profile["delta_version"])
    _check_profile(profile, table, version)
    columns = profile["columns"]
    params = {
        "orgId": org_id,
        "table": table,
        "deltaVersion": version,
        "rowCount": int(profile["row_count"]),
        "updatedAt": committed_at,
        "columnNames": [c["name"] for c in columns],
        "columnTypes": [c["type"] for c in columns],
        "columnNullable": [bool(c["nullable"]) for c in columns],
    }
    ensure_catalog_schema(driver)

    def work(tx: Any) -> tuple[bool, list[dict[str, Any]]]:
        fresh = bool(tx.run(_DATASET, params).single()["fresh"])
        return fresh, write_semantic_layer(tx, org_id, table, profile) if fresh else []

    with driver.session(database=DATABASE) as session:
        fresh, references = session.execute_write(work)
    return {"dataset": table, "delta_version": version, "catalog_updated": fresh, "references": references}
