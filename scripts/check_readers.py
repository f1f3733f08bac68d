#!/usr/bin/env python3
"""Check that a `twin run` results directory reads as-is, and the same, in pyarrow, polars and duckdb.

Usage: python3 scripts/check_readers.py RESULTS_DIR

For every *.parquet table in RESULTS_DIR (read with pyarrow.dataset, polars scan_parquet().collect()
and duckdb read_parquet):
  - the three readers give the same number of rows;
  - every column has a non-empty `description` in its Arrow field metadata, and every measure
    column (not a key) a non-empty `unit`;
  - every string column is dictionary-encoded (a categorical), polars reads each one as a
    Categorical/Enum/String with the same values as pyarrow, and duckdb as VARCHAR/ENUM;
  - the scenarios match manifest.json: all of them in aggregates.parquet, the reforms (and only
    they) in comparison.parquet and distribution.parquet, no unknown scenario anywhere;
  - counts and sums of every numeric measure per scenario (GROUP BY scenario; `population` among
    them) agree between pyarrow, polars and duckdb, and a filter on scenario gives the same rows.
Prints one line per check; stops with exit status 1 at the first failure; "all readers agree" at the end.
"""
import json, math, sys
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds


def ok(message):
    print(f"ok    {message}")


def fail(message):
    print(f"FAIL  {message}")
    sys.exit(1)


try:
    import polars as pl
except ImportError:
    fail("the Python package `polars` is not installed (python3 -m pip install polars)")
try:
    import duckdb
except ImportError:
    fail("the Python package `duckdb` is not installed (python3 -m pip install duckdb)")

if len(sys.argv) != 2:
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    sys.exit(2)
run = Path(sys.argv[1])
if not (run / "manifest.json").is_file():
    fail(f"{run}/manifest.json not found: is {run} a results directory?")
manifest = json.loads((run / "manifest.json").read_text())
baseline = manifest["baseline"]
scenarios = [s["name"] for s in manifest["scenarios"]]
reforms = [s for s in scenarios if s != baseline]
if baseline not in scenarios:
    fail(f"manifest.json: the baseline '{baseline}' is not among its scenarios {scenarios}")
ok(f"manifest.json: baseline '{baseline}', reforms {reforms}")

# Tables the manifest names must exist (capacity.parquet and others are checked when present).
for name, file in (manifest.get("outputs") or {}).items():
    if isinstance(file, str) and file.endswith(".parquet") and not (run / file).is_file():
        fail(f"manifest.json names output {name} = {file}, which is not in {run}")
tables = sorted(run.glob("*.parquet"))
if run / "aggregates.parquet" not in tables:
    fail(f"no aggregates.parquet in {run}")
ok(f"tables: {', '.join(t.name for t in tables)}")

# Key columns identify a row; every other column is a measure and needs a unit.
NUMERIC_KEYS = {"replicate", "month", "year", "decile"}
db = duckdb.connect()

for path in tables:
    name = path.name
    sql_path = str(path).replace("'", "''")
    source = f"read_parquet('{sql_path}')"

    # Read the whole table with each tool.
    table = ds.dataset(path, format="parquet").to_table()
    frame = pl.scan_parquet(path).collect()
    db_rows = db.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
    if not table.num_rows == frame.height == db_rows:
        fail(f"{name}: row counts differ: pyarrow {table.num_rows}, polars {frame.height}, duckdb {db_rows}")
    ok(f"{name}: {table.num_rows} rows in pyarrow, polars and duckdb")

    # Field metadata: description everywhere, unit on measures.
    schema = table.schema
    strings = [f.name for f in schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)
               or pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type)]
    measures = [f.name for f in schema if f.name not in strings and f.name not in NUMERIC_KEYS]
    for field in schema:
        meta = field.metadata or {}
        if not meta.get(b"description", b"").strip():
            fail(f"{name}: column {field.name} has no `description` field metadata")
        if field.name in measures and not meta.get(b"unit", b"").strip():
            fail(f"{name}: measure column {field.name} has no `unit` field metadata")
    ok(f"{name}: all {len(schema)} columns have a description; all measure columns ({len(measures)}) have a unit")

    # Categorical string columns: dictionary-encoded, and read the same by polars and duckdb.
    db_types = dict(db.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    for col in strings:
        kind = schema.field(col).type
        if not (pa.types.is_dictionary(kind)
                and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type))):
            fail(f"{name}: string column {col} is {kind}, not dictionary-encoded (dictionary<values=string>)")
        if not isinstance(frame.schema[col], (pl.Categorical, pl.Enum, pl.String)):
            fail(f"{name}: polars reads {col} as {frame.schema[col]}, expected Categorical or String")
        if frame[col].cast(pl.String).to_list() != table[col].cast(pa.string()).to_pylist():
            fail(f"{name}: polars and pyarrow read different values in {col}")
        if not (db_types[col] == "VARCHAR" or db_types[col].startswith("ENUM")):
            fail(f"{name}: duckdb reads {col} as {db_types[col]}, expected VARCHAR")
        db_values = {v for (v,) in db.execute(f'SELECT DISTINCT "{col}" FROM {source}').fetchall()}
        if db_values != set(table[col].cast(pa.string()).to_pylist()):
            fail(f"{name}: duckdb and pyarrow see different values in {col}")
    ok(f"{name}: categoricals {strings} are dictionary<string>, read alike by polars and duckdb")

    if "scenario" not in schema.names:
        continue

    # Scenarios against the manifest.
    present = set(table["scenario"].cast(pa.string()).to_pylist())
    expected = {"aggregates.parquet": set(scenarios),
                "comparison.parquet": set(reforms), "distribution.parquet": set(reforms)}.get(name)
    if present - set(scenarios):
        fail(f"{name}: scenarios not in manifest.json: {sorted(present - set(scenarios))}")
    if expected is not None and present != expected:
        fail(f"{name}: scenarios {sorted(present)}, expected {sorted(expected)} from manifest.json")
    ok(f"{name}: scenarios {sorted(present)} match manifest.json")

    # Row counts and measure sums per scenario, in all three tools.
    by_arrow = {r["scenario"]: r for r in table.group_by("scenario").aggregate(
        [("scenario", "count")] + [(c, "sum") for c in measures]).to_pylist()}
    by_polars = {r["scenario"]: r for r in frame.group_by("scenario").agg(
        pl.len().alias("scenario_count"), *[pl.col(c).sum().alias(f"{c}_sum") for c in measures]
    ).with_columns(pl.col("scenario").cast(pl.String)).to_dicts()}
    sums = ", ".join(f'sum("{c}") AS "{c}_sum"' for c in measures)
    result = db.execute(f"SELECT scenario, count(*) AS scenario_count, {sums} FROM {source} GROUP BY scenario")
    columns = [d[0] for d in result.description]
    by_duckdb = {r[0]: dict(zip(columns, r)) for r in result.fetchall()}
    for scenario in sorted(present):
        for col in ["scenario_count"] + [f"{c}_sum" for c in measures]:
            a, p, d = by_arrow[scenario][col], by_polars[scenario][col], by_duckdb[scenario][col]
            same = a == p == d if isinstance(a, int) else math.isclose(a, p) and math.isclose(a, d)
            if not same:
                fail(f"{name}: {scenario} {col}: pyarrow {a}, polars {p}, duckdb {d}")
    if "population" in measures:
        totals = ", ".join(f"{s} {by_duckdb[s]['population_sum']}" for s in sorted(present))
        ok(f"{name}: duckdb GROUP BY scenario sum(population) equals pyarrow's ({totals})")
    ok(f"{name}: row counts and sums of the {len(measures)} measure columns per scenario agree in pyarrow, polars and duckdb")

    # A filter on the dictionary column (predicate pushdown) keeps the same rows in each tool.
    first = sorted(present)[0]
    n_arrow = ds.dataset(path, format="parquet").count_rows(filter=ds.field("scenario") == first)
    n_polars = pl.scan_parquet(path).filter(pl.col("scenario") == first).select(pl.len()).collect().item()
    n_duckdb = db.execute(f"SELECT count(*) FROM {source} WHERE scenario = ?", [first]).fetchone()[0]
    if not n_arrow == n_polars == n_duckdb == by_arrow[first]["scenario_count"]:
        fail(f"{name}: filter scenario == '{first}': pyarrow {n_arrow}, polars {n_polars}, duckdb {n_duckdb}")
    ok(f"{name}: filter scenario == '{first}' keeps {n_arrow} rows in each tool")

print("all readers agree")
