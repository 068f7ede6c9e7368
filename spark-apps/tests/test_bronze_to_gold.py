"""bronze_to_gold against real Spark + Delta on the real vega-datasets files.

Every expected value is computed here from the source file with Python's csv/json modules, or written out
by hand from reading the file, never taken from Spark.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

SPARK_APPS = Path(__file__).resolve().parents[1]
DATA_DIR = SPARK_APPS.parent / "node_modules" / "vega-datasets" / "data"
sys.path.insert(0, str(SPARK_APPS))

from bronze_to_gold import (  # noqa: E402
    InvalidInput,
    bronze_dir,
    bronze_to_gold,
    gold_path,
    normalize_column_names,
    snake_case,
)

ORG = "0b6f9d4e-6a43-4c1e-9d7a-3f1f2a9c5e01"
OTHER_ORG = "7c2e8a10-1d5b-4f3a-8e44-95b0c6d7e802"
RERUN_ORG = "a1d3c5e7-0f2b-4c6d-8e9f-1a2b3c4d5e6f"

# table -> (file, format, [(column, type)]) as the gold table must have them.
EXPECTED = {
    "seattle_weather": (
        "seattle-weather.csv",
        "csv",
        [
            ("date", "date"),
            ("precipitation", "double"),
            ("temp_max", "double"),
            ("temp_min", "double"),
            ("wind", "double"),
            ("weather", "string"),
        ],
    ),
    "stocks": ("stocks.csv", "csv", [("symbol", "string"), ("date", "date"), ("price", "double")]),
    "cars": (
        "cars.json",
        "json",
        [
            ("name", "string"),
            ("miles_per_gallon", "double"),
            ("cylinders", "bigint"),
            ("displacement", "double"),
            ("horsepower", "bigint"),
            ("weight_in_lbs", "bigint"),
            ("acceleration", "double"),
            ("year", "date"),
            ("origin", "string"),
        ],
    ),
    "penguins": (
        "penguins.json",
        "json",
        [
            ("species", "string"),
            ("island", "string"),
            ("beak_length_mm", "double"),
            ("beak_depth_mm", "double"),
            ("flipper_length_mm", "bigint"),
            ("body_mass_g", "bigint"),
            ("sex", "string"),
        ],
    ),
    "gapminder": (
        "gapminder.json",
        "json",
        [
            ("year", "bigint"),
            ("country", "string"),
            ("cluster", "bigint"),
            ("pop", "bigint"),
            ("life_expect", "double"),
            ("fertility", "double"),
        ],
    ),
    "unemployment_across_industries": (
        "unemployment-across-industries.json",
        "json",
        [
            ("series", "string"),
            ("year", "bigint"),
            ("month", "bigint"),
            ("count", "bigint"),
            ("rate", "double"),
            ("date", "timestamp"),
        ],
    ),
    "flights": (
        "flights-20k.json",
        "json",
        [
            ("date", "timestamp"),
            ("delay", "bigint"),
            ("distance", "bigint"),
            ("origin", "string"),
            ("destination", "string"),
        ],
    ),
    "airports": (
        "airports.csv",
        "csv",
        [
            ("iata", "string"),
            ("name", "string"),
            ("city", "string"),
            ("state", "string"),
            ("country", "string"),
            ("latitude", "double"),
            ("longitude", "double"),
        ],
    ),
}


def source_records(file: str) -> list[dict]:
    """The source file's records, read with Python alone."""
    path = DATA_DIR / file
    if file.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def stage(lake: str, org: str, table: str, file: str) -> str:
    """Copies a demo file into `<lake>/bronze/org=<org>/<table>/` and returns its path."""
    folder = bronze_dir(lake, org, table)
    os.makedirs(folder, exist_ok=True)
    return shutil.copy(DATA_DIR / file, folder)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("lake"))


@pytest.fixture(scope="module")
def loaded(spark, lake) -> dict[str, dict]:
    """All eight demo tables loaded once for ORG: table -> bronze_to_gold's result."""
    results = {}
    for table, (file, fmt, _) in EXPECTED.items():
        results[table] = bronze_to_gold(spark, ORG, table, stage(lake, ORG, table, file), fmt, lake)
    return results


def gold(spark, lake: str, table: str, org: str = ORG):
    return spark.read.format("delta").load(gold_path(lake, org, table))


# ---- naming (no Spark) ----


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Beak Length (mm)", "beak_length_mm"),
        ("Miles_per_Gallon", "miles_per_gallon"),
        ("IATA", "iata"),
        ("iata", "iata"),
        ("Body Mass (g)", "body_mass_g"),
        ("lifeExpect", "life_expect"),
        ("IATACode", "iata_code"),
        ("  Año 2020 ", "ano_2020"),
        ("temp_max", "temp_max"),
    ],
)
def test_snake_case(raw: str, expected: str) -> None:
    assert snake_case(raw) == expected


def test_normalize_column_names_fixes_empty_digit_and_repeated_names() -> None:
    assert normalize_column_names(["A b", "a_B", "", "2019 Sales", "a b"]) == [
        "a_b",
        "a_b_2",
        "col_3",
        "col_2019_sales",
        "a_b_3",
    ]


# ---- the demo files ----


@pytest.mark.parametrize("table", list(EXPECTED))
def test_row_count_equals_source(spark, lake, loaded, table: str) -> None:
    expected_rows = len(source_records(EXPECTED[table][0]))
    assert loaded[table]["rows"] == expected_rows
    assert gold(spark, lake, table).count() == expected_rows


@pytest.mark.parametrize("table", list(EXPECTED))
def test_column_names_and_types(spark, lake, loaded, table: str) -> None:
    expected = EXPECTED[table][2]
    assert [(c["name"], c["type"]) for c in loaded[table]["columns"]] == expected
    assert [(f.name, f.dataType.simpleString()) for f in gold(spark, lake, table).schema.fields] == expected
    assert loaded[table]["version"] == 0
    assert loaded[table]["path"] == gold_path(lake, ORG, table)


def test_seattle_avg_temp_max_2014(spark, lake, loaded) -> None:
    by_hand = [float(r["temp_max"]) for r in source_records("seattle-weather.csv") if r["date"].startswith("2014-")]
    hand_avg = sum(by_hand) / len(by_hand)
    assert abs(hand_avg - 16.9959) < 0.01
    row = gold(spark, lake, "seattle_weather").where("year(date) = 2014").selectExpr("avg(temp_max) AS a").first()
    assert row["a"] == pytest.approx(hand_avg, abs=1e-9)


def test_date_columns_hold_the_source_dates(spark, lake, loaded) -> None:
    stocks = sorted(datetime.strptime(r["date"], "%b %d %Y").date() for r in source_records("stocks.csv"))
    assert sorted(r["date"] for r in gold(spark, lake, "stocks").select("date").collect()) == stocks
    assert isinstance(stocks[0], date) and stocks[0] == date(2000, 1, 1)
    seattle = sorted(date.fromisoformat(r["date"]) for r in source_records("seattle-weather.csv"))
    assert sorted(r["date"] for r in gold(spark, lake, "seattle_weather").select("date").collect()) == seattle
    cars = sorted(date.fromisoformat(r["Year"]) for r in source_records("cars.json"))
    assert sorted(r["year"] for r in gold(spark, lake, "cars").select("year").collect()) == cars


def test_timestamp_columns_hold_the_source_instants(spark, lake, loaded) -> None:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    flights = sorted(
        datetime.strptime(r["date"], "%Y/%m/%d %H:%M").strftime("%Y-%m-%d %H:%M:%S")
        for r in source_records("flights-20k.json")
    )
    got = gold(spark, lake, "flights").selectExpr("date_format(date, 'yyyy-MM-dd HH:mm:ss') AS d").collect()
    assert sorted(r["d"] for r in got) == flights
    unemployment = sorted(
        datetime.fromisoformat(r["date"].replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        for r in source_records("unemployment-across-industries.json")
    )
    got = gold(spark, lake, "unemployment_across_industries").selectExpr(
        "date_format(date, 'yyyy-MM-dd HH:mm:ss') AS d"
    )
    assert sorted(r["d"] for r in got.collect()) == unemployment
    assert unemployment[0] == "2000-01-01 08:00:00"


def test_na_and_null_become_null(spark, lake, loaded) -> None:
    airports = source_records("airports.csv")
    na_cities = sum(1 for r in airports if r["city"] == "NA")
    assert na_cities > 0
    assert gold(spark, lake, "airports").where("city IS NULL").count() == na_cities
    assert gold(spark, lake, "airports").where("city = 'NA'").count() == 0
    penguins = source_records("penguins.json")
    assert gold(spark, lake, "penguins").where("sex IS NULL").count() == sum(1 for r in penguins if r["Sex"] is None)
    assert gold(spark, lake, "penguins").where("beak_length_mm IS NULL").count() == sum(
        1 for r in penguins if r["Beak Length (mm)"] is None
    )


def test_numbers_keep_their_values(spark, lake, loaded) -> None:
    cars = source_records("cars.json")
    hp = sum(r["Horsepower"] for r in cars if r["Horsepower"] is not None)
    assert gold(spark, lake, "cars").selectExpr("sum(horsepower) AS s").first()["s"] == hp
    pop = sum(r["pop"] for r in source_records("gapminder.json"))
    assert gold(spark, lake, "gapminder").selectExpr("sum(pop) AS s").first()["s"] == pop
    lat = sum(float(r["latitude"]) for r in source_records("airports.csv"))
    assert gold(spark, lake, "airports").selectExpr("sum(latitude) AS s").first()["s"] == pytest.approx(lat, rel=1e-12)


def test_deletion_vectors_are_off(spark, lake, loaded) -> None:
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{gold_path(lake, ORG, 'flights')}`").first()
    assert detail["properties"].get("delta.enableDeletionVectors") == "false"


def test_rerun_is_idempotent_and_bumps_the_version(spark, lake) -> None:
    src = stage(lake, RERUN_ORG, "seattle_weather", "seattle-weather.csv")
    first = bronze_to_gold(spark, RERUN_ORG, "seattle_weather", src, "csv", lake)
    second = bronze_to_gold(spark, RERUN_ORG, "seattle_weather", src, "csv", lake)
    assert (first["version"], second["version"]) == (0, 1)
    assert first["rows"] == second["rows"] == len(source_records("seattle-weather.csv"))
    assert first["columns"] == second["columns"]
    path = gold_path(lake, RERUN_ORG, "seattle_weather")
    v0 = spark.read.format("delta").option("versionAsOf", 0).load(path)
    v1 = spark.read.format("delta").option("versionAsOf", 1).load(path)
    assert v1.count() == v0.count()
    assert v0.exceptAll(v1).count() == 0 and v1.exceptAll(v0).count() == 0


def test_csv_numbers_with_na_and_codes_with_leading_zeros(spark, tmp_path) -> None:
    lake = str(tmp_path)
    folder = bronze_dir(lake, ORG, "mixed")
    os.makedirs(folder)
    src = os.path.join(folder, "mixed.csv")
    with open(src, "w", encoding="utf-8") as f:
        f.write('Zip Code,Count,Ratio,When,Note\n02139,1,0.5,2020-01-02 03:04,"a, b"\n10001,NA,,NA,\n94103,3,2e3,,x\n')
    result = bronze_to_gold(spark, ORG, "mixed", src, "csv", lake)
    assert [(c["name"], c["type"]) for c in result["columns"]] == [
        ("zip_code", "string"),
        ("count", "bigint"),
        ("ratio", "double"),
        ("when", "timestamp"),
        ("note", "string"),
    ]
    rows = gold(spark, lake, "mixed").orderBy("zip_code").collect()
    assert [r["zip_code"] for r in rows] == ["02139", "10001", "94103"]
    assert [r["count"] for r in rows] == [1, None, 3]
    assert [r["ratio"] for r in rows] == [0.5, None, 2000.0]
    assert [r["note"] for r in rows] == ["a, b", None, "x"]


# ---- input checks ----


@pytest.mark.parametrize("org", ["", "not-a-uuid", "0b6f9d4e6a434c1e9d7a3f1f2a9c5e01", "../../etc", ORG + "x"])
def test_rejects_bad_org(spark, lake, org: str) -> None:
    with pytest.raises(InvalidInput) as err:
        bronze_to_gold(spark, org, "stocks", str(DATA_DIR / "stocks.csv"), "csv", lake)
    assert err.value.field == "org" and err.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize("table", ["", "Stocks", "1stocks", "stocks-2020", "a" * 64, "../stocks", "stocks;drop"])
def test_rejects_bad_table(spark, lake, table: str) -> None:
    with pytest.raises(InvalidInput) as err:
        bronze_to_gold(spark, ORG, table, str(DATA_DIR / "stocks.csv"), "csv", lake)
    assert err.value.field == "table"
    assert not os.path.exists(os.path.join(lake, "gold", f"org={ORG}", table or "_"))


def test_rejects_a_source_outside_the_orgs_bronze_folder(spark, lake) -> None:
    other = stage(lake, OTHER_ORG, "stocks", "stocks.csv")
    for source in [
        other,  # another org's raw file
        os.path.join(bronze_dir(lake, ORG, "stocks"), "..", "..", f"org={OTHER_ORG}", "stocks", "stocks.csv"),
        str(DATA_DIR / "stocks.csv"),  # outside the lake
        "stocks.csv",  # relative
    ]:
        with pytest.raises(InvalidInput) as err:
            bronze_to_gold(spark, ORG, "stocks2", source, "csv", lake)
        assert err.value.field == "source"
    assert not os.path.exists(gold_path(lake, ORG, "stocks2"))


def test_rejects_an_unknown_format(spark, lake) -> None:
    with pytest.raises(InvalidInput) as err:
        bronze_to_gold(spark, ORG, "stocks", stage(lake, ORG, "stocks", "stocks.csv"), "parquet", lake)
    assert err.value.field == "format"


def test_cli_rejects_bad_input_before_starting_spark(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SPARK_APPS / "bronze_to_gold.py"), "--org", "nope", "--table", "t", "--source", "/x.csv"]
        + ["--format", "csv", "--lake-root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SPARK_REMOTE": "sc://127.0.0.1:1"},
    )
    assert proc.returncode == 2
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == {
        "error": "BAD_USER_INPUT",
        "field": "org",
        "message": "org must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).",
    }
    assert proc.stdout == ""
