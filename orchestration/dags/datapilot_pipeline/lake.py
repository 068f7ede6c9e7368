"""The lake's layout on the object store and the rules of every pipeline parameter (issue 5).

- raw uploads (bronze): `bronze/org=<org id>/<table>/<upload id>/<file name>`
- Delta tables (gold):  `gold/org=<org id>/<table>` (with its `_delta_log/`)

Spark names the same objects `s3a://<bucket>/<key>`. The patterns are those of the TypeScript side
(`packages/lake/src/lake-layout.ts`), except `FILE_NAME_PATTERN`, which also refuses a leading `_` (see there).
Only values that passed these checks reach a key, a URI or a Spark SQL string, so a path never leaves the org's
own prefix and can be quoted with backticks as is.
"""

from __future__ import annotations

import re

from .errors import PipelineError

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""Org ids, upload ids and pipeline run ids: lower-case canonical UUIDs (36 characters)."""

TABLE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
"""Lake table names: lower-case, start with a letter, at most 63 characters."""

BUCKET_NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
"""Bucket names as S3 allows them for path-style access (AWS "Bucket naming rules"), without `..`."""

FILE_NAME_PATTERN = r"^[A-Za-z0-9-][A-Za-z0-9._-]{0,99}$"
"""Stored file names of uploads: 1-100 characters of letters, digits, `.`, `_`, `-`, not starting with `.` or `_`.

Stricter than `lake-layout.ts` on the first character: Hadoop and Spark treat a file whose name starts with `_` or
`.` as hidden and read nothing from it, even when the path names it (measured: `spark.read.text` of `_a.csv` gave
0 rows). No path separators, Hadoop glob or URI metacharacters (`*?[]{}\\:`)."""

FORMATS = ("CSV", "JSON", "NDJSON", "PARQUET")
"""Upload formats: CSV with a header line; JSON, one document (a top-level array of objects, or one object);
NDJSON, one JSON object per line; Apache Parquet."""

MODES = ("OVERWRITE", "APPEND")
"""Write modes: OVERWRITE replaces the gold table (rows and schema); APPEND adds rows."""

MAX_BAD_RECORDS_LIMIT = 10_000
"""Upper bound of the `max_bad_records` parameter."""


def _matches(pattern: str, value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(pattern, value) is not None


def check_uuid(value: object, name: str) -> str:
    """`value` when it is a lower-case UUID (`UUID_PATTERN`); else PipelineError INVALID_PARAMS naming `name`."""
    if not _matches(UUID_PATTERN, value):
        raise PipelineError("INVALID_PARAMS", f"{name} must be a lower-case UUID; got {str(value)[:80]!r}.")
    return value  # type: ignore[return-value]


def check_table(value: object) -> str:
    """`value` when it matches `TABLE_NAME_PATTERN`; else PipelineError INVALID_PARAMS."""
    if not _matches(TABLE_NAME_PATTERN, value):
        raise PipelineError("INVALID_PARAMS", f"table must match {TABLE_NAME_PATTERN}; got {str(value)[:80]!r}.")
    return value  # type: ignore[return-value]


def check_bucket(value: object) -> str:
    """`value` when it is a valid bucket name (`BUCKET_NAME_PATTERN`, no `..`); else ValueError (configuration)."""
    if not _matches(BUCKET_NAME_PATTERN, value) or ".." in value:  # type: ignore[operator]
        raise ValueError(f"LAKE_BUCKET must be a valid S3 bucket name; got {value!r}")
    return value  # type: ignore[return-value]


def check_choice(value: object, choices: tuple[str, ...], name: str) -> str:
    """`value` when it is one of `choices`; else PipelineError INVALID_PARAMS naming `name` and the choices."""
    if value not in choices:
        raise PipelineError("INVALID_PARAMS", f"{name} must be one of {', '.join(choices)}; got {str(value)[:40]!r}.")
    return value  # type: ignore[return-value]


def check_max_bad_records(value: object) -> int:
    """`value` when it is an integer in [0, MAX_BAD_RECORDS_LIMIT]; else PipelineError INVALID_PARAMS."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BAD_RECORDS_LIMIT:
        raise PipelineError("INVALID_PARAMS", f"max_bad_records must be an integer in [0, {MAX_BAD_RECORDS_LIMIT}].")
    return value


def bronze_upload_prefix(org_id: str, table: str, upload_id: str) -> str:
    """`bronze/org=<org_id>/<table>/<upload_id>/`: the key prefix of one upload (parts checked: INVALID_PARAMS)."""
    return f"bronze/org={check_uuid(org_id, 'org_id')}/{check_table(table)}/{check_uuid(upload_id, 'upload_id')}/"


def check_bronze_key(bronze_key: object, org_id: str, table: str, upload_id: str) -> str:
    """The file name of `bronze_key`, which must be exactly `bronze/org=<org_id>/<table>/<upload_id>/<file name>`
    with a file name matching `FILE_NAME_PATTERN`.

    Raises PipelineError INVALID_PARAMS for a bad org, table or upload id; BAD_KEY when the key is outside that
    upload's prefix (another org, table or upload, a sub-folder, `..`) or its file name is refused.
    """
    prefix = bronze_upload_prefix(org_id, table, upload_id)
    if not isinstance(bronze_key, str) or not bronze_key.startswith(prefix):
        raise PipelineError("BAD_KEY", f"bronze_key must be {prefix}<file name>; got {str(bronze_key)[:200]!r}.")
    file_name = bronze_key[len(prefix) :]
    if not _matches(FILE_NAME_PATTERN, file_name):
        raise PipelineError(
            "BAD_KEY",
            f"The file name {file_name[:120]!r} is not allowed: use 1-100 letters, digits, '.', '_' or '-', not "
            "starting with '.' or '_'; rename the file and upload it again.",
        )
    return file_name


def s3a_uri(bucket: str, key: str) -> str:
    """`s3a://<bucket>/<key>` (trailing slashes dropped): how Spark (Hadoop S3A) names an object or a prefix."""
    return f"s3a://{check_bucket(bucket)}/{key.rstrip('/')}"


def gold_key(org_id: str, table: str) -> str:
    """`gold/org=<org_id>/<table>`: the key prefix of one gold Delta table (parts checked: INVALID_PARAMS)."""
    return f"gold/org={check_uuid(org_id, 'org_id')}/{check_table(table)}"
