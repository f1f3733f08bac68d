#!/usr/bin/env python3
"""Try every kind of bad input on `twin` and print what each one gets, as a Markdown table.

Usage: python3 scripts/bad_inputs.py [TWIN_BINARY]   (default target/release/twin)

Each case builds a broken population, scenario, output directory or checkpoint in a temporary
directory, runs `twin validate` or `twin run`, and records the exit code and the first line of
the error. Bad input exits 2; an output directory that cannot be written (read-only, full)
exits 1, as I/O errors do. A case with another exit code, or a panic, is marked FAIL and the
script exits 1. Needs pyarrow.
"""
import os, shutil, subprocess, sys, tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
TWIN = (Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target/release/twin").resolve()
SCEN = ROOT / "scenarios"
rows, failed = [], False


def twin(args, cwd, env=None):
    e = dict(os.environ, **(env or {}))
    r = subprocess.run([str(TWIN), *args], cwd=cwd, capture_output=True, text=True, env=e)
    err = [l for l in r.stderr.splitlines() if l.startswith("error") or "panicked" in l]
    return r.returncode, (err[0] if err else r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "")


def case(name, code, message, want=2):
    global failed
    ok = code == want and "panicked" not in message
    failed |= not ok
    rows.append((name, code, message.replace("|", "\\|"), "" if ok else "FAIL"))


def population(tmp, persons=None, households=None):
    """A copy of a valid 300-person population, with the tables edited by the given functions."""
    d = Path(tempfile.mkdtemp(dir=tmp))
    shutil.copy(BASE / "persons.parquet", d)
    shutil.copy(BASE / "households.parquet", d)
    for f, edit in (("persons.parquet", persons), ("households.parquet", households)):
        if edit:
            t = pq.read_table(d / f)
            t = edit(t)
            if t is not None:
                pq.write_table(t, d / f)
    return d


def set_col(t, name, values, typ=None):
    i = t.schema.get_field_index(name)
    return t.set_column(i, name, pa.array(values, type=typ))


def col(t, name):
    return t.column(name).to_pylist()


def validate(tmp, name, **edits):
    d = population(tmp, **edits)
    case(name, *twin(["validate", "--population", str(d)], tmp))


def scenario(tmp, name, text, want=2):
    s = Path(tmp) / f"s{len(rows)}.toml"
    s.write_text(text)
    case(name, *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--scenario", str(s), "--out", str(Path(tmp) / f"o{len(rows)}")], tmp), want)


with tempfile.TemporaryDirectory() as tmp:
    BASE = Path(tmp) / "base"
    subprocess.run([str(TWIN), "synth", "-q", "--persons", "300", "--seed", "2", "--out", str(BASE)], check=True, capture_output=True)
    P, H = BASE / "persons.parquet", BASE / "households.parquet"

    # ---- population files
    d = population(tmp); (d / "persons.parquet").write_bytes(P.read_bytes()[: P.stat().st_size // 2])
    case("persons.parquet truncated to half", *twin(["validate", "--population", str(d)], tmp))
    d = population(tmp); (d / "persons.parquet").write_bytes(P.read_bytes()[:-100])
    case("persons.parquet missing its last 100 bytes (footer)", *twin(["validate", "--population", str(d)], tmp))
    d = population(tmp); b = bytearray(P.read_bytes()); b[len(b) // 2 : len(b) // 2 + 64] = bytes(64)
    (d / "persons.parquet").write_bytes(bytes(b))
    case("persons.parquet with 64 bytes zeroed mid-file", *twin(["validate", "--population", str(d)], tmp))
    d = population(tmp); (d / "persons.parquet").write_text("person_id,age\n1,30\n")
    case("persons.parquet is a CSV file", *twin(["validate", "--population", str(d)], tmp))
    d = population(tmp); (d / "persons.parquet").write_bytes(b"")
    case("persons.parquet is empty (0 bytes)", *twin(["validate", "--population", str(d)], tmp))
    d = population(tmp); shutil.copy(H, d / "persons.parquet")
    case("persons.parquet holds the households table", *twin(["validate", "--population", str(d)], tmp))
    d = population(tmp); os.remove(d / "households.parquet")
    case("households.parquet missing", *twin(["validate", "--population", str(d)], tmp))
    validate(tmp, "persons table with no rows", persons=lambda t: t.slice(0, 0))
    validate(tmp, "column `health` missing", persons=lambda t: t.drop(["health"]))
    validate(tmp, "age stored as strings", persons=lambda t: set_col(t, "age", [str(v) for v in col(t, "age")]))
    validate(tmp, "a null earnings value", persons=lambda t: set_col(t, "earnings", [None] + col(t, "earnings")[1:], pa.float64()))
    validate(tmp, "earnings of £1e12 a month", persons=lambda t: set_col(t, "earnings", [1e12] + col(t, "earnings")[1:]))
    validate(tmp, "earnings +infinity", persons=lambda t: set_col(t, "earnings", col(t, "earnings")[:5] + [float("inf")] + col(t, "earnings")[6:]))
    validate(tmp, "wealth NaN", persons=lambda t: set_col(t, "wealth", col(t, "wealth")[:7] + [float("nan")] + col(t, "wealth")[8:]))
    validate(tmp, "age 150", persons=lambda t: set_col(t, "age", col(t, "age")[:3] + [150] + col(t, "age")[4:], pa.int64()))
    validate(tmp, "age -1", persons=lambda t: set_col(t, "age", col(t, "age")[:3] + [-1] + col(t, "age")[4:], pa.int64()))
    validate(tmp, "person id -5", persons=lambda t: set_col(t, "person_id", [-5] + col(t, "person_id")[1:], pa.int64()))
    validate(tmp, "duplicate person id", persons=lambda t: set_col(t, "person_id", col(t, "person_id")[:1] * 2 + col(t, "person_id")[2:]))
    validate(tmp, "person in a household that does not exist", persons=lambda t: set_col(t, "household_id", col(t, "household_id")[:9] + [10**9] + col(t, "household_id")[10:]))
    validate(tmp, "duplicate household id", households=lambda t: set_col(t, "household_id", col(t, "household_id")[:1] * 2 + col(t, "household_id")[2:]))
    validate(tmp, "household with no persons", households=lambda t: pa.concat_tables([t, t.slice(0, 1).set_column(0, "household_id", pa.array([10**9], type=t.schema.field("household_id").type)).cast(t.schema)]))
    validate(tmp, "sex `x`", persons=lambda t: set_col(t, "sex", ["x"] + [str(v) for v in col(t, "sex")[1:]]))
    validate(tmp, "a 30-year-old with employment `child`", persons=lambda t: set_col(t, "employment", [("child" if a == 30 else str(e)) for a, e in zip(col(t, "age"), col(t, "employment"))]) if 30 in col(t, "age") else set_col(t, "employment", ["child" if a >= 16 else str(e) for a, e in zip(col(t, "age"), col(t, "employment"))]))
    validate(tmp, "region `Atlantis`", households=lambda t: set_col(t, "region", ["Atlantis"] + [str(v) for v in col(t, "region")[1:]]))
    validate(tmp, "negative rent", households=lambda t: set_col(t, "rent", [-10.0] + col(t, "rent")[1:]))
    validate(tmp, "weight 0", households=lambda t: set_col(t, "weight", [0] + col(t, "weight")[1:], pa.uint32()))

    # ---- scenarios
    base = (SCEN / "baseline.toml").read_text().replace('"../data/', f'"{ROOT}/data/')
    scenario(tmp, "scenario with an unknown key", base.replace("[income_tax.personal_allowance]", "[income_tax.personal_alowance]", 1))
    scenario(tmp, "a parameter in GBP/fortnight", base.replace('unit = "GBP/year"', 'unit = "GBP/fortnight"', 1))
    scenario(tmp, "dates out of order", base.replace("values = { 2024-04 = 12570, 2025-04 = 12570 }", "values = { 2025-04 = 12570, 2024-04 = 12570 }", 1))
    scenario(tmp, "a negative capacity", base.replace("values = { 2024-04 = 330.0 }", "values = { 2024-04 = -330.0 }", 1))
    scenario(tmp, "a value that is text", base.replace("values = { 2024-04 = 12570, 2025-04 = 12570 }", 'values = { 2024-04 = "lots" }', 1))
    scenario(tmp, "a scenario that is not TOML", "this is [not toml")
    scenario(tmp, "random bytes", "\x00\x9f\x92\x96 binary")
    r = Path(tmp) / "reform.toml"
    r.write_text((SCEN / "lha_uprated.toml").read_text().replace('baseline = "baseline.toml"', 'baseline = "no_such_baseline.toml"'))
    case("a reform naming a missing baseline", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--reform", str(r), "--scenario", str(SCEN / "baseline.toml"), "--out", str(Path(tmp) / "ro1")], tmp))
    other = Path(tmp) / "other_base.toml"
    other.write_text(base.replace('name = "baseline"', 'name = "other"', 1))
    case("a reform whose baseline is not --scenario", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--reform", str(SCEN / "lha_uprated.toml"), "--scenario", str(other), "--out", str(Path(tmp) / "ro2")], tmp))

    # ---- output directory, memory, checkpoints
    o = Path(tmp) / "busy"; o.mkdir(); (o / "notes.txt").write_text("mine")
    case("output directory holding other files", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--out", str(o)], tmp))
    case("output path is a file", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--out", str(o / "notes.txt")], tmp))
    case("not enough memory (1 MB available)", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--out", str(Path(tmp) / "m")], tmp, {"POLICY_TWIN_TEST_AVAILABLE_MEMORY": "1000000"}))
    case("--resume on a directory with no checkpoint", *twin(["run", "--resume", str(BASE)], tmp))
    ck = Path(tmp) / "ck"
    p = subprocess.Popen([str(TWIN), "run", "-q", "--population", str(BASE), "--years", "1", "--checkpoint-every", "3", "--out", str(ck)], cwd=tmp, env=dict(os.environ, POLICY_TWIN_TEST_HANG_AFTER_CHECKPOINT="1"), stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "waiting to be killed" in line:
            break
    p.kill(); p.wait()
    f = ck / "checkpoint/checkpoint.bin"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    case("a truncated checkpoint", *twin(["run", "--resume", str(ck)], tmp))
    f.write_bytes(data)
    shutil.copy(H, Path(tmp) / "h.bak")
    t = pq.read_table(H); pq.write_table(set_col(t, "rent", [v + 1.0 if v > 0 else v for v in col(t, "rent")]), H)
    case("resume after the population changed", *twin(["run", "--resume", str(ck)], tmp))
    shutil.copy(Path(tmp) / "h.bak", H)

    # ---- an output directory on a read-only or a full file system (tmpfs mounts: root only;
    # root may write to any directory, so a read-only mount is the only way to refuse it)
    def mount(at, options):
        at.mkdir()
        return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(at)], capture_output=True).returncode == 0
    ro, full = Path(tmp) / "rofs", Path(tmp) / "fullfs"
    if mount(ro, "ro,size=1m") and mount(full, "size=64k"):
        try:
            case("output directory on a read-only file system", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--out", str(ro / "out")], tmp), 1)
            case("output directory runs out of space (64 KiB file system)", *twin(["run", "-q", "--population", str(BASE), "--years", "1", "--out", str(full / "out")], tmp), 1)
        finally:
            subprocess.run(["umount", str(ro)]); subprocess.run(["umount", str(full)])
    else:
        print("(cannot mount a tmpfs here: the read-only and full output directory cases were not run)", file=sys.stderr)

print("| bad input | exit | message |  |")
print("|---|---|---|---|")
for name, code, message, verdict in rows:
    short = message if len(message) < 260 else message[:257] + "..."
    print(f"| {name} | {code} | `{short}` | {verdict} |")
sys.exit(1 if failed else 0)
