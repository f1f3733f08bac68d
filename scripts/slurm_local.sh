#!/usr/bin/env bash
# Run a policy-twin plan as a Slurm job array on a single-node Slurm started here by hand, and
# check that the merged result equals a single-process run's, file for file.
#
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs them).
# Starts munged, slurmctld and slurmd with a configuration in a temporary directory (nothing
# under /etc/slurm is changed), submits scripts/slurm/array.sbatch as a 3-task array and
# scripts/slurm/merge.sbatch with --dependency=afterok on it, waits, compares, and stops the
# daemons again.
#
# Usage: scripts/slurm_local.sh [TWIN_BINARY]   (default target/release/twin, else target/debug/twin)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
twin="${1:-}"
if [ -z "$twin" ]; then
  twin="$root/target/release/twin"
  [ -x "$twin" ] || twin="$root/target/debug/twin"
fi
twin="$(realpath "$twin")"
for c in slurmctld slurmd sbatch munged; do
  command -v "$c" >/dev/null 2>&1 || { echo "slurm_local: $c not found (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 2; }
done

w="$(mktemp -d /tmp/twin-slurm.XXXXXX)"
chmod 755 "$w"
host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)"
mkdir -p "$w/state" "$w/spool" "$w/munge" "$w/job"
export SLURM_CONF="$w/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=twin-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$w/munge/munge.socket
StateSaveLocation=$w/state
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/slurmctld.log
SlurmdLogFile=$w/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MpiDefault=none
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

cleanup() {
  set +e
  scancel --user=root >/dev/null 2>&1
  for p in slurmd slurmctld; do
    [ -f "$w/$p.pid" ] && kill "$(cat "$w/$p.pid")" 2>/dev/null
  done
  [ -f "$w/munge/munged.pid" ] && kill "$(cat "$w/munge/munged.pid")" 2>/dev/null
  sleep 1
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$w"; fi
}
trap cleanup EXIT

# munge: its own key and socket in the temporary directory
dd if=/dev/urandom of="$w/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$w/munge/munge.key"
munged --force --key-file="$w/munge/munge.key" --socket="$w/munge/munge.socket" \
  --pid-file="$w/munge/munged.pid" --log-file="$w/munge/munged.log" --seed-file="$w/munge/munged.seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for i in $(seq 60); do
  state="$(sinfo -h -n "$host" -o %t 2>/dev/null || true)"
  [ "$state" = "idle" ] && break
  sleep 1
done
if [ "$state" != "idle" ]; then
  echo "slurm_local: the node did not come up (state '$state')" >&2
  tail -20 "$w/slurmctld.log" "$w/slurmd.log" >&2
  exit 1
fi
echo "slurm_local: Slurm $(sinfo -V | awk '{print $2}') up, node $host idle with $cpus CPUs"

# the plan: a population, a baseline and a reform, 1 year, 5 replicates, 3 tasks
cd "$w/job"
"$twin" synth -q --persons 4000 --seed 11 --out pop >/dev/null
export TWIN="$twin" POPULATION="$w/job/pop" SCENARIO="$root/scenarios/baseline.toml" \
  REFORM="$root/scenarios/two_child_limit_abolished.toml" YEARS=1 REPLICATES=5 OUT="$w/job/array"
jid="$(sbatch --parsable --array=0-2 --cpus-per-task=1 "$root/scripts/slurm/array.sbatch")"
mid="$(sbatch --parsable --dependency=afterok:"$jid" "$root/scripts/slurm/merge.sbatch")"
echo "slurm_local: submitted array job $jid (3 tasks) and merge job $mid (afterok:$jid)"
for i in $(seq 600); do
  st="$(scontrol show job "$mid" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)"
  case "$st" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
  sleep 1
done
for f in twin-array-*.log twin-merge-*.log; do [ -e "$f" ] && { echo "--- $f"; cat "$f"; }; done
if [ "$st" != COMPLETED ]; then
  echo "slurm_local: merge job ended $st" >&2
  scontrol show job "$jid" >&2 || true
  exit 1
fi
# every array task ran under Slurm and took its replicates from the environment
for t in 0 1 2; do
  grep -q "task $t/3: wrote replicates" twin-array-"$jid"_"$t".log || { echo "slurm_local: task $t did not report" >&2; exit 1; }
done

# the same plan in one process
"$twin" run -q --population pop --scenario "$SCENARIO" --reform "$REFORM" --years 1 --replicates 5 --out single >/dev/null
for f in aggregates capacity comparison distribution intervals; do
  cmp "single/$f.parquet" "array/$f.parquet" || { echo "slurm_local: $f.parquet differs" >&2; exit 1; }
done
python3 - "$w/job/array/manifest.json" <<'PY' || exit 1
import json, sys
m = json.load(open(sys.argv[1]))
assert m["tasks"] == 3 and m["replicates"] == 5, m
assert sorted(p["task"] for p in m["parts"]) == [0, 0, 1, 1, 2], m["parts"]
PY
echo "slurm_local: OK: 3 Slurm array tasks + dependent merge == one process (aggregates, capacity, comparison, distribution, intervals byte-identical)"
