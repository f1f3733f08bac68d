#!/usr/bin/env python3
"""Worked example: compare one reform with its baseline from a `twin run` results directory.

Usage: python3 scripts/analyst_example.py RESULTS_DIR [--reform NAME] [--out DIR]

Saves two figures (default folder RESULTS_DIR/figures):
  reform_vs_baseline.png      a spend measure per month, baseline and reform, and their difference
  distribution_by_decile.png  final year: mean change in net income per person by income decile
Needs pyarrow, polars and matplotlib. Copy the cells (`# %%`) into a notebook if you like.
"""
# %% Setup: arguments and the run's manifest
import argparse, json, sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")  # write files only, no window
import matplotlib.pyplot as plt
import polars as pl
import pyarrow.dataset as ds

ap = argparse.ArgumentParser(description="Compare a reform with its baseline and save two figures.")
ap.add_argument("results_dir", type=Path)
ap.add_argument("--reform", help="scenario name (default: the first reform in manifest.json)")
ap.add_argument("--out", type=Path, help="folder for the figures (default: RESULTS_DIR/figures)")
args = ap.parse_args()


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


run = args.results_dir
manifest = json.loads((run / "manifest.json").read_text())
baseline = manifest["baseline"]
reforms = [s["name"] for s in manifest["scenarios"] if s["name"] != baseline]
if not reforms:
    fail(f"{run} has no reform, only the baseline '{baseline}'")
reform = args.reform or reforms[0]
if reform not in reforms:
    fail(f"unknown reform '{reform}'; this run has: {', '.join(reforms)}")
out = args.out or run / "figures"
out.mkdir(parents=True, exist_ok=True)
source = f"Source: policy-twin run {run} ({manifest['months']} months from {manifest['start']}), {reform} vs {baseline}"

# %% Load the aggregates for both scenarios in one call
# Every column carries Arrow field metadata: `unit` (e.g. "pence", "persons") and `description`.
agg = ds.dataset(run / "aggregates.parquet")
unit = lambda col: agg.schema.field(col).metadata[b"unit"].decode()
describe = lambda col: agg.schema.field(col).metadata[b"description"].decode()

SPEND = ["universal_credit_pence", "child_benefit_pence", "pension_credit_pence", "state_pension_pence",
         "disability_benefit_pence", "social_care_cost_pence", "temporary_accommodation_cost_pence",
         "hospital_admissions_cost_pence"]
table = agg.to_table(columns=["scenario", "replicate", "month", "population"] + SPEND,
                     filter=ds.field("scenario").isin([baseline, reform]))
df = pl.from_arrow(table).with_columns(pl.col("scenario").cast(pl.String))

# %% Monthly totals: sum over regions, ages and sexes; average over replicates (if more than one)
monthly = (df.group_by("scenario", "replicate", "month").agg(pl.col("population", *SPEND).sum())
             .group_by("scenario", "month").agg(pl.col("population", *SPEND).mean())
             .sort("month"))
base = monthly.filter(pl.col("scenario") == baseline)
ref = monthly.filter(pl.col("scenario") == reform)
both = ref.join(base, on="month", suffix="_base").sort("month")  # reform columns, then baseline ones (_base)

# Plot the spend measure the reform changes most (over the whole run).
measure = max(SPEND, key=lambda c: abs((both[c] - both[c + "_base"]).sum()))
assert unit(measure) == "pence", f"{measure} is in {unit(measure)}, expected pence"
to_millions = 1 / 100 / 1e6  # pence -> £ million

# %% Figure (a): baseline and reform per month, and the difference
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, height_ratios=[2, 1])
top.plot(both["month"], both[measure + "_base"] * to_millions, label=f"baseline: {baseline}", color="grey")
top.plot(both["month"], both[measure] * to_millions, label=f"reform: {reform}", color="tab:blue")
top.set_ylabel("£ million per month")
top.legend()
top.set_title(f"{describe(measure).rstrip('.')}\n{reform} vs {baseline}")
change = (both[measure] - both[measure + "_base"]) * to_millions
bottom.bar(both["month"], change, width=20, color="tab:blue")
bottom.axhline(0, color="black", linewidth=0.8)
bottom.set_ylabel("Reform − baseline\n£ million per month")
bottom.set_xlabel("Month")
fig.text(0.01, 0.01, source, fontsize=7, color="grey")
fig.tight_layout(rect=(0, 0.03, 1, 1))
fig_a = out / "reform_vs_baseline.png"
fig.savefig(fig_a, dpi=120)
plt.close(fig)

# %% Distribution: final year, all regions, all household types
# `decile` is the baseline's equivalised household income decile; deciles with nobody are left out.
dist_ds = ds.dataset(run / "distribution.parquet")
dist = pl.from_arrow(dist_ds.to_table(
    filter=(ds.field("scenario") == reform) & (ds.field("region") == "All") & (ds.field("household_type") == "all")))
final_year = dist["year"].max()
final = dist.filter(pl.col("year") == final_year).sort("decile")
dist_unit = dist_ds.schema.field("mean_change_pence").metadata[b"unit"].decode()
assert dist_unit == "pence per year", f"mean_change_pence is in {dist_unit}, expected pence per year"

# %% Figure (b): mean change per person by decile, and winners / losers
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, height_ratios=[2, 1])
top.bar(final["decile"], final["mean_change_pence"] / 100, color="tab:blue")
top.axhline(0, color="black", linewidth=0.8)
top.set_ylabel("Mean change in household net income\n£ a year per person")
top.set_title(f"Change in net income by baseline income decile, year from {final_year:%B %Y}\n{reform} vs {baseline}")
bottom.bar(final["decile"] - 0.2, final["winners_share"] * 100, width=0.4, color="tab:green", label="gain")
bottom.bar(final["decile"] + 0.2, final["losers_share"] * 100, width=0.4, color="tab:red", label="lose")
bottom.set_ylabel("% of persons")
bottom.set_xlabel("Baseline equivalised household income decile (1 = poorest)")
bottom.set_xticks(range(1, 11))
bottom.legend()
fig.text(0.01, 0.01, source, fontsize=7, color="grey")
fig.tight_layout(rect=(0, 0.03, 1, 1))
fig_b = out / "distribution_by_decile.png"
fig.savefig(fig_b, dpi=120)
plt.close(fig)

# %% Text summary
year_months = both.filter(pl.col("month") >= final_year)
change_final = (year_months[measure] - year_months[measure + "_base"]).sum() * to_millions
persons = final["persons"].sum()
gainers = (final["winners_share"] * final["persons"]).sum() / persons
losers = (final["losers_share"] * final["persons"]).sum() / persons
print(f"{reform} vs {baseline}, final year from {final_year:%B %Y} ({year_months.height} months):")
print(f"  {measure}: £{change_final:+,.2f} million in the year ({describe(measure)})")
print(f"  household net income: £{final['total_change_pence'].sum() / persons / 100:+,.2f} a year per person "
      f"(each person counted with their household's change); {gainers:.1%} of persons gain, {losers:.1%} lose")
print(f"  (totals are for the simulated population, {both['population_base'][0]:,.0f} persons in the first month)")
print(f"figures:\n  {fig_a}\n  {fig_b}")
