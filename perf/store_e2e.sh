#!/usr/bin/env bash
# The eviction simulator against the real process (issue 22 item 2): one request trace (Zipf 1.0
# over KEYS keys, log-normal sizes of median 2 KiB, REQUESTS requests) is replayed through
# lacquerd (1 worker, storage.memory = 10% of the trace's working set, each eviction policy in
# turn, curl on 4 kept-alive connections in the trace's order) and through lacquer_store_sim
# --trace at the same budget. It prints both hit ratios: the real one is 1 - origin requests /
# requests answered.
#   perf/store_e2e.sh [BUILD_DIR]    (KEYS=20000 REQUESTS=120000 PERCENT=10)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
keys=${KEYS:-20000}
requests=${REQUESTS:-120000}
percent=${PERCENT:-10}
tools/install-deps.sh perf
cmake --build "$build" --target lacquerd lacquer-demo-origin lacquer_store_sim > /dev/null
tmp=$(mktemp -d)
source perf/lib.sh
trap cleanup EXIT

# The trace, and the budget: PERCENT of the distinct keys' bodies plus their stored overhead.
# `overhead` is what lacquerd stores beside a body (its 104-byte header, the key and the head the
# demo origin sends, Date kept as 4 bytes): measured on one object below, then used by both.
python3 - "$keys" "$requests" > "$tmp/trace" <<'PY'
import bisect, math, random, sys
keys, requests = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(22)
cdf, total = [], 0.0
for k in range(1, keys + 1):
    total += 1.0 / k
    cdf.append(total)
ids = list(range(1, keys + 1)); rng.shuffle(ids)      # a key's rank says nothing of its id
size = {i: int(min(max(rng.lognormvariate(math.log(2048), 1.0), 128), 256 * 1024)) for i in ids}
for _ in range(requests):
    k = ids[bisect.bisect_left(cdf, rng.random() * total)]
    print(k, size[k])
PY

start_origin 1
awk '{ printf "url = \"http://127.0.0.1:LPORT/v3/trace?item=%s&size=%s&cc=max-age%%3D3600\"\noutput = \"/dev/null\"\n", $1, $2 }' \
  "$tmp/trace" > "$tmp/urls"
head_bytes=$(curl -s -D - -o /dev/null "http://127.0.0.1:$oport/v3/trace?item=1&size=10&cc=max-age%3D3600" |
  grep -v -i -E '^(HTTP/|date:|connection:|content-length:)' | wc -c)
head_bytes=$((head_bytes + 60))  # Content-Length, Date as 4 bytes, the stored head's framing
key_bytes=48                     # "G\n127.0.0.1:PORT\n/v3/trace?cc=...&item=N&size=N\n", about
read -r distinct bodies < <(awk '!seen[$1]++ { n++; b += $2 } END { print n, b }' "$tmp/trace")
budget=$(( (bodies + distinct * (104 + head_bytes + key_bytes)) * percent / 100 ))
echo "trace: $requests requests over $distinct keys, $((bodies / 1048576)) MiB of bodies;" \
  "budget $percent% = $((budget / 1024)) KiB; stored head about $head_bytes B"

for policy in s3fifo tinylfu clock; do
  base_config "$tmp/lacquer.yaml" 1
  cache_routes 1 | sed "s/^storage: .*/storage: { memory: ${budget}B, max_object_size: 256KiB, eviction: $policy }/" \
    >> "$tmp/lacquer.yaml"
  start_lacquerd "$tmp/lacquer.yaml"
  origin_reset
  sed "s/LPORT/$lport/" "$tmp/urls" > "$tmp/urls.$policy"
  served=$(timeout 600 curl -s --parallel --parallel-max 4 -K "$tmp/urls.$policy" \
    -w '%{http_code}\n' 2> /dev/null | grep -c '^200$' || true)
  fetched=$(origin_requests)
  awk -v p="$policy" -v s="$served" -v f="$fetched" \
    'BEGIN { printf "%-7s lacquerd: %5.1f%% of requests hit (%d served, %d origin requests)\n", p, 100 * (1 - f / s), s, f }'
  kill "$lpid"; wait "$lpid" 2>/dev/null || true
done
"$build/lacquer_store_sim" --trace "$tmp/trace" "$budget" "$head_bytes"
