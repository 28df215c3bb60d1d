#!/usr/bin/env bash
# Microbenchmarks of the request hot path (perf/bench/, Google Benchmark): head parsing, cache
# key with variants, store lookup, hit head assembly; each reports allocs_per_op, which should
# be 0 in steady state.
#   perf/micro.sh [BUILD_DIR]    (default build/release; extra flags: MICRO_ARGS="...")
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
tools/install-deps.sh perf
cmake --build "$build" --target lacquer_micro > /dev/null
# shellcheck disable=SC2086 # MICRO_ARGS is a list of flags
"$build/lacquer_micro" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  ${MICRO_ARGS:-}
