"""Profiling: the semantic layer of one gold table version, computed on Spark Connect for the catalog graph.

`profile_table` reads `gold/org=<org>/<table>` at one Delta version and describes every column as the Column nodes of
the semantic layer need it (/work/coord/CONTRACTS.md section 1; `publish.publish_profile` writes them):

- statistics, from ONE aggregate Spark job over the table: rows, per column non-null count, exact distinct count,
  min and max (numbers as decimal text, dates `YYYY-MM-DD`, timestamps ISO-8601 in UTC), mean length of strings;
- value lists, from at most ONE more job for all listed columns together: every string and boolean column, and integer
  identifiers (`id`, `*_id`), as (column, value, count) groups ranked per column by a window (most frequent first,
  ties by value), at most `MAX_VALUES` values per column (`MAX_TEXT_VALUES` for free text) and none longer than
  `MAX_VALUE_CHARS` characters; `valuesComplete` says the list holds every distinct non-null value;
- meaning, in Python from those: `semanticType` (`semantic_type`), `unit` (`unit_of`: from a name suffix),
  `synonyms` (`synonyms_of`: the name's words and generic expansions of English abbreviations), `geoKind` with
  alias names (`geo_of`: US state / territory USPS codes, ISO 3166-1 alpha-2 and alpha-3 country codes; reference
  data below), `isKey` (no nulls, every value distinct; strings, integer identifiers, dates and timestamps only).

Nothing here knows any particular table: every rule reads the column's name, type and values.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from .bronze_to_gold import _history, session_conf
from .errors import PipelineError
from .lake import gold_key, s3a_uri

MAX_VALUES = 10_000
"""Most values listed per column (`sampleValues`): enough for every key of a table of some thousand rows (the 3,376
airports) while a wide table's profile stays a few MB at most."""

MAX_TEXT_VALUES = 20
"""Values listed for a TEXT column (long free text: examples only)."""

MAX_VALUE_CHARS = 1000
"""Longer values are never listed (the column's `valuesComplete` is then false)."""

MAX_SYNONYMS = 8
"""Most synonyms derived from a column's name."""

SEMANTIC_TYPES = ("TIME", "CATEGORY", "MEASURE", "IDENTIFIER", "GEO_CODE", "TEXT")
"""The values of `semanticType` (contract section 1)."""

GEO_SHARE = 0.95
"""Least share of a column's distinct values that must be codes of one kind for it to be a GEO_CODE column."""

INTEGER_TYPES = frozenset({"tinyint", "smallint", "int", "bigint"})
FLOAT_TYPES = frozenset({"float", "double"})
TIME_TYPES = frozenset({"date", "timestamp", "timestamp_ntz"})

PROFILE_CONF = {"spark.sql.session.timeZone": "UTC"}
"""Session settings of a profile: timestamps rendered in UTC."""

US_STATES = """
AL Alabama
AK Alaska
AZ Arizona
AR Arkansas
CA California
CO Colorado
CT Connecticut
DE Delaware
FL Florida
GA Georgia
HI Hawaii
ID Idaho
IL Illinois
IN Indiana
IA Iowa
KS Kansas
KY Kentucky
LA Louisiana
ME Maine
MD Maryland
MA Massachusetts
MI Michigan
MN Minnesota
MS Mississippi
MO Missouri
MT Montana
NE Nebraska
NV Nevada
NH New Hampshire
NJ New Jersey
NM New Mexico
NY New York
NC North Carolina
ND North Dakota
OH Ohio
OK Oklahoma
OR Oregon
PA Pennsylvania
RI Rhode Island
SC South Carolina
SD South Dakota
TN Tennessee
TX Texas
UT Utah
VT Vermont
VA Virginia
WA Washington
WV West Virginia
WI Wisconsin
WY Wyoming
DC District of Columbia|Washington DC|Washington, D.C.
PR Puerto Rico
AS American Samoa
GU Guam
MP Northern Mariana Islands
VI U.S. Virgin Islands|US Virgin Islands|Virgin Islands
FM Federated States of Micronesia|Micronesia
MH Marshall Islands
PW Palau
"""
"""USPS two-letter codes (USPS Publication 28, appendix B) of the 50 states, the District of Columbia, Puerto Rico,
the other inhabited territories and the freely associated states, with their English names (first: the usual one)."""

COUNTRIES = """
AW ABW Aruba
AF AFG Afghanistan|Islamic Republic of Afghanistan
AO AGO Angola|Republic of Angola
AI AIA Anguilla
AX ALA Åland Islands
AL ALB Albania|Republic of Albania
AD AND Andorra|Principality of Andorra
AE ARE United Arab Emirates
AR ARG Argentina|Argentine Republic
AM ARM Armenia|Republic of Armenia
AS ASM American Samoa
AQ ATA Antarctica
TF ATF French Southern Territories
AG ATG Antigua and Barbuda
AU AUS Australia
AT AUT Austria|Republic of Austria
AZ AZE Azerbaijan|Republic of Azerbaijan
BI BDI Burundi|Republic of Burundi
BE BEL Belgium|Kingdom of Belgium
BJ BEN Benin|Republic of Benin
BQ BES Bonaire, Sint Eustatius and Saba
BF BFA Burkina Faso
BD BGD Bangladesh|People's Republic of Bangladesh
BG BGR Bulgaria|Republic of Bulgaria
BH BHR Bahrain|Kingdom of Bahrain
BS BHS Bahamas|Commonwealth of the Bahamas
BA BIH Bosnia and Herzegovina|Republic of Bosnia and Herzegovina
BL BLM Saint Barthélemy
BY BLR Belarus|Republic of Belarus
BZ BLZ Belize
BM BMU Bermuda
BO BOL Bolivia|Bolivia, Plurinational State of|Plurinational State of Bolivia
BR BRA Brazil|Federative Republic of Brazil
BB BRB Barbados
BN BRN Brunei Darussalam|Brunei
BT BTN Bhutan|Kingdom of Bhutan
BV BVT Bouvet Island
BW BWA Botswana|Republic of Botswana
CF CAF Central African Republic
CA CAN Canada
CC CCK Cocos (Keeling) Islands|Cocos Islands
CH CHE Switzerland|Swiss Confederation
CL CHL Chile|Republic of Chile
CN CHN China|People's Republic of China
CI CIV Côte d'Ivoire|Republic of Côte d'Ivoire|Ivory Coast
CM CMR Cameroon|Republic of Cameroon
CD COD Congo, The Democratic Republic of the|Democratic Republic of the Congo|DR Congo
CG COG Congo|Republic of the Congo
CK COK Cook Islands
CO COL Colombia|Republic of Colombia
KM COM Comoros|Union of the Comoros
CV CPV Cabo Verde|Republic of Cabo Verde|Cape Verde
CR CRI Costa Rica|Republic of Costa Rica
CU CUB Cuba|Republic of Cuba
CW CUW Curaçao
CX CXR Christmas Island
KY CYM Cayman Islands
CY CYP Cyprus|Republic of Cyprus
CZ CZE Czechia|Czech Republic
DE DEU Germany|Federal Republic of Germany
DJ DJI Djibouti|Republic of Djibouti
DM DMA Dominica|Commonwealth of Dominica
DK DNK Denmark|Kingdom of Denmark
DO DOM Dominican Republic
DZ DZA Algeria|People's Democratic Republic of Algeria
EC ECU Ecuador|Republic of Ecuador
EG EGY Egypt|Arab Republic of Egypt
ER ERI Eritrea|State of Eritrea
EH ESH Western Sahara
ES ESP Spain|Kingdom of Spain
EE EST Estonia|Republic of Estonia
ET ETH Ethiopia|Federal Democratic Republic of Ethiopia
FI FIN Finland|Republic of Finland
FJ FJI Fiji|Republic of Fiji
FK FLK Falkland Islands (Malvinas)|Falkland Islands
FR FRA France|French Republic
FO FRO Faroe Islands
FM FSM Micronesia, Federated States of|Federated States of Micronesia|Micronesia
GA GAB Gabon|Gabonese Republic
GB GBR United Kingdom|United Kingdom of Great Britain and Northern Ireland|Great Britain|UK
GE GEO Georgia
GG GGY Guernsey
GH GHA Ghana|Republic of Ghana
GI GIB Gibraltar
GN GIN Guinea|Republic of Guinea
GP GLP Guadeloupe
GM GMB Gambia|Republic of the Gambia
GW GNB Guinea-Bissau|Republic of Guinea-Bissau
GQ GNQ Equatorial Guinea|Republic of Equatorial Guinea
GR GRC Greece|Hellenic Republic
GD GRD Grenada
GL GRL Greenland
GT GTM Guatemala|Republic of Guatemala
GF GUF French Guiana
GU GUM Guam
GY GUY Guyana|Republic of Guyana
HK HKG Hong Kong|Hong Kong Special Administrative Region of China
HM HMD Heard Island and McDonald Islands
HN HND Honduras|Republic of Honduras
HR HRV Croatia|Republic of Croatia
HT HTI Haiti|Republic of Haiti
HU HUN Hungary
ID IDN Indonesia|Republic of Indonesia
IM IMN Isle of Man
IN IND India|Republic of India
IO IOT British Indian Ocean Territory
IE IRL Ireland
IR IRN Iran|Iran, Islamic Republic of|Islamic Republic of Iran
IQ IRQ Iraq|Republic of Iraq
IS ISL Iceland|Republic of Iceland
IL ISR Israel|State of Israel
IT ITA Italy|Italian Republic
JM JAM Jamaica
JE JEY Jersey
JO JOR Jordan|Hashemite Kingdom of Jordan
JP JPN Japan
KZ KAZ Kazakhstan|Republic of Kazakhstan
KE KEN Kenya|Republic of Kenya
KG KGZ Kyrgyzstan|Kyrgyz Republic
KH KHM Cambodia|Kingdom of Cambodia
KI KIR Kiribati|Republic of Kiribati
KN KNA Saint Kitts and Nevis
KR KOR South Korea|Korea, Republic of
KW KWT Kuwait|State of Kuwait
LA LAO Laos|Lao People's Democratic Republic
LB LBN Lebanon|Lebanese Republic
LR LBR Liberia|Republic of Liberia
LY LBY Libya
LC LCA Saint Lucia
LI LIE Liechtenstein|Principality of Liechtenstein
LK LKA Sri Lanka|Democratic Socialist Republic of Sri Lanka
LS LSO Lesotho|Kingdom of Lesotho
LT LTU Lithuania|Republic of Lithuania
LU LUX Luxembourg|Grand Duchy of Luxembourg
LV LVA Latvia|Republic of Latvia
MO MAC Macao|Macao Special Administrative Region of China
MF MAF Saint Martin (French part)|Saint Martin
MA MAR Morocco|Kingdom of Morocco
MC MCO Monaco|Principality of Monaco
MD MDA Moldova|Moldova, Republic of|Republic of Moldova
MG MDG Madagascar|Republic of Madagascar
MV MDV Maldives|Republic of Maldives
MX MEX Mexico|United Mexican States
MH MHL Marshall Islands|Republic of the Marshall Islands
MK MKD North Macedonia|Republic of North Macedonia|Macedonia
ML MLI Mali|Republic of Mali
MT MLT Malta|Republic of Malta
MM MMR Myanmar|Republic of Myanmar|Burma
ME MNE Montenegro
MN MNG Mongolia
MP MNP Northern Mariana Islands|Commonwealth of the Northern Mariana Islands
MZ MOZ Mozambique|Republic of Mozambique
MR MRT Mauritania|Islamic Republic of Mauritania
MS MSR Montserrat
MQ MTQ Martinique
MU MUS Mauritius|Republic of Mauritius
MW MWI Malawi|Republic of Malawi
MY MYS Malaysia
YT MYT Mayotte
NA NAM Namibia|Republic of Namibia
NC NCL New Caledonia
NE NER Niger|Republic of the Niger
NF NFK Norfolk Island
NG NGA Nigeria|Federal Republic of Nigeria
NI NIC Nicaragua|Republic of Nicaragua
NU NIU Niue
NL NLD Netherlands|Kingdom of the Netherlands|Holland
NO NOR Norway|Kingdom of Norway
NP NPL Nepal|Federal Democratic Republic of Nepal
NR NRU Nauru|Republic of Nauru
NZ NZL New Zealand
OM OMN Oman|Sultanate of Oman
PK PAK Pakistan|Islamic Republic of Pakistan
PA PAN Panama|Republic of Panama
PN PCN Pitcairn
PE PER Peru|Republic of Peru
PH PHL Philippines|Republic of the Philippines
PW PLW Palau|Republic of Palau
PG PNG Papua New Guinea|Independent State of Papua New Guinea
PL POL Poland|Republic of Poland
PR PRI Puerto Rico
KP PRK North Korea|Korea, Democratic People's Republic of|Democratic People's Republic of Korea
PT PRT Portugal|Portuguese Republic
PY PRY Paraguay|Republic of Paraguay
PS PSE Palestine, State of|State of Palestine|Palestine
PF PYF French Polynesia
QA QAT Qatar|State of Qatar
RE REU Réunion
RO ROU Romania
RU RUS Russian Federation|Russia
RW RWA Rwanda|Rwandese Republic
SA SAU Saudi Arabia|Kingdom of Saudi Arabia
SD SDN Sudan|Republic of the Sudan
SN SEN Senegal|Republic of Senegal
SG SGP Singapore|Republic of Singapore
GS SGS South Georgia and the South Sandwich Islands
SH SHN Saint Helena, Ascension and Tristan da Cunha|Saint Helena
SJ SJM Svalbard and Jan Mayen
SB SLB Solomon Islands
SL SLE Sierra Leone|Republic of Sierra Leone
SV SLV El Salvador|Republic of El Salvador
SM SMR San Marino|Republic of San Marino
SO SOM Somalia|Federal Republic of Somalia
PM SPM Saint Pierre and Miquelon
RS SRB Serbia|Republic of Serbia
SS SSD South Sudan|Republic of South Sudan
ST STP Sao Tome and Principe|Democratic Republic of Sao Tome and Principe
SR SUR Suriname|Republic of Suriname
SK SVK Slovakia|Slovak Republic
SI SVN Slovenia|Republic of Slovenia
SE SWE Sweden|Kingdom of Sweden
SZ SWZ Eswatini|Kingdom of Eswatini|Swaziland
SX SXM Sint Maarten (Dutch part)|Sint Maarten
SC SYC Seychelles|Republic of Seychelles
SY SYR Syria|Syrian Arab Republic
TC TCA Turks and Caicos Islands
TD TCD Chad|Republic of Chad
TG TGO Togo|Togolese Republic
TH THA Thailand|Kingdom of Thailand
TJ TJK Tajikistan|Republic of Tajikistan
TK TKL Tokelau
TM TKM Turkmenistan
TL TLS Timor-Leste|Democratic Republic of Timor-Leste
TO TON Tonga|Kingdom of Tonga
TT TTO Trinidad and Tobago|Republic of Trinidad and Tobago
TN TUN Tunisia|Republic of Tunisia
TR TUR Türkiye|Republic of Türkiye|Turkey
TV TUV Tuvalu
TW TWN Taiwan|Taiwan, Province of China
TZ TZA Tanzania|Tanzania, United Republic of|United Republic of Tanzania
UG UGA Uganda|Republic of Uganda
UA UKR Ukraine
UM UMI United States Minor Outlying Islands
UY URY Uruguay|Eastern Republic of Uruguay
US USA United States|United States of America|USA|US
UZ UZB Uzbekistan|Republic of Uzbekistan
VA VAT Holy See (Vatican City State)|Vatican City|Holy See
VC VCT Saint Vincent and the Grenadines
VE VEN Venezuela|Venezuela, Bolivarian Republic of|Bolivarian Republic of Venezuela
VG VGB Virgin Islands, British|British Virgin Islands
VI VIR Virgin Islands, U.S.|Virgin Islands of the United States|US Virgin Islands
VN VNM Vietnam|Viet Nam|Socialist Republic of Viet Nam
VU VUT Vanuatu|Republic of Vanuatu
WF WLF Wallis and Futuna
WS WSM Samoa|Independent State of Samoa
YE YEM Yemen|Republic of Yemen
ZA ZAF South Africa|Republic of South Africa
ZM ZMB Zambia|Republic of Zambia
ZW ZWE Zimbabwe|Republic of Zimbabwe
"""
"""ISO 3166-1 country codes: `alpha-2 alpha-3 name|other names` per line (first: the usual English short name, then
the ISO short and official names where they differ, then other common English names)."""


def _reference(text: str, fields: int) -> dict[str, tuple[str, ...]]:
    """`code -> names` of a reference table above (`fields`: codes per line before the names)."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        parts = line.split(" ", fields)
        names = tuple(parts[fields].split("|"))
        for code in parts[:fields]:
            table[code] = names
    return table


_US = _reference(US_STATES, 1)
_COUNTRY = _reference(COUNTRIES, 2)
GEO_CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "US_STATE": _US,
    "COUNTRY_ISO2": {c: n for c, n in _COUNTRY.items() if len(c) == 2},
    "COUNTRY_ISO3": {c: n for c, n in _COUNTRY.items() if len(c) == 3},
}
"""`geoKind -> code -> names`: the codes a GEO_CODE column may hold, by kind."""

UNIT_SUFFIXES = {
    "mm": "mm",
    "cm": "cm",
    "m": "m",
    "km": "km",
    "in": "in",
    "inch": "in",
    "inches": "in",
    "ft": "ft",
    "mi": "mi",
    "miles": "mi",
    "mg": "mg",
    "g": "g",
    "kg": "kg",
    "lb": "lbs",
    "lbs": "lbs",
    "oz": "oz",
    "ml": "ml",
    "l": "l",
    "usd": "usd",
    "eur": "eur",
    "gbp": "gbp",
    "jpy": "jpy",
    "pct": "percent",
    "perc": "percent",
    "percent": "percent",
    "percentage": "percent",
    "ms": "millisecond",
    "s": "second",
    "sec": "second",
    "secs": "second",
    "seconds": "second",
    "min": "minute",
    "mins": "minute",
    "minutes": "minute",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "hours": "hour",
    "days": "day",
    "c": "celsius",
    "celsius": "celsius",
    "f": "fahrenheit",
    "fahrenheit": "fahrenheit",
    "kwh": "kWh",
    "mph": "mph",
    "kmh": "km/h",
}
"""Last word of a numeric column's name -> its unit (SI or common symbols; durations and temperatures spelt out).
`min` is a unit only after a duration word (`DURATION_WORDS`): `temp_min` is a minimum, `delay_min` minutes."""

DURATION_WORDS = frozenset({"duration", "time", "delay", "wait", "elapsed", "runtime", "latency", "interval", "period"})
"""Words of a name before which a final `min` means minutes."""

ABBREVIATIONS = {
    "temp": "temperature",
    "max": "maximum",
    "min": "minimum",
    "avg": "average",
    "mean": "average",
    "med": "median",
    "pop": "population",
    "expect": "expectancy",
    "dest": "destination",
    "orig": "origin",
    "src": "source",
    "dep": "departure",
    "arr": "arrival",
    "num": "number",
    "no": "number",
    "nbr": "number",
    "cnt": "count",
    "qty": "quantity",
    "amt": "amount",
    "tot": "total",
    "pct": "percent",
    "perc": "percent",
    "lat": "latitude",
    "lon": "longitude",
    "lng": "longitude",
    "long": "longitude",
    "desc": "description",
    "dt": "date",
    "ts": "timestamp",
    "yr": "year",
    "yrs": "years",
    "mo": "month",
    "mon": "month",
    "wk": "week",
    "hr": "hour",
    "hrs": "hours",
    "sec": "seconds",
    "dist": "distance",
    "dur": "duration",
    "freq": "frequency",
    "precip": "precipitation",
    "elev": "elevation",
    "alt": "altitude",
    "wt": "weight",
    "ht": "height",
    "len": "length",
    "vol": "volume",
    "cap": "capacity",
    "dept": "department",
    "emp": "employee",
    "cust": "customer",
    "prod": "product",
    "cat": "category",
    "addr": "address",
    "tel": "telephone",
    "acct": "account",
    "bal": "balance",
    "rev": "revenue",
    "est": "estimated",
    "approx": "approximate",
    "std": "standard",
    "dev": "deviation",
    "info": "information",
    "msg": "message",
    "ref": "reference",
    "org": "organization",
    "govt": "government",
    "intl": "international",
    "natl": "national",
    "ctry": "country",
    "cntry": "country",
    "mpg": "miles per gallon",
    "mph": "miles per hour",
    "kph": "kilometers per hour",
    "gdp": "gross domestic product",
    "lbs": "pounds",
    "lb": "pound",
    "kg": "kilograms",
    "mm": "millimeters",
    "cm": "centimeters",
    "km": "kilometers",
}
"""Common English abbreviations in column names -> the word (generic: no table's own words)."""

LEADING_WORDS = frozenset({"maximum", "minimum", "average", "median", "total", "number", "count"})
"""Expanded words that English puts first: `temp_max` is also said "maximum temperature"."""

CALENDAR = {"year": (1000, 2999), "month": (1, 12)}
"""Integer columns named `year`/`month` (or `*_year`/`*_month`) whose values lie in these ranges are TIME."""

GEO_HINTS = ("state", "country", "nation", "iso", "province", "territory", "region")
"""Name words that let a GEO_CODE column have fewer than 3 distinct values (`geo_of`)."""


def _words(name: str) -> list[str]:
    return [w for w in name.lower().split("_") if w]


def unit_of(name: str, type_name: str) -> str | None:
    """The unit of a numeric column from its name's last word (`UNIT_SUFFIXES`), e.g. `body_mass_g` -> 'g',
    `weight_in_lbs` -> 'lbs', `delay_min` -> 'minute'; None for other types, one-word names and `*_min` after a
    word that is not a duration (`temp_min`)."""
    words = _words(name)
    if len(words) < 2 or not (
        type_name in INTEGER_TYPES or type_name in FLOAT_TYPES or type_name.startswith("decimal")
    ):
        return None
    last = words[-1]
    if last == "min" and not any(w in DURATION_WORDS for w in words[:-1]):
        return None
    return UNIT_SUFFIXES.get(last)


def synonyms_of(name: str, unit: str | None) -> list[str]:
    """Lower-case phrases naming the column (at most `MAX_SYNONYMS`, first the name's words): the words; without
    the unit word (and an `in`/`per` before it); with `ABBREVIATIONS` expanded; with a leading word moved first
    (`temp_max` -> ['temp max', 'temperature maximum', 'max temp', 'maximum temperature'])."""
    words = _words(name)
    phrases: list[str] = []

    def add(ws: Sequence[str]) -> None:
        phrase = " ".join(ws)
        if phrase and phrase not in phrases:
            phrases.append(phrase)

    add(words)
    core = words
    if unit is not None and len(words) > 1:
        core = words[:-1]
        if len(core) > 1 and core[-1] in ("in", "per"):
            core = core[:-1]
        add(core)
    expanded = [ABBREVIATIONS.get(w, w) for w in core]
    add(expanded)
    if len(core) > 1 and expanded[-1] in LEADING_WORDS:
        add([core[-1], *core[:-1]])
        add([expanded[-1], *expanded[:-1]])
    return phrases[:MAX_SYNONYMS]


def geo_of(name: str, values: Sequence[str]) -> tuple[str | None, list[str], list[str]]:
    """`(geoKind, aliasNames, aliasValues)` of a string column whose distinct values are `values`.

    A kind of `GEO_CODES` applies when at least `GEO_SHARE` of the values are its codes (trimmed, any case) and the
    column has 3 distinct values or more, or its name has a word of `GEO_HINTS`; when two kinds apply, the one with
    the larger share, and on a tie a country kind if the name says country/nation, else US_STATE. The aliases pair
    each name of each code present (`Texas`) with the value stored (`TX`); a name equal to the value is left out.
    `(None, [], [])` when no kind applies.
    """
    if not values:
        return None, [], []
    words = _words(name)
    if len(values) < 3 and not any(h in w for w in words for h in GEO_HINTS):
        return None, [], []
    keys = [v.strip().upper() for v in values]
    shares = {kind: sum(1 for k in keys if k in codes) / len(keys) for kind, codes in GEO_CODES.items()}
    country = any(w.startswith(("country", "nation")) for w in words)
    ranked = sorted(shares, key=lambda k: (shares[k], k.startswith("COUNTRY") == country), reverse=True)
    kind = ranked[0]
    if shares[kind] < GEO_SHARE:
        return None, [], []
    alias_names: list[str] = []
    alias_values: list[str] = []
    for value, key in zip(values, keys, strict=True):
        for alias in GEO_CODES[kind].get(key, ()):
            if alias.upper() != key:
                alias_names.append(alias)
                alias_values.append(value)
    return kind, alias_names, alias_values


def semantic_type(
    name: str,
    type_name: str,
    *,
    rows: int,
    distinct: int,
    min_value: Any,
    max_value: Any,
    mean_length: float | None,
    geo_kind: str | None,
) -> str:
    """The column's `semanticType` (contract section 1, in this order):
    date/timestamp -> TIME; an integer named `year`/`month` (or `*_year`/`*_month`) with min and max in `CALENDAR`
    -> TIME; an integer named `id`/`*_id` -> IDENTIFIER; other numbers -> MEASURE; a string with a `geo_kind` ->
    GEO_CODE; a string of mean length > 40 -> TEXT; a string with distinct/rows >= 0.5 and distinct > 50 ->
    IDENTIFIER; other strings and booleans -> CATEGORY; anything else (binary, struct, array, map) -> TEXT.
    """
    words = _words(name)
    if type_name in TIME_TYPES:
        return "TIME"
    if type_name in INTEGER_TYPES:
        for part, (low, high) in CALENDAR.items():
            named = bool(words) and words[-1] == part
            if named and min_value is not None and low <= int(min_value) and int(max_value) <= high:
                return "TIME"
        return "IDENTIFIER" if words and words[-1] == "id" else "MEASURE"
    if type_name in FLOAT_TYPES or type_name.startswith("decimal"):
        return "MEASURE"
    if type_name == "boolean":
        return "CATEGORY"
    if type_name != "string":
        return "TEXT"
    if geo_kind is not None:
        return "GEO_CODE"
    if mean_length is not None and mean_length > 40:
        return "TEXT"
    if rows > 0 and distinct / rows >= 0.5 and distinct > 50:
        return "IDENTIFIER"
    return "CATEGORY"


def _col(name: str) -> Any:
    return F.col("`" + name.replace("`", "``") + "`")


def _atomic(type_name: str) -> bool:
    return not type_name.startswith(("struct<", "array<", "map<")) and type_name != "binary"


def _text(value: Any) -> str | None:
    """A min/max as the contract writes it: numbers as decimal text, dates `YYYY-MM-DD`, booleans `true`/`false`;
    timestamps arrive already formatted by Spark."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _statistics(df: DataFrame, types: list[str]) -> dict[str, Any]:
    """Spark job 1: `{"rows": int, "n<i>"/"d<i>": non-null and distinct counts, "lo<i>"/"hi<i>": min and max,
    "len<i>": mean string length}` per column index i."""
    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, (name, type_name) in enumerate(zip(df.columns, types, strict=True)):
        c = _col(name)
        aggs.append(F.count(c).alias(f"n{i}"))
        aggs.append(F.count_distinct(c if _atomic(type_name) else F.to_json(c)).alias(f"d{i}"))
        if type_name in ("timestamp", "timestamp_ntz"):
            zone = "'Z'" if type_name == "timestamp" else ""
            fmt = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS" + zone
            aggs += [F.date_format(F.min(c), fmt).alias(f"lo{i}"), F.date_format(F.max(c), fmt).alias(f"hi{i}")]
        elif _atomic(type_name):
            aggs += [F.min(c).alias(f"lo{i}"), F.max(c).alias(f"hi{i}")]
        if type_name == "string":
            aggs.append(F.avg(F.length(c)).alias(f"len{i}"))
    return df.agg(*aggs).first().asDict()


def _timestamp_text(text: str | None) -> str | None:
    """`2001-01-01T00:47:00.000000Z` -> `2001-01-01T00:47:00Z` (fraction kept when not zero)."""
    if text is None:
        return None
    head, _, tail = text.partition(".")
    fraction, zone = tail.rstrip("Z"), "Z" if tail.endswith("Z") else ""
    fraction = fraction.rstrip("0")
    return f"{head}.{fraction}{zone}" if fraction else f"{head}{zone}"


def _value_lists(df: DataFrame, listed: dict[int, int]) -> dict[int, list[str]]:
    """Spark job 2: per column index of `listed` (index -> most values), its distinct non-null values as text, at
    most that many, most frequent first (ties by value), none longer than `MAX_VALUE_CHARS`."""
    if not listed:
        return {}
    names = df.columns
    pairs = df.select(
        F.inline(
            F.array(*[F.struct(F.lit(i).alias("c"), _col(names[i]).cast("string").alias("v")) for i in sorted(listed)])
        )
    )
    counted = (
        pairs.where(F.col("v").isNotNull() & (F.length("v") <= MAX_VALUE_CHARS))
        .groupBy("c", "v")
        .agg(F.count(F.lit(1)).alias("n"))
    )
    rank = F.row_number().over(Window.partitionBy("c").orderBy(F.desc("n"), F.asc("v")))
    limit = F.element_at(F.create_map(*[F.lit(x) for i, n in listed.items() for x in (i, n)]), F.col("c"))
    ranked = counted.select("c", "v", rank.alias("r")).where(F.col("r") <= MAX_VALUES).where(F.col("r") <= limit)
    out: dict[int, list[tuple[int, str]]] = {i: [] for i in listed}
    for row in ranked.collect():
        out[row["c"]].append((row["r"], row["v"]))
    return {i: [v for _, v in sorted(values)] for i, values in out.items()}


def current_version(spark: SparkSession, *, bucket: str, org_id: str, table: str) -> dict[str, Any]:
    """The latest version of the gold table `s3a://<bucket>/gold/org=<org_id>/<table>`: `{"delta_version": int,
    "committed_at": ISO-8601 UTC}`. Raises PipelineError INVALID_PARAMS (bad org or table) or OBJECT_MISSING (no
    Delta table there); Spark errors propagate."""
    target = s3a_uri(bucket, gold_key(org_id, table))
    with session_conf(spark, PROFILE_CONF):
        history = _history(spark, target)
        rows = []
        if history is not None:
            at = F.date_format("timestamp", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").alias("at")
            rows = history.orderBy(F.desc("version")).limit(1).select("version", at).collect()
    if not rows:
        raise PipelineError("OBJECT_MISSING", f"The organization has no table {table!r} in the lake; load it first.")
    return {"delta_version": int(rows[0]["version"]), "committed_at": rows[0]["at"]}


def profile_table(spark: SparkSession, *, bucket: str, org_id: str, table: str, delta_version: int) -> dict[str, Any]:
    """The profile of the gold table `s3a://<bucket>/gold/org=<org_id>/<table>` at `delta_version` (module doc):
    two Spark jobs at most (one when no column is listed). Read only, so idempotent.

    Returns `{"dataset": table, "delta_version": int, "row_count": int, "spark_jobs": int, "ms": int (wall time),
    "columns": [column]}`, columns in table order, each a dict of the Column node's properties: `name`, `position`
    (0-based), `type` (Spark SQL name), `nullable`, `distinctCount`, `nullCount`, `minValue`/`maxValue` (text or
    None), `isKey`, `semanticType`, `unit` (or None), `synonyms`, `sampleValues`, `valuesComplete`, `geoKind` (or
    None), `aliasNames`, `aliasValues`, `deltaVersion`.

    Raises PipelineError INVALID_PARAMS for a bad org or table; Spark errors (no such table or version, server
    unreachable) propagate.
    """
    started = time.monotonic()
    target = s3a_uri(bucket, gold_key(org_id, table))
    version = int(delta_version)
    df = spark.read.format("delta").option("versionAsOf", version).load(target)
    fields = df.schema.fields
    types = [f.dataType.simpleString() for f in fields]
    with session_conf(spark, PROFILE_CONF):
        stats = _statistics(df, types)
        jobs = 1
        rows = int(stats["rows"])
        lows = [stats.get(f"lo{i}") for i in range(len(fields))]
        highs = [stats.get(f"hi{i}") for i in range(len(fields))]
        listed: dict[int, int] = {}
        for i, (f, t) in enumerate(zip(fields, types, strict=True)):
            mean_length = stats.get(f"len{i}")
            if t == "string":
                listed[i] = MAX_TEXT_VALUES if mean_length is not None and mean_length > 40 else MAX_VALUES
            elif t == "boolean" or (t in INTEGER_TYPES and _words(f.name)[-1:] == ["id"]):
                listed[i] = MAX_VALUES
        values = _value_lists(df, listed)
        jobs += 1 if listed else 0
    columns: list[dict[str, Any]] = []
    for i, (f, t) in enumerate(zip(fields, types, strict=True)):
        non_null, distinct = int(stats[f"n{i}"]), int(stats[f"d{i}"])
        listed_values = values.get(i, [])
        geo_kind, alias_names, alias_values = (None, [], [])
        if t == "string" and len(listed_values) == distinct:
            geo_kind, alias_names, alias_values = geo_of(f.name, listed_values)
        mean_length = stats.get(f"len{i}")
        kind = semantic_type(
            f.name,
            t,
            rows=rows,
            distinct=distinct,
            min_value=lows[i],
            max_value=highs[i],
            mean_length=mean_length,
            geo_kind=geo_kind,
        )
        unit = unit_of(f.name, t)
        timestamp = t in ("timestamp", "timestamp_ntz")
        columns.append(
            {
                "name": f.name,
                "position": i,
                "type": t,
                "nullable": bool(f.nullable),
                "distinctCount": distinct,
                "nullCount": rows - non_null,
                "minValue": _timestamp_text(lows[i]) if timestamp else _text(lows[i]),
                "maxValue": _timestamp_text(highs[i]) if timestamp else _text(highs[i]),
                "isKey": rows > 0 and non_null == rows and distinct == rows and _keyable(t) and kind != "MEASURE",
                "semanticType": kind,
                "unit": unit,
                "synonyms": synonyms_of(f.name, unit),
                "sampleValues": listed_values,
                "valuesComplete": len(listed_values) == distinct,
                "geoKind": geo_kind,
                "aliasNames": alias_names,
                "aliasValues": alias_values,
                "deltaVersion": version,
            }
        )
    return {
        "dataset": table,
        "delta_version": version,
        "row_count": rows,
        "spark_jobs": jobs,
        "ms": round((time.monotonic() - started) * 1000),
        "columns": columns,
    }


def _keyable(type_name: str) -> bool:
    """Types whose columns can be keys: strings, integers, dates and timestamps (never floating numbers); an integer
    key must also be an IDENTIFIER or TIME column (`gapminder.pop`, all distinct, is a measure, not a key)."""
    return type_name == "string" or type_name in INTEGER_TYPES or type_name in TIME_TYPES


def profile_summary(profile: dict[str, Any]) -> dict[str, Any]:
    """`profile` without its value lists, for logs and the CLI: per column `name`, `type`, `semanticType`,
    `distinctCount`, `nullCount`, `isKey`, `unit`, `geoKind`, `minValue`, `maxValue`, `values` (how many listed),
    `valuesComplete`, `synonyms`."""
    keep = ("name", "type", "semanticType", "distinctCount", "nullCount", "isKey", "unit", "geoKind")
    keep += ("minValue", "maxValue", "valuesComplete", "synonyms")
    return {
        **{k: v for k, v in profile.items() if k != "columns"},
        "columns": [{**{k: c[k] for k in keep}, "values": len(c["sampleValues"])} for c in profile["columns"]],
    }
