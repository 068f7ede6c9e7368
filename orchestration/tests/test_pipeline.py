"""The local pipeline runner against real Spark + Delta: the 8 demo tables, bronze copies, reruns, the CLI.

Row counts are computed here from the source files with Python's csv/json modules.
"""

from __future__ import annotations

import csv
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "orchestration"))

from pipeline import DEFAULT_DATA_DIR, DEMO_TABLES, load_demo_org  # noqa: E402

ORG = "4e9a7b1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
TABLES = [
    "seattle_weather",
    "stocks",
    "cars",
    "penguins",
    "gapminder",
    "unemployment_across_industries",
    "flights",
    "airports",
]


def source_count(file: str) -> int:
    path = DEFAULT_DATA_DIR / file
    if file.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            return sum(1 for _ in csv.DictReader(f))
    with open(path, encoding="utf-8") as f:
        return len(json.load(f))


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="module")
def first_run(spark, lake) -> list[dict]:
    printed: list[dict] = []
    results = load_demo_org(os.environ.get("SPARK_REMOTE"), lake, ORG, str(DEFAULT_DATA_DIR), on_result=printed.append)
    assert printed == results
    return results


def test_demo_tables_are_the_eight_of_the_brief() -> None:
    assert [t.table for t in DEMO_TABLES] == TABLES
    assert {t.table: t.file for t in DEMO_TABLES}["flights"] == "flights-20k.json"


def test_loads_the_eight_tables_with_the_source_row_counts(spark, lake, first_run) -> None:
    assert [r["table"] for r in first_run] == TABLES
    for source, result in zip(DEMO_TABLES, first_run, strict=True):
        expected = source_count(source.file)
        assert result["rows"] == expected, source.table
        assert result["version"] == 0
        assert result["path"] == os.path.join(lake, "gold", f"org={ORG}", source.table)
        assert spark.read.format("delta").load(result["path"]).count() == expected, source.table


def test_bronze_holds_exact_copies_of_the_raw_files(lake, first_run) -> None:
    for source in DEMO_TABLES:
        staged = os.path.join(lake, "bronze", f"org={ORG}", source.table, source.file)
        assert filecmp.cmp(staged, DEFAULT_DATA_DIR / source.file, shallow=False), source.table
        assert os.listdir(os.path.dirname(staged)) == [source.file]  # no staging leftovers


def test_results_describe_the_written_schema(spark, first_run) -> None:
    for result in first_run:
        schema = spark.read.format("delta").load(result["path"]).schema
        assert result["columns"] == [
            {"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable} for f in schema.fields
        ]
    by_table = {r["table"]: {c["name"]: c["type"] for c in r["columns"]} for r in first_run}
    assert by_table["flights"]["date"] == "timestamp"
    assert by_table["stocks"]["date"] == "date"
    assert by_table["penguins"]["beak_length_mm"] == "double"


def test_a_second_run_overwrites_every_table(spark, lake, first_run) -> None:
    again = load_demo_org(os.environ.get("SPARK_REMOTE"), lake, ORG, str(DEFAULT_DATA_DIR), spark=spark)
    assert [(r["table"], r["rows"], r["version"]) for r in again] == [(r["table"], r["rows"], 1) for r in first_run]


def test_cli_rejects_a_bad_org_with_exit_2(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "orchestration" / "pipeline.py"), "demo", "--remote", "sc://127.0.0.1:1"]
        + ["--lake-root", str(tmp_path), "--org", "not-a-uuid", "--data-dir", str(DEFAULT_DATA_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    line = json.loads(proc.stderr.strip().splitlines()[-1])
    assert (line["level"], line["code"], line["field"]) == ("error", "BAD_USER_INPUT", "org")
    assert proc.stdout == ""
    assert not os.path.exists(os.path.join(tmp_path, "bronze"))


@pytest.mark.skipif(not os.environ.get("SPARK_REMOTE"), reason="the CLI run needs SPARK_REMOTE (a Connect server)")
def test_cli_prints_one_json_line_per_table(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "orchestration" / "pipeline.py"), "demo"]
        + ["--remote", os.environ["SPARK_REMOTE"], "--lake-root", str(tmp_path), "--org", ORG],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["table"], r["rows"]) for r in lines] == [(s.table, source_count(s.file)) for s in DEMO_TABLES]
    progress = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert [p["table"] for p in progress if p["msg"] == "table loaded"] == TABLES
