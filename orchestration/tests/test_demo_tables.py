"""The demo files of vega-datasets through validate -> load -> quality on real Spark Connect + Delta over s3a: row
counts, column names and types, and values (typing of strings, dates, timestamps, NA).

Every expected value is computed here from the source file with Python's csv/json modules, or written out by hand
from reading the file, never taken from Spark.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime

import pytest
from lakes import DATA_DIR

# table -> (file, format, [(column, type)]) as the gold table must have them.
EXPECTED = {
    "seattle_weather": (
        "seattle-weather.csv",
        "CSV",
        [
            ("date", "date"),
            ("precipitation", "double"),
            ("temp_max", "double"),
            ("temp_min", "double"),
            ("wind", "double"),
            ("weather", "string"),
        ],
    ),
    "stocks": ("stocks.csv", "CSV", [("symbol", "string"), ("date", "date"), ("price", "double")]),
    "cars": (
        "cars.json",
        "JSON",
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
        "JSON",
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
        "JSON",
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
        "JSON",
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
        "JSON",
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
        "CSV",
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


@pytest.fixture(scope="module")
def loaded(lake) -> dict[str, dict]:
    """All eight demo tables loaded once (OVERWRITE): table -> {"validate", "load", "quality"}."""
    results = {}
    for table, (file, fmt, _) in EXPECTED.items():
        results[table] = lake.ingest(table, lake.upload(table, (DATA_DIR / file).read_bytes(), file), fmt)
    return results


@pytest.mark.parametrize("table", list(EXPECTED))
def test_row_count_equals_source(lake, loaded, table: str) -> None:
    expected_rows = len(source_records(EXPECTED[table][0]))
    assert loaded[table]["load"]["rows_written"] == loaded[table]["quality"]["row_count"] == expected_rows
    assert lake.gold(table).count() == expected_rows


@pytest.mark.parametrize("table", list(EXPECTED))
def test_column_names_and_types(lake, loaded, table: str) -> None:
    expected = EXPECTED[table][2]
    assert [(c["name"], c["type"]) for c in loaded[table]["load"]["columns"]] == expected
    assert [(f.name, f.dataType.simpleString()) for f in lake.gold(table).schema.fields] == expected
    assert loaded[table]["load"]["delta_version"] == 0


def test_seattle_avg_temp_max_2014(lake, loaded) -> None:
    by_hand = [float(r["temp_max"]) for r in source_records("seattle-weather.csv") if r["date"].startswith("2014-")]
    hand_avg = sum(by_hand) / len(by_hand)
    assert abs(hand_avg - 16.9959) < 0.01
    row = lake.gold("seattle_weather").where("year(date) = 2014").selectExpr("avg(temp_max) AS a").first()
    assert row["a"] == pytest.approx(hand_avg, abs=1e-9)


def test_date_columns_hold_the_source_dates(lake, loaded) -> None:
    stocks = sorted(datetime.strptime(r["date"], "%b %d %Y").date() for r in source_records("stocks.csv"))
    assert sorted(r["date"] for r in lake.gold("stocks").select("date").collect()) == stocks
    assert isinstance(stocks[0], date) and stocks[0] == date(2000, 1, 1)
    seattle = sorted(date.fromisoformat(r["date"]) for r in source_records("seattle-weather.csv"))
    assert sorted(r["date"] for r in lake.gold("seattle_weather").select("date").collect()) == seattle
    cars = sorted(date.fromisoformat(r["Year"]) for r in source_records("cars.json"))
    assert sorted(r["year"] for r in lake.gold("cars").select("year").collect()) == cars


def test_timestamp_columns_hold_the_source_instants(lake, loaded) -> None:
    lake.spark.conf.set("spark.sql.session.timeZone", "UTC")
    flights = sorted(
        datetime.strptime(r["date"], "%Y/%m/%d %H:%M").strftime("%Y-%m-%d %H:%M:%S")
        for r in source_records("flights-20k.json")
    )
    got = lake.gold("flights").selectExpr("date_format(date, 'yyyy-MM-dd HH:mm:ss') AS d").collect()
    assert sorted(r["d"] for r in got) == flights
    unemployment = sorted(
        datetime.fromisoformat(r["date"].replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        for r in source_records("unemployment-across-industries.json")
    )
    got = lake.gold("unemployment_across_industries").selectExpr("date_format(date, 'yyyy-MM-dd HH:mm:ss') AS d")
    assert sorted(r["d"] for r in got.collect()) == unemployment
    assert unemployment[0] == "2000-01-01 08:00:00"


def test_na_and_null_become_null(lake, loaded) -> None:
    airports = source_records("airports.csv")
    na_cities = sum(1 for r in airports if r["city"] == "NA")
    assert na_cities > 0
    assert lake.gold("airports").where("city IS NULL").count() == na_cities
    assert lake.gold("airports").where("city = 'NA'").count() == 0
    penguins = source_records("penguins.json")
    assert lake.gold("penguins").where("sex IS NULL").count() == sum(1 for r in penguins if r["Sex"] is None)
    assert lake.gold("penguins").where("beak_length_mm IS NULL").count() == sum(
        1 for r in penguins if r["Beak Length (mm)"] is None
    )


def test_numbers_keep_their_values(lake, loaded) -> None:
    cars = source_records("cars.json")
    hp = sum(r["Horsepower"] for r in cars if r["Horsepower"] is not None)
    assert lake.gold("cars").selectExpr("sum(horsepower) AS s").first()["s"] == hp
    pop = sum(r["pop"] for r in source_records("gapminder.json"))
    assert lake.gold("gapminder").selectExpr("sum(pop) AS s").first()["s"] == pop
    lat = sum(float(r["latitude"]) for r in source_records("airports.csv"))
    assert lake.gold("airports").selectExpr("sum(latitude) AS s").first()["s"] == pytest.approx(lat, rel=1e-12)


def test_deletion_vectors_are_off(lake, loaded) -> None:
    detail = lake.spark.sql(f"DESCRIBE DETAIL delta.`{lake.gold_uri('flights')}`").first()
    assert detail["properties"].get("delta.enableDeletionVectors") == "false"


def test_csv_numbers_with_na_and_codes_with_leading_zeros(lake) -> None:
    body = b'Zip Code,Count,Ratio,When,Note\n02139,1,0.5,2020-01-02 03:04,"a, b"\n10001,NA,,NA,\n94103,3,2e3,,x\n'
    result = lake.ingest("mixed", lake.upload("mixed", body, "mixed.csv"), "CSV")["load"]
    assert [(c["name"], c["type"]) for c in result["columns"]] == [
        ("zip_code", "string"),
        ("count", "bigint"),
        ("ratio", "double"),
        ("when", "timestamp"),
        ("note", "string"),
    ]
    rows = lake.gold("mixed").orderBy("zip_code").collect()
    assert [r["zip_code"] for r in rows] == ["02139", "10001", "94103"]
    assert [r["count"] for r in rows] == [1, None, 3]
    assert [r["ratio"] for r in rows] == [0.5, None, 2000.0]
    assert [r["note"] for r in rows] == ["a, b", None, "x"]
