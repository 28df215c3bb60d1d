#!/usr/bin/env bash
# Soak: DURATION seconds of mixed traffic (perf/soak.py: 50 keep-alive clients; hits over 50,000
# keys of 1-16 KiB, so the working set is several times the storage budget; misses, pass, POSTs,
# variants, conditionals) with faults: origin 500/502/503, origin slower than first_byte_timeout,
# origin cutting bodies short / resetting / sending garbage / stalling (a faulty origin in
# soak.py), clients hanging up mid-response, malformed requests, slow and stalled heads.
# Prints every INTERVAL s lacquerd's RSS, its fds, requests so far and errors by kind; at the end
# the outcomes, then PASS/FAIL for: peak RSS <= storage budget + OVERHEAD, fds at rest after the
# run == fds at rest after the warm-up (+-FD_TOLERANCE), every outcome as its kind expects,
# lacquerd alive, and a final request answered. Exits 1 on any FAIL. Not run in CI.
#   perf/soak.sh [BUILD_DIR]   (DURATION=600 WORKERS=2 MEMORY=64MiB OVERHEAD=64MiB CLIENTS=50
#                               INTERVAL=30 WARMUP=15 FD_TOLERANCE=2)
# "At rest" = no client connected and the idle origin connections gone (lacquerd closes them
# after 30 s), so both fd counts wait up to 60 s for that.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
duration=${DURATION:-600}
workers=${WORKERS:-2}
memory=${MEMORY:-64MiB}
overhead=${OVERHEAD:-64MiB}
clients=${CLIENTS:-50}
interval=${INTERVAL:-30}
warmup=${WARMUP:-15}
fd_tolerance=${FD_TOLERANCE:-2}
tools/install-deps.sh perf
for bin in lacquerd lacquer-demo-origin; do
  [ -x "$build/$bin" ] || { echo "missing $build/$bin: build it first" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"

bytes() { # 64MiB -> 67108864
  local n=${1%%[!0-9]*} unit=${1##*[0-9]}
  case "$unit" in
    B|"") echo "$n" ;; KiB) echo $((n << 10)) ;; MiB) echo $((n << 20)) ;; GiB) echo $((n << 30)) ;;
    *) echo "bad size: $1 (want B, KiB, MiB or GiB)" >&2; return 1 ;;
  esac
}
budget=$(bytes "$memory")
overhead_bytes=$(bytes "$overhead")

tmp=$(mktemp -d)
source perf/lib.sh

start_origin 2
python3 perf/soak.py origin > "$tmp/faulty.out" 2>&1 &
pids+=($!)
fport=$(wait_line "$tmp/faulty.out")

base_config "$tmp/lacquer.yaml" "$workers"
cat >> "$tmp/lacquer.yaml" <<YAML
    first_byte_timeout: 2s
  faulty:
    servers:
      - address: 127.0.0.1:$fport
    first_byte_timeout: 2s
    between_bytes_timeout: 2s
admin:
  address: 127.0.0.1:0
limits:
  client_header_timeout: 5s
storage:
  memory: $memory
variants:
  locale:
    sources: [query:locale, cookie:locale, header:Accept-Language]
    values: [en-US, en-GB, de-DE, fr-FR, ja-JP]
    default: en-US
    forward_header: X-Locale
  currency:
    sources: [query:currency, cookie:currency, header:X-Currency]
    values: [USD, EUR, GBP, JPY]
    default: USD
    forward_header: X-Currency
routes:
  - name: items
    match: { path_prefix: /v3/items }
    cache: { key_params: [size], ttl: 10m }
  - name: localized
    match: { path_prefix: /v3/localized }
    cache: { key_params: [size], variants: [locale, currency], forward_headers: [Accept], ttl: 10m }
  - name: tagged
    match: { path_prefix: /v3/tagged }
    cache: { key_params: [size, etag], ttl: 10m }
  - name: faults
    match: { path_prefix: /v3/faults }
    cache: { key_params: all, ttl: 10m }
  - name: broken
    match: { path_prefix: /v3/broken }
    origin: faulty
    cache: { key_params: all, ttl: 10m }
  - name: users
    match: { path_prefix: /v3/users, methods: [GET, HEAD, POST] }
    pass: true
YAML
start_lacquerd "$tmp/lacquer.yaml"
aport=$(for _ in $(seq 100); do
  grep -m1 -o 'admin listening on [^ ]*' "$tmp/lacquer.out" && break; sleep 0.05
done | sed 's/.*://')
if [ -z "$aport" ]; then
  echo "no 'admin listening on' line in lacquerd's output" >&2; cat "$tmp/lacquer.out" >&2; exit 1
fi

fail=0
alive() { grep -q VmRSS "/proc/$lpid/status" 2>/dev/null; } # a zombie has no VmRSS
at_rest() { # label -> sets fds and connected, prints one line
  local waited
  read -r _ fds _ _ _ connected _ waited < <(python3 perf/soak.py settle "$lpid" 60)
  echo "$1, at rest (waited ${waited}s, $connected connections left): fds $fds," \
       "RSS $(awk '/VmRSS/ {print $2, $3}' "/proc/$lpid/status")"
}
gone() {
  echo "check fds at rest: FAIL (lacquerd is gone)"
  echo "check lacquerd (pid $lpid) still alive: FAIL"
  echo "check a final request: FAIL (lacquerd is gone)"
  echo "lacquerd said (last 20 lines):"; tail -n 20 "$tmp/lacquer.out"
  echo "soak: FAIL"
  exit 1
}
echo "lacquerd pid $lpid, $workers workers, storage $memory; origin :$oport," \
     "faulty origin :$fport; $clients clients, ${duration}s, $(nproc) CPUs" \
     "(load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
python3 perf/soak.py run "$lport" "$lpid" "$warmup" --clients "$clients" --admin "$aport" \
  --budget "$budget" --overhead "$overhead_bytes" --quiet || fail=1
alive || gone
at_rest "after warm-up"
fds_start=$fds
echo
python3 perf/soak.py run "$lport" "$lpid" "$duration" --clients "$clients" --interval "$interval" \
  --admin "$aport" --budget "$budget" --overhead "$overhead_bytes" || fail=1
alive || gone

at_rest "after the run"
diff=$((fds - fds_start))
verdict=PASS
if [ "${diff#-}" -gt "$fd_tolerance" ] || [ "$connected" -ne 0 ]; then verdict=FAIL; fail=1; fi
echo "check fds at rest: $fds_start after warm-up, $fds at the end (difference $diff," \
     "tolerance $fd_tolerance, $connected connections left): $verdict"
echo "check lacquerd (pid $lpid) still alive: PASS"
url="http://127.0.0.1:$lport/v3/items/final?size=1024"
code=$(curl -s -m 10 -o "$tmp/final.body" -w '%{http_code}' "$url" || true)
size=$(stat -c %s "$tmp/final.body" 2>/dev/null || echo 0)
verdict=PASS
if [ "$code" != 200 ] || [ "$size" != 1024 ]; then verdict=FAIL; fail=1; fi
echo "check a final request ($url): HTTP $code, $size bytes: $verdict"
if [ -s "$tmp/lacquer.out" ] && [ "$(wc -l < "$tmp/lacquer.out")" -gt 2 ]; then
  echo; echo "lacquerd said (last 20 lines):"; tail -n 20 "$tmp/lacquer.out"
fi
if [ "$fail" -eq 0 ]; then echo "soak: PASS"; else echo "soak: FAIL"; fi
exit "$fail"
