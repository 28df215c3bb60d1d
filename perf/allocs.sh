#!/usr/bin/env bash
# Heap allocations per request on each path of the real lacquerd (1 worker): a hit, a range hit
# (206), a miss that fetches and stores, a coalesced miss (a waiter on another client's fetch)
# and a pass. lacquerd runs with perf/alloc_count.c preloaded; the count is read (SIGUSR2) before
# and after each load and divided by the requests served. Connection set-up allocates (a session,
# its buffers): each line says how many new connections its load opened, so a per-request
# allocation shows as a figure of 1 or more while set-up alone gives a small fraction.
#   perf/allocs.sh [BUILD_DIR]    (default build/release; run tools/install-deps.sh perf)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-3s}
conns=${CONNS:-64}
tools/install-deps.sh perf
cmake --build "$build" --target lacquerd lacquer-demo-origin lacquer_alloc_count > /dev/null

tmp=$(mktemp -d)
source perf/lib.sh

start_origin 1
base_config "$tmp/lacquer.yaml" 1
cache_routes 512 >> "$tmp/lacquer.yaml"
count_file="$tmp/allocs"
start_lacquerd "$tmp/lacquer.yaml" LD_PRELOAD="$PWD/$build/alloc_count.so" ALLOC_COUNT_FILE="$count_file"

allocations() { # -> lacquerd's allocation count so far
  rm -f "$count_file"
  kill -USR2 "$lpid"
  for _ in $(seq 100); do [ -s "$count_file" ] && break; sleep 0.02; done
  cat "$count_file"
}
report() { # label allocations requests connections [note]
  awk -v l="$1" -v a="$2" -v n="$3" -v c="$4" -v note="${5:-}" 'BEGIN {
    printf "%-11s %9d allocations / %7d requests = %8.4f per request  (%d new connections)%s\n",
      l, a, n, a / n, c, note }'
}

# Hits: one stored 1 KiB object, wrk keep-alive connections.
hot="/v3/hot?size=1024&cc=max-age%3D600"
curl -sf -o /dev/null "http://127.0.0.1:$lport$hot"
a0=$(allocations)
read -r _ _ _ n < <(run_wrk "http://127.0.0.1:$lport$hot")
a1=$(allocations)
report hit $((a1 - a0)) "$n" "$conns"

# Range hits: 100 bytes of the same object (206, the part sent by reference from the object).
a0=$(allocations)
read -r _ _ _ n < <(run_wrk "http://127.0.0.1:$lport$hot" 1 -H "Range: bytes=100-199")
a1=$(allocations)
report range-hit $((a1 - a0)) "$n" "$conns"

# Misses: every request a key never asked for (perf/urls.lua over more keys than a run reaches);
# each one is fetched from the origin and stored.
o0=$(origin_requests)
a0=$(allocations)
URL_KEYS=${MISS_KEYS:-300000} wrk -t1 -c"$conns" -d"$duration" -s perf/urls.lua \
  "http://127.0.0.1:$lport/" > "$tmp/wrk.out" 2>&1
a1=$(allocations)
o1=$(origin_requests)
n=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
report miss $((a1 - a0)) "$n" "$conns" "; origin requests $((o1 - o0))"

# Coalesced: 200 clients at once on one cold key (1 leads, 199 wait), then the same 200 on the
# same key again (200 hits, new connections too). The difference is what waiting costs.
storm_key="/v3/alloc-storm?size=1024&delay_ms=100&cc=max-age%3D600"
a0=$(allocations)
STORM_TARGET=$storm_key python3 perf/storm.py "$lport" "$oport" 200 100 > "$tmp/storm1"
a1=$(allocations)
STORM_TARGET=$storm_key python3 perf/storm.py "$lport" "$oport" 200 100 > "$tmp/storm2"
a2=$(allocations)
grep -q 'origin requests 1,' "$tmp/storm1" || { echo "cold storm: $(cat "$tmp/storm1")" >&2; }
grep -q 'origin requests 0,' "$tmp/storm2" || { echo "warm storm: $(cat "$tmp/storm2")" >&2; }
report storm-cold $((a1 - a0)) 200 200 "; 1 origin request"
report storm-warm $((a2 - a1)) 200 200 "; 0 origin requests"
awk -v c=$((a1 - a0)) -v w=$((a2 - a1)) 'BEGIN {
  printf "%-11s %9d allocations more for 199 waiters and 1 leader = %.2f per waiter\n",
    "coalesced", c - w, (c - w) / 199 }'

# Pass: every request to the origin over the pooled upstream connections.
a0=$(allocations)
read -r _ _ _ n < <(run_wrk "http://127.0.0.1:$lport/pass/x?size=1024")
a1=$(allocations)
report pass $((a1 - a0)) "$n" "$conns"
