#!/usr/bin/env bash
# lacquerd beside Varnish and nginx, each a caching reverse proxy in front of the same demo origin,
# each configured as its best-practice user would (the configs are in perf/servers.sh). Scenarios:
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
# shellcheck source=perf/servers.sh
source perf/servers.sh # start_server, stop_server, the EXIT trap, the wrk wrapper, origin counts

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
