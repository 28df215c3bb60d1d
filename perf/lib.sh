# Shared by the load scripts in perf/: start the demo origin and lacquerd on port 0, run wrk.
# Source it after setting `build` and `tmp`; every wait is bounded.

pids=()
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
  cat > "$1" <<YAML
workers: $2
listen:
  - address: 127.0.0.1:0
log: { access: off }
origins:
  api:
    servers:
      - address: 127.0.0.1:$oport
YAML
}

run_wrk() { # url [threads] -> "rps p50 p99 requests"
  wrk -t"${2:-1}" -c"$conns" -d"$duration" --latency "$1" > "$tmp/wrk.out" 2>&1
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
