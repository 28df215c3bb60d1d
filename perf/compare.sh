#!/usr/bin/env bash
# lacquerd beside Varnish and nginx, each a caching reverse proxy in front of the same demo origin,
# each configured as its best-practice user would (see the configs below). Scenarios:
#  1. hits on one hot 1 KiB object, 2. hits on a 64 KiB object (wrk -t1 -cCONNS after a warm-up);
#  3. a miss storm (perf/storm.py): STORM_CLIENTS clients ask for one cold key at the same moment,
#     the origin takes 200 ms; the origin request count shows whether the server coalesced;
#  4. a Zipf mix over 10000 keys (perf/zipf.lua), from a cold cache.
# Origin requests are counted by the demo origin itself (POST /__reset before, GET /__stats after).
#   perf/compare.sh [BUILD_DIR]    (default build/release; installs tools/install-deps.sh compare)
# Env: DURATION (8s) WARMUP (2s) CONNS (64) STORM_CLIENTS (200) WORKERS ("1 2") PIN (1)
#      SERVERS ("lacquerd nginx varnish") ORIGIN_THREADS (1)
# Equal footing: every server runs with 1 and then 2 workers (lacquerd `workers`, nginx
# `worker_processes`, varnishd `thread_pools`), access logs off, on 127.0.0.1. Varnish has no
# one-thread mode (a thread per connection), so with PIN=1 the 1-worker runs pin every server to
# CPU 0 and the load generator to CPU 1: each gets one core. The 2-worker runs are not pinned and
# share both cores with wrk, as a real 2-core box would. The origin is never pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-8s}
warmup=${WARMUP:-2s}
conns=${CONNS:-64}
storm_clients=${STORM_CLIENTS:-200}
pin=${PIN:-1}
read -r -a worker_counts <<< "${WORKERS:-1 2}"
read -r -a servers <<< "${SERVERS:-lacquerd nginx varnish}"
tools/install-deps.sh compare
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null

# tmpfs when there is one: nginx's cache files and Varnish's shared-memory log live in $tmp.
tmp=$(mktemp -d -p /dev/shm 2> /dev/null || mktemp -d)
# shellcheck source=perf/lib.sh
source perf/lib.sh

# Stop the packages' own services if their postinst started them (they would take CPU; their
# ports :80/:6081 are not ours). Other nginx/varnishd processes are only reported, never killed.
for service in nginx varnish; do
  if systemctl is-active --quiet "$service" 2> /dev/null; then
    echo "note: stopping the system $service service for this benchmark (systemctl stop $service)" >&2
    systemctl stop "$service"
  fi
done
others=$( { pgrep -x nginx; pgrep -x varnishd; } | paste -sd' ' || true)
if [ -n "$others" ]; then echo "warning: other nginx/varnishd processes are running: $others" >&2; fi

spid=""
stop_pid() { # pid -> TERM, up to 10 s to exit, then KILL
  kill -TERM "$1" 2> /dev/null || return 0
  for _ in $(seq 200); do kill -0 "$1" 2> /dev/null || break; sleep 0.05; done
  kill -KILL "$1" 2> /dev/null || true
  wait "$1" 2> /dev/null || true
}
stop_server() { if [ -n "$spid" ]; then stop_pid "$spid"; spid=""; fi; }
stop_all() {
  stop_server
  for p in "${pids[@]}"; do stop_pid "$p"; done
  cleanup # lib.sh: its `wait` now finds nothing left to wait for
}
trap stop_all EXIT

# A free port from the kernel, for the servers that cannot print the port they bound to port 0.
# Racy: another process may take it before the server binds; the server then fails to start.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # port pid log -> 0 once the port accepts connections; bounded (10 s)
  for _ in $(seq 200); do
    kill -0 "$2" 2> /dev/null || { echo "server exited:" >&2; cat "$3" >&2; return 1; }
    if (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listening on port $1 after 10 s:" >&2; cat "$3" >&2; return 1
}

start_server() { # kind workers -> sets spid and sport
  local kind=$1 w=$2 dir="$tmp/$1-$2"
  local server_pin=()
  if [ "$pin" = 1 ] && [ "$w" = 1 ]; then server_pin=(taskset -c 0); fi
  mkdir -p "$dir"
  case $kind in
  lacquerd)
    base_config "$dir/lacquer.yaml" "$w" # log: { access: off }
    cat >> "$dir/lacquer.yaml" <<YAML
storage: { memory: 256MiB }
routes:
  - name: api
    match: { path_prefix: /v3/ }
    origin: api
    cache:
      key_params: all   # every param in the key (sorted) and sent on, as the others do
      ttl: 10m          # only when the origin gives no freshness; it sends max-age=60
YAML
    start_lacquerd "$dir/lacquer.yaml"
    spid=$lpid sport=$lport
    if [ ${#server_pin[@]} -gt 0 ]; then taskset -a -p -c 0 "$spid" > /dev/null; fi
    ;;
  nginx)
    sport=$(free_port)
    local user=""
    if [ "$(id -u)" -eq 0 ]; then user="user root;"; fi # workers must write the 0700 $tmp
    # keepalive_requests: nginx closes a client connection after 1000 requests by default, the
    # others never do. proxy_cache_lock: coalescing, off by default (waiters poll every 500 ms).
    # use_stale updating + background_update: the stale-while-refresh that lacquerd and Varnish
    # (grace) do by default. open_file_cache: hits skip open()/fstat() of the cache file.
    # reuseport: one listening socket per worker, as lacquerd has. No tcp_nopush (Debian's own
    # nginx.conf sets it): with it, 64 KiB hits here wait ~40 ms each on a delayed ACK.
    cat > "$dir/nginx.conf" <<NGINX
$user
worker_processes $w;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  proxy_cache_path $dir/cache levels=1:2 keys_zone=api:32m max_size=256m inactive=10m use_temp_path=off;
  open_file_cache max=20000 inactive=60s;
  upstream origin { server 127.0.0.1:$oport; keepalive 64; }
  server {
    listen 127.0.0.1:$sport reuseport;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache api;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_cache_use_stale updating error timeout http_500 http_502 http_503 http_504;
      proxy_cache_background_update on;
    }
  }
}
NGINX
    "${server_pin[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -e stderr -g 'daemon off;' \
      > "$dir/out" 2>&1 &
    spid=$!
    wait_port "$sport" "$spid" "$dir/out"
    ;;
  varnish)
    sport=$(free_port)
    # The builtin VCL does the rest (Cookie/Authorization pass, TTL from Cache-Control, 10 s
    # grace). Sorting the query is the usual advice for APIs and what lacquerd's key does.
    cat > "$dir/default.vcl" <<VCL
vcl 4.1;
import std;
backend origin { .host = "127.0.0.1"; .port = "$oport"; }
sub vcl_recv { set req.url = std.querysort(req.url); }
VCL
    # -j none: run as the invoking user (the default jail would need $tmp readable by vcache).
    # No varnishncsa runs, so there is no access log; the shared-memory log is always on.
    "${server_pin[@]}" varnishd -F -j none -n "$dir/varnish" -a "127.0.0.1:$sport" \
      -f "$dir/default.vcl" -s malloc,256m -p thread_pools="$w" > "$dir/out" 2>&1 &
    spid=$!
    wait_port "$sport" "$spid" "$dir/out"
    ;;
  esac
}

# run_wrk (lib.sh) calls `wrk`: this adds the CPU pin of the load generator and wrk_extra.
wrk_bin=$(type -P wrk)
client_pin=()
wrk_extra=()
wrk() { "${client_pin[@]}" "$wrk_bin" "$@" "${wrk_extra[@]}"; }
wrk_errors() { grep -o 'Non-2xx[^0-9]*[0-9]*\|Socket errors.*' "$tmp/wrk.out" | tr -s ' ' | paste -sd' ' || true; }
origin_reset() { curl -sf -m 5 -X POST -o /dev/null "http://127.0.0.1:$oport/__reset"; }
origin_requests() {
  curl -sf -m 5 "http://127.0.0.1:$oport/__stats" | grep -o '"requests":[0-9]*' | head -1 | cut -d: -f2
}

declare -A rows
row() { # table server rps p50 p99 origin note
  rows[$1]+=$(printf '%-34s %10s %10s %10s %8s  %s' "$2" "$3" "$4" "$5" "$6" "$7")$'\n'
}

hits() { # table path server-label
  local url="http://127.0.0.1:$sport$2" rps p50 p99
  curl -sf -m 10 -o /dev/null "$url" # the miss that stores the object
  wrk -t1 -c"$conns" -d"$warmup" "$url" > /dev/null
  origin_reset
  read -r rps p50 p99 _ < <(run_wrk "$url")
  row "$1" "$3" "$rps" "$p50" "$p99" "$(origin_requests)" "$(wrk_errors)"
}

storm() { # server-label. perf/storm.py (shared with perf/coalescing.sh) picks a fresh key,
  # resets the origin's counters and prints one sentence; its fields are read back here.
  local out ok origin p50 p99 max
  out=$(timeout 90 "${client_pin[@]}" python3 perf/storm.py "$sport" "$oport" "$storm_clients" 200)
  ok=$(grep -o '[0-9]*/[0-9]* answered' <<< "$out" | cut -d' ' -f1)
  origin=$(grep -o 'origin requests [0-9]*' <<< "$out" | cut -d' ' -f3)
  p50=$(grep -o 'p50 [0-9]* ms' <<< "$out" | cut -d' ' -f2)
  p99=$(grep -o 'p99 [0-9]* ms' <<< "$out" | cut -d' ' -f2)
  max=$(grep -o 'max [0-9]* ms' <<< "$out" | cut -d' ' -f2)
  if [ -z "$ok" ] || [ -z "$origin" ] || [ -z "$max" ]; then echo "storm.py: $out" >&2; return 1; fi
  row storm "$1" "$(awk -v n="${ok%/*}" -v t="$max" 'BEGIN { printf "%.0f", 1000 * n / t }')" \
    "${p50}ms" "${p99}ms" "$origin" "$ok answered 200, the last after ${max} ms"
}

zipf() { # server-label; cold cache for these keys
  local rps p50 p99 n origin
  origin_reset
  wrk_extra=(-s perf/zipf.lua)
  read -r rps p50 p99 n < <(run_wrk "http://127.0.0.1:$sport/")
  wrk_extra=()
  origin=$(origin_requests)
  row zipf "$1" "$rps" "$p50" "$p99" "$origin" \
    "$(awk -v o="$origin" -v n="$n" 'BEGIN { printf "hit ratio %.1f%% of %d", 100 * (1 - o / n), n }') $(wrk_errors)"
}

start_origin "${ORIGIN_THREADS:-1}"
for kind in "${servers[@]}"; do
  for w in "${worker_counts[@]}"; do
    case $kind in
    lacquerd) label="lacquerd workers=$w" ;;
    nginx) label="nginx worker_processes=$w" ;;
    varnish) label="varnishd thread_pools=$w" ;;
    *) echo "unknown server $kind" >&2; exit 64 ;;
    esac
    client_pin=()
    if [ "$pin" = 1 ] && [ "$w" = 1 ]; then client_pin=(taskset -c 1); label+=" (pinned)"; fi
    echo "running: $label" >&2
    start_server "$kind" "$w"
    hits hits1k '/v3/listings?limit=5&size=1024' "$label"
    hits hits64k '/v3/listings?limit=5&size=65536' "$label"
    storm "$label"
    zipf "$label"
    stop_server
  done
done

echo "lacquerd: $("$build/lacquerd" --version 2>&1 | head -1)"
echo "varnishd: $(varnishd -V 2>&1 | head -1)"
echo "nginx:    $(nginx -v 2>&1)"
echo "wrk:      $("$wrk_bin" -v 2>&1 | head -1)"
echo "cpus: $(nproc), load average: $(cut -d' ' -f1-3 /proc/loadavg), pinned 1-worker runs: $pin"
header() {
  printf '\n== %s\n%-34s %10s %10s %10s %8s  %s\n' "$1" server req/s p50 p99 origin note
}
header "1. hits, one hot 1 KiB object: wrk -t1 -c$conns -d$duration after a $warmup warm-up"
printf '%s' "${rows[hits1k]}"
header "2. hits, one hot 64 KiB object: wrk -t1 -c$conns -d$duration after a $warmup warm-up"
printf '%s' "${rows[hits64k]}"
header "3. miss storm: $storm_clients clients at once on one cold key, origin answers in 200 ms"
printf '%s' "${rows[storm]}"
header "4. Zipf mix (s=${ZIPF_S:-1.0}) over ${ZIPF_KEYS:-10000} keys of 1 KiB from a cold cache: wrk -t1 -c$conns -d$duration"
printf '%s' "${rows[zipf]}"
