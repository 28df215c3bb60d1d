#!/usr/bin/env bash
# TLS hits and handshakes: lacquerd and nginx side by side in one run (issue 18), both caching
# proxies in front of the demo origin, 1 worker each, with the same ECDSA P-256 certificate made
# at run time (never kept). nginx: Debian's, `ssl_session_cache shared:SSL:10m`, TLS 1.2-1.3 and
# the OpenSSL defaults, like lacquerd. With PIN=1 each server runs on CPU 0 and the clients (wrk,
# openssl s_time) on CPU 1; the origin is not pinned.
# Rows:
#   hit-1k, hit-16k   keep-alive TLS hits on one hot object, wrk -t1 -cCONNS (https), after a
#                     WARMUP run
#   full-hs           new TLS connections per second, one GET each: openssl s_time -new
#   resumed-hs        the same with the first session resumed: openssl s_time -reuse
# s_time is one client process: its handshake rows can be bound by the client's CPU (and say
# which server finishes a handshake sooner, not how many it can do at most). So the handshake
# rows also print the server's own CPU time per handshake (user+system of the process and its
# children, from /proc, over the row): the cost that sets the most handshakes/s a core can do.
# The hit rows print the server's CPU time per request the same way (us/req): on a busy machine
# it moves far less than req/s, which another process's load on CPU 0 takes from directly.
# ALLOCS=1 preloads perf/alloc_count.c into lacquerd and adds its heap allocations per request
# (hit rows) or per handshake (handshake rows): Lacquer's own code allocates none per hit, so
# what it counts is OpenSSL's.
#   perf/tls.sh [BUILD_DIR]    (default build/release; installs tools/install-deps.sh compare)
# Env: DURATION (5s) WARMUP (1s) CONNS (64) PIN (1) HS_TIME (5 seconds per handshake row)
#      ROWS ("hit-1k hit-16k full-hs resumed-hs": the rows to run, in that order) REPEAT (1:
#      runs of each hit row, one line each) ALLOCS (0)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-5s}
warmup=${WARMUP:-1s}
conns=${CONNS:-64}
pin=${PIN:-1}
hs_time=${HS_TIME:-5}
rows=" ${ROWS:-hit-1k hit-16k full-hs resumed-hs} "
repeat=${REPEAT:-1}
allocs=${ALLOCS:-0}
storage_mb=512
if [ "$pin" = 1 ] && [ "$(nproc)" -lt 2 ]; then echo "PIN=1 needs 2 CPUs (PIN=0 runs unpinned)" >&2; exit 64; fi
tools/install-deps.sh compare
targets=(lacquerd lacquer-demo-origin)
if [ "$allocs" = 1 ]; then targets+=(lacquer_alloc_count); fi
cmake --build "$build" --target "${targets[@]}" > /dev/null

tmp=$(mktemp -d -p /dev/shm 2> /dev/null || mktemp -d)
# shellcheck source=perf/lib.sh
source perf/lib.sh
# shellcheck source=perf/servers.sh
source perf/servers.sh # run_nginx, nginx_head, free_port, the wrk wrapper, stop_all on EXIT
client_pin=()
server_pin=()
if [ "$pin" = 1 ]; then client_pin=(taskset -c 1) server_pin=(taskset -c 0); fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2> /dev/null

start_origin 1
{
  cat <<YAML
workers: 1
listen:
  - address: 127.0.0.1:0
    tls: { certificate: $tmp/cert.pem, private_key: $tmp/key.pem }
log: { access: off }
origins:
  api:
    servers:
      - address: 127.0.0.1:$oport
YAML
  cache_routes "$storage_mb"
} > "$tmp/lacquer.yaml"
count_file=$tmp/allocs
lacquer_env=()
if [ "$allocs" = 1 ]; then
  lacquer_env=(LD_PRELOAD="$PWD/$build/alloc_count.so" ALLOC_COUNT_FILE="$count_file")
fi
start_lacquerd "$tmp/lacquer.yaml" "${lacquer_env[@]}"
if [ "$pin" = 1 ]; then taskset -a -p -c 0 "$lpid" > /dev/null; fi
servers_up+=("$lpid")

ndir=$tmp/nginx
mkdir -p "$ndir"
nport=$(free_port)
sport=$nport
{
  nginx_head "$ndir" 1
  cat <<NGINX
  proxy_cache_path $ndir/cache levels=1:2 keys_zone=api:32m max_size=${storage_mb}m inactive=10m use_temp_path=off;
  open_file_cache max=10000 inactive=60s;
  upstream origin { server 127.0.0.1:$oport; keepalive 64; }
  ssl_certificate $tmp/cert.pem;
  ssl_certificate_key $tmp/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:10m;
  server {
    listen 127.0.0.1:$nport ssl reuseport;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache api;
      proxy_cache_lock on;
    }
  }
}
NGINX
} > "$ndir/nginx.conf"
run_nginx "$ndir"
servers_up+=("$spid")

declare -A port=([lacquerd]=$lport [nginx]=$nport)
declare -A pid_of=([lacquerd]=$lpid [nginx]=$spid)
cpu_ticks() { # pid -> clock ticks of user+system CPU used by it and its children (nginx workers)
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2> /dev/null || echo 0)))
  done
  echo "$total"
}
allocations() { # server -> lacquerd's heap allocations so far (ALLOCS=1), or nothing
  if [ "$allocs" != 1 ] || [ "$1" != lacquerd ]; then return 0; fi
  rm -f "$count_file"
  kill -USR2 "$lpid"
  for _ in $(seq 100); do [ -s "$count_file" ] && break; sleep 0.02; done
  cat "$count_file"
}
per_event() { # allocations-before allocations-after events -> "  N allocs/EVENT" or nothing
  if [ -z "$1" ] || [ -z "$2" ] || [ "${3:-0}" = 0 ]; then return 0; fi
  awk -v a="$(($2 - $1))" -v n="$3" -v what="$4" 'BEGIN { printf "  %.2f allocs/%s", a / n, what }'
}
hz=$(getconf CLK_TCK)
printf '%-10s %-9s %10s %9s %9s %9s\n' row server req/s p50_ms p99_ms cpu_us/req
for size in 1024 16384; do
  path="/v3/hot?size=$size&cc=max-age%3D3600"
  row=hit-$((size / 1024))k
  case $rows in *" $row "*) ;; *) continue ;; esac
  for server in lacquerd nginx; do
    url="https://127.0.0.1:${port[$server]}$path"
    curl -skf -o /dev/null "$url" && curl -skf -o /dev/null "$url" # stored, then a hit
    duration=$warmup run_wrk "$url" > /dev/null
    for _ in $(seq "$repeat"); do
      before=$(cpu_ticks "${pid_of[$server]}")
      a0=$(allocations "$server")
      read -r rps p50 p99 n < <(run_wrk "$url")
      a1=$(allocations "$server")
      used=$(($(cpu_ticks "${pid_of[$server]}") - before))
      per=$(awk -v t="$used" -v n="${n:-0}" -v hz="$hz" \
        'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "NA" }')
      printf '%-10s %-9s %10s %9s %9s %9s%s\n' "$row" "$server" "$rps" "$p50" "$p99" "$per" \
        "$(per_event "$a0" "$a1" "$n" req)"
    done
  done
done
for mode in new reuse; do
  row=$([ "$mode" = new ] && echo full-hs || echo resumed-hs)
  case $rows in *" $row "*) ;; *) continue ;; esac
  for server in lacquerd nginx; do
    before=$(cpu_ticks "${pid_of[$server]}")
    a0=$(allocations "$server")
    t0=$(date +%s.%N)
    "${client_pin[@]}" openssl s_time -connect "127.0.0.1:${port[$server]}" -"$mode" \
      -time "$hs_time" -www "/v3/hot?size=1024&cc=max-age%3D3600" > "$tmp/s_time.out" 2>&1 || true
    t1=$(date +%s.%N)
    a1=$(allocations "$server")
    used=$(($(cpu_ticks "${pid_of[$server]}") - before))
    # s_time's own rate divides by whole seconds (time(2)): up to 20% off in a 5 s row. The
    # connections are divided by the wall time measured here instead.
    total=$(awk '/connections in [0-9]+ real seconds/ { print $1; exit }' "$tmp/s_time.out")
    n=$(awk -v n="${total:-0}" -v t0="$t0" -v t1="$t1" 'BEGIN { if (n > 0) printf "%.0f", n / (t1 - t0); else print "NA" }')
    per=$(awk -v t="$used" -v n="${total:-0}" -v hz="$hz" \
      'BEGIN { if (n > 0) printf "%.3f", t * 1000 / hz / n; else print "NA" }')
    printf '%-10s %-9s %10s %9s %9s %9s  server CPU %s ms/handshake%s\n' "$row" "$server" "$n" - - - \
      "$per" "$(per_event "$a0" "$a1" "${total:-0}" handshake)"
  done
done
