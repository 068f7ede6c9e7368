"""Step 2, load (bronze -> gold): one uploaded file becomes rows of the org's gold Delta table, on Spark Connect.

The task only builds plans; the Spark Connect server reads `s3a://<bucket>/bronze/...` and writes
`s3a://<bucket>/gold/org=<org>/<table>` with its own S3A credentials. In order:

1. Checks the parameters and the key (`lake.check_bronze_key`): only the upload's own bronze object is read and
   only the org's own gold table is written.
2. Reads the file into records, each with its line number and, when malformed, its raw text (see "Records and line
   numbers" below), in PERMISSIVE mode: a malformed record is set aside, not written.
3. Refuses the file (PipelineError) when it has no records or no columns (EMPTY_FILE), more malformed records than
   `max_bad_records` or no good record (MALFORMED_FILE), or two raw column names that normalize to the same name
   (DUPLICATE_COLUMNS).
4. Normalizes column names to snake_case (`normalize_column_names`).
5. For CSV, JSON and NDJSON: turns the strings "NA" and "" into nulls, then types string columns with one profiling
   pass (`infer_types`): in CSV, a column whose every non-null value is an integer becomes BIGINT, else a number
   DOUBLE (values with a leading zero such as `02139` stay strings: codes, not quantities); then a column whose every
   non-null value parses with one date format (`DATE_FORMATS`) becomes DATE, else with one timestamp format
   (`TIMESTAMP_FORMATS`) TIMESTAMP (zone-less values read as UTC). JSON numbers keep Spark's inferred types (integers
   BIGINT, others DOUBLE). Parquet columns keep their declared types and values.
6. APPEND to an existing table: a column the table has keeps the table's type. A string column of the table is not
   typed from the file; a column that is all null, or whose type widens safely (`SAFE_WIDENINGS`, any atomic type
   into a string column), is cast to the table's type; any other difference is a SCHEMA_CONFLICT naming each column
   with both types. New columns are ALLOWED (Delta `mergeSchema`): they are added at the end of the table, null in
   the rows written before; a table column the file lacks is null in the new rows. OVERWRITE replaces rows and
   schema (`overwriteSchema`).
7. Writes once, idempotently: the Delta writer options `txnAppId` = the pipeline run id and `txnVersion` = 0 add a
   `txn` (SetTransaction) action to the commit, and Delta skips any later write with the same application id and a
   version not above the recorded one (Delta protocol, "Transaction Identifiers"; Delta Lake docs, "Idempotent
   writes"), so a retried task cannot write twice; `userMetadata` = the run id marks the commit, and the version this
   run committed is the one whose `userMetadata` is the run id in `DESCRIBE HISTORY`. Nothing is written before every
   check passed, so a failed run leaves the previous version untouched.

Records and line numbers (1-based lines of the file, `\\n`, `\\r\\n` or `\\r` ends a line):
- The file's lines are numbered by `spark.read.text` with `_metadata.file_block_start` and
  `monotonically_increasing_id()` (a split's lines come in file order, splits ordered by their start) and one
  `row_number()` window over them (a single-partition sort: fine for files of some hundred MB).
- NDJSON: every non-blank line is one record, parsed with `from_json` (schema inferred by Spark's JSON reader over
  the whole file); its line is the line itself. A line that is not one JSON object is malformed.
- CSV: a record starts on a line when the number of `"` characters before that line is even (RFC 4180 quoting,
  where an escaped quote is doubled, keeps the count even outside quoted fields), so a quoted value spanning lines
  stays in one record, reported at the line where it starts; blank records are skipped. The first record is the
  header; each other is parsed with `from_csv` against the header's column count, and one with a different count is
  malformed. Limit: a `"` inside an unquoted value (`ab"c`, not RFC 4180) shifts the count, joining the following
  lines into one malformed record until the next odd quote.
- JSON (one document): parsed whole by Spark's multi-line JSON reader; a syntax error makes the whole file one
  malformed record, so the file fails with MALFORMED_FILE naming the line of the error as Jackson reports it (a
  FAILFAST re-read; line 1 when the error has no position, e.g. an array element that is not an object).
- Parquet: no line numbers; Spark reads it or the task fails.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from .errors import PipelineError
from .lake import (
    FORMATS,
    MODES,
    check_bronze_key,
    check_choice,
    check_max_bad_records,
    check_uuid,
    gold_key,
    s3a_uri,
)

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

SAFE_WIDENINGS = frozenset(
    {
        ("tinyint", "smallint"),
        ("tinyint", "int"),
        ("tinyint", "bigint"),
        ("smallint", "int"),
        ("smallint", "bigint"),
        ("int", "bigint"),
        ("tinyint", "double"),
        ("smallint", "double"),
        ("int", "double"),
        ("bigint", "double"),
        ("float", "double"),
        ("date", "timestamp"),
    }
)
"""(file type, table type) pairs an APPEND casts to the table's type: every value keeps its meaning (bigint to double
exactly up to 2^53). Besides these, any atomic type goes into a string column, and an all-null column into any."""

REJECTED_SAMPLE = 10
"""How many malformed records the result lists (the first, by line)."""

PROFILE_SAMPLE_ROWS = 10_000
"""Rows of the first typing pass, which only rules out candidate types (exact: see `infer_types`)."""

VALUE_CHARS = 200
"""Malformed records' raw text is cut to this many characters in the result."""

_INTERNAL = uuid.uuid4().hex[:12]
_LINE = f"__dp_line_{_INTERNAL}"
"""Internal columns of the reader: named with a token drawn per process, so that no column of a file (any JSON key
can be `__dp_bad`) can take their place; normalized names never start with `_`."""
_BAD = f"__dp_bad_{_INTERNAL}"
_INT_RE = r"^[+-]?(0|[1-9][0-9]*)$"
_NUMBER_RE = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_CSV_OPTIONS = {"quote": '"', "escape": '"', "ignoreLeadingWhiteSpace": "true", "ignoreTrailingWhiteSpace": "true"}
_PERMISSIVE = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _BAD}
_NOT_A_TABLE = ("DELTA_TABLE_ONLY_OPERATION", "DELTA_MISSING_DELTA_TABLE", "DELTA_TABLE_NOT_FOUND", "PATH_NOT_FOUND")
_JACKSON_LOCATION = re.compile(r"line: (\d+), column: (\d+)")


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


def normalize_column_names(raw_names: list[str]) -> list[str]:
    """`snake_case` of each raw name, made usable: an empty result becomes `col_<position>` (1-based), one starting
    with a digit gets the prefix `col_` (cut to 63 characters).

    Raises PipelineError DUPLICATE_COLUMNS when two raw names give the same name (e.g. `Name` and `name `), naming
    every colliding raw name: a file whose columns cannot be told apart is refused, never silently renamed.
    """
    names: list[str] = []
    for i, raw in enumerate(raw_names):
        name = snake_case(raw) or f"col_{i + 1}"
        names.append(f"col_{name}"[:63] if name[0].isdigit() else name)
    groups: dict[str, list[str]] = {}
    for raw, name in zip(raw_names, names, strict=True):
        groups.setdefault(name, []).append(raw)
    clashes = [
        " and ".join(repr(r[:60]) for r in raws) + f" all become {name!r}"
        for name, raws in groups.items()
        if len(raws) > 1
    ]
    if clashes:
        raise PipelineError(
            "DUPLICATE_COLUMNS",
            f"Columns {'; '.join(clashes)} after normalization to snake_case; rename them so that they differ by "
            "more than case, spaces or punctuation, and upload the file again.",
        )
    return names


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class _Records:
    """A file's records: columns `c0..c<n-1>` (the raw columns by position), `_LINE` (1-based line where the record
    starts, or null) and `_BAD` (the raw text of a malformed record, else null); `raw_names` the raw column names."""

    df: DataFrame
    raw_names: list[str]


def _line_index(spark: SparkSession, path: str) -> DataFrame:
    """The file's lines as rows `(n, line)`, `n` the 1-based line number (see the module doc)."""
    lines = spark.read.text(path).select(
        F.col("value").alias("line"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("id"),
    )
    return lines.select(F.row_number().over(Window.orderBy("block", "id")).alias("n"), "line")


def _first_lines(spark: SparkSession, path: str, count: int = 256, chars: int = 65536) -> list[str]:
    """Up to `count` first lines of the file, each cut to `chars` characters (a cheap scan of the first split)."""
    return [r[0] for r in spark.read.text(path).select(F.substring("value", 1, chars)).limit(count).collect()]


def _key_order(first_lines: list[str], ndjson: bool) -> list[str]:
    """Keys of the file's first JSON object, in order of appearance ([] when it cannot be found in `first_lines`)."""
    if ndjson:
        for line in first_lines:
            try:
                first = json.loads(line)
            except ValueError:
                continue
            if isinstance(first, dict):
                return list(first)
        return []
    text = "\n".join(first_lines).lstrip("\ufeff \t\r\n")
    text = text[1:].lstrip() if text.startswith("[") else text
    try:
        first, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return []
    return list(first) if isinstance(first, dict) else []


def _ordered(fields: list[str], key_order: list[str]) -> list[str]:
    """`fields` (Spark's inference sorts JSON keys) in the order of `key_order`, unknown ones after."""
    return [k for k in key_order if k in fields] + [f for f in fields if f not in key_order]


def _read_csv(spark: SparkSession, path: str) -> _Records:
    quotes = F.length("line") - F.length(F.regexp_replace("line", '"', ""))
    by_line = Window.orderBy("n")
    lines = _line_index(spark, path).withColumn("quotes", quotes)
    before = F.coalesce(F.sum("quotes").over(by_line.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0))
    lines = lines.withColumn("starts", (before % 2 == 0).cast("int"))
    lines = lines.withColumn("record", F.sum("starts").over(by_line.rowsBetween(Window.unboundedPreceding, 0)))
    records = (
        lines.groupBy("record")
        .agg(
            F.min("n").alias(_LINE),
            F.array_join(
                F.transform(F.array_sort(F.collect_list(F.struct("n", "line"))), lambda x: x["line"]), "\n"
            ).alias("text"),
        )
        .where(~F.col("text").rlike(r"^\s*$"))
    )
    header = records.orderBy(_LINE).select(_LINE, "text").limit(1).collect()
    if not header:
        raise PipelineError("EMPTY_FILE", "The CSV file has no header line; upload a file with a header and rows.")
    header_line, header_text = header[0][_LINE], header[0]["text"].removeprefix("\ufeff")
    ddl = spark.range(1).select(F.schema_of_csv(F.lit(header_text), _CSV_OPTIONS)).first()[0]
    width = len(re.findall(r"(?:^|[<,])\s*`?_c\d+`?\s*:", ddl))
    schema = ", ".join(f"c{i} STRING" for i in range(width))
    raw = spark.range(1).select(F.from_csv(F.lit(header_text), schema, {"quote": '"', "escape": '"'}).alias("h"))
    raw_names = [v if v is not None else "" for v in raw.first()["h"]]
    parsed = records.where(F.col(_LINE) > header_line).select(
        _LINE, F.from_csv("text", f"{schema}, {_BAD} STRING", {**_CSV_OPTIONS, **_PERMISSIVE}).alias("r")
    )
    columns = [F.col("r").getField(f"c{i}").alias(f"c{i}") for i in range(width)]
    return _Records(parsed.select(*columns, _LINE, F.col("r").getField(_BAD).alias(_BAD)), raw_names)


def _read_ndjson(spark: SparkSession, path: str) -> _Records:
    inferred = spark.read.options(**_PERMISSIVE).json(path).schema
    fields = [f for f in inferred.fields if f.name != _BAD]
    names = _ordered([f.name for f in fields], _key_order(_first_lines(spark, path), ndjson=True))
    by_name = {f.name: f for f in fields}
    schema = StructType([by_name[n] for n in names] + [StructField(_BAD, StringType())])
    lines = _line_index(spark, path).where(~F.col("line").rlike(r"^\s*$"))
    parsed = lines.select(F.col("n").alias(_LINE), F.from_json("line", schema, _PERMISSIVE).alias("r"))
    columns = [F.col("r").getField(n).alias(f"c{i}") for i, n in enumerate(names)]
    return _Records(parsed.select(*columns, _LINE, F.col("r").getField(_BAD).alias(_BAD)), names)


def _json_error_line(spark: SparkSession, path: str) -> int | None:
    """The line of the first syntax error of a JSON document, as Jackson reports it in the cause of a FAILFAST read
    (Spark Connect sends the server's stack trace with the error; a local Spark's Py4J error carries it too); None
    when the error carries no position."""
    try:
        spark.read.options(multiLine=True, mode="FAILFAST").schema(f"{_BAD} STRING").json(path).collect()
    except Exception as e:  # noqa: BLE001 - the file is known to be malformed; only the position is sought here
        trace = (getattr(e, "getStackTrace", lambda: None)() or "") + str(e)
        found = _JACKSON_LOCATION.search(trace)
        return int(found.group(1)) if found else None
    return None


def _read_json(spark: SparkSession, path: str) -> _Records:
    df = spark.read.options(multiLine=True, **_PERMISSIVE).json(path)
    if _BAD in df.columns:
        line = _json_error_line(spark, path)
        where = f"a syntax error at line {line}" if line else "a value that is not an object in its top-level array"
        raise PipelineError(
            "MALFORMED_FILE",
            f"The JSON file cannot be read: it has {where}; fix it (a JSON array of objects, or one object) "
            "and upload it again.",
        )
    names = _ordered(df.columns, _key_order(_first_lines(spark, path), ndjson=False))
    return _without_lines(df, names)


def _read_parquet(spark: SparkSession, path: str) -> _Records:
    df = spark.read.parquet(path)
    return _without_lines(df, df.columns)


def _without_lines(df: DataFrame, names: list[str]) -> _Records:
    """Records of a reader that has no lines nor malformed records: `names` by position, null `_LINE` and `_BAD`."""
    columns = [F.col(_quote(n)).alias(f"c{i}") for i, n in enumerate(names)]
    nulls = [F.lit(None).cast("bigint").alias(_LINE), F.lit(None).cast("string").alias(_BAD)]
    return _Records(df.select(*columns, *nulls), list(names))


_REASONS = {
    "CSV": "not a CSV record with the header's number of fields (a missing or extra field, or an unclosed quote)",
    "NDJSON": "not one JSON object",
}

_READERS = {"CSV": _read_csv, "NDJSON": _read_ndjson, "JSON": _read_json, "PARQUET": _read_parquet}


def _candidates(col: Column, numeric: bool) -> list[tuple[str, Column]]:
    """(label, typed expression) per candidate type of a string column, in order of preference."""
    out: list[tuple[str, Column]] = []
    if numeric:
        out.append(("bigint", F.when(col.rlike(_INT_RE), col.try_cast("bigint"))))
        out.append(("double", F.when(col.rlike(_NUMBER_RE), col.try_cast("double"))))
    out += [(f"date:{f}", F.try_to_date(col, f)) for f in DATE_FORMATS]
    out += [(f"timestamp:{f}", F.try_to_timestamp(col, F.lit(f))) for f in TIMESTAMP_FORMATS]
    return out


def _profile(df: DataFrame, plan: dict[str, list[tuple[str, Column]]]) -> tuple[dict[str, int], dict[str, list[bool]]]:
    """One Spark job over `df`: the non-null count of every column, and per column of `plan` whether each candidate
    parses every non-null value."""
    aggs: list[Column] = [F.count(F.col(_quote(c))).alias(f"n{i}") for i, c in enumerate(df.columns)]
    index = {c: i for i, c in enumerate(df.columns)}
    for c, candidates in plan.items():
        aggs += [F.count(expr).alias(f"c{index[c]}_{k}") for k, (_, expr) in enumerate(candidates)]
    counts = df.agg(*aggs).first().asDict()
    non_null = {c: int(counts[f"n{i}"]) for i, c in enumerate(df.columns)}
    parses = {
        c: [counts[f"c{index[c]}_{k}"] == non_null[c] for k in range(len(candidates))] for c, candidates in plan.items()
    }
    return non_null, parses


def infer_types(
    df: DataFrame, numeric_from_strings: bool, keep_strings: frozenset[str] = frozenset(), parse_strings: bool = True
) -> tuple[DataFrame, dict[str, str], dict[str, int]]:
    """`df` with `NULL_TOKENS` nulled in its string columns and those columns typed (module doc, step 5), except the
    columns in `keep_strings`; with `parse_strings` False, values and types are left as they are.

    Returns (typed DataFrame, the rule chosen per converted column — `bigint`, `double`, `date:<format>`,
    `timestamp:<format>` —, the count of non-null values per column). Two Spark jobs (`_profile`) count, per column,
    its non-null values and, per string column to type, the values each candidate parses: one on a sample to rule
    candidates out, one on every row.
    """
    strings = [f.name for f in df.schema.fields if isinstance(f.dataType, StringType)] if parse_strings else []
    nulled = df.select(
        *[
            F.when(F.col(_quote(c)).isin(*NULL_TOKENS), F.lit(None).cast("string")).otherwise(F.col(_quote(c))).alias(c)
            if c in strings
            else F.col(_quote(c))
            for c in df.columns
        ]
    )
    to_type = [c for c in strings if c not in keep_strings]
    plan = {c: _candidates(F.col(_quote(c)), numeric_from_strings) for c in to_type}
    # Pass 1, on the first PROFILE_SAMPLE_ROWS rows: a candidate that fails a sampled value fails the column, so
    # dropping it changes nothing; pass 2, on every row, counts only the candidates left (1-3 per column, not 17).
    sampled = _profile(nulled.limit(PROFILE_SAMPLE_ROWS), plan)[1]
    plan = {c: [cand for k, cand in enumerate(plan[c]) if sampled[c][k]] for c in to_type}
    non_null, parses = _profile(nulled, plan)
    chosen: dict[str, str] = {}
    exprs: dict[str, Column] = {}
    for c in to_type:
        for (label, expr), ok in zip(plan[c], parses[c], strict=True):
            if non_null[c] > 0 and ok:
                chosen[c], exprs[c] = label, expr.alias(c)
                break
    return nulled.select(*[exprs.get(c, F.col(_quote(c))) for c in nulled.columns]), chosen, non_null


def _atomic(type_name: str) -> bool:
    return not type_name.startswith(("struct<", "array<", "map<"))


def reconcile_with_table(df: DataFrame, table: StructType, non_null: dict[str, int]) -> DataFrame:
    """`df` (typed, normalized names) made fit for an APPEND to a table of schema `table` (module doc, step 6):
    the table's columns first in its order, then the new ones; casts where the rule allows.

    Raises PipelineError SCHEMA_CONFLICT naming every conflicting column with the file's and the table's types.
    """
    table_types = {f.name: f.dataType for f in table.fields}
    conflicts: list[str] = []
    columns: dict[str, Column] = {}
    for field in df.schema.fields:
        name, source = field.name, field.dataType.simpleString()
        target_type = table_types.get(name)
        target = target_type.simpleString() if target_type is not None else None
        col = F.col(_quote(name))
        if target is None or source == target:
            columns[name] = col
        elif (
            non_null.get(name, 0) == 0 or (source, target) in SAFE_WIDENINGS or (target == "string" and _atomic(source))
        ):
            columns[name] = col.cast(target_type).alias(name)
        else:
            conflicts.append(f"{name} ({source} in the file, {target} in the table)")
    if conflicts:
        raise PipelineError(
            "SCHEMA_CONFLICT",
            f"APPEND refused: column type{'s' if len(conflicts) > 1 else ''} conflict with the table: "
            f"{'; '.join(conflicts)}; upload a file whose values fit the table's types, or load it with OVERWRITE.",
        )
    order = [f.name for f in table.fields if f.name in columns] + [n for n in columns if n not in table_types]
    return df.select(*[columns[n] for n in order])


@contextmanager
def session_conf(spark: SparkSession, conf: dict[str, str]) -> Iterator[None]:
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


LOAD_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.caseSensitive": "true",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
}
"""Session settings of a load: UTC (zone-less timestamps), case-sensitive names (so `Name` and `name` are two raw
columns that normalization then refuses, instead of Spark's own renaming), deletion vectors off."""


def _history(spark: SparkSession, target: str) -> DataFrame | None:
    """`DESCRIBE HISTORY` of the Delta table at `target`, or None when there is no Delta table there."""
    try:
        return spark.sql(f"DESCRIBE HISTORY delta.{_quote(target)}")
    except AnalysisException as e:
        if e.getCondition() in _NOT_A_TABLE:
            return None
        raise


def find_commit(spark: SparkSession, target: str, pipeline_run_id: str) -> dict[str, Any] | None:
    """The commit of the Delta table at `target` whose `userMetadata` is `pipeline_run_id`:
    `{"version": int, "committed_at": ISO-8601 UTC string, "metrics": {name: str}}`, or None (no table, no commit)."""
    history = _history(spark, target)
    if history is None:
        return None
    rows = (
        history.where(F.col("userMetadata") == F.lit(pipeline_run_id))
        .select(
            "version",
            F.date_format("timestamp", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").alias("committed_at"),
            "operationMetrics",
        )
        .orderBy("version")
        .limit(1)
        .collect()
    )
    if not rows:
        return None
    return {
        "version": int(rows[0]["version"]),
        "committed_at": rows[0]["committed_at"],
        "metrics": dict(rows[0]["operationMetrics"] or {}),
    }


def describe_columns(schema: StructType) -> list[dict[str, Any]]:
    """`[{"name", "type", "nullable"}]` of a schema, `type` Spark's SQL name (`bigint`, `string`, `timestamp`...)."""
    return [{"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable} for f in schema.fields]


def _malformed_message(bad: int, read: int, allowed: int, lines: list[int | None]) -> str:
    known = [str(n) for n in lines if n is not None][:5]
    at = f", first at line{'s' if len(known) > 1 else ''} {', '.join(known)}" if known else ""
    if bad == read:
        return f"Every record of the file is malformed{at}; fix the file and upload it again."
    return (
        f"The file has {bad} malformed record{'s' if bad > 1 else ''}, more than the {allowed} allowed{at}; fix "
        f"{'them' if bad > 1 else 'it'} and upload the file again, or allow more with maxBadRecords."
    )


def load(
    spark: SparkSession,
    *,
    bucket: str,
    org_id: str,
    table: str,
    upload_id: str,
    bronze_key: str,
    fmt: str,
    mode: str,
    pipeline_run_id: str,
    max_bad_records: int = 0,
) -> dict[str, Any]:
    """Loads the uploaded object `s3a://<bucket>/<bronze_key>` into the gold table `s3a://<bucket>/gold/org=<org_id>/
    <table>` (module doc). Idempotent: a second call with the same `pipeline_run_id` writes nothing and returns the
    same result.

    Returns the load task's XCom: `{"delta_version": int, "committed_at": ISO-8601 UTC, "rows_read": int (records in
    the file, good and malformed), "rows_written": int (the commit's numOutputRows), "rows_rejected": int,
    "rejected": [{"line": int | None, "value": str (<= 200 chars), "reason": str}] (first 10 by line),
    "columns": [{"name", "type", "nullable"}] (the table's schema at that version)}`.

    Raises PipelineError INVALID_PARAMS, BAD_KEY, EMPTY_FILE, MALFORMED_FILE, DUPLICATE_COLUMNS or SCHEMA_CONFLICT
    before anything is written; Spark errors (server or object store unreachable, a concurrent commit that
    conflicts) propagate: the caller retries, and the idempotent write makes that safe.
    """
    check_choice(fmt, FORMATS, "format")
    check_choice(mode, MODES, "mode")
    check_uuid(pipeline_run_id, "pipeline_run_id")
    max_bad_records = check_max_bad_records(max_bad_records)
    check_bronze_key(bronze_key, org_id, table, upload_id)
    source, target = s3a_uri(bucket, bronze_key), s3a_uri(bucket, gold_key(org_id, table))

    with session_conf(spark, LOAD_CONF):
        records = _READERS[fmt](spark, source)
        if not records.raw_names:
            raise PipelineError("EMPTY_FILE", "The file has no records (no columns); upload a file with data.")
        names = normalize_column_names(records.raw_names)
        parsed = records.df.persist()
        try:
            counts = parsed.agg(F.count(F.lit(1)).alias("read"), F.count(_BAD).alias("bad")).first()
            rows_read, rows_rejected = int(counts["read"]), int(counts["bad"])
            if rows_read == 0:
                raise PipelineError("EMPTY_FILE", "The file has no rows; upload a file with data.")
            sample = (
                parsed.where(F.col(_BAD).isNotNull())
                .orderBy(_LINE)
                .select(_LINE, F.substring(_BAD, 1, VALUE_CHARS).alias("value"))
                .limit(REJECTED_SAMPLE)
                .collect()
            )
            rejected = [{"line": r[_LINE], "value": r["value"], "reason": _REASONS[fmt]} for r in sample]
            if rows_rejected > max_bad_records or rows_rejected == rows_read:
                raise PipelineError(
                    "MALFORMED_FILE",
                    _malformed_message(rows_rejected, rows_read, max_bad_records, [r["line"] for r in rejected]),
                )
            commit = find_commit(spark, target, pipeline_run_id)
            if commit is None:
                good = parsed.where(F.col(_BAD).isNull()).select(
                    *[F.col(f"c{i}").alias(n) for i, n in enumerate(names)]
                )
                _write(spark, good, target, fmt, mode, pipeline_run_id)
                commit = find_commit(spark, target, pipeline_run_id)
                if commit is None:
                    raise RuntimeError(f"the Delta commit of run {pipeline_run_id} is not in the table's history")
        finally:
            parsed.unpersist()
        schema = spark.read.format("delta").option("versionAsOf", commit["version"]).load(target).schema
    return {
        "delta_version": commit["version"],
        "committed_at": commit["committed_at"],
        "rows_read": rows_read,
        "rows_written": int(commit["metrics"].get("numOutputRows", 0)),
        "rows_rejected": rows_rejected,
        "rejected": rejected,
        "columns": describe_columns(schema),
    }


def _write(spark: SparkSession, good: DataFrame, target: str, fmt: str, mode: str, pipeline_run_id: str) -> None:
    """Types `good` and writes it to `target` once (module doc, steps 5-7). Raises SCHEMA_CONFLICT (APPEND)."""
    table_schema = None
    if mode == "APPEND" and _history(spark, target) is not None:
        table_schema = spark.read.format("delta").load(target).schema
    keep = frozenset(f.name for f in table_schema.fields if isinstance(f.dataType, StringType)) if table_schema else ()
    typed, _rules, non_null = infer_types(
        good, numeric_from_strings=fmt == "CSV", keep_strings=frozenset(keep), parse_strings=fmt != "PARQUET"
    )
    if table_schema is not None:
        typed = reconcile_with_table(typed, table_schema, non_null)
    writer = (
        typed.write.format("delta")
        .option("txnAppId", pipeline_run_id)
        .option("txnVersion", "0")
        .option("userMetadata", pipeline_run_id)
        .option("delta.enableDeletionVectors", "false")
    )
    if mode == "OVERWRITE":
        writer = writer.mode("overwrite").option("overwriteSchema", "true")
    else:
        writer = writer.mode("append").option("mergeSchema", "true")
    writer.save(target)
