"""Speed and faithfulness comparison: twin's CPU month step against the numpy re-implementation
in step.py, on the same population for the same months, in one run.

    python3 scripts/numpy_compare/compare.py --population /tmp/np_pop20k --months 12

1. `twin bench --population DIR --months M --backend cpu --json F` (twin's own timing);
2. the numpy step on the same population for M months (timed the same way: the month loop
   only, person-months = persons at the start of each month, summed);
3. `twin run --population DIR --years ceil(M/12) --out OUT -q --backend cpu`, and every
   measure of every cell of months 1..M compared with the numpy aggregates, exactly.
Prints both person-months per second, the ratio, and which measures match.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import step as S  # noqa: E402


def run_numpy(pop, scenario, months, compat_head=False, keep=True):
    t0 = time.perf_counter()
    e = S.Engine(pop, scenario, months=months, compat_head=compat_head)
    setup = time.perf_counter() - t0
    pm = 0
    accs = []
    t0 = time.perf_counter()
    for _ in range(months):
        pm += e.persons()
        a = e.step()
        if keep:
            accs.append(a)
    secs = time.perf_counter() - t0
    return dict(setup_s=setup, seconds=secs, person_months=pm, pms=pm / secs, persons=int(e.P["id_lo"].size)), accs


def compare(agg, accs, months):
    """Per measure: (all months equal, first differing month, twin total, numpy total)."""
    out = {}
    for j, name in enumerate(S.MEASURES):
        ref = np.asarray(agg[name], dtype=np.int64)
        first = None
        tr = tn = 0
        for m in range(months):
            r = ref[m * 192:(m + 1) * 192]
            n = accs[m][:, j].astype(np.int64)
            tr += int(r.sum())
            tn += int(n.sum())
            if first is None and not np.array_equal(r, n):
                first = m + 1
        out[name] = (first is None, first, tr, tn)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--population", required=True, help="directory with persons.parquet and households.parquet")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--twin", default=os.path.join(REPO, "target", "release", "twin"),
                    help="twin binary (default: this repository's release build, target/release/twin)")
    ap.add_argument("--scenario", default=os.path.join(REPO, "scenarios", "baseline.toml"))
    ap.add_argument("--compat-head", action="store_true",
                    help="numpy follows the committed HEAD where it differs from the working tree (see README)")
    ap.add_argument("--no-check", action="store_true", help="timing only, no aggregate comparison")
    ap.add_argument("--json", help="write the figures here as JSON")
    a = ap.parse_args()
    pop = os.path.abspath(a.population)
    scen = os.path.abspath(a.scenario)
    tmp = tempfile.mkdtemp(prefix="numpy_compare_")

    # 1. twin's own timing
    bj = os.path.join(tmp, "bench.json")
    cmd = [a.twin, "bench", "--population", pop, "--months", str(a.months), "--backend", "cpu", "--json", bj, "--scenario", scen, "-q"]
    print("$", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"twin bench failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    print(r.stdout.rstrip())
    tw = json.load(open(bj))["runs"][0]

    # 2. numpy, same population, same months
    print(f"numpy step: {a.months} months on {pop} ...", flush=True)
    npf, accs = run_numpy(pop, scen, a.months, compat_head=a.compat_head)

    print()
    print(f"{'':28} {'persons':>10} {'months':>7} {'setup s':>8} {'step s':>9} {'person-months/s':>16}")
    print(f"{'twin (cpu, ' + str(tw['device']) + ')':28} {tw['persons']:>10} {tw['months']:>7} {tw['setup_s']:>8.2f} {tw['seconds']:>9.3f} {tw['person_months_per_second']:>16,.0f}")
    print(f"{'numpy ' + np.__version__:28} {tw['persons']:>10} {a.months:>7} {npf['setup_s']:>8.2f} {npf['seconds']:>9.3f} {npf['pms']:>16,.0f}")
    ratio = tw["person_months_per_second"] / npf["pms"]
    print(f"ratio twin / numpy: {ratio:.1f}x   (person-months: twin {tw['person_months']}, numpy {npf['person_months']})")
    result = dict(population=pop, months=a.months, twin=tw, numpy=npf, ratio=ratio)

    # 3. aggregates, measure by measure
    if not a.no_check:
        out = os.path.join(tmp, "run")
        years = math.ceil(a.months / 12)
        cmd = [a.twin, "run", "--population", pop, "--scenario", scen, "--years", str(years), "--out", out, "-q", "--backend", "cpu"]
        print("\n$", " ".join(cmd), flush=True)
        r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"twin run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        agg = pq.read_table(os.path.join(out, "aggregates.parquet")).to_pydict()
        assert list(agg)[6:] == S.MEASURES, "measure columns differ from step.MEASURES"
        res = compare(agg, accs, a.months)
        same = [k for k, v in res.items() if v[0]]
        diff = [k for k, v in res.items() if not v[0]]
        mode = "HEAD-compatible" if a.compat_head else "working-tree"
        print(f"numpy ({mode} rules) vs twin, months 1-{a.months}, 192 cells each: "
              f"{len(same)}/{len(S.MEASURES)} measures identical in every cell and month")
        print("identical:", ", ".join(same))
        for k in diff:
            _, first, tr, tn = res[k]
            print(f"DIFFERS: {k}: first in month {first}; months 1-{a.months} total twin {tr}, numpy {tn}")
        result["identical"] = same
        result["differs"] = {k: dict(first_month=res[k][1], twin_total=res[k][2], numpy_total=res[k][3]) for k in diff}
        if diff:
            # does twin keep its own identity unmet = demand - served?
            for sv in S.SERVICE_COLUMNS:
                d, s_, u = (np.asarray(agg[f"{sv}_{k}"][:a.months * 192], np.int64) for k in ("demand", "served", "unmet"))
                if not np.array_equal(u, d - s_):
                    print(f"note: twin's {sv}: unmet != demand - served in {int((u != d - s_).sum())} cells "
                          f"(the identity src/cpu/services.rs documents; the numpy step keeps it)")
            if not a.compat_head:
                print("re-running numpy with the HEAD-compatible rules (--compat-head), not timed ...", flush=True)
                _, accs2 = run_numpy(pop, scen, a.months, compat_head=True)
                res2 = compare(agg, accs2, a.months)
                n2 = sum(v[0] for v in res2.values())
                print(f"numpy (HEAD-compatible rules) vs twin: {n2}/{len(S.MEASURES)} measures identical in every cell and month")
                for k, v in res2.items():
                    if not v[0]:
                        print(f"  DIFFERS: {k}: first in month {v[1]}; total twin {v[2]}, numpy {v[3]}")
                result["identical_head_compatible"] = n2
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2, default=float)


if __name__ == "__main__":
    main()
