"""publish against a real Neo4j: the Dataset with the property names `upsertDatasets` writes, the run's lineage,
idempotence, and no roll-back by an older run; then the whole pipeline through the CLI (S3Proxy, Spark, Neo4j).

Expected values are written out by hand, or computed from the source file with Python's json module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from datapilot_pipeline.publish import publish
from lakes import DATA_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
COLUMNS = [
    {"name": "species", "type": "string", "nullable": True},
    {"name": "body_mass_g", "type": "bigint", "nullable": False},
]


def report(version: int, rows: int, committed_at: str) -> dict:
    return {"delta_version": version, "row_count": rows, "committed_at": committed_at, "columns": COLUMNS}


def publish_run(
    driver,
    org: str,
    version: int,
    rows: int,
    run_id: str | None = None,
    upload_id: str | None = None,
    mode: str | None = None,
):
    upload_id = upload_id or str(uuid.uuid4())
    run_id = run_id or str(uuid.uuid4())
    result = publish(
        driver,
        org_id=org,
        table="penguins",
        upload_id=upload_id,
        bronze_key=f"bronze/org={org}/penguins/{upload_id}/penguins.json",
        fmt="JSON",
        mode=mode or ("OVERWRITE" if version == 0 else "APPEND"),
        pipeline_run_id=run_id,
        dag_run_id=f"datapilot__{run_id}",
        report=report(version, rows, f"2026-01-0{version + 1}T10:00:00.000Z"),
    )
    return result, run_id, upload_id


def dataset(driver, org: str) -> dict:
    records, _, _ = driver.execute_query(
        "MATCH (d:Dataset {orgId: $org, name: 'penguins'}) RETURN d", {"org": org}, database_="neo4j"
    )
    assert len(records) == 1
    return dict(records[0]["d"])


def counts(driver, org: str) -> tuple[int, int]:
    records, _, _ = driver.execute_query(
        "MATCH (n {orgId: $org}) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) AS n, count(r) AS r",
        {"org": org},
        database_="neo4j",
    )
    return records[0]["n"], records[0]["r"]


def test_publish_writes_the_dataset_and_lineage(neo4j_driver) -> None:
    org = str(uuid.uuid4())
    result, run_id, upload_id = publish_run(neo4j_driver, org, 0, 344)
    assert result == {"dataset": "penguins", "delta_version": 0, "catalog_updated": True}
    d = dataset(neo4j_driver, org)
    assert {k: d[k] for k in ("orgId", "name", "rowCount", "deltaVersion")} == {
        "orgId": org,
        "name": "penguins",
        "rowCount": 344,
        "deltaVersion": 0,
    }
    assert (d["columnNames"], d["columnTypes"], d["columnNullable"]) == (
        ["species", "body_mass_g"],
        ["string", "bigint"],
        [True, False],
    )
    assert d["updatedAt"].to_native() == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (u:Upload {orgId: $org})-[:LOADED_BY]->(r:PipelineRun {orgId: $org})-[p:PRODUCED]->"
        "(d:Dataset {orgId: $org}) RETURN u, r, p.deltaVersion AS v, d.name AS name",
        {"org": org},
        database_="neo4j",
    )
    assert len(records) == 1
    u, r = dict(records[0]["u"]), dict(records[0]["r"])
    assert (u["id"], u["table"], u["fileName"], u["format"], u["mode"]) == (
        upload_id,
        "penguins",
        "penguins.json",
        "JSON",
        "OVERWRITE",
    )
    assert (r["id"], r["dagRunId"], r["mode"]) == (run_id, f"datapilot__{run_id}", "OVERWRITE")
    assert "finishedAt" in r and records[0]["v"] == 0 and records[0]["name"] == "penguins"
    assert "_lock" not in d
    assert counts(neo4j_driver, org) == (3, 2)


def test_publish_again_changes_nothing(neo4j_driver) -> None:
    org = str(uuid.uuid4())
    _, run_id, upload_id = publish_run(neo4j_driver, org, 0, 344)
    before = (dataset(neo4j_driver, org), counts(neo4j_driver, org))
    result, _, _ = publish_run(neo4j_driver, org, 0, 344, run_id=run_id, upload_id=upload_id)
    assert result["delta_version"] == 0
    assert (dataset(neo4j_driver, org), counts(neo4j_driver, org)) == before


def test_a_reload_of_an_append_upload_keeps_the_uploads_mode(neo4j_driver) -> None:
    org = str(uuid.uuid4())
    _, _, upload_id = publish_run(neo4j_driver, org, 1, 688)  # the upload's own run: APPEND
    publish_run(neo4j_driver, org, 2, 344, upload_id=upload_id, mode="OVERWRITE")  # a reload replaying it first
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (u:Upload {orgId: $org, id: $id}) RETURN u.mode AS mode",
        {"org": org, "id": upload_id},
        database_="neo4j",
    )
    assert [r["mode"] for r in records] == ["APPEND"]


def test_an_older_run_does_not_roll_the_catalog_back(neo4j_driver) -> None:
    org = str(uuid.uuid4())
    publish_run(neo4j_driver, org, 1, 688)
    late, _, _ = publish_run(neo4j_driver, org, 0, 344)  # e.g. a late retry of the first run
    assert late == {"dataset": "penguins", "delta_version": 0, "catalog_updated": False}
    d = dataset(neo4j_driver, org)
    assert (d["deltaVersion"], d["rowCount"]) == (1, 688)
    assert counts(neo4j_driver, org) == (5, 4)  # both runs' lineage is recorded, one Dataset


def test_cli_runs_the_whole_pipeline(neo4j_driver, bucket, s3) -> None:
    if not os.environ.get("SPARK_REMOTE"):
        pytest.skip("SPARK_REMOTE is not set: the CLI runs its steps on a Spark Connect server")
    org, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    env = {**os.environ, "LAKE_BUCKET": bucket}
    cli = [sys.executable, str(REPO_ROOT / "orchestration" / "pipeline.py")]
    staged = subprocess.run(
        [*cli, "stage", "--org", org, "--table", "penguins", "--file", str(DATA_DIR / "penguins.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    upload = json.loads(staged.stdout)
    assert upload["size_bytes"] == (DATA_DIR / "penguins.json").stat().st_size
    args = ["--org", org, "--table", "penguins", "--upload-id", upload["upload_id"], "--key", upload["bronze_key"]]
    args += ["--format", "JSON", "--size-bytes", str(upload["size_bytes"]), "--run-id", run_id]
    proc = subprocess.run([*cli, "run", *args], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout)
    penguins = json.loads((DATA_DIR / "penguins.json").read_text())
    assert (got["delta_version"], got["row_count"], got["rows_rejected"]) == (0, len(penguins), 0)
    assert got["null_counts"]["sex"] == sum(1 for p in penguins if p["Sex"] is None)
    steps = [json.loads(line)["msg"] for line in proc.stderr.splitlines() if line.startswith("{")]
    assert steps == ["validated", "loaded", "quality", "published"]
    d = dataset(neo4j_driver, org)
    assert (d["rowCount"], d["deltaVersion"], d["columnNames"][0]) == (len(penguins), 0, "species")
    # The publish step profiled the version: one Column per column, species with its three values, most frequent
    # first (counted here from the file).
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (:Dataset {orgId: $org, name: 'penguins'})-[:HAS_COLUMN]->(c:Column {orgId: $org}) "
        "RETURN c ORDER BY c.position",
        {"org": org},
        database_="neo4j",
    )
    columns = [dict(r["c"]) for r in records]
    assert [c["name"] for c in columns] == d["columnNames"]
    species = Counter(p["Species"] for p in penguins)
    assert columns[0]["sampleValues"] == sorted(species, key=lambda s: (-species[s], s))
    assert (columns[0]["semanticType"], columns[0]["valuesComplete"], columns[0]["deltaVersion"]) == (
        "CATEGORY",
        True,
        0,
    )
    mass = next(c for c in columns if c["name"] == "body_mass_g")
    masses = [p["Body Mass (g)"] for p in penguins if p["Body Mass (g)"] is not None]
    assert (mass["unit"], mass["minValue"], mass["maxValue"]) == ("g", str(min(masses)), str(max(masses)))
    # A user error: exit 2 and one log line with the code.
    bad = subprocess.run(
        [*cli, "run", *args[:-2], "--run-id", str(uuid.uuid4()), "--size-bytes", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert json.loads(bad.stderr.strip().splitlines()[-1])["code"] == "SIZE_MISMATCH"
