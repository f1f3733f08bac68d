#!/usr/bin/env python3
"""Side-by-side table of a device_bench.sh run: the national decade and the profiled year of
the default GPU path and of each variant, from the JSON files `twin bench` wrote.

    python3 scripts/device_summary.py OUT_DIR

Prints, per variant: the decade's month-loop seconds and its ratio to the default's (the
default ran first, the variants right after it), the profiled device time a month (the
default's from the `--backend both` run's GPU row, the variants' from `--backend gpu`
runs), the gaps between passes within a submission and the rest of the decade's month (the
host's recording, submitting and reading back, and each submission's start on the device: the
decade's seconds a month less the profiled submissions' spans a month; not clamped, so a
noisy device can print it below zero), the host's time a month in the decade recording
passes (`rec`) and inside the submit calls (`subm`), which bound the device's idle time the
host causes (`twin bench`'s `gpu_host`), and the eight largest passes' device time a month.

Then, where the run has them (`ablate_*.json`), the ablations and block-sum targets: each
one's profiled device time a month against the default profiled just before them
(`ablate_default.json`), and the passes whose device time a month moved most. An
ablation's saving is what the work it leaves out costs in those passes (its results are not
the model's: timing only).

Then the issue's two GPU targets for the default and each variant: the decade's month loop
and its device time (the profiled year's, times ten) against 2 s, and the least bytes a
person-step must move over the device time against half the copy bandwidth (the `copy:`
line of LOG if given and present, else the 4,244 GB/s of runs 1-4); then the default's whole
decade profiled, where the run has it (the months are not alike, so a year's profile times
ten is only an estimate), and where the default's national set-up went (`gpu_setup`:
preparing, opening the device, compiling, uploading). Last, the default's
device time by pass against a reference run's (REF, by default run 6's profile of the
combination that is the default since run 7, 12 national months, in benches/device/), so what changed since shows
pass by pass.

    python3 scripts/device_summary.py OUT_DIR [LOG [REF]]

With --best, it prints instead the flags of the combination that the decades so far favour
(device_bench.sh then times it as the variant `best`), or nothing when fewer than two
options have a winning variant, or when a variant with the same options and values was
timed already:

    python3 scripts/device_summary.py --best OUT_DIR "VARIANTS"

The rule (best_flags): a variant that sets one option wins when it passed parity at 1M
persons (its `bench_1m_NAME.json`, which `twin bench` writes only when the aggregates
match) and its decade beat the default's by more than the noise: the larger of 2% and
the spread between the default's two decades (the script times the default again, as
`default_again`, after the variants), both against the mean of the two. For each option
the fastest winner's value is taken. The combination itself is not compared with the
default here: timing it is what the `best` run is for. Variants that set several options
(such as `fuse_list`) only stop the combination being timed again, when one of them set the
same options to the same values and its decade was timed."""
import json
import sys
from pathlib import Path


def load(p):
    try:
        return json.loads(Path(p).read_text())["runs"][0]
    except (OSError, ValueError, KeyError, IndexError) as e:
        print(f"  ({p}: {e})")
        return None


def gpu_row(p):
    """The GPU row of a `twin bench` JSON file (the `--backend both` runs have two), or None."""
    try:
        return [x for x in json.loads(Path(p).read_text())["runs"] if x["backend"] == "gpu"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return None


def main(out):
    out = Path(out)
    decade = {"default": out / "bench_uk_gpu.json"}
    prof = {"default": out / "bench_uk_both.json"}
    for p in sorted(out.glob("bench_uk_gpu_*.json")):
        decade[p.stem.removeprefix("bench_uk_gpu_")] = p
    for p in sorted(out.glob("bench_uk_profile_*.json")):
        prof[p.stem.removeprefix("bench_uk_profile_")] = p
    base = None
    print(f"{'variant':<13} {'decade s':>9} {'ratio':>6} {'device ms/month':>16} {'gaps':>6} {'rest':>6} {'rec':>6} {'subm':>6}  passes (ms a month)")
    for name in decade:
        r = load(decade[name])
        secs = r["seconds"] if r else None
        if name == "default":
            base = secs
        ratio = f"{base / secs:6.3f}" if secs and base else "     -"
        # the default's profile is the --backend both run: its GPU row
        pr = gpu_row(prof[name]) if name in prof else None
        dev, gaps, rest, passes = "-", "-", "-", ""
        # the decade's host time a month recording passes and inside the submit calls
        # (twin bench's gpu_host; runs before the seventeenth session have none)
        rec, subm = "-", "-"
        h = r.get("gpu_host") if r else None
        if h and r.get("months"):
            rec = f"{1000 * h['recording_seconds'] / r['months']:6.2f}"
            subm = f"{1000 * h['submitting_seconds'] / r['months']:6.2f}"
        if pr and pr.get("gpu_profile"):
            g = pr["gpu_profile"]
            months = pr["months"]
            dev = f"{1000 * g['device_seconds'] / months:16.2f}"
            if "span_seconds" in g:
                gaps = f"{1000 * g['gap_seconds'] / months:6.2f}"
                if secs and r and r.get("months"):
                    rest = f"{1000 * (secs / r['months'] - g['span_seconds'] / months):6.2f}"
            top = sorted(g["passes"].items(), key=lambda kv: -kv[1]["seconds"])
            passes = ", ".join(f"{k} {1000 * v['seconds'] / months:.2f}" for k, v in top[:8])
        print(f"{name:<13} {secs if secs is not None else float('nan'):9.3f} {ratio} {dev:>16} {gaps:>6} {rest:>6} {rec:>6} {subm:>6}  {passes}")


def per_month(run):
    """(device ms a month, {pass: ms a month}) of a profiled run, or None."""
    if not run or not run.get("gpu_profile"):
        return None
    g, months = run["gpu_profile"], run["months"]
    return 1000 * g["device_seconds"] / months, {k: 1000 * v["seconds"] / months for k, v in g["passes"].items()}


def ablations(out):
    if not any(out.glob("ablate_*.json")):
        return
    base = per_month(load(out / "ablate_default.json"))
    if base is None:
        print("\n(no profile of the default to compare the ablations with: ablate_default.json is missing or has no profile)")
        return
    print()
    print(f"{'ablation':<18} {'device ms/month':>16} {'saved':>7}  passes that moved most (ms a month: default -> ablated)")
    print(f"{'(default)':<18} {base[0]:16.2f} {'':>7}")
    for p in sorted(out.glob("ablate_*.json")):
        name = p.stem.removeprefix("ablate_")
        if name == "default":
            continue
        r = per_month(load(p))
        if r is None:
            print(f"{name:<18} {'-':>16}")
            continue
        moved = sorted(set(base[1]) | set(r[1]), key=lambda k: -abs(base[1].get(k, 0) - r[1].get(k, 0)))
        passes = ", ".join(f"{k} {base[1].get(k, 0):.2f} -> {r[1].get(k, 0):.2f}" for k in moved[:4])
        print(f"{name:<18} {r[0]:16.2f} {base[0] - r[0]:7.2f}  {passes}")


# the copy bandwidth of runs 1-4 on the H200 (benches/device/README.md), when the run did
# not measure its own (QUICK=1 leaves it out)
COPY_GBS = 4244.0
# the last device run's national profile of the defaults, which each pass's time is shown
# against (run 8: the defaults of now, 12 months, as this run's bench_uk_both.json)
REF = Path(__file__).resolve().parent.parent / "benches/device/2026-12-01-h200-run8/bench_uk_both.json"


def copy_bandwidth(log):
    """The `copy: N GB/s` the run measured (device_bench.sh's log), or None."""
    try:
        for line in Path(log).read_text().splitlines():
            if line.startswith("copy: ") and "GB/s" in line:
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def targets(out, log):
    copy = copy_bandwidth(log) if log else None
    source = "measured in this run" if copy else "runs 1-4's, not measured in this run"
    copy = copy or COPY_GBS
    print()
    print(f"targets: decade under 2 s; half of the copy bandwidth ({copy:.0f} GB/s, {source})")
    print(f"{'variant':<13} {'decade s':>9} {'device s (x10)':>15} {'GB/s':>7} {'share':>6}")
    names = ["default"] + sorted(p.stem.removeprefix("bench_uk_gpu_") for p in out.glob("bench_uk_gpu_*.json"))
    for name in names:
        dec = load(out / ("bench_uk_gpu.json" if name == "default" else f"bench_uk_gpu_{name}.json"))
        pr = gpu_row(out / ("bench_uk_both.json" if name == "default" else f"bench_uk_profile_{name}.json"))
        secs = f"{dec['seconds']:9.3f}" if dec else f"{'-':>9}"
        dev, gbs, share = f"{'-':>15}", f"{'-':>7}", f"{'-':>6}"
        if pr and pr.get("gpu_profile"):
            g = pr["gpu_profile"]
            dev = f"{g['device_seconds'] * 120 / pr['months']:15.3f}"
            gbs = f"{g['min_bytes_gb_per_device_second']:7.0f}"
            share = f"{100 * g['min_bytes_gb_per_device_second'] / copy:5.1f}%"
        print(f"{name:<13} {secs} {dev} {gbs} {share}")


def setup(out):
    """Where the default's national set-up went (`gpu_setup`, from the eighteenth session on):
    the set-up took 5.4 s in run 8 against 1.9 s for the decade's month loop."""
    dec = load(out / "bench_uk_gpu.json")
    t = dec.get("gpu_setup") if dec else None
    if not t:
        return
    print()
    print(f"the default's national set-up: {dec['setup_s']:.3f} s: {t['preparing_seconds']:.3f} preparing on the host, "
          f"{t['opening_seconds']:.3f} opening the device, {t['compiling_seconds']:.3f} compiling, {t['uploading_seconds']:.3f} uploading, "
          f"{t['other_seconds']:.3f} else")


def reform_run(out):
    """The whole `twin run` a team would make at national scale (twenty-second session on):
    the baseline and one reform over ten years on the GPU, sharing one device and its
    pipelines, with the distributional outputs; its manifest's timings."""
    p = out / "run_reform_manifest.json"
    if not p.exists():
        return
    try:
        m = json.loads(p.read_text())
    except ValueError as e:
        print(f"  ({p}: {e})")
        return
    t = m.get("timings_s", {})
    print()
    print(f"national baseline + reform, 10 years, twin run on the GPU: load {t.get('load', 0):.3f} s, "
          f"simulating (set-up included) {t.get('simulate', 0):.3f} s, writing {t.get('write', 0):.3f} s; "
          f"{m.get('person_months_per_second', 0) / 1e6:.0f} million person-months/s; peak RSS {m.get('peak_rss_bytes', 0) / 2**30:.1f} GiB")


def decade_profiled(out, log):
    """The default's whole decade profiled (bench_uk_profile_decade.json, from the seventeenth
    session on): its device time against 2 s, measured rather than a year's times ten (the
    months are not alike), the first and last years' device time a month, and the rest of
    the unprofiled decade's month beyond the profiled spans, over the same 120 months."""
    pr = gpu_row(out / "bench_uk_profile_decade.json")
    if not pr or not pr.get("gpu_profile"):
        return
    g, months = pr["gpu_profile"], pr["months"]
    copy = copy_bandwidth(log) if log else None
    copy = copy or COPY_GBS
    print()
    print(f"the default's decade profiled ({months} months): {g['device_seconds']:.3f} s of device time in passes (target: under 2 s), "
          f"{g['min_bytes_gb_per_device_second']:.0f} GB/s, {100 * g['min_bytes_gb_per_device_second'] / copy:.1f}% of {copy:.0f} GB/s")
    ms = g.get("month_device_seconds") or []
    if len(ms) >= 24:
        first, last = 1000 * sum(ms[:12]) / 12, 1000 * sum(ms[-12:]) / 12
        print(f"  device time a month in passes: {first:.2f} ms in the first year, {last:.2f} ms in the last, month 1 {1000 * ms[0]:.2f} ms")
    dec = load(out / "bench_uk_gpu.json")
    if dec and dec.get("months") == months and "span_seconds" in g:
        print(f"  a month: {1000 * g['device_seconds'] / months:.2f} ms in passes, {1000 * g['gap_seconds'] / months:.2f} ms between them, "
              f"{1000 * (dec['seconds'] - g['span_seconds']) / months:.2f} ms of the unprofiled decade's month beyond the spans")


def against_reference(out, ref):
    now = per_month(gpu_row(out / "bench_uk_both.json"))
    then = per_month(gpu_row(ref))
    if now is None or then is None:
        return
    print()
    print(f"the default's device time by pass, ms a month: {Path(ref).parent.name} -> this run")
    print(f"  {'(all passes)':<26} {then[0]:7.2f} -> {now[0]:7.2f}")
    for k in sorted(set(now[1]) | set(then[1]), key=lambda k: -max(now[1].get(k, 0), then[1].get(k, 0))):
        print(f"  {k:<26} {then[1].get(k, 0):7.2f} -> {now[1].get(k, 0):7.2f}")


def shader_stats(out):
    """The driver's statistics of each entry point (shader_stats.json, `twin devices
    --shader-stats --json`, from the twentieth session on), beside the pass's device time a
    month in the national profile: the registers a thread and the workgroups an SM keeps
    resident say whether a slow pass is short of warps to hide its memory latency."""
    try:
        s = json.loads((out / "shader_stats.json").read_text())["shader_stats"]
    except (OSError, ValueError, KeyError) as e:
        print(f"\n  (shader statistics: {e})")
        return
    prof = per_month(gpu_row(out / "bench_uk_both.json"))
    ms = prof[1] if prof else {}
    print()
    print(f"shader statistics from {s['adapter']} (driver {s['driver']}), checks {s['checks']}")
    names = []
    for e in s["entries"]:
        for n, _, _ in e["statistics"]:
            if n not in names:
                names.append(n)
    short = names[:4]
    print(f"  {'entry point':<26} {'ms/month':>8} {'wg':>4} {'wg bytes':>8} {'sto':>4} {'resident (sm_90)':>22}  " + "  ".join(short))
    for e in s["entries"]:
        vals = {n: v for n, v, _ in e["statistics"]}
        res = e.get("sm90_resident")
        res = f"{res[0]} ({res[1]})" if res else ""
        t = ms.get(e["entry_point"])
        t = f"{t:8.3f}" if t is not None else f"{'':>8}"
        print(f"  {e['entry_point']:<26} {t} {e['workgroup_size']:>4} {e['workgroup_bytes']:>8} {e['storage_buffers']:>4} {res:>22}  "
              + "  ".join(f"{vals.get(n, ''):>{len(n)}}" for n in short))
    if len(names) > len(short):
        print(f"  (the other statistics, in shader_stats.json: {', '.join(names[len(short):])})")


def parse_flags(flags):
    """{option: value} of a variant's flags ('+'-joined, as in VARIANTS): `--gpu-services-list`
    -> {'--gpu-services-list': None}, `--gpu-fuse-persons+all` -> {'--gpu-fuse-persons': 'all'}."""
    opts, key = {}, None
    for tok in flags.split("+"):
        if tok.startswith("--"):
            key = tok
            opts[key] = None
        elif key is not None and opts[key] is None:
            opts[key] = tok
        else:
            raise ValueError(f"flags {flags!r}: {tok!r} follows no option")
    return opts


# the least margin a win must have: an assumption (runs 1-5 never timed the same decade twice;
# the default's second decade in this run widens it when the two differ by more)
NOISE = 0.02


def best_flags(out, variants):
    """The flags ('+'-joined) of the combination the decades favour, or None (see the module's
    docstring for the rule). `variants` is device_bench.sh's VARIANTS string."""
    def decade(name):
        # quietly: a variant whose step failed has no file, and what this prints is the
        # flags alone
        f = out / ("bench_uk_gpu.json" if name == "default" else f"bench_uk_gpu_{name}.json")
        try:
            return json.loads(f.read_text())["runs"][0]["seconds"]
        except (OSError, ValueError, KeyError, IndexError):
            return None

    def parity(name):
        # twin bench writes its JSON only when the CPU's and GPU's aggregates match
        try:
            return json.loads((out / f"bench_1m_{name}.json").read_text()).get("aggregates_identical") is True
        except (OSError, ValueError, AttributeError):
            return False

    first = decade("default")
    if not first:
        return None
    again = decade("default_again")
    base = (first + again) / 2 if again else first
    noise = max(NOISE, abs(first - again) / base) if again else NOISE
    measured = {}
    for v in variants.split():
        name, _, flags = v.partition("=")
        try:
            measured[name] = parse_flags(flags)
        except ValueError as e:
            print(f"--best: variant {v!r} left out: {e}", file=sys.stderr)
    chosen = {}  # option -> (seconds, value)
    for name, opts in measured.items():
        secs = decade(name)
        if len(opts) != 1 or not secs or secs >= base * (1 - noise) or not parity(name):
            continue
        (opt, val), = opts.items()
        if opt not in chosen or secs < chosen[opt][0]:
            chosen[opt] = (secs, val)
    if len(chosen) < 2:
        return None
    combo = {opt: val for opt, (_, val) in chosen.items()}
    if any(opts == combo and decade(name) for name, opts in measured.items()):
        return None
    return "+".join(t for opt in sorted(combo) for t in ([opt] if combo[opt] is None else [opt, combo[opt]]))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--best":
        if len(sys.argv) != 4:
            sys.exit("usage: device_summary.py --best OUT_DIR VARIANTS")
        f = best_flags(Path(sys.argv[2]), sys.argv[3])
        if f:
            print(f)
        sys.exit(0)
    d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/twin-device/json"
    main(d)
    bf = Path(d) / "best_flags.txt"
    if bf.exists():
        print(f"best: the combination the decades favoured, {bf.read_text().strip().replace('+', ' ')}")
    ablations(Path(d))
    targets(Path(d), sys.argv[2] if len(sys.argv) > 2 else None)
    decade_profiled(Path(d), sys.argv[2] if len(sys.argv) > 2 else None)
    setup(Path(d))
    reform_run(Path(d))
    shader_stats(Path(d))
    against_reference(Path(d), sys.argv[3] if len(sys.argv) > 3 else REF)
