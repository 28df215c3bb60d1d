#!/usr/bin/env bash
# The hit path: lacquerd answering a stored 1 KiB object, measured two ways.
#  1. Throughput and latency with wrk (1 and 2 workers), beside the demo origin answering the
#     same request directly.
#  2. Heap allocations per hit: lacquerd runs with perf/alloc_count.c preloaded; the count read
#     before and after a wrk run, divided by the requests wrk completed.
#   perf/hits.sh [BUILD_DIR]    (default build/release; run tools/install-deps.sh perf)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-8s}
conns=${CONNS:-64}
tools/install-deps.sh perf
cmake --build "$build" --target lacquerd lacquer-demo-origin lacquer_alloc_count > /dev/null

tmp=$(mktemp -d)
source perf/lib.sh

start_origin 2
config() { # workers -> config file
  base_config "$tmp/lacquer-$1.yaml" "$1"
  cat >> "$tmp/lacquer-$1.yaml" <<YAML
routes:
  - name: listings
    match: { path_prefix: /v3/listings }
    cache:
      key_params: [limit, size]
      ttl: 10m
YAML
  echo "$tmp/lacquer-$1.yaml"
}
path='/v3/listings?limit=5&size=1024'

printf '%-34s %12s %10s %10s\n' "1 KiB object, $conns conns" "req/s" "p50" "p99"
wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$oport$path" > /dev/null
read -r rps p50 p99 _ < <(run_wrk "http://127.0.0.1:$oport$path")
printf '%-34s %12s %10s %10s\n' "demo origin direct (2 threads)" "$rps" "$p50" "$p99"
for workers in 1 2; do
  start_lacquerd "$(config $workers)"
  curl -s -o /dev/null "http://127.0.0.1:$lport$path" # the miss that stores the object
  wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$lport$path" > /dev/null
  read -r rps p50 p99 _ < <(run_wrk "http://127.0.0.1:$lport$path")
  printf '%-34s %12s %10s %10s\n' "lacquerd hits ($workers worker)" "$rps" "$p50" "$p99"
  kill "$lpid"; wait "$lpid" 2>/dev/null || true
done

# Allocations per hit. wrk opens its connections at the start of the run and keeps them alive,
# so the count is the steady-state hits plus the set-up of those connections (sessions, buffers);
# the line says both, so a per-hit allocation shows up as a figure of 1 or more.
count_file="$tmp/allocs"
start_lacquerd "$(config 1)" LD_PRELOAD="$PWD/$build/alloc_count.so" ALLOC_COUNT_FILE="$count_file"
curl -s -o /dev/null "http://127.0.0.1:$lport$path"
read_count() {
  rm -f "$count_file"
  kill -USR2 "$lpid"
  for _ in $(seq 100); do [ -s "$count_file" ] && break; sleep 0.02; done
  cat "$count_file"
}
before=$(read_count)
read -r rps _ _ requests < <(run_wrk "http://127.0.0.1:$lport$path")
after=$(read_count)
awk -v a="$before" -v b="$after" -v n="$requests" -v c="$conns" 'BEGIN {
  printf "allocations: %d during %d hits on %d new connections = %.4f per hit\n", b - a, n, c, (b - a) / n }'
