"""Bronze -> gold: one raw file in an org's bronze area becomes a typed Delta table in its gold area.

Lake layout (team brief): raw files at `<lake-root>/bronze/org=<org>/<table>/<file>`, Delta tables at
`<lake-root>/gold/org=<org>/<table>/`. The org is a UUID; table names match ^[a-z][a-z0-9_]{0,62}$.

What the job does, in order:
1. Validates org, table, format, lake root and that the source file lies in THIS org's bronze folder for
   THIS table (so one org's job can never read another org's raw files). Bad input raises `InvalidInput`
   (code BAD_USER_INPUT) before Spark is touched.
2. Reads the file: CSV with a header (RFC 4180 quoting, multi-line values, every column read as a string,
   surrounding whitespace trimmed); JSON as a top-level array / single document (`multiLine`) or as
   newline-delimited objects, detected from the first bytes. JSON keeps its keys' order of appearance.
   Malformed input fails the job (mode FAILFAST).
3. Normalizes column names to snake_case (`snake_case`).
4. Turns the strings "NA" and "" into nulls in every string column.
5. Types string columns, one pass over the data: in CSV, a column whose every non-null value is an integer
   becomes BIGINT, else a number DOUBLE (values with a leading zero such as `02139` stay strings: codes,
   not quantities); then, for CSV and JSON, a column whose every non-null value parses with one date format
   (`DATE_FORMATS`, first that parses them all) becomes DATE, else with one timestamp format
   (`TIMESTAMP_FORMATS`) TIMESTAMP. Parsing uses `try_to_date` / `try_to_timestamp`; zone-less timestamps
   are read as UTC (the job runs with `spark.sql.session.timeZone=UTC`). JSON numbers keep the types Spark
   infers (integers BIGINT, others DOUBLE).
6. Writes the Delta table with mode overwrite + `overwriteSchema` and `delta.enableDeletionVectors=false`:
   running it again replaces the rows (same result) and adds one Delta version.

Run it as a script with `--remote sc://host:port` (or SPARK_REMOTE) for Spark Connect, or without for a
local Spark with the Delta jars of `.local/jars/delta`. It prints the result as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

ORG_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""An org id: a UUID, canonical lower-case form (upper case input is lower-cased first)."""

TABLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A table name (team brief, lake layout)."""

FORMATS = ("csv", "json")
"""Accepted source formats."""

NULL_TOKENS = ("NA", "")
"""String values that mean "no value" in the sources (R's NA, empty CSV fields)."""

DATE_FORMATS = (
    "yyyy-M-d",  # 2012-01-01 (ISO date; also 2012-1-1)
    "yyyy/M/d",  # 2012/01/01
    "M/d/yyyy",  # 1/31/2012 (US order; d/M/yyyy is not tried: ambiguous)
    "MMM d yyyy",  # Jan 1 2000
    "MMM d, yyyy",  # Jan 1, 2000
    "MMMM d yyyy",  # January 1 2000
    "MMMM d, yyyy",  # January 1, 2000
    "d MMM yyyy",  # 1 Jan 2000
    "d MMMM yyyy",  # 1 January 2000
)
"""Date formats tried in order (Spark datetime patterns, English month names); first one that parses every
non-null value of a column wins."""

TIMESTAMP_FORMATS = (
    "yyyy-M-d'T'H:mm[:ss][.SSSSSSSSS][XXX]",  # ISO 8601: 2000-01-01T08:00:00.000Z, with or without zone
    "yyyy-M-d[ H:mm[:ss][.SSSSSSSSS]][XXX]",  # 2000-01-01 08:00[:00], mixed with bare dates
    "yyyy/M/d[ H:mm[:ss][.SSSSSSSSS]]",  # 2001/01/01 06:55
    "M/d/yyyy[ H:mm[:ss]]",  # 1/31/2012 13:05
    "M/d/yyyy h:mm[:ss] a",  # 1/31/2012 1:05 PM
    "MMM d yyyy H:mm[:ss]",  # Jan 1 2000 13:05
)
"""Timestamp formats tried in order after the date formats; a value without a zone is read as UTC."""

_INT_RE = r"^[+-]?(0|[1-9][0-9]*)$"
_NUMBER_RE = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_UNSAFE_FILE_CHARS = re.compile(r"[*?\[\]{}\\:\x00-\x1f]")  # Hadoop glob and URI metacharacters


class InvalidInput(ValueError):
    """Bad arguments to the job (code BAD_USER_INPUT); `field` names the argument at fault."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def validate_org(org: str) -> str:
    """The org id in canonical lower-case UUID form; raises InvalidInput(field='org') if it is not a UUID."""
    canonical = org.strip().lower() if isinstance(org, str) else ""
    if not ORG_RE.match(canonical):
        raise InvalidInput("org must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).", "org")
    return canonical


def validate_table(table: str) -> str:
    """`table` unchanged; raises InvalidInput(field='table') unless it matches ^[a-z][a-z0-9_]{0,62}$."""
    if not isinstance(table, str) or not TABLE_RE.match(table):
        raise InvalidInput("table must match ^[a-z][a-z0-9_]{0,62}$.", "table")
    return table


def validate_lake_root(lake_root: str) -> str:
    """The lake root as a normalized absolute path; raises InvalidInput(field='lake_root') otherwise."""
    if not isinstance(lake_root, str) or not os.path.isabs(lake_root) or _UNSAFE_FILE_CHARS.search(lake_root):
        raise InvalidInput("lake_root must be an absolute path without glob characters or ':'.", "lake_root")
    return os.path.normpath(lake_root)


def bronze_dir(lake_root: str, org: str, table: str) -> str:
    """`<lake_root>/bronze/org=<org>/<table>`: where the raw files of one table of one org live."""
    return os.path.join(validate_lake_root(lake_root), "bronze", f"org={validate_org(org)}", validate_table(table))


def gold_path(lake_root: str, org: str, table: str) -> str:
    """`<lake_root>/gold/org=<org>/<table>`: the Delta table of one table of one org."""
    return os.path.join(validate_lake_root(lake_root), "gold", f"org={validate_org(org)}", validate_table(table))


def snake_case(name: str) -> str:
    """A column name in snake_case: `Beak Length (mm)` -> `beak_length_mm`, `Miles_per_Gallon` ->
    `miles_per_gallon`, `IATA` -> `iata`, `lifeExpect` -> `life_expect`, `IATACode` -> `iata_code`.

    Accents are dropped (`Año` -> `ano`), every run of other characters becomes one `_`, and the result is
    cut to 63 characters. It may be empty or start with a digit: `normalize_column_names` fixes those.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    split = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_name)
    split = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", split)
    return re.sub(r"[^a-z0-9]+", "_", split.lower()).strip("_")[:63]


def normalize_column_names(names: list[str]) -> list[str]:
    """`snake_case` of each name, made usable and unique: an empty name becomes `col_<position>` (1-based),
    one starting with a digit gets the prefix `col_`, and repeats get `_2`, `_3`, ... in order."""
    out: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(names):
        name = snake_case(raw) or f"col_{i + 1}"
        if name[0].isdigit():
            name = f"col_{name}"[:63]
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name[: 63 - len(str(n)) - 1]}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _check_source(source: str, lake_root: str, org: str, table: str) -> str:
    """The real path of `source`, which must be a file inside `bronze_dir(lake_root, org, table)`."""
    if not isinstance(source, str) or not os.path.isabs(source):
        raise InvalidInput("source must be an absolute path.", "source")
    allowed = os.path.realpath(bronze_dir(lake_root, org, table))
    real = os.path.realpath(source)
    if real == allowed or os.path.commonpath([real, allowed]) != allowed:
        raise InvalidInput(f"source must be a file in this org's bronze folder for table {table}.", "source")
    if _UNSAFE_FILE_CHARS.search(real):
        raise InvalidInput("source file name must not contain glob characters or ':'.", "source")
    if not os.path.isfile(real):
        raise InvalidInput("source does not exist or is not a file.", "source")
    return real


def _json_layout(path: str) -> tuple[bool, list[str]]:
    """(multiLine?, keys of the first object in order) from the first MiB of a JSON file.

    A top-level array or a document spread over lines wants `multiLine`; one object per line does not.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 20).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    is_array = head.startswith("[")
    body = head[1:].lstrip() if is_array else head
    try:
        first, end = json.JSONDecoder().raw_decode(body)
    except ValueError:
        return True, []
    keys = list(first.keys()) if isinstance(first, dict) else []
    return is_array or "\n" in body[:end], keys


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _read(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    if fmt == "csv":
        return spark.read.options(
            header=True,
            inferSchema=False,
            multiLine=True,
            quote='"',
            escape='"',
            ignoreLeadingWhiteSpace=True,
            ignoreTrailingWhiteSpace=True,
            mode="FAILFAST",
            encoding="UTF-8",
        ).csv(path)
    multi_line, key_order = _json_layout(path)
    df = spark.read.options(multiLine=multi_line, mode="FAILFAST").json(path)
    present = df.columns
    ordered = [k for k in key_order if k in present] + [c for c in present if c not in key_order]
    return df.select(*[F.col(_quote(c)) for c in ordered]) if ordered != present else df


def _candidates(col: Column, numeric: bool) -> list[tuple[str, Column]]:
    """(label, typed expression) per candidate type of a string column, in order of preference."""
    out: list[tuple[str, Column]] = []
    if numeric:
        out.append(("bigint", F.when(col.rlike(_INT_RE), col.try_cast("bigint"))))
        out.append(("double", F.when(col.rlike(_NUMBER_RE), col.try_cast("double"))))
    out += [(f"date:{f}", F.try_to_date(col, f)) for f in DATE_FORMATS]
    out += [(f"timestamp:{f}", F.try_to_timestamp(col, F.lit(f))) for f in TIMESTAMP_FORMATS]
    return out


def infer_types(df: DataFrame, numeric_from_strings: bool) -> tuple[DataFrame, dict[str, str]]:
    """`df` with its string columns typed (see the module doc, step 5) after nulling `NULL_TOKENS`, and the
    rule chosen per converted column (`bigint`, `double`, `date:<format>`, `timestamp:<format>`).

    One Spark job counts, per string column, its non-null values and the values each candidate parses.
    """
    strings = [f.name for f in df.schema.fields if isinstance(f.dataType, StringType)]
    if not strings:
        return df, {}
    nulled = df.select(
        *[
            F.when(F.col(c).isin(*NULL_TOKENS), F.lit(None).cast("string")).otherwise(F.col(c)).alias(c)
            if c in strings
            else F.col(c)
            for c in df.columns
        ]
    )
    aggs: list[Column] = []
    plan: dict[str, list[tuple[str, Column, str]]] = {}
    for i, c in enumerate(strings):
        aggs.append(F.count(F.col(c)).alias(f"n{i}"))
        plan[c] = []
        for j, (label, expr) in enumerate(_candidates(F.col(c), numeric_from_strings)):
            alias = f"c{i}_{j}"
            aggs.append(F.count(expr).alias(alias))
            plan[c].append((label, expr, alias))
    counts = nulled.agg(*aggs).collect()[0].asDict()
    chosen: dict[str, str] = {}
    exprs: dict[str, Column] = {}
    for i, c in enumerate(strings):
        non_null = counts[f"n{i}"]
        for label, expr, alias in plan[c]:
            if non_null > 0 and counts[alias] == non_null:
                chosen[c], exprs[c] = label, expr.alias(c)
                break
    return nulled.select(*[exprs.get(c, F.col(c)) for c in nulled.columns]), chosen


@contextmanager
def _session_conf(spark: SparkSession, conf: dict[str, str]) -> Iterator[None]:
    """Sets `conf` on the session for the block, then restores what was there."""
    previous = {k: spark.conf.get(k, None) for k in conf}
    for k, v in conf.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def bronze_to_gold(spark: SparkSession, org: str, table: str, source: str, fmt: str, lake_root: str) -> dict[str, Any]:
    """Loads one bronze file into the org's gold Delta table `<lake_root>/gold/org=<org>/<table>`.

    Works with any SparkSession that has Delta (Spark Connect or local); the session's time zone and
    Delta defaults are set for the run and restored after.

    Returns `{table, rows, columns: [{name, type, nullable}], version, path}`: `rows` written by this run
    (the commit's `numOutputRows`), `type` Spark's SQL name (`bigint`, `double`, `string`, `date`,
    `timestamp`, ...), `version` the Delta version this run committed (0 on first load, +1 per rerun).

    Raises InvalidInput (code BAD_USER_INPUT) for a bad org, table, format, lake root or a source outside
    `<lake_root>/bronze/org=<org>/<table>/`; Spark errors (malformed file, I/O) propagate unchanged.
    """
    org = validate_org(org)
    table = validate_table(table)
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}.", "format")
    lake_root = validate_lake_root(lake_root)
    path = _check_source(source, lake_root, org, table)
    target = gold_path(lake_root, org, table)

    with _session_conf(
        spark,
        {
            "spark.sql.session.timeZone": "UTC",
            "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        },
    ):
        raw = _read(spark, path, fmt)
        if not raw.columns:
            raise InvalidInput("source has no columns.", "source")
        named = raw.toDF(*normalize_column_names(raw.columns))
        typed, _rules = infer_types(named, numeric_from_strings=fmt == "csv")
        (
            typed.write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
            .option("delta.enableDeletionVectors", "false")
            .save(target)
        )
        last = spark.sql(f"DESCRIBE HISTORY delta.{_quote(target)} LIMIT 1").collect()[0]
        gold = spark.read.format("delta").load(target)
        metrics = last["operationMetrics"] or {}
        rows = int(metrics["numOutputRows"]) if "numOutputRows" in metrics else gold.count()
        columns = [
            {"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable} for f in gold.schema.fields
        ]
    return {"table": table, "rows": rows, "columns": columns, "version": int(last["version"]), "path": target}


def main(argv: list[str] | None = None) -> int:
    """CLI: prints the result JSON on stdout; exit 0 done, 2 bad input (JSON error on stderr), 1 failure."""
    parser = argparse.ArgumentParser(description="Load one bronze file into an org's gold Delta table.")
    parser.add_argument("--org", required=True, help="org id (UUID)")
    parser.add_argument("--table", required=True, help="table name, ^[a-z][a-z0-9_]{0,62}$")
    parser.add_argument("--source", required=True, help="absolute path of the raw file in the org's bronze folder")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    parser.add_argument("--lake-root", required=True, help="absolute path of the lake root")
    parser.add_argument(
        "--remote", default=os.environ.get("SPARK_REMOTE"), help="sc://host:port (default SPARK_REMOTE; else local)"
    )
    args = parser.parse_args(argv)

    from spark_session import get_spark

    spark = None
    try:
        _check_source(args.source, args.lake_root, args.org, args.table)  # fail fast, before Spark starts
        spark = get_spark(args.remote, app_name=f"bronze_to_gold:{args.table}")
        print(json.dumps(bronze_to_gold(spark, args.org, args.table, args.source, args.fmt, args.lake_root)))
        return 0
    except InvalidInput as e:
        print(json.dumps({"error": e.code, "field": e.field, "message": str(e)}), file=sys.stderr)
        return 2
    finally:
        if spark is not None and args.remote:
            spark.stop()


if __name__ == "__main__":
    sys.exit(main())
