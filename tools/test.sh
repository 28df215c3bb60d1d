#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing (Debian packages
# only), builds, and runs every test. CI (.ci/run) runs exactly this.
#   tools/test.sh            release build + all tests, then the sanitizer build + all tests, then
#                            a short run of every libFuzzer target (tools/fuzz.sh)
#   LACQUER_QUICK=1 tools/test.sh   release only (for a quick local run)
#   LACQUER_FUZZ_SECONDS=N   seconds per fuzz target (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh test

jobs=$(nproc)
run_preset() {
  local preset=$1
  echo "== $preset: build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: test"
  ctest --preset "$preset" -j "$jobs"
}

run_preset release
if [ "${LACQUER_QUICK:-0}" != 1 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_preset asan-ubsan
  tools/fuzz.sh "${LACQUER_FUZZ_SECONDS:-15}"
fi
echo "== all test runs passed"
