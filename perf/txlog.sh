#!/usr/bin/env bash
# What the live transaction log costs the hit path (issue 20): lacquerd (1 worker) answering a
# stored 1 KiB object with nobody watching (one relaxed load and a branch per request), then
# with one watcher whose filter takes nothing (each request copies its record into the ring;
# the admin thread drains and matches), then with one watcher that takes every record as text
# (the admin thread formats and writes each). Throughput with wrk, allocations per request with
# perf/alloc_count.c preloaded (as perf/allocs.sh). Run on an idle machine for figures to compare.
#   perf/txlog.sh [BUILD_DIR]    (default build/release; run tools/install-deps.sh perf)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-5s}
conns=${CONNS:-64}
tools/install-deps.sh perf
cmake --build "$build" --target lacquerd lacquer-demo-origin lacquer_alloc_count > /dev/null

tmp=$(mktemp -d)
source perf/lib.sh

start_origin 1
base_config "$tmp/lacquer.yaml" 1
cache_routes 512 >> "$tmp/lacquer.yaml"
echo "admin: { address: 127.0.0.1:0 }" >> "$tmp/lacquer.yaml"
count_file="$tmp/allocs"
start_lacquerd "$tmp/lacquer.yaml" LD_PRELOAD="$PWD/$build/alloc_count.so" ALLOC_COUNT_FILE="$count_file"
for _ in $(seq 100); do grep -q "admin listening on" "$tmp/lacquer.out" && break; sleep 0.05; done
aport=$(grep -m1 -o 'admin listening on [^ ]*' "$tmp/lacquer.out" | sed 's/.*://')

allocations() {
  rm -f "$count_file"
  kill -USR2 "$lpid"
  for _ in $(seq 100); do [ -s "$count_file" ] && break; sleep 0.02; done
  cat "$count_file"
}
watchers() { curl -sf -m 5 "http://127.0.0.1:$aport/metrics" |
  awk '$1 == "lacquer_transaction_log_watchers" { print $2 }'; }
measure() { # label
  local a0 a1 rps p50 p99 n
  a0=$(allocations)
  read -r rps p50 p99 n < <(run_wrk "http://127.0.0.1:$lport$hot")
  a1=$(allocations)
  awk -v l="$1" -v r="$rps" -v p50="$p50" -v p99="$p99" -v a=$((a1 - a0)) -v n="$n" 'BEGIN {
    printf "%-26s %10.0f req/s  p50 %-8s p99 %-8s %8.4f allocations per request\n",
      l, r, p50, p99, a / n }'
}
watch() { # query -> starts a watcher, waits until lacquerd counts it
  curl -sfN "http://127.0.0.1:$aport/log?$1" > /dev/null &
  wpid=$!
  pids+=($wpid)
  for _ in $(seq 100); do [ "$(watchers)" = 1 ] && return 0; sleep 0.05; done
  echo "the watcher did not attach" >&2; return 1
}
unwatch() { kill "$wpid"; wait "$wpid" 2> /dev/null || true
  for _ in $(seq 100); do [ "$(watchers)" = 0 ] && return 0; sleep 0.05; done; }

hot="/v3/hot?size=1024&cc=max-age%3D600"
curl -sf -o /dev/null "http://127.0.0.1:$lport$hot"
measure "unwatched"
watch "url=%5E%2Fnothing-matches"
measure "watched, filter takes none"
unwatch
watch "format=text"
measure "watched, every record sent"
dropped=$(curl -sf -m 5 "http://127.0.0.1:$aport/metrics" |
  awk '$1 == "lacquer_transaction_log_dropped_total" { print $2 }')
unwatch
measure "unwatched again"
echo "records dropped by full rings while watched: $dropped"
