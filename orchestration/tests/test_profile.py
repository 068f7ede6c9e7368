"""The profiling step and the semantic layer it writes to Neo4j, on real Spark Connect + Delta over s3a + Neo4j.

The demo files of vega-datasets are loaded as the pipeline loads them, profiled (`profile_table`) and published
(`publish` with the profile, as the DAG's publish task does; `pipeline.py profile` for a second organization). Every
expected value is computed here from the source file with Python's csv/json modules, or written out by hand.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from datapilot_pipeline.profile import (
    GEO_CODES,
    MAX_VALUES,
    geo_of,
    profile_table,
    semantic_type,
    synonyms_of,
    unit_of,
)
from datapilot_pipeline.publish import publish, publish_profile
from lakes import DATA_DIR, Lake

REPO_ROOT = Path(__file__).resolve().parents[2]
DB = "neo4j"


def records(file: str) -> list[dict]:
    """The source file's records, read with Python alone."""
    path = DATA_DIR / file
    if file.endswith(".csv"):
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return json.loads(path.read_text(encoding="utf-8"))


def by_frequency(values: list[str]) -> list[str]:
    """Distinct values, most frequent first, ties by value (the order `sampleValues` promises)."""
    return [v for v, _ in sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))]


# --- rules, without services -------------------------------------------------------------------------------------


def test_units_come_from_the_name_suffix_of_numbers() -> None:
    assert unit_of("body_mass_g", "bigint") == "g"
    assert unit_of("beak_length_mm", "double") == "mm"
    assert unit_of("weight_in_lbs", "bigint") == "lbs"
    assert unit_of("price_usd", "decimal(10,2)") == "usd"
    assert unit_of("share_pct", "double") == "percent"
    assert unit_of("delay_min", "bigint") == "minute"
    assert unit_of("response_ms", "bigint") == "millisecond"
    assert unit_of("temp_min", "double") is None  # a minimum, not minutes
    assert unit_of("size_m", "string") is None  # only numbers have units
    assert unit_of("g", "double") is None  # a one-word name is no suffix


def test_synonyms_are_the_words_and_generic_expansions() -> None:
    assert synonyms_of("temp_max", None) == ["temp max", "temperature maximum", "max temp", "maximum temperature"]
    assert synonyms_of("life_expect", None) == ["life expect", "life expectancy"]
    assert synonyms_of("pop", None) == ["pop", "population"]
    assert synonyms_of("weight_in_lbs", "lbs") == ["weight in lbs", "weight"]
    assert synonyms_of("avg_dest_delay", None) == ["avg dest delay", "average destination delay"]
    assert synonyms_of("species", None) == ["species"]


def test_semantic_types_follow_the_contract() -> None:
    def kind(name, t, rows=100, distinct=10, lo=None, hi=None, length=None, geo=None):
        return semantic_type(
            name, t, rows=rows, distinct=distinct, min_value=lo, max_value=hi, mean_length=length, geo_kind=geo
        )

    assert kind("date", "date") == kind("when", "timestamp") == "TIME"
    assert kind("year", "bigint", lo=1955, hi=2005) == kind("month", "int", lo=1, hi=12) == "TIME"
    assert kind("birth_year", "bigint", lo=1900, hi=2001) == "TIME"
    assert kind("year", "bigint", lo=1, hi=5) == "MEASURE"  # not a calendar year
    assert kind("month", "bigint", lo=0, hi=12) == "MEASURE"
    assert kind("id", "bigint") == kind("team_id", "int") == "IDENTIFIER"
    assert kind("cylinders", "bigint") == kind("price", "double") == "MEASURE"
    assert kind("state", "string", geo="US_STATE") == "GEO_CODE"
    assert kind("review", "string", length=40.5) == "TEXT"
    assert kind("name", "string", rows=406, distinct=311, length=15) == "IDENTIFIER"
    assert kind("code", "string", rows=100, distinct=50, length=3) == "CATEGORY"  # 50 is not > 50
    assert kind("species", "string", rows=344, distinct=3, length=6) == "CATEGORY"
    assert kind("flag", "boolean", distinct=2) == "CATEGORY"
    assert kind("tags", "array<string>") == "TEXT"


def test_geo_codes_of_states_and_countries() -> None:
    assert geo_of("state", ["TX", "CA", "NY"]) == (
        "US_STATE",
        ["Texas", "California", "New York"],
        ["TX", "CA", "NY"],
    )
    kind, names, values = geo_of("country_code", ["de", "FR", "us"])
    assert kind == "COUNTRY_ISO2"
    assert dict(zip(names, values, strict=True))["Germany"] == "de"
    assert ("United States", "us") in zip(names, values, strict=True)
    kind, names, values = geo_of("iso3", ["DEU", "FRA", "USA", "JPN"])
    assert kind == "COUNTRY_ISO3" and ("Japan", "JPN") in zip(names, values, strict=True)
    # Codes that are both states and countries: the name decides, US_STATE by default.
    assert geo_of("country", ["CA", "DE", "IN"])[0] == "COUNTRY_ISO2"
    assert geo_of("where", ["CA", "DE", "IN"])[0] == "US_STATE"
    # Under 95% codes, fewer than 3 values without a geographic name, or names instead of codes: none.
    assert geo_of("state", ["TX", "X1", "X2"])[0] is None
    assert geo_of("answer", ["NO", "DE"]) == (None, [], [])
    assert (
        geo_of("country", ["USA", "Thailand", "Palau", "N Mariana Islands", "Federated States of Micronesia"])[0]
        is None
    )


def test_reference_data_is_complete() -> None:
    # Written out by hand: 50 states + DC + PR + 4 territories (AS, GU, MP, VI) + 3 freely associated states.
    assert len(GEO_CODES["US_STATE"]) == 59
    assert GEO_CODES["US_STATE"]["TX"][0] == "Texas" and GEO_CODES["US_STATE"]["DC"][0] == "District of Columbia"
    # ISO 3166-1 has 249 assigned codes.
    assert len(GEO_CODES["COUNTRY_ISO2"]) == len(GEO_CODES["COUNTRY_ISO3"]) == 249
    assert GEO_CODES["COUNTRY_ISO3"]["DEU"] == GEO_CODES["COUNTRY_ISO2"]["DE"] and GEO_CODES["COUNTRY_ISO2"]["DE"][
        0
    ] == ("Germany")
    iso = Path("/usr/share/iso-codes/json/iso_3166-1.json")  # Debian's iso-codes, when installed: an independent copy
    if iso.exists():
        entries = json.loads(iso.read_text(encoding="utf-8"))["3166-1"]
        assert {e["alpha_2"] for e in entries} == set(GEO_CODES["COUNTRY_ISO2"])
        for e in entries:
            assert e["name"] in GEO_CODES["COUNTRY_ISO2"][e["alpha_2"]]
            assert GEO_CODES["COUNTRY_ISO3"][e["alpha_3"]] == GEO_CODES["COUNTRY_ISO2"][e["alpha_2"]]


# --- the demo tables through load -> profile -> publish ----------------------------------------------------------

DEMO = {
    "airports": ("airports.csv", "CSV"),
    "flights": ("flights-20k.json", "JSON"),
    "seattle_weather": ("seattle-weather.csv", "CSV"),
}


def load_and_publish(lake: Lake, driver, table: str, data: bytes, name: str, fmt: str) -> dict:
    """Load `data` as `table` (OVERWRITE), profile the version written and publish it with the profile, as the
    DAG's tasks do. Returns the profile."""
    upload = lake.upload(table, data, name)
    report = lake.ingest(table, upload, fmt)["quality"]
    profile = profile_table(
        lake.spark, bucket=lake.bucket, org_id=lake.org_id, table=table, delta_version=report["delta_version"]
    )
    result = publish(
        driver,
        org_id=lake.org_id,
        table=table,
        upload_id=upload.upload_id,
        bronze_key=upload.key,
        fmt=fmt,
        mode="OVERWRITE",
        pipeline_run_id=str(uuid.uuid4()),
        dag_run_id="test",
        report=report,
        profile=profile,
    )
    assert result == {"dataset": table, "delta_version": report["delta_version"], "catalog_updated": True}
    return profile


@pytest.fixture(scope="module")
def demo(lake, neo4j_driver) -> dict[str, dict]:
    """The three demo tables loaded and published with their profiles in the module's org: table -> profile."""
    out = {}
    for table, (file, fmt) in DEMO.items():
        out[table] = load_and_publish(lake, neo4j_driver, table, (DATA_DIR / file).read_bytes(), file, fmt)
    return out


def column(driver, org: str, dataset: str, name: str) -> dict:
    got, _, _ = driver.execute_query(
        "MATCH (:Dataset {orgId: $org, name: $dataset})-[:HAS_COLUMN]->(c:Column {name: $name}) RETURN c",
        {"org": org, "dataset": dataset, "name": name},
        database_=DB,
    )
    assert len(got) == 1, (dataset, name, got)
    return dict(got[0]["c"])


def references(driver, org: str) -> set[tuple]:
    got, _, _ = driver.execute_query(
        "MATCH (a:Column {orgId: $org})-[r:REFERENCES]->(k:Column) "
        "RETURN a.dataset + '.' + a.name AS a, k.dataset + '.' + k.name AS k, k.orgId AS korg, r.cardinality AS c, "
        "r.origin AS o, r.coverage AS cov",
        {"org": org},
        database_=DB,
    )
    assert all(r["korg"] == org for r in got)
    return {(r["a"], r["k"], r["c"], r["o"], r["cov"]) for r in got}


def test_airports_columns(lake, demo, neo4j_driver) -> None:
    rows = records("airports.csv")
    iata = column(neo4j_driver, lake.org_id, "airports", "iata")
    assert (iata["distinctCount"], iata["nullCount"], iata["isKey"]) == (len({r["iata"] for r in rows}), 0, True)
    assert len(rows) == 3376 and iata["distinctCount"] == 3376
    assert (iata["semanticType"], iata["type"], iata["position"], iata["valuesComplete"]) == (
        "IDENTIFIER",
        "string",
        0,
        True,
    )
    assert iata["sampleValues"] == sorted(r["iata"] for r in rows)  # every count is 1: by value
    assert (iata["minValue"], iata["maxValue"]) == (min(r["iata"] for r in rows), max(r["iata"] for r in rows))

    state = column(neo4j_driver, lake.org_id, "airports", "state")
    states = [r["state"] for r in rows if r["state"] != "NA"]  # "NA" is loaded as null
    assert (state["semanticType"], state["geoKind"], state["isKey"]) == ("GEO_CODE", "US_STATE", False)
    assert (state["nullCount"], state["distinctCount"]) == (len(rows) - len(states), len(set(states)))
    assert state["sampleValues"] == by_frequency(states) and state["valuesComplete"] is True
    aliases = list(zip(state["aliasNames"], state["aliasValues"], strict=True))
    assert ("Texas", "TX") in aliases and ("California", "CA") in aliases and ("Puerto Rico", "PR") in aliases
    # Read in the file by hand: CQ is the one state value that is not a USPS code, so it has no alias.
    assert {v for _, v in aliases} == set(states) - {"CQ"}

    country = column(neo4j_driver, lake.org_id, "airports", "country")
    assert (country["semanticType"], country.get("geoKind")) == ("CATEGORY", None)
    assert country["sampleValues"][0] == "USA" and len(country["sampleValues"]) == 5

    latitude = column(neo4j_driver, lake.org_id, "airports", "latitude")
    lats = [float(r["latitude"]) for r in rows]
    assert (latitude["semanticType"], latitude["sampleValues"], latitude["valuesComplete"]) == ("MEASURE", [], False)
    assert (float(latitude["minValue"]), float(latitude["maxValue"])) == (min(lats), max(lats))
    assert latitude["isKey"] is False


def test_seattle_weather_columns(lake, demo, neo4j_driver) -> None:
    rows = records("seattle-weather.csv")
    date = column(neo4j_driver, lake.org_id, "seattle_weather", "date")
    assert (date["semanticType"], date["type"], date["isKey"]) == ("TIME", "date", True)
    assert (date["minValue"], date["maxValue"]) == ("2012-01-01", "2015-12-31")
    assert (min(r["date"] for r in rows), max(r["date"] for r in rows)) == ("2012-01-01", "2015-12-31")

    weather = column(neo4j_driver, lake.org_id, "seattle_weather", "weather")
    assert (weather["semanticType"], weather["valuesComplete"], weather["distinctCount"]) == ("CATEGORY", True, 5)
    assert weather["sampleValues"] == by_frequency([r["weather"] for r in rows])
    assert sorted(weather["sampleValues"]) == ["drizzle", "fog", "rain", "snow", "sun"]

    temp_max = column(neo4j_driver, lake.org_id, "seattle_weather", "temp_max")
    highs = [float(r["temp_max"]) for r in rows]
    assert (temp_max["minValue"], temp_max["maxValue"]) == ("-1.6", "35.6")
    assert (float(temp_max["minValue"]), float(temp_max["maxValue"])) == (min(highs), max(highs))
    assert (temp_max["semanticType"], temp_max.get("unit"), temp_max["nullCount"]) == ("MEASURE", None, 0)
    assert temp_max["distinctCount"] == len(set(highs))
    assert "maximum temperature" in temp_max["synonyms"] and temp_max["synonyms"][0] == "temp max"
    assert temp_max["edited"] == [] and temp_max["deltaVersion"] == 0


def test_flights_reference_airports(lake, demo, neo4j_driver) -> None:
    flights, airports = records("flights-20k.json"), records("airports.csv")
    iata = {r["iata"] for r in airports}
    for name in ("origin", "destination"):
        values = {r[name] for r in flights}
        coverage = len(values & iata) / len(values)
        assert coverage == 1.0  # checked by hand: every code of the 20k flights is an airport
        col = column(neo4j_driver, lake.org_id, "flights", name)
        assert (col["distinctCount"], col["valuesComplete"], col["semanticType"]) == (len(values), True, "CATEGORY")
    date = column(neo4j_driver, lake.org_id, "flights", "date")
    first = min(datetime.strptime(r["date"], "%Y/%m/%d %H:%M") for r in flights)
    assert (date["semanticType"], date["minValue"]) == ("TIME", first.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert references(neo4j_driver, lake.org_id) == {
        ("flights.origin", "airports.iata", "MANY_TO_ONE", "PROFILED", 1.0),
        ("flights.destination", "airports.iata", "MANY_TO_ONE", "PROFILED", 1.0),
    }
    assert demo["flights"]["spark_jobs"] == 2


def test_an_edit_survives_a_profile_and_descriptions_follow(lake, demo, neo4j_driver) -> None:
    org = lake.org_id
    neo4j_driver.execute_query(
        "MATCH (c:Column {orgId: $org, dataset: 'seattle_weather', name: 'temp_max'}) "
        "SET c.synonyms = ['daily high'], c.description = 'Highest temperature of the day', "
        "c.edited = ['synonyms', 'description'], c.semanticType = 'TEXT', c.unit = 'kelvin'",
        {"org": org},
        database_=DB,
    )
    profile = demo["seattle_weather"]
    written = publish_profile(
        neo4j_driver, org_id=org, table="seattle_weather", profile=profile, committed_at="2026-01-01T00:00:00.000Z"
    )
    assert written["catalog_updated"] is True and written["references"] == []
    temp_max = column(neo4j_driver, org, "seattle_weather", "temp_max")
    assert temp_max["synonyms"] == ["daily high"] and temp_max["description"] == "Highest temperature of the day"
    assert (temp_max["semanticType"], temp_max.get("unit")) == ("MEASURE", None)  # not edited: profiled again
    got, _, _ = neo4j_driver.execute_query(
        "MATCH (d:Dataset {orgId: $org, name: 'seattle_weather'}) RETURN d.columnNames AS n, d.columnDescriptions AS d",
        {"org": org},
        database_=DB,
    )
    assert got[0]["n"] == ["date", "precipitation", "temp_max", "temp_min", "wind", "weather"]
    assert got[0]["d"] == ["", "", "Highest temperature of the day", "", "", ""]


def test_defined_references_stay_and_stale_profiled_ones_go(lake, demo, neo4j_driver) -> None:
    org = lake.org_id
    neo4j_driver.execute_query(
        "MATCH (o:Column {orgId: $org, dataset: 'flights', name: 'origin'})-[r:REFERENCES]->() DELETE r "
        "WITH count(*) AS _ "
        "MATCH (o:Column {orgId: $org, dataset: 'flights', name: 'origin'}), "
        "(i:Column {orgId: $org, dataset: 'airports', name: 'iata'}), "
        "(w:Column {orgId: $org, dataset: 'seattle_weather', name: 'weather'}), "
        "(s:Column {orgId: $org, dataset: 'airports', name: 'state'}) "
        "CREATE (o)-[:REFERENCES {cardinality: 'MANY_TO_ONE', origin: 'DEFINED', coverage: 1.0}]->(i), "
        "(w)-[:REFERENCES {cardinality: 'MANY_TO_ONE', origin: 'DEFINED', coverage: 0.0}]->(s), "
        "(s)-[:REFERENCES {cardinality: 'MANY_TO_ONE', origin: 'PROFILED', coverage: 0.5}]->(i)",
        {"org": org},
        database_=DB,
    )
    publish_profile(
        neo4j_driver, org_id=org, table="airports", profile=demo["airports"], committed_at="2026-01-01T00:00:00.000Z"
    )
    assert references(neo4j_driver, org) == {
        ("flights.origin", "airports.iata", "MANY_TO_ONE", "DEFINED", 1.0),  # no PROFILED one beside it
        ("flights.destination", "airports.iata", "MANY_TO_ONE", "PROFILED", 1.0),
        ("seattle_weather.weather", "airports.state", "MANY_TO_ONE", "DEFINED", 0.0),  # a person's: kept
    }  # the stale PROFILED state -> iata is gone


def test_integer_references_and_removed_columns(lake, neo4j_driver) -> None:
    org = lake.org_id
    teams = b"team_id,name,founded_year\n1,Ants,1990\n2,Bees,2001\n3,Cats,1990\n"
    players = b"player_id,team_id,points\n10,1,5\n11,1,7\n12,2,3\n13,3,4\n"
    load_and_publish(lake, neo4j_driver, "teams", teams, "teams.csv", "CSV")
    load_and_publish(lake, neo4j_driver, "players", players, "players.csv", "CSV")
    team_id = column(neo4j_driver, org, "players", "team_id")
    assert (team_id["semanticType"], team_id["isKey"], team_id["sampleValues"]) == (
        "IDENTIFIER",
        False,
        ["1", "2", "3"],
    )
    assert column(neo4j_driver, org, "teams", "founded_year")["semanticType"] == "TIME"
    points = column(neo4j_driver, org, "players", "points")
    assert (points["semanticType"], points["isKey"], points["distinctCount"]) == ("MEASURE", False, 4)
    assert ("players.team_id", "teams.team_id", "MANY_TO_ONE", "PROFILED", 1.0) in references(neo4j_driver, org)
    # A new version without `name`: its Column goes, the reference stays.
    load_and_publish(lake, neo4j_driver, "teams", b"team_id,founded_year\n1,1990\n2,2001\n3,1990\n", "t.csv", "CSV")
    got, _, _ = neo4j_driver.execute_query(
        "MATCH (c:Column {orgId: $org, dataset: 'teams'}) RETURN c.name AS n, c.deltaVersion AS v ORDER BY c.position",
        {"org": org},
        database_=DB,
    )
    assert [(r["n"], r["v"]) for r in got] == [("team_id", 1), ("founded_year", 1)]
    assert ("players.team_id", "teams.team_id", "MANY_TO_ONE", "PROFILED", 1.0) in references(neo4j_driver, org)


def test_value_lists_are_bounded(lake, neo4j_driver) -> None:
    body = "code,long\n" + "".join(f"c{i:05d},{'x' * 1001 if i == 0 else 'y'}\n" for i in range(MAX_VALUES + 5))
    profile = load_and_publish(lake, neo4j_driver, "many", body.encode(), "many.csv", "CSV")
    code, long = profile["columns"]
    assert (code["distinctCount"], len(code["sampleValues"]), code["valuesComplete"]) == (
        MAX_VALUES + 5,
        MAX_VALUES,
        False,
    )
    assert code["sampleValues"][:2] == ["c00000", "c00001"] and code["isKey"] is True
    assert (long["distinctCount"], long["sampleValues"], long["valuesComplete"]) == (2, ["y"], False)  # 1001 chars


def test_a_second_org_gets_its_own_layer_through_the_cli(lake, demo, neo4j_driver) -> None:
    if not os.environ.get("SPARK_REMOTE"):
        pytest.skip("SPARK_REMOTE is not set: the CLI profiles on a Spark Connect server")
    other = Lake(lake.spark, lake.s3, lake.bucket, str(uuid.uuid4()))
    for table in ("airports", "flights"):
        file, fmt = DEMO[table]
        other.ingest(table, other.upload(table, (DATA_DIR / file).read_bytes(), file), fmt)
    cli = [sys.executable, str(REPO_ROOT / "orchestration" / "pipeline.py"), "profile", "--org", other.org_id]
    env = {**os.environ, "LAKE_BUCKET": lake.bucket}
    outputs = {}
    for table in ("airports", "flights"):
        proc = subprocess.run([*cli, "--table", table], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs[table] = json.loads(proc.stdout)
    summary = outputs["flights"]
    assert (summary["dataset"], summary["delta_version"], summary["row_count"]) == ("flights", 0, 20000)
    assert summary["catalog_updated"] is True and summary["spark_jobs"] == 2
    assert [r["fromColumn"] for r in summary["references"]] == ["destination", "origin"]
    assert {c["name"]: c["semanticType"] for c in outputs["airports"]["columns"]}["state"] == "GEO_CODE"
    assert references(neo4j_driver, other.org_id) == {
        ("flights.origin", "airports.iata", "MANY_TO_ONE", "PROFILED", 1.0),
        ("flights.destination", "airports.iata", "MANY_TO_ONE", "PROFILED", 1.0),
    }
    got, _, _ = neo4j_driver.execute_query(
        "MATCH (a {orgId: $a})-[r]-(b) WHERE b.orgId <> $a RETURN count(r) AS n", {"a": other.org_id}, database_=DB
    )
    assert got[0]["n"] == 0
    got, _, _ = neo4j_driver.execute_query(
        "MATCH (d:Dataset {orgId: $a, name: 'airports'})-[:HAS_COLUMN]->(c) RETURN count(c) AS n, "
        "collect(DISTINCT c.orgId) AS orgs, d.rowCount AS rows",
        {"a": other.org_id},
        database_=DB,
    )
    assert (got[0]["n"], got[0]["orgs"], got[0]["rows"]) == (7, [other.org_id], 3376)
    # The first org's layer is untouched: still the same references, and its own iata column.
    assert column(neo4j_driver, lake.org_id, "airports", "iata")["orgId"] == lake.org_id
    missing = subprocess.run([*cli, "--table", "nothing"], capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2 and json.loads(missing.stderr.strip().splitlines()[-1])["code"] == "OBJECT_MISSING"
