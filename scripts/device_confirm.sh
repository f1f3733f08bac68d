#!/usr/bin/env bash
# A second, short call on a lent GPU, after scripts/device_bench.sh: checks one set of GPU
# options (FLAGS) against the CPU at national scale (12 months, both backends), times its
# decade against the default's, alternating, twice each (the ratio read against the spread
# of two runs of each), and profiles FLAGS' whole decade (the device time of every pass and
# month). Carry as for device_bench.sh (["twin-release", ".gl"]). FLAGS: by default the
# options of H200 runs 1-6 (the defaults until run 7). Run 7 ran this script's first
# version, with FLAGS the combination that run 6 picked (`best`) and the defaults of then,
# so its files say `best` where this one's say `flags`. Everything lands in $OUT (at most 8
# files come back): log.txt and one JSON per run. The self-test and a 1M-person parity run
# come first: in run 7 the national run was the machine's first GPU work, and its first six
# months took 2.7 to 4.4 times as long as the rest.
set -uo pipefail
OUT="${OUT:-/tmp/device-out}"
NATIONAL="${NATIONAL:-67600000}"
FLAGS="${FLAGS:---workgroup-size 64 --gpu-fuse-persons none --gpu-services-list false --gpu-shader-checks checked}"
WORK="${WORK:-/tmp/twin-device}"
mkdir -p "$OUT" "$WORK"
LOG="$OUT/log.txt"
: > "$LOG"
B=./twin-release
[ -x "$B" ] || B=target/release/twin
B="$(cd "$(dirname "$B")" && pwd)/$(basename "$B")"
log() { echo "[$(date +%T)] $*" | tee -a "$LOG"; }
FAILED=0
step() {
    local secs=$1
    shift
    log "\$ $* (limit ${secs} s)"
    timeout --kill-after=10 "$secs" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    log "exit $rc"
    if [ "$rc" != 0 ]; then FAILED=$((FAILED + 1)); fi
}
if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
log "flags: $FLAGS; binary: $(sha256sum "$B" | cut -c1-16) (sha256); commit: $(git rev-parse --short HEAD 2>/dev/null || echo 'not known here')"
step 120 "$B" devices --selftest
# shellcheck disable=SC2086
step 180 "$B" bench --persons 1000000 --months 12 --backend both $FLAGS
[ -d "$WORK/uk" ] || step 300 "$B" synth --persons "$NATIONAL" --seed 1 --out "$WORK/uk"
# shellcheck disable=SC2086
step 420 "$B" bench --population "$WORK/uk" --months 12 --backend both --gpu-profile $FLAGS --json "$OUT/uk_both_flags.json"
for i in 1 2; do
    step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu --json "$OUT/uk_default_$i.json"
    # shellcheck disable=SC2086
    step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu $FLAGS --json "$OUT/uk_flags_$i.json"
done
# shellcheck disable=SC2086
step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu --gpu-profile $FLAGS --json "$OUT/uk_profile_decade_flags.json"
log "done: $FAILED step(s) failed"
[ "$FAILED" = 0 ]
