#!/usr/bin/env python3
"""Official benchmarks for the README's validation table, from data/reference/ only.

- crude death rate: ONS national life table 2022-2024 qx applied to the ONS mid-2022 population
  by single year of age and sex (90+ spread over 90-100 by the life table's lx), averaging
  q(x) and q(x+1) because the population ages through the year; qx beyond 100 rises 10% a year
  (the engine's assumption);
- crude birth rate: data/fertility.csv applied to ONS mid-2022 women;
- state pension proxy: share of the ONS mid-2022 population aged 66 or over.
Run: python3 scripts/benchmarks.py
"""
import csv

def rows(path):
    with open(path) as f:
        return list(csv.DictReader([l for l in f if not l.startswith("#")]))

pop = rows("data/reference/uk_population_by_age_sex.csv")
lt = [r for r in rows("data/reference/uk_life_table_qx.csv") if r["period"] == "2022-2024"]
q = {(r["sex"], int(r["age"])): float(r["qx"]) for r in lt}
lx = {(r["sex"], int(r["age"])): float(r["lx"]) for r in lt}
Q = lambda s, a: min(1.0, q[(s, min(a, 100))] * 1.1 ** max(0, a - 100))

deaths = total = over66 = 0.0
for r in pop:
    for s in ["male", "female"]:
        n = float(r[s])
        total += n
        ages = [(x, lx[(s, x)]) for x in range(90, 101)] if r["age"] == "90+" else [(int(r["age"]), 1.0)]
        w = sum(v for _, v in ages)
        for x, v in ages:
            deaths += n * v / w * (Q(s, x) + Q(s, x + 1)) / 2
            if x >= 66:
                over66 += n * v / w

births = 0.0
for f in rows("data/fertility.csv"):
    for a in range(int(f["age_from"]), int(f["age_to"]) + 1):
        women = float(next(r for r in pop if r["age"] == str(a))["female"])
        births += women * float(f["births_per_1000_women_per_year"]) / 1000

print(f"crude death rate, life table on the ONS mid-2022 population aged one year: {1000 * deaths / total:.2f} per 1000")
print(f"crude birth rate, data/fertility.csv on ONS mid-2022 women: {1000 * births / total:.2f} per 1000")
print(f"share aged 66+ (state pension age proxy): {100 * over66 / total:.1f}%")
