"""The pipeline's errors: one type for failures the user must fix, with a fixed set of stable codes.

A `PipelineError` means "this upload cannot be loaded as it is": retrying cannot help, so the Airflow task fails
at once (no retry) after pushing `PipelineError.to_xcom()` as the XCom `datapilot_error`, which the lake subgraph
shows to the user. Every other exception (Spark, S3 or Neo4j unreachable, a conflicting concurrent commit) is
treated as transient: the task retries, and only when its last try fails does it push `failure_xcom(...)`.
"""

from __future__ import annotations

ERROR_CODES = frozenset(
    {
        "INVALID_PARAMS",  # a parameter breaks its rule (org id, table name, upload id, run id, format, mode, ...)
        "BAD_KEY",  # the bronze key is not bronze/org=<org>/<table>/<upload>/<file name>, or the file name is refused
        "OBJECT_MISSING",  # no object at the bronze key
        "EMPTY_FILE",  # the object has 0 bytes, only whitespace, no records or no columns
        "SIZE_MISMATCH",  # the object's size differs from the announced size
        "FORMAT_MISMATCH",  # the first bytes do not look like the announced format
        "MALFORMED_FILE",  # more malformed records than allowed, or a JSON document that does not parse
        "DUPLICATE_COLUMNS",  # two raw column names become the same name after normalization
        "SCHEMA_CONFLICT",  # APPEND: a column's type conflicts with the gold table's
    }
)
"""Codes of `PipelineError`, stable: the lake subgraph and its clients branch on them, never on messages."""

TRANSIENT_CODE = "PIPELINE_UNAVAILABLE"
"""Code of the `datapilot_error` pushed when a transient failure (a service unreachable) survived every retry."""

INTERNAL_CODE = "INTERNAL"
"""Code of the `datapilot_error` pushed when an unexpected error survived every retry."""


class PipelineError(Exception):
    """A failure the user must fix (bad file, bad parameters): `code` is one of `ERROR_CODES`, `message` one
    readable sentence saying what is wrong and what to do. Never retried."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown pipeline error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

    def to_xcom(self) -> dict[str, str]:
        """The `datapilot_error` XCom value: `{"code": <one of ERROR_CODES>, "message": <sentence>}`."""
        return {"code": self.code, "message": self.message}


_SERVICES = (("pyspark", "Spark"), ("grpc", "Spark"), ("neo4j", "Neo4j"), ("botocore", "the object store"))


def failure_xcom(task: str, error: BaseException) -> dict[str, str]:
    """The `datapilot_error` XCom value for a non-`PipelineError` that failed a task's last try.

    `{"code": "PIPELINE_UNAVAILABLE", "message": ...}` when the error comes from a client library of a service
    (pyspark/grpc: Spark; neo4j; botocore: the object store), naming that service; else `{"code": "INTERNAL"}`.
    The message names the task and the error's type only (no paths or credentials).
    """
    module = type(error).__module__ or ""
    for prefix, service in _SERVICES:
        if module == prefix or module.startswith(prefix + "."):
            return {
                "code": TRANSIENT_CODE,
                "message": f"The {task} step could not complete because {service} failed "
                f"({type(error).__name__}) on every try; try again later.",
            }
    return {
        "code": INTERNAL_CODE,
        "message": f"The {task} step failed with an internal error ({type(error).__name__}); "
        "try again later or contact the operator.",
    }
