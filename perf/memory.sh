#!/usr/bin/env bash
# Memory per stored object, lacquerd alone: a fresh lacquerd (perf/servers.sh's config, 1
# worker, STORAGE_MB of cache, an admin listener) is filled with OBJECTS distinct objects of SIZE
# bytes from the demo origin, the URLs and fill of perf/matrix.sh's memory rows. Printed per
# object: the growth of the process's VmRSS (and Pss) over the fill, and what the store itself
# counts (lacquer_store_bytes / lacquer_store_objects on the admin /metrics, bookkeeping
# included), beside the body size. Then the first 1000 are asked again: every origin request
# that costs is an object the cache no longer had. Each repeat starts a fresh lacquerd.
#   perf/memory.sh [BUILD_DIR]    (default build/release; needs curl)
# Env: OBJECTS (100000) SIZE (1024) STORAGE_MB (512) REPEATS (1) EVICTION (tinylfu, the
# default | s3fifo | clock: storage.eviction). The policy's own table (S3-FIFO's ghost list, 4 B per 2 KiB of
# storage; W-TinyLFU's sketch, 8 B per 2 KiB) is allocated at start, so not in the growth.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
objects=${OBJECTS:-100000}
size=${SIZE:-1024}
storage_mb=${STORAGE_MB:-512}
repeats=${REPEATS:-1}
eviction=${EVICTION:-tinylfu}
max_age=3600 # nothing expires during the run
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null

tmp=$(mktemp -d)
# shellcheck source=perf/lib.sh
source perf/lib.sh

metric() { # admin-port name -> the value of the unlabelled metric `name`
  curl -sf -m 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { printf "%.0f\n", $2 }'
}

start_origin 1
config="$tmp/lacquer.yaml"
base_config "$config" 1
cat >> "$config" <<YAML
admin:
  address: 127.0.0.1:0
YAML
cache_routes "$storage_mb" | sed "s/^storage: { memory: \(.*\) }$/storage: { memory: \1, eviction: $eviction }/" >> "$config"

check=$((objects < 1000 ? objects : 1000))
url() { echo "/v3/mem?id=$1&size=$size&cc=max-age%3D$max_age"; }
printf '%-7s %15s %9s %9s %9s %9s %11s %9s %11s\n' run answered rss0_KiB rss1_KiB rss_B/obj \
  pss_B/obj store_B/obj body_B missing
for ((r = 1; r <= repeats; r++)); do
  start_lacquerd "$config"
  aport=$(grep -m1 -o 'admin listening on [^ ]*' "$tmp/lacquer.out" | sed 's/.*://')
  curl -sf -m 10 -o /dev/null "http://127.0.0.1:$lport$(url 0)" # first allocations of a fill
  read -r rss0 pss0 < <(memory_kb "$lpid")
  bytes0=$(metric "$aport" lacquer_store_bytes) stored0=$(metric "$aport" lacquer_store_objects)
  read -r got origin < <(fill "$lport" "$(url "[1-$objects]")")
  read -r rss1 pss1 < <(memory_kb "$lpid")
  bytes1=$(metric "$aport" lacquer_store_bytes) stored1=$(metric "$aport" lacquer_store_objects)
  read -r _ missing < <(fill "$lport" "$(url "[1-$check]")")
  awk -v r="$r/$repeats" -v n="$objects" -v got="$got" -v o="$origin" -v r0="$rss0" -v r1="$rss1" \
    -v p0="$pss0" -v p1="$pss1" -v b0="$bytes0" -v b1="$bytes1" -v s0="$stored0" -v s1="$stored1" \
    -v body="$size" -v miss="$missing" -v check="$check" 'BEGIN {
      stored = s1 - s0
      per_stored = stored > 0 ? (b1 - b0) / stored : 0
      printf "%-7s %7s/%-7s %9d %9d %9.0f %9.0f %11.0f %9d %5s/%-5s\n", r, got, n, r0, r1,
        (r1 - r0) * 1024 / n, (p1 - p0) * 1024 / n, per_stored, body, miss, check
      if (got != n || o != n || stored != n)
        printf "note: %d answered 200, %d origin requests, %d objects stored (of %d)\n", got, o, stored, n
    }'
  kill "$lpid"
  wait "$lpid" 2> /dev/null || true
done
echo "lacquerd: $("$build/lacquerd" --version 2>&1 | head -1); $objects objects of $size B, storage ${storage_mb} MiB," \
  "eviction $eviction, 1 worker; rss/pss: growth of VmRSS/Pss over the fill; store: lacquer_store_bytes per stored object"
