#!/usr/bin/env bash
# Hit ratio of the store's eviction policies (S3-FIFO, W-TinyLFU, CLOCK) on synthetic request streams:
# Zipf 0.6-1.2, Zipf with one-hit wonders, a loop over every key, a scan burst; budgets of 1%,
# 10% and 30% of each stream's working set (perf/sim/store_sim.cc says how). No sockets: the
# store alone, as lacquerd's fills and lookups use it.
#   perf/store_sim.sh [BUILD_DIR] [REQUESTS]    (default build/release, 400000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target lacquer_store_sim > /dev/null
"$build/lacquer_store_sim" "${2:-400000}"
