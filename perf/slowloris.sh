#!/usr/bin/env bash
# Slow and abusive clients: normal clients' hit latency (wrk) alone, then while SLOW (default
# 2000) connections each send a request head one byte per second (perf/slowloris.py, which
# reopens whatever lacquerd closes). Prints both wrk lines, the slow clients' summary, and
# lacquerd's RSS and open descriptors at the end. TLS=1: the listener has TLS (an ECDSA P-256
# certificate made at run time), wrk's hits are https and each slow connection drips a TLS
# ClientHello instead (half-open handshakes, closed at client_header_timeout).
#   perf/slowloris.sh [BUILD_DIR]   (DURATION=10s CONNS=16 SLOW=2000 WORKERS=2 TLS=0)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-10s}
conns=${CONNS:-16}
slow=${SLOW:-2000}
workers=${WORKERS:-2}
tls=${TLS:-0}
tools/install-deps.sh perf
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
source perf/lib.sh

start_origin 2
base_config "$tmp/lacquer.yaml" "$workers"
cat >> "$tmp/lacquer.yaml" <<YAML
limits:
  max_connections: $((slow + 1000))
routes:
  - name: listings
    match: { path_prefix: /v3/listings }
    cache: { key_params: [limit, size], ttl: 10m }
YAML
scheme=http
if [ "$tls" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2> /dev/null
  sed -i "s|^  - address: 127.0.0.1:0\$|&\n    tls: { certificate: $tmp/cert.pem, private_key: $tmp/key.pem }|" \
    "$tmp/lacquer.yaml"
  scheme=https
fi
start_lacquerd "$tmp/lacquer.yaml"
url="$scheme://127.0.0.1:$lport/v3/listings?limit=5&size=1024"
curl -skf -o /dev/null "$url" # stored: the rest are hits

printf '%-44s %10s %10s %10s\n' "1 KiB hits, $conns conns, $workers workers" req/s p50 p99
read -r rps p50 p99 _ < <(run_wrk "$url" 1)
printf '%-44s %10s %10s %10s\n' "alone" "$rps" "$p50" "$p99"
seconds=${duration%s}
python3 perf/slowloris.py "$lport" "$slow" $((seconds + 8)) "$([ "$tls" = 1 ] && echo tls || echo http)" \
  > "$tmp/slow.out" &
slowpid=$!
sleep 5 # every slow connection open and dripping
read -r rps p50 p99 _ < <(run_wrk "$url" 1)
printf '%-44s %10s %10s %10s\n' "with $slow slow $([ "$tls" = 1 ] && echo handshakes || echo heads) (1 byte/s)" \
  "$rps" "$p50" "$p99"
wait "$slowpid"
cat "$tmp/slow.out"
echo "lacquerd: RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$lpid/status), $(ls /proc/$lpid/fd | wc -l) fds open after the slow clients left"
