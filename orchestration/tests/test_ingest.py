"""validate -> load -> quality against real S3Proxy and Spark Connect (Delta over s3a): good uploads and each bad one.

Every expected value is computed here from the source bytes with Python's csv/json modules or pyarrow, or written
out by hand, never taken from Spark.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datapilot_pipeline.errors import PipelineError
from lakes import DATA_DIR, Upload

PENGUINS = (DATA_DIR / "penguins.json").read_bytes()
STOCKS = (DATA_DIR / "stocks.csv").read_bytes()
SEATTLE = (DATA_DIR / "seattle-weather.csv").read_bytes()


def records(data: bytes) -> list[dict]:
    return json.loads(data)


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


# ---- good uploads ----


def test_penguins_json(lake) -> None:
    result = lake.ingest("penguins", lake.upload("penguins", PENGUINS, "penguins.json"), "JSON")
    source = records(PENGUINS)
    assert len(source) == 344
    assert result["validate"] == {"format": "JSON", "size_bytes": len(PENGUINS)}
    load, report = result["load"], result["quality"]
    assert (load["delta_version"], load["rows_read"], load["rows_written"], load["rows_rejected"]) == (0, 344, 344, 0)
    assert load["rejected"] == []
    assert [(c["name"], c["type"]) for c in load["columns"]] == [
        ("species", "string"),
        ("island", "string"),
        ("beak_length_mm", "double"),
        ("beak_depth_mm", "double"),
        ("flipper_length_mm", "bigint"),
        ("body_mass_g", "bigint"),
        ("sex", "string"),
    ]
    adelie = sum(1 for r in source if r["Species"] == "Adelie")
    assert adelie == 152
    assert lake.gold("penguins").where("species = 'Adelie'").count() == adelie
    assert report["row_count"] == 344 and report["delta_version"] == 0
    assert report["null_counts"]["sex"] == sum(1 for r in source if r["Sex"] is None)
    assert report["null_counts"]["body_mass_g"] == sum(1 for r in source if r["Body Mass (g)"] is None)
    assert report["columns"] == load["columns"]
    assert json.loads(json.dumps(report)) == report  # an XCom value: plain JSON


def test_overwrite_then_append_then_a_retried_append(lake) -> None:
    first = lake.ingest("twice", lake.upload("twice", PENGUINS, "p.json"), "JSON", "OVERWRITE")
    run_id = str(uuid.uuid4())
    upload = lake.upload("twice", PENGUINS, "p.json")
    second = lake.ingest("twice", upload, "JSON", "APPEND", run_id=run_id)
    assert (first["load"]["delta_version"], second["load"]["delta_version"]) == (0, 1)
    assert (first["quality"]["row_count"], second["quality"]["row_count"]) == (344, 688)
    assert second["load"]["rows_written"] == 344
    # The same run again (a retried task): Delta's txn check skips the write; the result names the same commit.
    retried = lake.ingest("twice", upload, "JSON", "APPEND", run_id=run_id)
    assert retried["load"] == second["load"]
    assert lake.versions("twice") == [0, 1]
    assert lake.gold("twice").count() == 688
    assert lake.gold("twice", version=0).count() == 344


def test_ndjson(lake) -> None:
    cars = records((DATA_DIR / "cars.json").read_bytes())
    body = ("\n".join(json.dumps(r) for r in cars) + "\n").encode()
    result = lake.ingest("cars", lake.upload("cars", body, "cars.ndjson"), "NDJSON")
    assert result["load"]["rows_written"] == len(cars) == 406
    assert [c["name"] for c in result["load"]["columns"]][:3] == ["name", "miles_per_gallon", "cylinders"]
    hp = sum(r["Horsepower"] for r in cars if r["Horsepower"] is not None)
    assert lake.gold("cars").selectExpr("sum(horsepower) AS s").first()["s"] == hp


def test_keys_named_like_the_readers_internal_columns_are_kept(lake) -> None:
    # `__dp_bad` and `__dp_line` are ordinary JSON keys; normalized, they become `dp_bad` and `dp_line`.
    body = b'{"a": 1, "__dp_bad": "x", "__dp_line": 7}\n{"a": 2, "__dp_bad": "y", "__dp_line": 8}\n'
    result = lake.ingest("reserved", lake.upload("reserved", body, "r.ndjson"), "NDJSON")
    assert [c["name"] for c in result["load"]["columns"]] == ["a", "dp_bad", "dp_line"]
    rows = sorted((r["a"], r["dp_bad"], r["dp_line"]) for r in lake.gold("reserved").collect())
    assert rows == [(1, "x", 7), (2, "y", 8)]


def test_ndjson_bad_lines_are_reported_with_their_line_numbers(lake) -> None:
    lines = ['{"k": "a", "n": 1}', "", '{"k": "b", "n": 2', '{"k": "c", "n": 3}', "[1, 2]", '{"k": "d", "n": 4}']
    body = "\n".join(lines).encode()
    result = lake.ingest("ndjson_bad", lake.upload("ndjson_bad", body, "x.ndjson"), "NDJSON", max_bad_records=2)
    load = result["load"]
    assert (load["rows_read"], load["rows_written"], load["rows_rejected"]) == (5, 3, 2)
    assert [(r["line"], r["value"]) for r in load["rejected"]] == [(3, '{"k": "b", "n": 2'), (5, "[1, 2]")]
    assert sorted(r["k"] for r in lake.gold("ndjson_bad").collect()) == ["a", "c", "d"]


def test_parquet(lake) -> None:
    table = pa.table(
        {
            "City Name": ["Oslo", "Lima", None],
            "Population": pa.array([709_037, 10_092_000, 5], pa.int64()),
            "Area km2": [454.0, 2672.3, None],
            "Founded": [date(1048, 1, 1), date(1535, 1, 18), date(2000, 2, 29)],
        }
    )
    result = lake.ingest("cities", lake.upload("cities", parquet_bytes(table), "cities.parquet"), "PARQUET")
    assert [(c["name"], c["type"]) for c in result["load"]["columns"]] == [
        ("city_name", "string"),
        ("population", "bigint"),
        ("area_km2", "double"),
        ("founded", "date"),
    ]
    rows = sorted(lake.gold("cities").collect(), key=lambda r: r["population"])
    assert [tuple(r) for r in rows] == [
        (None, 5, None, date(2000, 2, 29)),
        ("Oslo", 709_037, 454.0, date(1048, 1, 1)),
        ("Lima", 10_092_000, 2672.3, date(1535, 1, 18)),
    ]
    assert result["quality"]["null_counts"] == {"city_name": 1, "population": 0, "area_km2": 1, "founded": 0}


def seattle_with_a_bad_line(line: int) -> bytes:
    """seattle-weather.csv with an extra field on physical line `line` (1-based; line 1 is the header)."""
    lines = SEATTLE.decode().split("\n")
    lines[line - 1] += ",extra"
    return "\n".join(lines).encode()


def test_csv_with_one_malformed_line_and_max_bad_records_1(lake) -> None:
    body = seattle_with_a_bad_line(7)
    total = len(csv_rows(SEATTLE))
    result = lake.ingest("weather", lake.upload("weather", body, "w.csv"), "CSV", max_bad_records=1)
    load = result["load"]
    assert (load["rows_read"], load["rows_written"], load["rows_rejected"]) == (total, total - 1, 1)
    bad_line = SEATTLE.decode().split("\n")[6] + ",extra"
    assert load["rejected"] == [{"line": 7, "value": bad_line, "reason": load["rejected"][0]["reason"]}]
    assert lake.gold("weather").where("date = DATE'2012-01-06'").count() == 0  # line 7 is 2012-01-06
    assert lake.gold("weather").count() == total - 1


def test_csv_line_numbers_count_physical_lines_of_quoted_multiline_values(lake) -> None:
    body = b'id,note\n1,"two\nlines"\n2,ok\n\n3,too,many\n4,"x\n\ny"\n5\n'
    result = lake.ingest("multiline", lake.upload("multiline", body, "m.csv"), "CSV", max_bad_records=2)
    assert [(r["line"], r["value"]) for r in result["load"]["rejected"]] == [(6, "3,too,many"), (10, "5")]
    notes = {r["id"]: r["note"] for r in lake.gold("multiline").collect()}
    assert notes == {1: "two\nlines", 2: "ok", 4: "x\n\ny"}


def test_append_casts_safe_widenings_keeps_string_columns_and_adds_new_columns(lake) -> None:
    lake.ingest("widen", lake.upload("widen", b"k,v,zip\na,1.5,02139\nb,2.5,10001\n"), "CSV")
    second = lake.ingest("widen", lake.upload("widen", b"k,v,zip,extra\nc,3,94103,x\nd,,60601,\n"), "CSV", "APPEND")
    assert [(c["name"], c["type"]) for c in second["load"]["columns"]] == [
        ("k", "string"),
        ("v", "double"),  # the file's bigint values became doubles
        ("zip", "string"),  # the table's string column is not typed from the file
        ("extra", "string"),  # a new column: added at the end (mergeSchema)
    ]
    rows = {r["k"]: (r["v"], r["zip"], r["extra"]) for r in lake.gold("widen").collect()}
    assert rows == {
        "a": (1.5, "02139", None),
        "b": (2.5, "10001", None),
        "c": (3.0, "94103", "x"),
        "d": (None, "60601", None),
    }


# ---- bad uploads: each refused with its code, the table keeps its version and rows ----

GUARDED = "guarded"


@pytest.fixture(scope="module")
def guarded(lake):
    """The table `guarded` loaded once from stocks.csv (version 0)."""
    lake.ingest(GUARDED, lake.upload(GUARDED, STOCKS, "stocks.csv"), "CSV")
    return lake


def refused(lake, body: bytes | None, fmt: str, mode: str = "OVERWRITE", name: str = "f.csv", **kw) -> PipelineError:
    """The PipelineError of ingesting `body` (None: an object never put) into GUARDED."""
    if body is None:
        upload_id = str(uuid.uuid4())
        upload = Upload(upload_id, f"bronze/org={lake.org_id}/{GUARDED}/{upload_id}/missing.csv", 10)
    else:
        upload = lake.upload(GUARDED, body, name)
    with pytest.raises(PipelineError) as err:
        lake.ingest(GUARDED, upload, fmt, mode, **kw)
    return err.value


def assert_untouched(lake) -> None:
    assert lake.versions(GUARDED) == [0]
    stocks = csv_rows(STOCKS)
    gold = lake.gold(GUARDED)
    assert gold.count() == len(stocks) == 560
    assert gold.where("symbol = 'MSFT'").count() == sum(1 for r in stocks if r["symbol"] == "MSFT")


def test_malformed_csv(guarded) -> None:
    e = refused(guarded, seattle_with_a_bad_line(4), "CSV")
    assert e.code == "MALFORMED_FILE" and "line 4" in e.message and "1 malformed record" in e.message
    assert_untouched(guarded)


def test_malformed_json(guarded) -> None:
    e = refused(guarded, b'[\n{"a": 1},\n{"a": 2,},\n{"a": 3}\n]\n', "JSON", name="f.json")
    assert e.code == "MALFORMED_FILE" and "line 3" in e.message
    assert_untouched(guarded)


@pytest.mark.parametrize("body", [b"", b"symbol,date,price\n", b"[]"], ids=["zero-bytes", "header-only", "no-rows"])
def test_empty_file(guarded, body: bytes) -> None:
    e = refused(guarded, body, "JSON" if body == b"[]" else "CSV", size=len(body) or 10)  # 0 bytes: 10 announced
    assert e.code == "EMPTY_FILE"
    assert_untouched(guarded)


def test_size_differs_from_announced(guarded) -> None:
    e = refused(guarded, STOCKS, "CSV", size=len(STOCKS) + 1)
    assert e.code == "SIZE_MISMATCH" and str(len(STOCKS)) in e.message
    assert_untouched(guarded)


def test_parquet_announced_as_csv(guarded) -> None:
    e = refused(guarded, parquet_bytes(pa.table({"a": [1]})), "CSV", name="f.parquet")
    assert e.code == "FORMAT_MISMATCH" and "Parquet" in e.message
    assert_untouched(guarded)


def test_csv_announced_as_json(guarded) -> None:
    e = refused(guarded, STOCKS, "JSON")
    assert e.code == "FORMAT_MISMATCH" and "JSON" in e.message
    assert_untouched(guarded)


def test_duplicate_columns_after_normalization(guarded) -> None:
    e = refused(guarded, b"Name,name ,price\na,b,1\n", "CSV")
    assert e.code == "DUPLICATE_COLUMNS"
    assert "'Name' and 'name ' all become 'name'" in e.message
    assert_untouched(guarded)


def test_append_with_conflicting_types(guarded) -> None:
    e = refused(guarded, b"symbol,date,price\nMSFT,soon,cheap\n", "CSV", "APPEND")
    assert e.code == "SCHEMA_CONFLICT"
    assert "date (string in the file, date in the table)" in e.message
    assert "price (string in the file, double in the table)" in e.message
    assert "symbol" not in e.message
    assert_untouched(guarded)


def test_object_missing_and_key_of_another_org(guarded) -> None:
    assert refused(guarded, None, "CSV").code == "OBJECT_MISSING"
    other = guarded.upload(GUARDED, STOCKS, "stocks.csv")
    other.key = other.key.replace(guarded.org_id, str(uuid.uuid4()))
    with pytest.raises(PipelineError) as err:
        guarded.ingest(GUARDED, other, "CSV")
    assert err.value.code == "BAD_KEY"
    assert_untouched(guarded)
