#!/usr/bin/env bash
# Pass-through throughput: wrk straight to the demo origin, then through lacquerd (no caching
# route: every request reaches the origin). Prints requests/s, p50/p99 and the ratio.
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
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
pids=()
trap cleanup EXIT

wait_line() { # file -> the port of the first "listening on" line
  for _ in $(seq 100); do
    if grep -q "listening on" "$1" 2>/dev/null; then
      grep -m1 -o 'listening on [^ ]*' "$1" | sed 's/.*://'
      return 0
    fi
    sleep 0.05
  done
  echo "no 'listening on' line in $1" >&2; cat "$1" >&2; return 1
}

"$build/lacquer-demo-origin" --listen 127.0.0.1:0 --threads "$origin_threads" > "$tmp/origin.out" 2>&1 &
pids+=($!)
oport=$(wait_line "$tmp/origin.out")
cat > "$tmp/lacquer.yaml" <<YAML
workers: $workers
listen:
  - address: 127.0.0.1:0
log: { access: off }
origins:
  api:
    servers:
      - address: 127.0.0.1:$oport
YAML
"$build/lacquerd" --config "$tmp/lacquer.yaml" > "$tmp/lacquer.out" 2>&1 &
pids+=($!)
lport=$(wait_line "$tmp/lacquer.out")

path='/v3/listings?limit=5&size=1024'
run() { # url -> "rps p50 p99"
  wrk -t1 -c"$conns" -d"$duration" --latency "$1" > "$tmp/wrk.out" 2>&1
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$tmp/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$tmp/wrk.out")
  if grep -q "Non-2xx\|Socket errors" "$tmp/wrk.out"; then
    grep "Non-2xx\|Socket errors" "$tmp/wrk.out" >&2
  fi
  echo "$rps $p50 $p99"
}

# Warm up both paths (connections, pools), then measure.
wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$oport$path" > /dev/null
wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$lport$path" > /dev/null
read -r d_rps d_p50 d_p99 < <(run "http://127.0.0.1:$oport$path")
read -r p_rps p_p50 p_p99 < <(run "http://127.0.0.1:$lport$path")

printf '%-28s %12s %10s %10s\n' "path ($conns conns, 1 KiB)" "req/s" "p50" "p99"
printf '%-28s %12s %10s %10s\n' "origin direct" "$d_rps" "$d_p50" "$d_p99"
printf '%-28s %12s %10s %10s\n' "through lacquerd ($workers wkr)" "$p_rps" "$p_p50" "$p_p99"
awk -v a="$p_rps" -v b="$d_rps" 'BEGIN { printf "lacquerd / direct: %.2f\n", a / b }'
