"""The library's pure rules, without I/O: names, keys, the format check of a file's first bytes, error values.

Expected values are written out by hand.
"""

from __future__ import annotations

import json

import pytest
from datapilot_pipeline.bronze_to_gold import normalize_column_names, snake_case
from datapilot_pipeline.errors import ERROR_CODES, PipelineError, failure_xcom
from datapilot_pipeline.lake import check_bronze_key, gold_key, s3a_uri
from datapilot_pipeline.validate import check_format

ORG = "0b6f9d4e-6a43-4c1e-9d7a-3f1f2a9c5e01"
OTHER_ORG = "7c2e8a10-1d5b-4f3a-8e44-95b0c6d7e802"
UPLOAD = "a1d3c5e7-0f2b-4c6d-8e9f-1a2b3c4d5e6f"
PREFIX = f"bronze/org={ORG}/stocks/{UPLOAD}/"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Beak Length (mm)", "beak_length_mm"),
        ("Miles_per_Gallon", "miles_per_gallon"),
        ("IATA", "iata"),
        ("lifeExpect", "life_expect"),
        ("IATACode", "iata_code"),
        ("  Año 2020 ", "ano_2020"),
        ("temp_max", "temp_max"),
    ],
)
def test_snake_case(raw: str, expected: str) -> None:
    assert snake_case(raw) == expected


def test_normalize_column_names_fixes_empty_and_digit_names() -> None:
    assert normalize_column_names(["A b", "", "2019 Sales", "x"]) == ["a_b", "col_2", "col_2019_sales", "x"]


def test_columns_that_collide_after_normalization_are_refused_naming_them() -> None:
    with pytest.raises(PipelineError) as err:
        normalize_column_names(["Name", "name ", "Age", "AGE", "city"])
    assert err.value.code == "DUPLICATE_COLUMNS"
    assert "'Name' and 'name ' all become 'name'" in err.value.message
    assert "'Age' and 'AGE' all become 'age'" in err.value.message
    assert "city" not in err.value.message


def test_bronze_key_must_be_in_the_uploads_own_prefix() -> None:
    assert check_bronze_key(PREFIX + "stocks.csv", ORG, "stocks", UPLOAD) == "stocks.csv"
    for key in [
        f"bronze/org={OTHER_ORG}/stocks/{UPLOAD}/stocks.csv",  # another org
        f"bronze/org={ORG}/cars/{UPLOAD}/stocks.csv",  # another table
        f"bronze/org={ORG}/stocks/{OTHER_ORG}/stocks.csv",  # another upload
        f"gold/org={ORG}/stocks/{UPLOAD}/stocks.csv",
        PREFIX,  # no file name
        PREFIX + "sub/stocks.csv",  # a sub-folder
        PREFIX + "../x.csv",
        PREFIX + "_hidden.csv",  # Spark reads nothing from it
        PREFIX + ".hidden.csv",
        PREFIX + "a*.csv",  # Hadoop glob
        PREFIX + "a b.csv",
        PREFIX + "x" * 101,
    ]:
        with pytest.raises(PipelineError) as err:
            check_bronze_key(key, ORG, "stocks", UPLOAD)
        assert err.value.code == "BAD_KEY", key


@pytest.mark.parametrize(
    "org, table, upload",
    [("not-a-uuid", "stocks", UPLOAD), (ORG.upper(), "stocks", UPLOAD), (ORG, "Stocks", UPLOAD), (ORG, "s", "x")],
)
def test_bad_ids_are_invalid_params(org: str, table: str, upload: str) -> None:
    with pytest.raises(PipelineError) as err:
        check_bronze_key(PREFIX + "stocks.csv", org, table, upload)
    assert err.value.code == "INVALID_PARAMS"


def test_uris() -> None:
    assert s3a_uri("lake", gold_key(ORG, "stocks")) == f"s3a://lake/gold/org={ORG}/stocks"
    with pytest.raises(ValueError):
        s3a_uri("Bad_Bucket", "x")


def _code(head: bytes, fmt: str, complete: bool = True, tail: bytes = b"") -> str | None:
    try:
        check_format(head, fmt, complete, tail)
    except PipelineError as e:
        return e.code
    return None


def test_format_check_accepts_each_format() -> None:
    assert _code(b"\xef\xbb\xbfName,Age\nann,3\n", "CSV") is None
    assert _code(b'  [{"a": 1}, {"a": 2}]', "JSON") is None
    assert _code(b'{"a": {"b": 1}}\n', "JSON") is None
    assert _code(b'[{"a": 1},', "JSON", complete=False) is None  # continues past the head
    assert _code(b'{"a": 1}\n{"a": 2}\n', "NDJSON") is None
    assert _code(b"PAR1\x15\x04", "PARQUET", complete=False, tail=b"\x00\x00\x00\x10PAR1") is None
    # A 3-byte character cut by the end of a partial head is not a reason to refuse.
    assert _code("a,b\nç,€".encode()[:-1], "CSV", complete=False) is None


@pytest.mark.parametrize(
    "head, fmt, tail, code",
    [
        (b"PAR1\x15\x04\x00", "CSV", b"", "FORMAT_MISMATCH"),  # a Parquet file announced as CSV
        (b"Name,Age\nann,3\n", "JSON", b"", "FORMAT_MISMATCH"),  # a CSV announced as JSON
        (b"Name,Age\nann,3\n", "PARQUET", b"", "FORMAT_MISMATCH"),
        (b"Name,Age\nann,3\n", "NDJSON", b"", "FORMAT_MISMATCH"),
        (b'[{"a": 1}]', "CSV", b"", "FORMAT_MISMATCH"),  # JSON announced as CSV
        (b'[{"a": 1}]', "NDJSON", b"", "FORMAT_MISMATCH"),  # an array announced as NDJSON
        (b'{\n  "a": 1\n}\n', "NDJSON", b"", "FORMAT_MISMATCH"),  # a document over lines announced as NDJSON
        (b'{"a": 1}\n{"a": 2}\n', "JSON", b"", "FORMAT_MISMATCH"),  # NDJSON announced as JSON
        (b"42", "JSON", b"", "FORMAT_MISMATCH"),
        (b"a,b\n\x00\x01", "CSV", b"", "FORMAT_MISMATCH"),  # binary
        (b"caf\xe9,b\n", "CSV", b"", "FORMAT_MISMATCH"),  # Latin-1, not UTF-8
        (b" \n\t\n", "CSV", b"", "EMPTY_FILE"),
        (b"PAR1\x15\x04\x00", "PARQUET", b"\x15\x04\x00\x00", "MALFORMED_FILE"),  # cut: no PAR1 at the end
    ],
)
def test_format_check_refuses(head: bytes, fmt: str, tail: bytes, code: str) -> None:
    assert _code(head, fmt, tail=tail) == code


def test_error_values() -> None:
    e = PipelineError("EMPTY_FILE", "The file is empty.")
    assert e.to_xcom() == {"code": "EMPTY_FILE", "message": "The file is empty."}
    assert json.loads(json.dumps(e.to_xcom())) == e.to_xcom()
    with pytest.raises(ValueError):
        PipelineError("NOT_A_CODE", "x")
    assert {"EMPTY_FILE", "SIZE_MISMATCH", "FORMAT_MISMATCH", "MALFORMED_FILE", "DUPLICATE_COLUMNS"} <= ERROR_CODES
    assert {"SCHEMA_CONFLICT", "OBJECT_MISSING", "BAD_KEY"} <= ERROR_CODES


def test_failure_xcom_names_the_service_or_says_internal() -> None:
    from neo4j.exceptions import ServiceUnavailable

    neo = failure_xcom("publish", ServiceUnavailable("gone"))
    assert neo["code"] == "PIPELINE_UNAVAILABLE" and "Neo4j" in neo["message"] and "publish" in neo["message"]
    assert failure_xcom("load", KeyError("x"))["code"] == "INTERNAL"
