#!/usr/bin/env bash
# Memory per client connection, lacquerd alone (1 worker, perf/servers.sh's origin): CONNS
# (3000) keep-alive connections are opened, each asks one request and then stays idle, then
# each sends half of a second head; then all close, and the same wave runs once more.
# perf/connmem.py prints lacquerd's VmRSS at each step, the growth per connection (idle,
# started head), and the RSS after the connections closed beside the RSS before they opened.
# KINDS: `hit` (every request a hit on one stored object) and `miss` (each connection's own
# key, fetched and stored: the origin side's buffers are used too). Each kind starts a fresh
# lacquerd. With MALLOC_INFO=1 (needs gdb) glibc's heap in use (malloc_info) is shown per step.
#   perf/connmem.sh [BUILD_DIR]    (default build/release)
# Env: CONNS (3000) KINDS ("hit miss") WINDOW (64 requests outstanding) MALLOC_INFO (0)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
conns=${CONNS:-3000}
kinds=${KINDS:-hit miss}
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null

# Two fds per connection on this box (client and lacquerd), plus slack.
need=$((2 * conns + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2> /dev/null || ulimit -n "$(ulimit -Hn)"
fi

tmp=$(mktemp -d)
# shellcheck source=perf/lib.sh
source perf/lib.sh

start_origin 1
config="$tmp/lacquer.yaml"
base_config "$config" 1
cat >> "$config" <<YAML
admin:
  address: 127.0.0.1:0
limits:
  max_connections: $((conns + 1000))
  client_idle_timeout: 10m
  client_header_timeout: 10m
  client_request_timeout: 10m
YAML
cache_routes 512 >> "$config"

for kind in $kinds; do
  start_lacquerd "$config"
  # The first allocations of a request, a fill and a hit are made before `before`.
  curl -sf -m 10 -o /dev/null "http://127.0.0.1:$lport/v3/connmem-hot?size=1024&cc=max-age%3D3600"
  curl -sf -m 10 -o /dev/null "http://127.0.0.1:$lport/v3/connmem-hot?size=1024&cc=max-age%3D3600"
  curl -sf -m 10 -o /dev/null "http://127.0.0.1:$lport/v3/connmem-warm?size=1024&cc=max-age%3D3600"
  aport=$(grep -m1 -o 'admin listening on [^ ]*' "$tmp/lacquer.out" | sed 's/.*://')
  echo "== $kind: $conns connections, lacquerd 1 worker"
  MALLOC_INFO=${MALLOC_INFO:-0} WINDOW=${WINDOW:-64} \
    python3 perf/connmem.py "$lpid" "$lport" "$conns" "$kind" "$aport"
  kill "$lpid" 2> /dev/null || echo "lacquerd had exited: $(tail -3 "$tmp/lacquer.out")"
  wait "$lpid" 2> /dev/null || true
done
echo "lacquerd: $("$build/lacquerd" --version 2>&1 | head -1)"
