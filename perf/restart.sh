#!/usr/bin/env bash
# The hit ratio right after a restart (issue 21): a real lacquerd with storage.snapshot and a
# cache smaller than the working set, Zipf traffic (perf/restart.lua, wrk) to warm it up (then
# the window's traffic once, so that the cache has settled on it), the hit ratio over a window
# before the restart, a restart (SIGTERM: drain, snapshot write; start
# again: snapshot load), then the hit ratio over the same window right after it, on the same
# replayed traffic (slice i of each window uses the same seed). Prints each slice's ratio, the
# after/before ratio (goal >= 95%), the load (objects, MiB, ms) and start-to-ready time (goal
# < 3 s for 1 GiB: perf/snapshot.sh measures that size; this store is smaller). Hit ratio =
# hit / every answer, from lacquer_requests_total{cache_status} on the admin listener.
# Figures, not a test: the machine is shared and noisy; the load average is printed.
#   perf/restart.sh [--quick] [BUILD_DIR]     (--quick: ~90 s; default: ~4 minutes)
# Environment: ZIPF_KEYS, ZIPF_S, RESTART_MEMORY_MIB, RESTART_CONNS; RESTART_CONTROL=1 runs the
# second window without the restart (what the traffic alone does to the ratio meanwhile);
# RESTART_COLD=1 deletes the snapshot before the second start (a restart without it).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
build=${1:-build/release}
tmp=$(mktemp -d /tmp/lacquer-restart.XXXXXX)
source perf/lib.sh
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null

# The window's slices (seconds): short ones first, where a cold cache is still filling. The
# working set is about 4x storage.memory, so that a cold start takes many seconds to refill.
if [ "$quick" = 1 ]; then
  warmup=10 slices=(1 1 3 5 10) keys=${ZIPF_KEYS:-400000} memory=${RESTART_MEMORY_MIB:-128}
else
  warmup=40 slices=(1 1 3 5 10 20 20) keys=${ZIPF_KEYS:-1000000} memory=${RESTART_MEMORY_MIB:-320}
fi
total=0
for d in "${slices[@]}"; do total=$((total + d)); done
export ZIPF_KEYS=$keys ZIPF_S=${ZIPF_S:-0.9}
conns=${RESTART_CONNS:-32}
now_ms() { date +%s%3N; }

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared: noisy)"
echo "== $keys keys of 1 KiB, Zipf s=$ZIPF_S, storage.memory ${memory} MiB, wrk -t2 -c$conns;" \
  "windows of ${total}s in slices of ${slices[*]} s"
start_origin 2
cat > "$tmp/lacquer.yaml" <<YAML
workers: 2
listen:
  - address: 127.0.0.1:0
admin: { address: 127.0.0.1:0 }
log: { access: off }
storage: { memory: ${memory}MiB, snapshot: $tmp/cache.snap }
origins:
  api:
    servers:
      - address: 127.0.0.1:$oport
routes:
  - name: api
    match: { path_prefix: /v3/ }
    origin: api
    cache: { key_params: all }
YAML

start() { # starts lacquerd; sets lport, aport; prints start-to-ready and the snapshot line
  local t0
  t0=$(now_ms)
  start_lacquerd "$tmp/lacquer.yaml"
  echo "start to ready: $(( $(now_ms) - t0 )) ms (polled every 50 ms)"
  aport=$(grep -m1 -o 'admin listening on [^ ]*' "$tmp/lacquer.out" | sed 's/.*://')
  grep 'cache snapshot' "$tmp/lacquer.out" || true
}
counts() { # -> "hits answers" from the admin listener's metrics
  curl -sf -m 5 "http://127.0.0.1:$aport/metrics" | awk '
    /^lacquer_requests_total\{/ { n += $NF; if ($0 ~ /cache_status="hit"/) h += $NF }
    END { printf "%d %d\n", h, n }'
}
traffic() { # seed seconds
  # One Host for both processes: the key holds it, and wrk's default names the port, which
  # port 0 changes at the restart.
  ZIPF_SEED=$1 wrk -t2 -c"$conns" -d"$2s" -H "Host: api.test" -s perf/restart.lua \
    "http://127.0.0.1:$lport/" \
    > "$tmp/wrk.out" 2>&1
  if grep -q "Non-2xx\|Socket errors" "$tmp/wrk.out"; then grep "Non-2xx\|Socket errors" "$tmp/wrk.out"; fi
}
window() { # name -> prints each slice's hit ratio; sets ratio (the window's)
  local i=0 at=0 d c0 c1 h0 n0 h1 n1 first
  first=$(counts)
  for d in "${slices[@]}"; do
    i=$((i + 1))
    c0=$(counts)
    traffic "$i" "$d"
    c1=$(counts)
    read -r h0 n0 <<< "$c0"
    read -r h1 n1 <<< "$c1"
    awk -v n="$1" -v i="$i" -v from="$at" -v to=$((at + d)) -v h=$((h1 - h0)) -v a=$((n1 - n0)) \
      'BEGIN { printf "%s slice %d (%d-%d s): %.1f%% hits of %d answers\n", n, i, from, to, 100*h/a, a }'
    at=$((at + d))
  done
  read -r h0 n0 <<< "$first"
  read -r h1 n1 <<< "$(counts)"
  ratio=$(awk -v h=$((h1 - h0)) -v a=$((n1 - n0)) 'BEGIN { printf "%.4f", h/a }')
  echo "$1 window: hit ratio $ratio over $((n1 - n0)) answers"
}

echo "== first start (no snapshot yet)"
start
echo "== warm-up: ${warmup}s of other draws, then the window's own traffic once"
traffic 1000 "$warmup"
window warm-up
echo "== before the restart"
window before
before=$ratio
if [ "${RESTART_CONTROL:-0}" = 1 ]; then
  echo "== control: no restart"
else
  echo "== restart (SIGTERM, then start again)"
  t0=$(now_ms)
  kill -TERM "$lpid"
  wait "$lpid" || true
  echo "stop (drain + snapshot write): $(( $(now_ms) - t0 )) ms"
  grep 'cache snapshot written' "$tmp/lacquer.out" || true
  if [ "${RESTART_COLD:-0}" = 1 ]; then rm -f "$tmp/cache.snap"; echo "(snapshot deleted: cold)"; fi
  start
fi
echo "== after the restart: the first ${total} s"
window after
awk -v b="$before" -v a="$ratio" 'BEGIN {
  printf "after/before: %.1f%% (goal >= 95%%; a cold start begins at 0%%)\n", 100 * a / b }'
