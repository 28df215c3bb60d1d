# Shared by the load scripts in perf/: start the demo origin and lacquerd on port 0, run wrk,
# fill a cache, read a process tree's memory.
# Source it after setting `build` and `tmp`; every wait is bounded. `client_pin` (a command
# prefix such as `taskset -c 1`, default none) runs the fill's curl.

pids=()
client_pin=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
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

start_origin() { # threads -> sets oport
  "$build/lacquer-demo-origin" --listen 127.0.0.1:0 --threads "$1" > "$tmp/origin.out" 2>&1 &
  pids+=($!)
  oport=$(wait_line "$tmp/origin.out")
}

start_lacquerd() { # config-file [env assignments...] -> sets lport and lpid
  local config=$1; shift
  env "$@" "$build/lacquerd" --config "$config" > "$tmp/lacquer.out" 2>&1 &
  lpid=$!
  pids+=($lpid)
  lport=$(wait_line "$tmp/lacquer.out")
}

base_config() { # file workers -> a config with one listener on port 0 and the demo origin
  # ACCESS_LOG="/tmp/a.log, format: json" measures with the access log on (default off).
  cat > "$1" <<YAML
workers: $2
listen:
  - address: 127.0.0.1:0
log: { access: ${ACCESS_LOG:-off} }
origins:
  api:
    servers:
      - address: 127.0.0.1:$oport
YAML
}

cache_routes() { # storage-MiB -> the storage and routes of the caching lacquerd of perf/ (YAML)
  cat <<YAML
storage: { memory: ${1}MiB }
routes:
  - name: pass
    match: { path_prefix: /pass/ }
    origin: api
    pass: true
  - name: api
    match: { path_prefix: /v3/ }
    origin: api
    cache:
      key_params: all   # every param in the key (sorted) and sent on, as the others do
      ttl: 10m          # only when the origin gives no freshness; it sends max-age=60
YAML
}

origin_reset() { curl -sf -m 5 -X POST -o /dev/null "http://127.0.0.1:$oport/__reset"; }
origin_requests() {
  curl -sf -m 5 "http://127.0.0.1:$oport/__stats" | grep -o '"requests":[0-9]*' | head -1 | cut -d: -f2
}
fill() { # port path-with-curl-glob -> "answered-200 origin-requests"; at most 10 minutes
  local got
  origin_reset
  got=$(timeout 600 "${client_pin[@]}" curl -s --parallel --parallel-max 8 -m 10 -o /dev/null \
    -w '%{http_code}\n' "http://127.0.0.1:$1$2" 2> /dev/null | grep -c '^200$' || true)
  echo "${got:-0} $(origin_requests)"
}

tree() { # pid -> the pid and all its descendants, one a line
  ps -e -o pid=,ppid= | awk -v root="$1" '{ kids[$2] = kids[$2] " " $1 }
    END { q[1] = root; t = 1
          for (h = 1; h <= t; h++) { print q[h]; n = split(kids[q[h]], c, " "); for (i = 1; i <= n; i++) q[++t] = c[i] } }'
}
memory_kb() { # pid -> "VmRSS Pss" summed over its tree, in KiB
  local p rss=0 pss=0 r s
  for p in $(tree "$1"); do
    r=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2> /dev/null || true)
    s=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2> /dev/null || true)
    rss=$((rss + ${r:-0})) pss=$((pss + ${s:-0}))
  done
  echo "$rss $pss"
}

run_wrk() { # url [threads [more wrk arguments...]] -> "rps p50 p99 requests"
  wrk -t"${2:-1}" -c"$conns" -d"$duration" --latency "${@:3}" "$1" > "$tmp/wrk.out" 2>&1
  local rps p50 p99 n
  rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out")
  p50=$(awk '$1=="50%" {print $2}' "$tmp/wrk.out")
  p99=$(awk '$1=="99%" {print $2}' "$tmp/wrk.out")
  n=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
  if grep -q "Non-2xx\|Socket errors" "$tmp/wrk.out"; then
    grep "Non-2xx\|Socket errors" "$tmp/wrk.out" >&2
  fi
  echo "$rps $p50 $p99 $n"
}
