#!/usr/bin/env bash
# The hit path: lacquerd answering a stored 1 KiB object, throughput and latency with wrk (1 and
# 2 workers), beside the demo origin answering the same request directly. Allocations per hit
# (and per miss, coalesced miss and pass) are perf/allocs.sh's.
#   perf/hits.sh [BUILD_DIR]    (default build/release; run tools/install-deps.sh perf)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-8s}
conns=${CONNS:-64}
tools/install-deps.sh perf
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null

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

