#!/usr/bin/env bash
# Slow and abusive clients: normal clients' hit latency (wrk) alone, then while SLOW (default
# 2000) connections each send a request head one byte per second (perf/slowloris.py, which
# reopens whatever lacquerd closes). Prints both wrk lines, the slow clients' summary, and
# lacquerd's RSS and open descriptors at the end. TLS=1: the listener has TLS (an ECDSA P-256
# certificate made at run time), wrk's hits are https and each slow connection drips a TLS
# ClientHello instead (half-open handshakes, closed at client_header_timeout); TLS=silent: the
# same, but the slow connections send nothing at all. In TLS modes it also prints the failed
# handshakes and those closed at the handshake deadline so far (lacquer_tls_handshake_seconds:
# failed handshakes that lasted more than 5s, read while the slow clients still run, so that
# none of their own closes is counted; client_header_timeout is 10s), from lacquerd's /metrics.
#   perf/slowloris.sh [BUILD_DIR]   (DURATION=10s CONNS=16 SLOW=2000 WORKERS=2 TLS=0|1|silent)
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
slow_mode=http
admin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "admin: { address: 127.0.0.1:$admin_port }" >> "$tmp/lacquer.yaml"
if [ "$tls" != 0 ]; then
  slow_mode=$([ "$tls" = silent ] && echo tls-silent || echo tls)
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
# The sum of the samples of metric $1 whose line holds every further argument.
metric() { curl -sf "http://127.0.0.1:$admin_port/metrics" | awk -v name="$1" -v want="${*:2}" '
  BEGIN { n = split(want, w, " ") } index($0, name "{") == 1 || index($0, name " ") == 1 {
    for (i = 1; i <= n; i++) if (index($0, w[i]) == 0) next; total += $NF } END { printf "%d\n", total }'; }
python3 perf/slowloris.py "$lport" "$slow" $((seconds + 8)) "$slow_mode" > "$tmp/slow.out" &
slowpid=$!
sleep 5 # every slow connection open and dripping
read -r rps p50 p99 _ < <(run_wrk "$url" 1)
what=$(case $slow_mode in http) echo "heads (1 byte/s)" ;; tls) echo "handshakes (1 byte/s)" ;;
  *) echo "silent TLS connects" ;; esac)
printf '%-44s %10s %10s %10s\n' "with $slow slow $what" "$rps" "$p50" "$p99"
if [ "$tls" != 0 ]; then # now: the slow clients have not closed anything themselves yet
  failed=$(metric lacquer_tls_handshake_seconds_count 'result="failed"')
  quick=$(metric lacquer_tls_handshake_seconds_bucket 'result="failed"' 'le="5"')
  tls_line="tls (during the run): $failed failed handshakes, $((failed - quick)) of them closed at"
  tls_line+=" the handshake deadline (lasted > 5s); $(metric lacquer_tls_handshakes_total 'result="ok"') completed"
fi
wait "$slowpid"
cat "$tmp/slow.out"
[ "$tls" = 0 ] || echo "$tls_line"
echo "lacquerd: RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$lpid/status), $(ls /proc/$lpid/fd | wc -l) fds open after the slow clients left"
