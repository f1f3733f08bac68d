# Sourced by scripts/device_bench.sh and scripts/device_confirm.sh, after they set OUT: the
# log ($OUT/log.txt, truncated), the binary ($B: ./twin-release as carried, else the release
# build), `log`, `step` (a command with a time limit, everything it prints into the log; a
# failed step is logged and counted in FAILED, and the script goes on; `after_step` runs
# after each, by default nothing), and the Vulkan loader carried as Debian packages (.gl)
# with NVIDIA's driver files where the machine has them.
LOG="$OUT/log.txt"
: > "$LOG"
B=./twin-release
[ -x "$B" ] || B=target/release/twin
B="$(cd "$(dirname "$B")" && pwd)/$(basename "$B")"
log() { echo "[$(date +%T)] $*" | tee -a "$LOG"; }
FAILED=0
# (a script may define its own before or after sourcing this)
declare -F after_step >/dev/null || after_step() { :; }
# step SECONDS COMMAND...
step() {
    local secs=$1
    shift
    log "\$ $* (limit ${secs} s)"
    timeout --kill-after=10 "$secs" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    log "exit $rc"
    if [ "$rc" != 0 ]; then FAILED=$((FAILED + 1)); fi
    after_step
}
# what ran: the binary's hash and version, and the commit where the checkout has one
binary_line() { echo "binary: $(sha256sum "$B" | cut -c1-16) (sha256), $("$B" --version 2>&1); commit: $(git rev-parse --short HEAD 2>/dev/null || echo 'not known here')"; }

if ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -f "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"; fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
