#!/usr/bin/env bash
# Build the cargo-fuzz targets (fuzz/) and run each for a fixed number of inputs from a fixed
# seed, so CI builds them and catches a panic they reach quickly. Longer runs: README, "Fuzzing".
#
# cargo-fuzz passes -Z flags (sanitizers, coverage) that need a nightly compiler. This machine
# has one toolchain, stable, and fetches no other, so RUSTC_BOOTSTRAP=1 lets stable accept
# them (measured here: the build takes about 11 minutes on 2 cores, as with nightly).
#
# Usage: scripts/fuzz_smoke.sh [TWIN_BINARY]  (for the seed population; default target/debug/twin)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
twin="$(realpath "${1:-$root/target/debug/twin}")"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install -q cargo-fuzz --version 0.13.2 --locked
export RUSTC_BOOTSTRAP=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# seed corpora: a small valid population, and the shipped scenarios with absolute data paths
mkdir -p "$work/load_population" "$work/scenario"
"$twin" synth -q --persons 50 --seed 1 --out "$work/pop" >/dev/null
cp "$work/pop/"*.parquet "$work/load_population/"
for f in "$root"/scenarios/*.toml; do
  sed "s#\"../data/#\"$root/data/#g" "$f" > "$work/scenario/$(basename "$f")"
done
cd "$root/fuzz"
cargo fuzz build -O
cargo fuzz run -O scenario "$work/scenario" -- -runs=20000 -seed=1 -max_len=65536
cargo fuzz run -O load_population "$work/load_population" -- -runs=5000 -seed=1
echo "fuzz smoke: both targets built and ran without a crash"
