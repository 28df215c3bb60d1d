#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing (Debian packages
# only), builds, and runs every test. CI (.ci/run) runs exactly this.
#   tools/test.sh            format check, release build + all tests (the include-graph check is
#                            one of them), clang-tidy on the files changed since the last release
#                            (tools/tidy.py), the ASan/UBSan build + all tests, the TSan build +
#                            the concurrency tests, then a short run of every libFuzzer target
#                            (tools/fuzz.sh)
#   LACQUER_QUICK=1 tools/test.sh   release only (for a quick local run)
#   LACQUER_FUZZ_SECONDS=N   seconds per fuzz target (default 30)
#   LACQUER_TIDY_ARGS=--all  clang-tidy on the whole tree instead (slower: see tools/tidy.py)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh test

jobs=$(nproc)
# Each step's start, as minutes:seconds since the run began, so a slow step shows itself.
step() { printf '== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
run_preset() {
  local preset=$1
  step "$preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  step "$preset: test"
  ctest --preset "$preset" -j "$jobs"
}

step "format: clang-format --dry-run --Werror (.clang-format)"
find src include tests perf \( -name '*.cc' -o -name '*.h' -o -name '*.c' \) -not -path '*/corpus/*' \
  -print0 | xargs -0 clang-format --dry-run --Werror

run_preset release
if [ "${LACQUER_QUICK:-0}" != 1 ]; then
  # On the files changed since the merge base with the last release tag (v*), or since HEAD~20
  # while there is none, and on the sources that include a changed header. A whole-tree run
  # takes about 4 minutes of 2 cores; tools/tidy.py runs one when .clang-tidy changes.
  step "tidy: clang-tidy (.clang-tidy)"
  # shellcheck disable=SC2086 # LACQUER_TIDY_ARGS is a list of options
  tools/tidy.py --build build/release -j "$jobs" ${LACQUER_TIDY_ARGS:-}
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_preset asan-ubsan
  # TSan: lacquerd and the suites where threads meet (the store, the coalescer, posts between
  # workers, streaming to waiters, reload, metrics, purge, origin faults met by coalesced
  # clients, a manual clock read by workers while the test advances it, the origin pool's retry
  # budget and admission queue shared by workers, server health shared by the workers and the
  # probe loop, names re-resolved beside them, worker threads added and removed, the admin
  # listener rebound and the access log swapped by a reload, snapshot writes beside inserts, the
  # transaction log's rings and the access log's writer thread, lacquerctl --fleet's fan-out
  # threads, connections handed between workers), one test at a time: timing-bound tests stay meaningful.
  step "tsan: build"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$jobs" \
    --target lacquerd lacquer-demo-origin unit_core unit_cache unit_metrics unit_net \
    integration_cache integration_inproc unit_origin integration_origin_pool integration_pool \
    lacquerctl integration_reload unit_proxy integration_observe integration_fleet
  step "tsan: test"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --preset tsan -j 1 \
    -R '^(ManualClock|ObjectStore|Coalescer|BodyStream|Registry|WorkerPost|WorkerNow|Coalescing|WaiterStreaming|InProcessLacquer|CacheFreshness|CacheStaleIfError|StaleWhileRefresh|StaleIfError|Reload|AdminPurge|Metrics|Faults/OriginFault|Admission|RetryBudget|OriginFetchRetryTest|OriginRetry|OriginAdmission|OriginPool|ServerHealth|NameBook|OriginNames|LiveReload|ConnectionBalancer|ConnectionBalance|WorkersAuto|WorkerGovernor|WorkerGovernorReadings|Snapshot|WarmRestart|MetricsOnCall|RouteUsage|TransactionRing|TransactionLog|ObserveLog|AccessLog|AccessLogEndings|FleetCtl)\.'
  step "fuzz"
  tools/fuzz.sh "${LACQUER_FUZZ_SECONDS:-30}"
fi
step "all test runs passed"
