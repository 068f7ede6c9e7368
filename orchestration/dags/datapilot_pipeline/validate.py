"""Step 1, validate: the uploaded object exists where its key says, has the announced size, and its first bytes look
like the announced format. Reads the object's head (HEAD request) and at most `HEAD_BYTES` of content (ranged GETs);
never the whole file. Nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import PipelineError
from .lake import FORMATS, check_bronze_key, check_choice

HEAD_BYTES = 64 * 1024
"""How many bytes from the start of the object the format check reads (one ranged GET)."""

PARQUET_MAGIC = b"PAR1"
"""Apache Parquet files start and end with these 4 bytes (Parquet format specification, "File Format")."""

_UTF8_BOM = "\ufeff"
_WHITESPACE = " \t\r\n"


def _mismatch(fmt: str, what: str, todo: str) -> PipelineError:
    return PipelineError("FORMAT_MISMATCH", f"The file was announced as {fmt} but {what}; {todo}.")


def _decode(head: bytes, fmt: str, complete: bool) -> str:
    """`head` as UTF-8 text without a leading byte order mark; a multi-byte character cut at the end of a partial
    head is dropped. FORMAT_MISMATCH for Parquet, binary (NUL bytes) or non-UTF-8 content."""
    if head.startswith(PARQUET_MAGIC):
        raise _mismatch(fmt, "it is a Parquet file (it starts with PAR1)", "announce it as PARQUET")
    if b"\x00" in head:
        raise _mismatch(fmt, "it is not text (it contains NUL bytes)", "upload a UTF-8 text file")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if complete or e.start < len(head) - 3 or e.reason != "unexpected end of data":
            raise _mismatch(fmt, "it is not UTF-8 text", "save it as UTF-8 and upload it again") from None
        text = head[: e.start].decode("utf-8")
    return text.removeprefix(_UTF8_BOM)


def _first_line(text: str, complete: bool) -> str | None:
    """The first line of `text` (without its end of line), or None when it does not end within a partial head."""
    end = text.find("\n")
    if end < 0:
        return text if complete else None
    return text[:end].rstrip("\r")


def check_format(head: bytes, fmt: str, complete: bool, tail: bytes = b"") -> None:
    """Checks that `head`, the first bytes of a file (all of it when `complete`), looks like `fmt`:

    - PARQUET: starts with `PAR1`, and `tail` (the last bytes, at least 4) ends with `PAR1` (else the file is cut:
      MALFORMED_FILE);
    - JSON: after a BOM and whitespace, a top-level array or object (`[` or `{`); when that first value ends within
      `head`, nothing but whitespace follows it (several objects one after another are NDJSON);
    - NDJSON: the first non-blank line is a JSON object (only `{` is checked when that line is longer than `head`);
    - CSV: a header line of text: not Parquet, not binary, not starting like JSON (`{` or `[`).
    Text formats must be UTF-8 without NUL bytes. Raises PipelineError FORMAT_MISMATCH (naming the announced format,
    what was found and what to do), EMPTY_FILE for a complete text file of whitespace only.
    """
    if fmt == "PARQUET":
        if not head.startswith(PARQUET_MAGIC):
            raise _mismatch(fmt, "it does not start with the Parquet magic bytes PAR1", "announce its real format")
        if not tail.endswith(PARQUET_MAGIC):
            raise PipelineError(
                "MALFORMED_FILE", "The Parquet file does not end with PAR1: it is incomplete; upload it again."
            )
        return
    text = _decode(head, fmt, complete)
    body = text.lstrip(_WHITESPACE)
    if not body:
        if complete:
            raise PipelineError("EMPTY_FILE", "The file holds only whitespace; upload a file with data.")
        return  # more than HEAD_BYTES of leading whitespace: let the load decide
    if fmt == "JSON":
        if body[0] not in "[{":
            raise _mismatch(fmt, "it does not start with '[' or '{'", "upload a JSON array of objects or one object")
        try:
            _, end = json.JSONDecoder().raw_decode(body)
        except ValueError:
            return  # the document continues past the head, or has a syntax error the load reports with its line
        rest = body[end:].lstrip(_WHITESPACE)
        if rest:
            raise _mismatch(
                fmt,
                "more data follows its first JSON value" + (" (one object per line?)" if rest[0] == "{" else ""),
                "announce one object per line as NDJSON, or upload a single JSON array or object",
            )
    elif fmt == "NDJSON":
        if body[0] == "[":
            raise _mismatch(fmt, "it starts with '[' (a JSON array)", "announce it as JSON")
        line = _first_line(body, complete)
        if line is None:
            if body[0] != "{":
                raise _mismatch(fmt, "its first line is not a JSON object", "upload one JSON object per line")
            return
        try:
            first = json.loads(line)
        except ValueError:
            first = None
        if not isinstance(first, dict):
            raise _mismatch(
                fmt,
                "its first line is not a JSON object",
                "upload one JSON object per line, or announce a document spanning lines as JSON",
            )
    elif fmt == "CSV":
        if body[0] in "[{":
            raise _mismatch(fmt, f"it starts like JSON ('{body[0]}')", "announce it as JSON or NDJSON")
    else:
        check_choice(fmt, FORMATS, "format")


def validate_upload(
    s3: Any,
    *,
    bucket: str,
    org_id: str,
    table: str,
    upload_id: str,
    bronze_key: str,
    fmt: str,
    size_bytes: int,
) -> dict[str, Any]:
    """Checks the uploaded object `s3://<bucket>/<bronze_key>` before anything is loaded; read only, so idempotent.

    `s3` is a boto3 S3 client (`config.s3_client`). In order: the parameters and the key's place
    (`lake.check_bronze_key`: exactly `bronze/org=<org_id>/<table>/<upload_id>/<file name>`), the object exists,
    is not empty, has `size_bytes` bytes, and its first `HEAD_BYTES` bytes (plus the last 8 for Parquet) pass
    `check_format`.

    Returns `{"format": fmt, "size_bytes": <the object's size>}` (the validate task's XCom).
    Raises PipelineError INVALID_PARAMS, BAD_KEY, OBJECT_MISSING, EMPTY_FILE, SIZE_MISMATCH, FORMAT_MISMATCH or
    MALFORMED_FILE (a cut Parquet file); botocore errors (object store unreachable, denied) propagate.
    """
    from botocore.exceptions import ClientError

    check_choice(fmt, FORMATS, "format")
    if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes < 1:
        raise PipelineError("INVALID_PARAMS", "size_bytes must be an integer of at least 1.")
    file_name = check_bronze_key(bronze_key, org_id, table, upload_id)
    try:
        size = int(s3.head_object(Bucket=bucket, Key=bronze_key)["ContentLength"])
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise PipelineError(
                "OBJECT_MISSING", f"The uploaded file {file_name} is not in the lake; upload it again."
            ) from None
        raise
    if size == 0:
        raise PipelineError("EMPTY_FILE", f"The file {file_name} is empty (0 bytes); upload a file with data.")
    if size != size_bytes:
        raise PipelineError(
            "SIZE_MISMATCH",
            f"The stored file {file_name} has {size} bytes but {size_bytes} were announced: the upload is incomplete "
            "or the announced size is wrong; upload it again.",
        )
    head = s3.get_object(Bucket=bucket, Key=bronze_key, Range=f"bytes=0-{min(size, HEAD_BYTES) - 1}")["Body"].read()
    tail = b""
    if fmt == "PARQUET" and size >= 8:
        tail = s3.get_object(Bucket=bucket, Key=bronze_key, Range=f"bytes={size - 8}-{size - 1}")["Body"].read()
    check_format(head, fmt, complete=len(head) >= size, tail=tail)
    return {"format": fmt, "size_bytes": size}
