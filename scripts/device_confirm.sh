#!/usr/bin/env bash
# A second, short call on a lent GPU, after scripts/device_bench.sh has picked a combination
# of options (`best`): checks that combination's parity with the CPU at national scale (12
# months, both backends), times its decade against the default's, alternating, twice each,
# and profiles its whole decade (the device time of every pass and month). Carry as for
# device_bench.sh (["twin-release", ".gl"]). FLAGS: the combination's flags (default: the
# one run 6 chose). Everything lands in $OUT (at most 8 files come back): log.txt and one
# JSON per run.
set -uo pipefail
OUT="${OUT:-/tmp/device-out}"
NATIONAL="${NATIONAL:-67600000}"
FLAGS="${FLAGS:---gpu-fuse-persons stages --gpu-services-list --gpu-shader-checks trusted --workgroup-size 256}"
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
log "flags: $FLAGS"
[ -d "$WORK/uk" ] || step 300 "$B" synth --persons "$NATIONAL" --seed 1 --out "$WORK/uk"
# shellcheck disable=SC2086
step 420 "$B" bench --population "$WORK/uk" --months 12 --backend both --gpu-profile $FLAGS --json "$OUT/uk_both_best.json"
for i in 1 2; do
    step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu --json "$OUT/uk_default_$i.json"
    # shellcheck disable=SC2086
    step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu $FLAGS --json "$OUT/uk_best_$i.json"
done
# shellcheck disable=SC2086
step 420 "$B" bench --population "$WORK/uk" --months 120 --backend gpu --gpu-profile $FLAGS --json "$OUT/uk_profile_decade_best.json"
log "done: $FAILED step(s) failed"
[ "$FAILED" = 0 ]
