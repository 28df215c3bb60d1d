#!/usr/bin/env bash
# The warm restart's figures (storage.snapshot): snapshot write and load rates for 100,000
# objects of 1 KiB and for 1 GiB of mixed sizes (200 B to 1 MiB, log-uniform), in memory
# (perf/sim/snapshot_bench.cc), then the restart of a real lacquerd with that full 1 GiB cache:
# start to ready (the "listening on" line, printed right before READY=1, after the load), stop
# (SIGTERM: drain, then the snapshot write) and start again on the file that lacquerd wrote.
# Goals (issue 21): restart to ready < 3 s with 1 GiB, load >= 500 MB/s. Loads read the page
# cache (the file was just written); a cold disk reads at its own speed.
#   perf/snapshot.sh [BUILD_DIR] [SCRATCH_DIR]    (default build/release, /var/tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
scratch=$(mktemp -d "${2:-/var/tmp}/lacquer-snapshot-perf.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
cmake --build "$build" --target lacquer_snapshot_bench lacquerd > /dev/null

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
cat > "$scratch/lacquer.yaml" <<YAML
workers: 2
listen:
  - address: 127.0.0.1:0
storage:
  memory: 2GiB
  max_object_size: 2MiB
  snapshot: $scratch/cache.snap
log:
  access: off
origins:
  api:
    servers:
      - address: 127.0.0.1:9
YAML

echo "== in memory (lacquer_snapshot_bench)"
"$build/lacquer_snapshot_bench" "$scratch/lacquer.yaml" "$scratch" uniform 100000 1024
"$build/lacquer_snapshot_bench" "$scratch/lacquer.yaml" "$scratch" mixed $((1 << 30)) \
  --keep "$scratch/cache.snap"

now_ms() { date +%s%3N; }
# start_lacquerd: starts it on the config, waits (60 s at most) for its "listening on" line,
# prints the time that took and lacquerd's snapshot line.
start_lacquerd() {
  : > "$scratch/out"
  : > "$scratch/err"
  local t0
  t0=$(now_ms)
  "$build/lacquerd" --config "$scratch/lacquer.yaml" > "$scratch/out" 2> "$scratch/err" &
  pid=$!
  for _ in $(seq 6000); do
    grep -q '^listening on' "$scratch/out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$scratch/err"; exit 1; }
    sleep 0.01
  done
  grep -q '^listening on' "$scratch/out" || { echo "lacquerd not ready in 60 s"; exit 1; }
  echo "start to ready: $(( $(now_ms) - t0 )) ms"
  grep 'cache snapshot' "$scratch/err" || true
}
stop_lacquerd() {
  local t0
  t0=$(now_ms)
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  echo "stop (drain + snapshot write): $(( $(now_ms) - t0 )) ms"
  grep 'cache snapshot written' "$scratch/err" || true
}

echo "== lacquerd restart with the 1 GiB snapshot"
start_lacquerd
echo "rss after load: $(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )) MiB"
stop_lacquerd
echo "== lacquerd restart on the snapshot it wrote"
start_lacquerd
stop_lacquerd
