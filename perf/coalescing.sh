#!/usr/bin/env bash
# Coalescing under a miss storm: 200 clients ask one cold key at once through lacquerd (2
# workers) in front of a demo origin that takes 500 ms; prints the origin requests it cost and
# the clients' p50/p99 (perf/storm.py), after the same storm sent to the origin itself: the
# latency a waiter is compared with.  perf/coalescing.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
tools/install-deps.sh perf
tmp=$(mktemp -d)
source perf/lib.sh

start_origin 2
base_config "$tmp/lacquer.yaml" 2
start_lacquerd "$tmp/lacquer.yaml"
echo "origin direct (every client is an origin request):"
python3 perf/storm.py "$oport" "$oport" "${CLIENTS:-200}" "${DELAY_MS:-500}"
echo "through lacquerd:"
for round in 1 2 3; do
  python3 perf/storm.py "$lport" "$oport" "${CLIENTS:-200}" "${DELAY_MS:-500}"
done
