"""The local pipeline runner: stage raw files into an org's bronze area, then build its gold Delta tables.

`npm start` runs `demo` (through `infra/spark/pipeline.ts`) to load the demo org. The functions are plain
Python taking a Spark Connect URL (or a session), so an Airflow DAG can call `stage_to_bronze` and
`load_table` as tasks, or `load_demo_org` as one.

Output contract of the CLI: one JSON line per table on stdout, in `DEMO_TABLES` order,
`{"table", "rows", "columns": [{"name", "type", "nullable"}], "version", "path"}`; progress as JSON log
lines (`{"time", "level", "service": "pipeline", "msg", ...}`) on stderr. Exit 0 done, 2 bad input, 1 failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "spark-apps"))

from bronze_to_gold import (  # noqa: E402
    InvalidInput,
    bronze_dir,
    bronze_to_gold,
    validate_lake_root,
    validate_org,
    validate_table,
)
from spark_session import get_spark  # noqa: E402


@dataclass(frozen=True)
class SourceTable:
    """One table to load: its gold name, the raw file's name and its format (`csv` or `json`)."""

    table: str
    file: str
    fmt: str


DEMO_TABLES: tuple[SourceTable, ...] = (
    SourceTable("seattle_weather", "seattle-weather.csv", "csv"),
    SourceTable("stocks", "stocks.csv", "csv"),
    SourceTable("cars", "cars.json", "json"),
    SourceTable("penguins", "penguins.json", "json"),
    SourceTable("gapminder", "gapminder.json", "json"),
    SourceTable("unemployment_across_industries", "unemployment-across-industries.json", "json"),
    SourceTable("flights", "flights-20k.json", "json"),
    SourceTable("airports", "airports.csv", "csv"),
)
"""The demo org's tables, read from `vega-datasets` (`node_modules/vega-datasets/data/`)."""

DEFAULT_DATA_DIR = REPO_ROOT / "node_modules" / "vega-datasets" / "data"


def log(msg: str, level: str = "info", **fields: Any) -> None:
    """One JSON log line on stderr, in the shape of `@datapilot/common` createLogger."""
    line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    line.update(level=level, service="pipeline", msg=msg, **fields)
    print(json.dumps(line), file=sys.stderr, flush=True)


def stage_to_bronze(lake_root: str, org_id: str, table: str, source_file: str) -> str:
    """Copies `source_file` to `<lake_root>/bronze/org=<org>/<table>/<file name>` and returns that path.

    The copy is atomic (a temporary file in the same folder, then a rename), so a reader never sees half a
    file; copying again replaces it. Raises InvalidInput for a bad org or table, FileNotFoundError if the
    source is missing.
    """
    target_dir = bronze_dir(lake_root, org_id, table)
    os.makedirs(target_dir, exist_ok=True)
    target = os.path.join(target_dir, os.path.basename(source_file))
    fd, tmp = tempfile.mkstemp(prefix=".staging-", dir=target_dir)
    try:
        with os.fdopen(fd, "wb") as out, open(source_file, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def load_table(spark: Any, lake_root: str, org_id: str, source: SourceTable, data_dir: str) -> dict[str, Any]:
    """Stages one source file into bronze, then runs bronze_to_gold on it; returns bronze_to_gold's result."""
    staged = stage_to_bronze(lake_root, org_id, source.table, os.path.join(data_dir, source.file))
    return bronze_to_gold(spark, org_id, source.table, staged, source.fmt, lake_root)


def load_demo_org(
    spark_remote: str | None,
    lake_root: str,
    org_id: str,
    data_dir: str,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    spark: Any = None,
    tables: tuple[SourceTable, ...] = DEMO_TABLES,
) -> list[dict[str, Any]]:
    """Loads the demo tables (`DEMO_TABLES`) for `org_id`: bronze copy, then gold Delta table, one by one.

    Spark: `spark` if given (left open), else a new session on `spark_remote` (`sc://host:port`, stopped at
    the end), else the process's local Spark. `on_result` is called with each table's result as soon as it
    is written (the CLI prints it). Returns the results in `tables` order.

    Raises InvalidInput (BAD_USER_INPUT) for a bad org id or lake root before anything is written;
    FileNotFoundError when a source file is missing from `data_dir`.
    """
    org_id = validate_org(org_id)
    lake_root = validate_lake_root(lake_root)
    for source in tables:
        validate_table(source.table)
        if not os.path.isfile(os.path.join(data_dir, source.file)):
            raise FileNotFoundError(f"{source.file} is not in {data_dir}")
    own = spark is None
    started = time.monotonic()
    if own:
        spark = get_spark(spark_remote, app_name="datapilot-demo")
    results = []
    try:
        for source in tables:
            t0 = time.monotonic()
            result = load_table(spark, lake_root, org_id, source, data_dir)
            results.append(result)
            log(
                "table loaded",
                table=source.table,
                rows=result["rows"],
                version=result["version"],
                ms=round((time.monotonic() - t0) * 1000),
            )
            if on_result:
                on_result(result)
    finally:
        if own and spark_remote:
            spark.stop()
    log("demo org loaded", org=org_id, tables=len(results), ms=round((time.monotonic() - started) * 1000))
    return results


def main(argv: list[str] | None = None) -> int:
    """CLI: `pipeline.py demo --remote sc://... --lake-root <abs path> --org <uuid> --data-dir <dir>`."""
    parser = argparse.ArgumentParser(description="DataPilot local pipeline runner.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="load the demo org's tables into bronze and gold")
    demo.add_argument(
        "--remote", default=os.environ.get("SPARK_REMOTE"), help="sc://host:port (default SPARK_REMOTE; else local)"
    )
    demo.add_argument("--lake-root", required=True, help="absolute path of the lake root")
    demo.add_argument("--org", required=True, help="org id (UUID)")
    demo.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR), help="folder with the vega-datasets files")
    args = parser.parse_args(argv)

    def emit(result: dict[str, Any]) -> None:
        print(json.dumps(result), flush=True)

    try:
        load_demo_org(args.remote, args.lake_root, args.org, args.data_dir, on_result=emit)
        return 0
    except InvalidInput as e:
        log("bad input", level="error", code=e.code, field=e.field, error=str(e))
        return 2
    except Exception as e:  # noqa: BLE001 - the CLI reports every failure as one log line and exit 1
        log("pipeline failed", level="error", error=f"{type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
