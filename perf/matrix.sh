#!/usr/bin/env bash
# lacquerd, nginx and Varnish measured in the same run, interleaved, with ratios (issue 6).
# All servers run at once, each on its own loopback port in front of the same demo origin, with
# the configs of perf/compare.sh (perf/servers.sh), 1 worker each (lacquerd `workers: 1`, nginx
# `worker_processes 1`, varnishd `thread_pools=1`) and 512 MiB of cache each. With PIN=1 every
# server runs on CPU 0 and every client (wrk, curl, storm.py) on CPU 1; the origin is not pinned.
# A 4th server, nginx-return200, answers every GET with `return 200` from memory: the near-limit
# of an HTTP/1.1 server on this box, in the hit rows only (1 KiB, or 16 KiB for ?size=16384).
# Rows, each measured for every server in turn; repeat r runs every row, the server order
# rotated by r - 1; the table shows medians over the repeats:
#   hot-1k, hot-16k    hits on one hot object, wrk -t1 -cN for each N in CONNS
#   urls-1k, urls-16k  hits cycling over KEYS URLs (perf/urls.lua), the cache filled first
#   pass-1k            requests/s of /pass/*, which every server sends to the origin uncached
#   storm              perf/storm.py: STORM_CLIENTS clients at once on one cold key, 200 ms origin;
#                      also sent to the origin directly (origin-direct), the waiters' baseline
# PIN=0 is the shared-cores mode (a box that also runs other work): nothing is pinned and every
# server runs WORKERS workers (default `auto`: each server's default, lacquerd's `workers: auto`
# (one per usable CPU, as many taking connections as the load needs and the CPUs give:
# net/worker_governor.h), nginx's `worker_processes auto`, Varnish's default 2 thread pools),
# wrk on the same cores.
# Each wrk run follows a WARMUP run on the same URL(s). CPU per request: utime + stime of the
# server's process tree (/proc/PID/stat) across the measured run, divided by wrk's requests.
# Origin requests are those the demo origin received during the measured run.
# At the end, once, each cache on a fresh server: memory per stored object over OBJECTS 1 KiB
# objects (process-tree VmRSS, and Pss; for nginx also its cache directory in /dev/shm).
#   perf/matrix.sh [BUILD_DIR]    (default build/release; installs tools/install-deps.sh compare)
# Env: DURATION (4s) WARMUP (1s) REPEATS (3) CONNS ("16 64 256") SERVERS ("lacquerd nginx
#      varnish") PIN (1) REFERENCE (1: the nginx-return200 rows) KEYS (10000) OBJECTS (100000)
#      STORM_CLIENTS (200) PASS_CONNS (64) RAW (a file to keep the raw TSV in)
#      WORKERS (1 with PIN=1, auto with PIN=0)
#      ROWS ("hot urls pass storm memory": the row groups to run) SIZES ("1024 16384")
# A full run: 2 sizes x 2 URL sets x 3 conns x 4 servers x 3 repeats x ~6 s (wrk, warm-up, the
# reads around them) = ~15 minutes, plus fills, pass, storm and memory: about 17-18 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-4s}
warmup=${WARMUP:-1s}
repeats=${REPEATS:-3}
read -r -a conn_list <<< "${CONNS:-16 64 256}"
read -r -a caches <<< "${SERVERS:-lacquerd nginx varnish}"
pin=${PIN:-1}
if [ "$pin" = 1 ]; then workers=${WORKERS:-1}; else workers=${WORKERS:-auto}; fi
reference=${REFERENCE:-1}
keys=${KEYS:-10000}
objects=${OBJECTS:-100000}
storm_clients=${STORM_CLIENTS:-200}
pass_conns=${PASS_CONNS:-64}
read -r -a rows <<< "${ROWS:-hot urls pass storm memory}"
read -r -a sizes <<< "${SIZES:-1024 16384}"
want() { [[ " ${rows[*]} " == *" $1 "* ]]; } # is row group $1 asked for
storage_mb=512 # perf/servers.sh: lacquerd storage.memory, nginx max_size, varnish malloc
max_age=3600   # every cached URL carries cc=max-age%3D3600: nothing expires during the run
for kind in "${caches[@]}"; do
  case $kind in lacquerd | nginx | varnish) ;; *) echo "unknown server $kind" >&2; exit 64 ;; esac
done
if [ "$pin" = 1 ] && [ "$(nproc)" -lt 2 ]; then echo "PIN=1 needs 2 CPUs (PIN=0 runs unpinned)" >&2; exit 64; fi
tools/install-deps.sh compare
cmake --build "$build" --target lacquerd lacquer-demo-origin > /dev/null

started_at=$(date -u)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hz=$(getconf CLK_TCK)
# tmpfs when there is one: nginx's cache files and Varnish's shared-memory log live in $tmp.
tmp=$(mktemp -d -p /dev/shm 2> /dev/null || mktemp -d)
# shellcheck source=perf/lib.sh
source perf/lib.sh
# shellcheck source=perf/servers.sh
source perf/servers.sh # start_server, stop_servers, the EXIT trap, the wrk wrapper, origin counts
raw=$tmp/raw.tsv # repeat row conns server rps p50_ms p99_ms cpu_us_per_req origin requests note
: > "$raw"
export URL_KEYS=$keys URL_MAX_AGE=$max_age # perf/urls.lua
client_pin=()
if [ "$pin" = 1 ]; then client_pin=(taskset -c 1); fi

hit_servers=("${caches[@]}")
if [ "$reference" = 1 ]; then hit_servers+=(nginx-return200); fi

cpu_ticks() { # pid -> utime + stime (/proc/PID/stat fields 14 and 15) of its tree, in clock ticks
  local p files=()
  for p in $(tree "$1"); do files+=("/proc/$p/stat"); done
  { cat "${files[@]}" 2> /dev/null || true; } | awk '{ sub(/.*\) /, ""); s += $12 + $13 } END { print s + 0 }'
}
to_ms() { # a wrk latency (850.00us, 1.23ms, 1.02s) -> milliseconds
  awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u)
    f = u == "us" ? 0.001 : u == "ms" ? 1 : u == "s" ? 1000 : u == "m" ? 60000 : -1
    if (v == "" || f < 0) print "NA"; else printf "%.3f\n", (v + 0) * f }'
}
rotated() { # offset server... -> the servers, rotated left by offset
  local k=$1 i out=()
  shift
  for ((i = 0; i < $#; i++)); do out+=("${@:$(((i + k) % $# + 1)):1}"); done
  echo "${out[*]}"
}
record() { # the fields of one raw line
  local IFS=$'\t'
  echo "$*" >> "$raw"
}

declare -A port_of pid_of
measure() { # repeat row conns server path [wrk-script] -> one raw line
  local r=$1 row=$2 c=$3 kind=$4 url="http://127.0.0.1:${port_of[$4]}$5" script=${6:-}
  local rps="" p50="" p99="" n="" t0 t1 origin cpu=NA note
  echo "[${SECONDS}s] repeat $r/$repeats: $row -c$c $kind" >&2
  wrk_extra=()
  if [ -n "$script" ]; then wrk_extra=(-s "$script"); fi
  wrk -t1 -c"$c" -d"$warmup" "$url" > /dev/null 2>&1 || true
  origin_reset
  conns=$c # run_wrk (lib.sh) reads conns and duration
  t0=$(cpu_ticks "${pid_of[$kind]}")
  read -r rps p50 p99 n < <(run_wrk "$url") || true
  t1=$(cpu_ticks "${pid_of[$kind]}")
  origin=$(origin_requests)
  note=$(wrk_errors)
  wrk_extra=()
  if [ -z "$rps" ] || [ -z "$n" ] || [ "$n" = 0 ]; then
    echo "wrk failed against $kind:" >&2; cat "$tmp/wrk.out" >&2
    rps=NA n=0 note="wrk failed"
  else
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.3f", t * 1e6 / hz / n }')
  fi
  record "$r" "$row" "$c" "$kind" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$cpu" "$origin" "$n" "$note"
}
storm() { # repeat server -> one raw line; perf/storm.py resets the origin's counters itself
  local out ok origin p50 p99
  echo "[${SECONDS}s] repeat $1/$repeats: storm $2" >&2
  out=$(timeout 90 "${client_pin[@]}" python3 perf/storm.py "${port_of[$2]}" "$oport" "$storm_clients" 200 \
    2> "$tmp/storm.err") || true
  ok=$(grep -o '[0-9]*/[0-9]* answered' <<< "$out" | cut -d' ' -f1 || true)
  origin=$(grep -o 'origin requests [0-9]*' <<< "$out" | cut -d' ' -f3 || true)
  p50=$(grep -o 'p50 [0-9]* ms' <<< "$out" | cut -d' ' -f2 || true)
  p99=$(grep -o 'p99 [0-9]* ms' <<< "$out" | cut -d' ' -f2 || true)
  if [ -z "$ok" ] || [ -z "$origin" ]; then echo "storm.py against $2: $out" >&2; fi
  if [ -s "$tmp/storm.err" ]; then # a traceback per failed client: only the count and the first
    echo "storm.py against $2: $(grep -c 'Error' "$tmp/storm.err" || true) client errors, the first:" \
      "$(grep -m1 'Error' "$tmp/storm.err" || true)" >&2
  fi
  record "$1" storm "$storm_clients" "$2" NA "${p50:-NA}" "${p99:-NA}" NA "${origin:-NA}" "${ok%/*}" \
    "${ok:-?} answered 200"
}

label() { if [ "$1" = 1024 ]; then echo 1k; else echo 16k; fi; }
hot_path() { echo "/v3/hot?size=$1&cc=max-age%3D$max_age"; }
urls_glob() { echo "/v3/listings?id=[1-$keys]&size=$1&cc=max-age%3D$max_age"; } # = perf/urls.lua

start_origin 1
port_of[origin-direct]=$oport
for kind in "${hit_servers[@]}"; do
  echo "[${SECONDS}s] starting $kind" >&2
  start_server "$kind" "$workers"
  port_of[$kind]=$sport pid_of[$kind]=$spid
done

# The hot objects and the URL sets, stored once; max-age=3600 keeps them fresh for the whole run
# (a URL nginx drops after 10 minutes unused, `inactive=10m`, is stored again by the warm-up).
fills=""
for kind in "${caches[@]}"; do
  for size in "${sizes[@]}"; do
    curl -sf -m 10 -o /dev/null "http://127.0.0.1:${port_of[$kind]}$(hot_path "$size")"
    want urls || continue
    echo "[${SECONDS}s] filling $kind: $keys URLs of $size bytes" >&2
    read -r got origin < <(fill "${port_of[$kind]}" "$(urls_glob "$size")")
    fills+=$(printf '%-9s %5s B: %s/%s answered 200, %s origin requests' "$kind" "$size" "$got" "$keys" "$origin")$'\n'
  done
done

for ((r = 1; r <= repeats; r++)); do
  read -r -a order <<< "$(rotated $((r - 1)) "${hit_servers[@]}")"
  read -r -a cache_order <<< "$(rotated $((r - 1)) "${caches[@]}")"
  for size in "${sizes[@]}"; do
    want hot || break
    for c in "${conn_list[@]}"; do
      for kind in "${order[@]}"; do measure "$r" "hot-$(label "$size")" "$c" "$kind" "$(hot_path "$size")"; done
    done
  done
  for size in "${sizes[@]}"; do
    want urls || break
    export URL_SIZE=$size
    for c in "${conn_list[@]}"; do
      for kind in "${order[@]}"; do measure "$r" "urls-$(label "$size")" "$c" "$kind" / perf/urls.lua; done
    done
  done
  if want pass; then
    for kind in "${cache_order[@]}"; do measure "$r" pass-1k "$pass_conns" "$kind" "/pass/listings?size=1024"; done
  fi
  if want storm; then
    storm "$r" origin-direct # the same storm sent to the origin itself: what a waiter is compared with
    for kind in "${cache_order[@]}"; do storm "$r" "$kind"; done
  fi
done
if [ -n "${RAW:-}" ]; then cp "$raw" "$RAW"; fi

# Memory per stored object, once, on a fresh server each (the others stopped), so nothing else is
# in its cache: VmRSS (and Pss, which counts pages shared between processes once) of the process
# tree before and after OBJECTS distinct 1 KiB objects; then the first 1000 are asked again and
# every origin request that costs is an object the cache no longer had.
stop_servers
check=$((objects < 1000 ? objects : 1000))
mem=""
for kind in "${caches[@]}"; do
  want memory || break
  echo "[${SECONDS}s] memory: $kind, $objects objects of 1 KiB" >&2
  start_server "$kind" 1 mem
  curl -sf -m 10 -o /dev/null "http://127.0.0.1:$sport/v3/mem?id=0&size=1024&cc=max-age%3D$max_age"
  cache_dir="$tmp/$kind-1-mem/cache" disk0=0 disk1=0 blocks0=0 blocks1=0
  read -r rss0 pss0 < <(memory_kb "$spid")
  if [ "$kind" = nginx ]; then
    disk0=$(du -sb "$cache_dir" | cut -f1) blocks0=$(du -sk "$cache_dir" | cut -f1)
  fi
  read -r got origin < <(fill "$sport" "/v3/mem?id=[1-$objects]&size=1024&cc=max-age%3D$max_age")
  read -r rss1 pss1 < <(memory_kb "$spid")
  if [ "$kind" = nginx ]; then
    disk1=$(du -sb "$cache_dir" | cut -f1) blocks1=$(du -sk "$cache_dir" | cut -f1)
  fi
  read -r _ missing < <(fill "$sport" "/v3/mem?id=[1-$check]&size=1024&cc=max-age%3D$max_age")
  mem+=$(awk -v k="$kind" -v n="$objects" -v got="$got" -v o="$origin" -v r0="$rss0" -v r1="$rss1" \
    -v p0="$pss0" -v p1="$pss1" -v d0="$disk0" -v d1="$disk1" -v b0="$blocks0" -v b1="$blocks1" \
    -v miss="$missing" -v check="$check" 'BEGIN {
      disk = k == "nginx" ? sprintf("%9.0f %9.0f", (d1 - d0) / n, (b1 - b0) * 1024 / n) : sprintf("%9s %9s", "-", "-")
      printf "%-9s %7s/%-7s %8.0f %8.0f %8.0f %8.0f %s %7s/%s\n", k, got, n, r0 / 1024, r1 / 1024,
        (r1 - r0) * 1024 / n, (p1 - p0) * 1024 / n, disk, miss, check }')$'\n'
  stop_server
done

echo "date:     $started_at (started), $(date -u) (ended)"
echo "lacquerd: $("$build/lacquerd" --version 2>&1 | head -1)"
echo "varnishd: $(varnishd -V 2>&1 | head -1)"
echo "nginx:    $(nginx -v 2>&1)"
echo "wrk:      $("$wrk_bin" -v 2>&1 | head -1)"
echo "cpus: $(nproc), load average: $load_before (before), $(cut -d' ' -f1-3 /proc/loadavg) (after)," \
  "fd limit $(ulimit -n), run time ${SECONDS}s"
pinning="no pinning"
if [ "$pin" = 1 ]; then pinning="servers on CPU 0, clients on CPU 1"; fi
echo "$pinning, $workers worker(s) each," \
  "cache ${storage_mb} MiB each; wrk -t1 -d$duration after a $warmup warm-up; $repeats repeats," \
  "median [min-max] over them; ratios: lacquerd / that server"
echo "nginx-return200: return 200 from memory, 1 KiB body, 16 KiB for ?size=16384 (map \$arg_size)"
printf '\ncache fill (before the repeats):\n%s' "$fills"

python3 - "$raw" "${hit_servers[*]}" "$keys" "$storm_clients" <<'PY'
import statistics
import sys

raw, servers, keys, storm_clients = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
groups = {}  # (row, conns) -> server -> list of records, in the order they were first measured
for line in open(raw):
    r, row, conns, server, rps, p50, p99, cpu, origin, n, note = line.rstrip("\n").split("\t")
    groups.setdefault((row, int(conns)), {}).setdefault(server, []).append(
        {"rps": rps, "p50": p50, "p99": p99, "cpu": cpu, "origin": origin, "n": n, "note": note})


def values(recs, field):
    return [float(x[field]) for x in recs if x[field] not in ("NA", "")]


def median(recs, field):
    v = values(recs, field)
    return statistics.median(v) if v else None


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}"


titles = {
    "hot-1k": "hits, one hot 1 KiB object",
    "hot-16k": "hits, one hot 16 KiB object",
    "urls-1k": f"hits cycling over {keys} URLs of 1 KiB (perf/urls.lua), cache filled first",
    "urls-16k": f"hits cycling over {keys} URLs of 16 KiB (perf/urls.lua), cache filled first",
    "pass-1k": "pass-through, 1 KiB from the origin, never cached (/pass/*)",
}
for (row, conns), by_server in groups.items():
    order = [s for s in servers + ["origin-direct"] if s in by_server]
    if row == "storm":
        print(f"\n== coalescing: {storm_clients} clients at once on one cold key, the origin answers in 200 ms"
              " (origin-direct: the same clients sent to the origin itself, each an origin request)")
        print(f"{'server':<17} {'origin requests':>22} {'p50 ms':>8} {'p99 ms':>8}  answered 200")
        for s in order:
            recs = by_server[s]
            o = values(recs, "origin")
            spread = f"[{min(o):.0f}-{max(o):.0f}]" if o else ""
            answered = " ".join(x["note"].split()[0] for x in recs)
            print(f"{s:<17} {fmt(median(recs, 'origin'), '.0f'):>8} {spread:>13} "
                  f"{fmt(median(recs, 'p50'), '.0f'):>8} {fmt(median(recs, 'p99'), '.0f'):>8}  {answered}")
        continue
    print(f"\n== {titles.get(row, row)}: {conns} connections")
    print(f"{'server':<17} {'req/s':>9} {'[min-max]':>19} {'p50 ms':>8} {'p99 ms':>8} {'CPU us/req':>10} "
          f"{'origin':>7} {'lacq/x req/s':>12} {'lacq/x CPU':>10}  notes")
    lacq = by_server.get("lacquerd")
    lacq_rps = median(lacq, "rps") if lacq else None
    lacq_cpu = median(lacq, "cpu") if lacq else None
    for s in order:
        recs = by_server[s]
        rps = values(recs, "rps")
        spread = f"[{min(rps):.0f}-{max(rps):.0f}]" if rps else ""
        notes = "; ".join(sorted({x["note"] for x in recs if x["note"]}))
        print(f"{s:<17} {fmt(median(recs, 'rps'), '.0f'):>9} {spread:>19} {fmt(median(recs, 'p50'), '.3f'):>8} "
              f"{fmt(median(recs, 'p99'), '.3f'):>8} {fmt(median(recs, 'cpu'), '.2f'):>10} "
              f"{fmt(median(recs, 'origin'), '.0f'):>7} "
              f"{'' if s == 'lacquerd' else ratio(lacq_rps, median(recs, 'rps')):>12} "
              f"{'' if s == 'lacquerd' else ratio(lacq_cpu, median(recs, 'cpu')):>10}  {notes}")
PY

printf '\n== memory per stored object: %s distinct 1 KiB objects, each cache on a fresh server\n' "$objects"
printf '%-9s %15s %8s %8s %8s %8s %9s %9s %s\n' server stored "RSS0 MiB" "RSS1 MiB" "RSS B/o" \
  "Pss B/o" "disk B/o" "blocks" "re-read misses"
printf '%s' "$mem"
echo "(B/o: bytes per object; disk: nginx's cache directory, du -sb growth; blocks: du -s growth;"
echo " re-read misses: origin requests when the first $check objects are asked again, i.e. evicted)"
for log in "$tmp"/nginx*/error.log; do # nginx's own errors, if any (an EMFILE, a 502...)
  if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$log" 2> /dev/null; then
    echo "${log#"$tmp"/}: $(grep -c '\[\(error\|crit\|alert\|emerg\)\]' "$log") errors, the first:"
    grep -m1 '\[\(error\|crit\|alert\|emerg\)\]' "$log"
  fi
done
