"""The `datapilot_ingest` DAG in real Airflow 3 (`.local/airflow-venv`, from orchestration/requirements-airflow.txt):
it parses without import errors as the dag-processor loads it, has the tasks in order with their retries, refuses
bad trigger confs as the REST API does, and runs (`dag.test()`, in a fresh metadata database) against the services:
the XCom results, a failure the user must fix (no retry, `datapilot_error`), and a failure that survives every retry.

Each scenario runs `airflow_probe.py` with that venv's Python; skipped when the venv is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from lakes import DATA_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = REPO_ROOT / ".local" / "airflow-venv" / "bin" / "python"
PROBE = Path(__file__).resolve().parent / "airflow_probe.py"

pytestmark = pytest.mark.skipif(
    not AIRFLOW_PYTHON.exists(),
    reason="no .local/airflow-venv: install Airflow with `npx tsx infra/airflow/cli.ts setup`",
)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> dict[str, str]:
    """The environment of a fresh Airflow home with a migrated SQLite metadata database (about 2 s)."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "orchestration" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = AIRFLOW_PYTHON.parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, timeout=180, check=True)
    return env


def probe(env: dict[str, str], *args: str, stdin: str = "", timeout: int = 300) -> dict:
    proc = subprocess.run(
        [str(AIRFLOW_PYTHON), str(PROBE), *args], input=stdin, capture_output=True, text=True, env=env, timeout=timeout
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("PROBE ") :])


ORG, UPLOAD, RUN = (str(uuid.uuid4()) for _ in range(3))
GOOD = {
    "org_id": ORG,
    "table": "penguins",
    "upload_id": UPLOAD,
    "pipeline_run_id": RUN,
    "bronze_key": f"bronze/org={ORG}/penguins/{UPLOAD}/penguins.json",
    "format": "JSON",
    "mode": "OVERWRITE",
    "size_bytes": 67119,
}


def test_dag_parses_with_its_tasks_in_order_and_checks_confs(airflow_home) -> None:
    bad = [
        {**GOOD, "org_id": "not-a-uuid"},
        {**GOOD, "org_id": ORG.upper()},
        {**GOOD, "table": "Penguins"},
        {**GOOD, "table": "a" * 64},
        {**GOOD, "table": "penguins\n"},
        {**GOOD, "upload_id": UPLOAD + "0"},
        {**GOOD, "format": "XLSX"},
        {**GOOD, "mode": "MERGE"},
        {**GOOD, "size_bytes": 0},
        {**GOOD, "size_bytes": "67119"},
        {**GOOD, "max_bad_records": 10_001},
        {**GOOD, "bronze_key": "gold/x"},
        {k: v for k, v in GOOD.items() if k != "pipeline_run_id"},
    ]
    got = probe(airflow_home, "parse", stdin=json.dumps([GOOD, {**GOOD, "max_bad_records": 10_000}, *bad]))
    assert got["import_errors"] == {}
    assert got["files"] == ["datapilot_ingest.py"]  # the library's modules are not parsed as DAG files
    assert got["dag_ids"] == ["datapilot_ingest"]
    assert (got["timetable"], got["catchup"], got["max_active_runs"]) == ("NullTimetable", False, 4)
    upstream = {task: t["upstream"] for task, t in got["tasks"].items()}
    assert upstream == {"validate": [], "load": ["validate"], "quality": ["load"], "publish": ["quality"]}
    assert {(t["retries"], t["retry_delay_s"], t["backoff"]) for t in got["tasks"].values()} == {(2, 5.0, 2.0)}
    assert got["accepted"] == [True, True] + [False] * len(bad)


@pytest.fixture(scope="module")
def services(s3, bucket, neo4j_driver) -> dict[str, str]:
    """The services' variables with the module's bucket; skips without Spark Connect (tasks open their own session)."""
    if not os.environ.get("SPARK_REMOTE"):
        pytest.skip("SPARK_REMOTE is not set: the DAG's tasks run on a Spark Connect server")
    s3.put_object(Bucket=bucket, Key=GOOD["bronze_key"], Body=(DATA_DIR / "penguins.json").read_bytes())
    return {"LAKE_BUCKET": bucket}


def run_dag(env: dict[str, str], tmp_path: Path, conf: dict) -> dict:
    conf_file = tmp_path / "conf.json"
    conf_file.write_text(json.dumps(conf))
    return probe(env, "run", str(conf_file))


def test_a_run_leaves_each_result_as_xcom(airflow_home, services, tmp_path) -> None:
    got = run_dag({**airflow_home, **services}, tmp_path, GOOD)
    assert got["state"] == "success"
    assert {t: (s["state"], s["tries"]) for t, s in got["tasks"].items()} == {
        t: ("success", 1) for t in ("validate", "load", "quality", "publish")
    }
    penguins = json.loads((DATA_DIR / "penguins.json").read_text())
    x = got["xcoms"]
    assert x["validate:return_value"] == {"format": "JSON", "size_bytes": 67119}
    assert (x["load:return_value"]["delta_version"], x["load:return_value"]["rows_written"]) == (0, len(penguins))
    assert x["quality:return_value"]["null_counts"]["sex"] == sum(1 for p in penguins if p["Sex"] is None)
    assert x["publish:return_value"] == {"dataset": "penguins", "delta_version": 0, "catalog_updated": True}
    assert not any(k.endswith(":datapilot_error") for k in x)


def test_a_user_error_fails_at_once_with_its_code(airflow_home, services, tmp_path) -> None:
    got = run_dag(
        {**airflow_home, **services}, tmp_path, {**GOOD, "pipeline_run_id": str(uuid.uuid4()), "size_bytes": 5}
    )
    assert got["state"] == "failed"
    assert got["tasks"]["validate"] == {"state": "failed", "tries": 1}  # no retry
    assert got["tasks"]["load"]["state"] == "upstream_failed"
    error = got["xcoms"]["validate:datapilot_error"]
    assert error["code"] == "SIZE_MISMATCH" and "67119 bytes but 5 were announced" in error["message"]


def test_an_error_that_survives_every_retry_leaves_a_generic_error(airflow_home, services, tmp_path) -> None:
    env = {**airflow_home, **services}
    env.pop("NEO4J_PASSWORD", None)  # publish cannot start: retried twice (5 s, then 10 s), then fails
    got = run_dag(env, tmp_path, {**GOOD, "pipeline_run_id": str(uuid.uuid4())})
    assert got["state"] == "failed"
    assert got["tasks"]["quality"]["state"] == "success"
    assert got["tasks"]["publish"] == {"state": "failed", "tries": 3}
    assert got["xcoms"]["publish:datapilot_error"]["code"] == "INTERNAL"
    assert "publish" in got["xcoms"]["publish:datapilot_error"]["message"]
