#!/usr/bin/env bash
# Pass-through throughput: wrk straight to the demo origin, then through lacquerd (default route
# `pass: true`: every request reaches the origin). Prints requests/s, p50/p99 and the ratio.
#   perf/passthrough.sh [BUILD_DIR]    (default build/release; run tools/install-deps.sh perf)
# Loopback only; every run is bounded by wrk's duration.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-10s}
conns=${CONNS:-64}
workers=${WORKERS:-1}
origin_threads=${ORIGIN_THREADS:-1}
tools/install-deps.sh perf

tmp=$(mktemp -d)
source perf/lib.sh

start_origin "$origin_threads"
base_config "$tmp/lacquer.yaml" "$workers"
echo "default_route: { pass: true }" >> "$tmp/lacquer.yaml"
start_lacquerd "$tmp/lacquer.yaml"

path='/v3/listings?limit=5&size=1024'
# Warm up both paths (connections, pools), then measure.
wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$oport$path" > /dev/null
wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$lport$path" > /dev/null
read -r d_rps d_p50 d_p99 _ < <(run_wrk "http://127.0.0.1:$oport$path")
read -r p_rps p_p50 p_p99 _ < <(run_wrk "http://127.0.0.1:$lport$path")

printf '%-28s %12s %10s %10s\n' "path ($conns conns, 1 KiB)" "req/s" "p50" "p99"
printf '%-28s %12s %10s %10s\n' "origin direct" "$d_rps" "$d_p50" "$d_p99"
printf '%-28s %12s %10s %10s\n' "through lacquerd ($workers wkr)" "$p_rps" "$p_p50" "$p_p99"
awk -v a="$p_rps" -v b="$d_rps" 'BEGIN { printf "lacquerd / direct: %.2f\n", a / b }'
