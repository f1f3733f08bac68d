#!/usr/bin/env bash
# One prepared run for a lent real GPU (the `device` tool): the adapter and its self-test,
# CPU/GPU parity at 1M persons (two workgroup sizes), the national-scale timing (67.6M persons
# x 120 months) on the GPU path, national parity over 12 months with the device time of every
# pass (timestamp queries), and the scaling sweep. Each step has its own time limit and the
# script goes on after a failed step, so one failure costs only its own figures. Figures land
# in $OUT: log.txt (everything printed), summary.txt, and results.tar.gz (the JSON/CSV/SVG
# files the commands write, see below).
#
# The device machine has no network: carry a release binary built here (stripped, only libc
# needed; Vulkan is loaded at run time) and the Vulkan loader as Debian packages:
#   cargo build --release && strip -o twin-release target/release/twin
#   (the .gl/*.deb packages as /work/.library/device/README.md says)
# then run with carry: ["twin-release", ".gl"], command: bash scripts/device_bench.sh
#
# QUICK=1 leaves out the copy bandwidth and the sweep (for a last check when little device
# time is left); the variants, the default's second decade, the combination (`best`), the
# profiled decade and the ablations stay.
#
# VARIANTS lists the variants of the GPU path to compare with the default, as name=flags
# (names of letters, digits and _, since they name the output files; flags joined by +).
# By default each sets one option to another value than the default's (the defaults since
# H200 run 7: workgroup 256, the three person stages fused, the services' request list,
# trusted shaders), but `fused`: the three person stages inside the births' scatter, the
# four person passes inside it (`scatter_all`), the households' three passes as one (the
# three new since run 8, first), `fused` (the last two together: the fewest sweeps over the
# population a month can make, benches/README.md), all four person passes fused in the
# accounting's blocks, and workgroups of 128. (The options of runs 1-6 that lost in run 6,
# the shaders with wgpu's guards, four person passes, the services over every person and
# workgroups of 64, were left out after run 8 to make room: VARIANTS can name them again,
# as checked=--gpu-shader-checks+checked persons4=--gpu-fuse-persons+none
# every=--gpu-services-list+false wg64=--workgroup-size+64.) Each is checked for parity at 1M persons, then timed over the national decade right after the default (the
# ratios measured side by side), and profiled over 12 months. The default's decade is timed
# again after them (`default_again`, for the noise), and then the combination they favour,
# when there is one to time (`best`: scripts/device_summary.py --best says how it is chosen;
# its flags in best_flags.txt), checked for parity, timed and profiled the same way.
#
# ABLATIONS lists timing runs with a piece of work left out of the passes (`twin bench
# --gpu-ablate`, comma-separated names; results not the model's, so never compared), each
# profiled over 12 national months right after a profile of the default: the device time by
# pass against the default's says what each piece costs. SUM_WORKGROUPS lists other targets
# for the block-wise sums' workgroups (the default is 2,048), profiled the same way. Set
# VARIANTS, ABLATIONS or SUM_WORKGROUPS empty to leave them out.
#
# The device tool brings back at most 8 files from $OUT, so the JSON files go to
# $WORK/json and are packed into $OUT/results.tar.gz after every step; $OUT also gets
# log.txt and summary.txt (scripts/device_summary.py's table).
#
# Sizes can be made small to try the script on lavapipe first:
#   NATIONAL=200000 SWEEP_SIZES=1000,10000 PARITY=20000 OUT=/tmp/devtest bash scripts/device_bench.sh
set -uo pipefail
OUT="${OUT:-/tmp/device-out}"
NATIONAL="${NATIONAL:-67600000}"
PARITY="${PARITY:-1000000}"
SWEEP_SIZES="${SWEEP_SIZES:-10000,100000,1000000,10000000}"
QUICK="${QUICK:-0}"
VARIANTS="${VARIANTS-scatter=--gpu-fuse-persons+scatter scatter_all=--gpu-fuse-persons+scatter-all households=--gpu-fuse-households fused=--gpu-fuse-persons+scatter-all+--gpu-fuse-households all=--gpu-fuse-persons+all wg128=--workgroup-size+128}"
ABLATIONS="${ABLATIONS-apply-adds apply-hash apply-scan accounting-adds demand-hist household-rules cheap-hash}"
SUM_WORKGROUPS="${SUM_WORKGROUPS-8192 32768}"
# variant NAME=FLAGS -> the flags, space-separated
flags() { echo "${1#*=}" | tr '+' ' '; }
# the script's own runs are named like variants: a variant of the same name would overwrite them
for v in $VARIANTS; do
    case "${v%%=*}" in
        default | default_again | best | decade) echo "VARIANTS: the name ${v%%=*} is taken by the script's own runs" >&2; exit 2 ;;
    esac
done
WORK="${WORK:-/tmp/twin-device}"
J="$WORK/json"
rm -rf "$J"
mkdir -p "$OUT" "$J"
# the log, the binary, log and step, the Vulkan loader (shared with device_confirm.sh)
# shellcheck source=scripts/device_common.sh
. "$(dirname "$0")/device_common.sh" || { echo "scripts/device_common.sh missing" >&2; exit 2; }
# the JSON files so far, as one file for the trip back (at most 8 files come back), after
# every step (written beside, then renamed: a run killed while packing keeps the last whole pack)
pack() { tar czf "$OUT/.results.tar.gz" -C "$WORK" json 2>/dev/null && mv "$OUT/.results.tar.gz" "$OUT/results.tar.gz"; }
after_step() { pack; }

log "machine"
{
    binary_line
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv
    echo "cpus: $(nproc)"
    free -g | head -2
    ldconfig -p | grep -i vulkan
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
} 2>&1 | tee -a "$LOG"

# The device's copy bandwidth as a ceiling, measured in the same run (PyTorch on the image):
# 4 GiB copied device to device, bytes read plus bytes written over the elapsed time.
if [ "$QUICK" != 1 ]; then
log "copy bandwidth (PyTorch, device to device)"
step 90 python3 - <<'EOF'
import torch
n = 1 << 30  # 4 GiB of float32
x = torch.ones(n, device="cuda"); y = torch.empty_like(x)
for _ in range(3): y.copy_(x)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
torch.cuda.synchronize(); s.record()
for _ in range(20): y.copy_(x)
e.record(); torch.cuda.synchronize()
ms = s.elapsed_time(e) / 20
print(f"copy: {2 * 4 * n / ms / 1e6:.1f} GB/s (read + write), {ms:.3f} ms per 4 GiB copy")
EOF
fi

log "adapters and self-test"
step 60 "$B" devices --json
# how long finding the adapters takes with every backend (GL through EGL as well) against
# Vulkan alone: the set-up's "opening the device" includes it (twenty-second session: on
# lavapipe 0.04-0.12 s against 0.02-0.03 s)
step 60 bash -c 'for k in 1 2 3; do /usr/bin/time -f "devices, every backend: %e s" "$1" devices > /dev/null; WGPU_BACKEND=vulkan /usr/bin/time -f "devices, Vulkan alone: %e s" "$1" devices > /dev/null; done' _ "$B"
step 120 "$B" devices --selftest
# what the driver's compiler made of each entry point: registers a thread, and the workgroups
# an SM keeps resident (twin devices --shader-stats; nothing runs on the device)
log "shader statistics (the driver's, for each entry point, at the defaults)"
step 120 "$B" devices --shader-stats
step 120 bash -c '"$1" devices --shader-stats --json > "$2"' _ "$B" "$J/shader_stats.json"

log "parity at $PARITY persons, 12 months (twin bench fails if the aggregates differ)"
step 180 "$B" bench --persons "$PARITY" --months 12 --backend both --json "$J/bench_1m.json"
for v in $VARIANTS; do
    # shellcheck disable=SC2046
    step 180 "$B" bench --persons "$PARITY" --months 12 --backend both $(flags "$v") --json "$J/bench_1m_${v%%=*}.json"
done

log "national population: $NATIONAL persons"
step 300 /usr/bin/time -v "$B" synth --persons "$NATIONAL" --seed 1 --out "$WORK/uk"

log "national GPU timing: $NATIONAL persons x 120 months, the default, each variant, the default again, the combination (nvidia-smi dmon alongside, on through the profiles below)"
# into the JSON folder, so that every step's pack takes it back, even if the call is cut off
nvidia-smi dmon -s pucm -d 1 > "$J/dmon.txt" 2>&1 &
DMON=$!
trap 'kill "$DMON" 2>/dev/null' EXIT
step 420 /usr/bin/time -v "$B" bench --population "$WORK/uk" --months 120 --backend gpu --json "$J/bench_uk_gpu.json"
for v in $VARIANTS; do
    # shellcheck disable=SC2046
    step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu $(flags "$v") --json "$J/bench_uk_gpu_${v%%=*}.json"
done
# the default's decade again: the spread of two runs of the same code is the noise the
# variants' ratios are read against
step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu --json "$J/bench_uk_gpu_default_again.json"
# the whole run a team would make: the baseline and a reform over ten years at national scale,
# on one device and one set of pipelines (the twenty-second session), with the distributional
# outputs (each household's net income summed on the device, read once a year); its manifest
# has the timings
step 420 /usr/bin/time -v "$B" run -q --population "$WORK/uk" --backend gpu --years 10 --reform scenarios/two_child_limit_abolished.toml --out "$WORK/reform"
cp "$WORK/reform/manifest.json" "$J/run_reform_manifest.json" 2>/dev/null
# the combination the decades favour (scripts/device_summary.py --best: each option's fastest
# variant that beat the default by more than the noise), when it is two or more options and
# no variant timed it: parity at $PARITY persons, then its decade
BEST="$(python3 scripts/device_summary.py --best "$J" "$VARIANTS" 2>>"$LOG")"
if [ -n "$BEST" ]; then
    log "the combination the decades favour: $(flags "x=$BEST")"
    echo "$BEST" > "$J/best_flags.txt"
    # shellcheck disable=SC2046
    step 180 "$B" bench --persons "$PARITY" --months 12 --backend both $(flags "x=$BEST") --json "$J/bench_1m_best.json"
    # shellcheck disable=SC2046
    step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu $(flags "x=$BEST") --json "$J/bench_uk_gpu_best.json"
else
    log "no combination of variants to time (none, or only one option, beat the default by more than the noise, or a variant timed it)"
fi
log "national parity over 12 months, with the device time of every pass"
step 420 /usr/bin/time -v "$B" bench --population "$WORK/uk" --months 12 --backend both --gpu-profile --json "$J/bench_uk_both.json"

# the issue's target is the decade's device time: measured over all 120 months, not a year's
# times ten: waiting lists grow, so later months have more requests (on the shipped
# 100,000-person sample under the baseline, the seven services' requests a month average
# 42,363 in the first year, 50,812 in the tenth and 47,386 over the decade)
log "national, 120 months, the default with the device time of every pass and month"
step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu --gpu-profile --json "$J/bench_uk_profile_decade.json"

for v in $VARIANTS ${BEST:+best=$BEST}; do
    log "national, 12 months, variant ${v%%=*}, with the device time of every pass"
    # shellcheck disable=SC2046
    step 300 "$B" bench --population "$WORK/uk" --months 12 --backend gpu --gpu-profile $(flags "$v") --json "$J/bench_uk_profile_${v%%=*}.json"
done

if [ -n "$ABLATIONS$SUM_WORKGROUPS" ]; then
    log "national, 12 months: the default profiled again, then each ablation and block-sum target, profiled"
    step 300 "$B" bench --population "$WORK/uk" --months 12 --backend gpu --gpu-profile --json "$J/ablate_default.json"
    for a in $ABLATIONS; do
        step 300 "$B" bench --population "$WORK/uk" --months 12 --backend gpu --gpu-profile --gpu-ablate "$a" --json "$J/ablate_$a.json"
    done
    for w in $SUM_WORKGROUPS; do
        step 300 "$B" bench --population "$WORK/uk" --months 12 --backend gpu --gpu-profile --gpu-sum-workgroups "$w" --json "$J/ablate_sum$w.json"
    done
fi

# dmon ran from the national decades through the profiles and ablations: a run whose passes
# all slow down (run 6's four slow ablations) shows the clocks and power it ran at
kill "$DMON" 2>/dev/null || true
log "dmon from the national decades through the profiles (1 s samples)"
cat "$J/dmon.txt" >> "$LOG" 2>/dev/null || true

[ "$QUICK" = 1 ] || log "scaling sweep, both backends, 12 months"
[ "$QUICK" = 1 ] || step 420 "$B" bench --sweep --sweep-sizes "$SWEEP_SIZES" --months 12 --backend both --json "$J/sweep.json"
log "the default and the variants side by side, then the ablations"
step 30 bash -o pipefail -c 'python3 scripts/device_summary.py "$1" "$3" 2>&1 | tee "$2"' _ "$J" "$OUT/summary.txt" "$LOG"
log "done: $FAILED step(s) failed"
[ "$FAILED" = 0 ]
