#!/usr/bin/env bash
# A second, short call on a lent GPU, after scripts/device_bench.sh: checks one set of GPU
# options (FLAGS) against the CPU at national scale (12 months, both backends), times its
# decade against the default's, alternating, twice each (the ratio read against the spread
# of two runs of each), and profiles FLAGS' whole decade (the device time of every pass and
# month). Carry as for device_bench.sh (["twin-release", ".gl"]). FLAGS: by default the
# options of H200 runs 1-6 (the defaults until run 7). Run 7 ran this script's first
# version, with FLAGS the combination that run 6 picked (`best`) and the defaults of then,
# so its files say `best` where this one's say `flags`. Everything lands in $OUT (at most 8
# files come back): log.txt and one JSON per run (the shader statistics in the log). The self-test and a 1M-person parity run
# come first: in run 7 the national run was the machine's first GPU work, and its first six
# months took 2.7 to 4.4 times as long as the rest.
set -uo pipefail
OUT="${OUT:-/tmp/device-out}"
NATIONAL="${NATIONAL:-67600000}"
PARITY="${PARITY:-1000000}"
FLAGS="${FLAGS:---workgroup-size 64 --gpu-fuse-persons none --gpu-services-list false --gpu-shader-checks checked}"
WORK="${WORK:-/tmp/twin-device}"
mkdir -p "$OUT" "$WORK"
# shellcheck source=scripts/device_common.sh
. "$(dirname "$0")/device_common.sh" || { echo "scripts/device_common.sh missing" >&2; exit 2; }
log "flags: $FLAGS; $(binary_line)"
step 120 "$B" devices --selftest
# the driver's statistics of each entry point (registers, and the workgroups an SM keeps),
# into the log (at most 8 files come back, and the runs below take 7)
step 60 "$B" devices --shader-stats
# shellcheck disable=SC2086
step 180 "$B" bench --persons "$PARITY" --months 12 --backend both $FLAGS
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
