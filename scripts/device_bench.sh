#!/usr/bin/env bash
# One prepared run for a lent real GPU (the `device` tool): self-test, CPU/GPU parity at 1M
# persons, and the national-scale timing (67.6M persons x 120 months) on the GPU path.
# Figures land in $OUT (JSON + log) for the README and the issue note.
#
# The device machine has no network: carry a release binary built here (stripped: 15.9 MB,
# only libc needed; Vulkan is loaded at run time)
#   cargo build --release && strip -o twin-release target/release/twin
# and run with carry: ["twin-release"], command: bash scripts/device_bench.sh
set -euo pipefail
OUT="${OUT:-/tmp/device-out}"
mkdir -p "$OUT"
B=./twin-release
[ -x "$B" ] || B=target/release/twin
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/log.txt"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.csv" || true
log "devices and self-test"
"$B" devices --json > "$OUT/devices.json"
"$B" devices --selftest 2>&1 | tee -a "$OUT/log.txt"

log "parity: 1M persons, 12 months, both backends (twin bench fails if aggregates differ)"
"$B" bench --persons 1000000 --months 12 --backend both --json "$OUT/bench_1m.json" 2>&1 | tee -a "$OUT/log.txt"

log "national population"
/usr/bin/time -v "$B" synth --persons 67600000 --seed 1 --out /tmp/uk 2>&1 | tail -25 >> "$OUT/log.txt"
log "national GPU timing: 67.6M persons x 120 months"
/usr/bin/time -v "$B" bench --population /tmp/uk --months 120 --backend gpu --json "$OUT/bench_uk_gpu.json" 2>&1 | tee -a "$OUT/log.txt"
log "done"
