#!/usr/bin/env bash
# Short libFuzzer runs of every target in tests/fuzz/ (preset `fuzz`: the clang ASan + UBSan tree
# of preset `asan-ubsan`, which builds the targets too, so after tools/test.sh's sanitizer step
# there is nothing left to compile).
# Each target first replays every input of tests/fuzz/corpus/<target>/ one by one, then fuzzes
# for the given time from a scratch copy of that corpus, so a run never writes
# into the repo; up to $(nproc) targets run at once. Any crash, leak, timeout or sanitizer report
# fails the run; the failing input is kept in build/fuzz-findings/<target>/ (reproduce with
# `build/asan-ubsan/tests/fuzz/fuzz_<target> FILE`).
#   tools/fuzz.sh [seconds-per-target]                   (default 30)
#   LACQUER_FUZZ_TARGETS="chunked head_parser" tools/fuzz.sh 60
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [seconds-per-target]" >&2; exit 64; }
tools/install-deps.sh fuzz

jobs=$(nproc)
echo "== fuzz: build"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target lacquer_fuzz -j "$jobs"

targets=()
if [ -n "${LACQUER_FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<<"$LACQUER_FUZZ_TARGETS"
else
  for src in tests/fuzz/*.cc; do
    targets+=("$(basename "$src" .cc)")
  done
fi

bin=build/asan-ubsan/tests/fuzz
findings=build/fuzz-findings
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# run_one TARGET: fuzz it for $seconds on a copy of its corpus; the log goes to $scratch.
run_one() {
  local t=$1
  local corpus=$scratch/corpus/$t
  rm -rf "${findings:?}/$t"
  mkdir -p "$corpus" "$findings/$t"
  if [ -d "tests/fuzz/corpus/$t" ]; then
    cp -R "tests/fuzz/corpus/$t/." "$corpus/"
  fi
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
  # Replay: every input in the tree once, on its own (a regression seed fails here by name).
  local seeds=("tests/fuzz/corpus/$t"/*)
  [ -e "${seeds[0]}" ] || seeds=()
  if [ ${#seeds[@]} -gt 0 ]; then
    "$bin/fuzz_$t" -runs=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/$t/" \
      "${seeds[@]}" >"$scratch/$t.replay.log" 2>&1 || { cat "$scratch/$t.replay.log"; return 1; }
  fi
  echo "${#seeds[@]}" >"$scratch/$t.seeds"
  "$bin/fuzz_$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/$t/" >"$scratch/$t.log" 2>&1
}

echo "== fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
declare -A pid_of=()
for t in "${targets[@]}"; do
  if [ ! -x "$bin/fuzz_$t" ]; then
    echo "fuzz_$t was not built" >&2
    exit 1
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_one "$t" &
  pid_of[$t]=$!
done

failed=()
for t in "${targets[@]}"; do
  if wait "${pid_of[$t]}"; then
    # The last status line: "#N DONE cov: C ft: F corp: K/Sb lim: L exec/s: E rss: R".
    echo "fuzz_$t: replayed $(cat "$scratch/$t.seeds") seeds; $(grep -E '^#[0-9]+[[:space:]]+DONE' "$scratch/$t.log" | tail -1 |
                     sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/runs: \1 /')"
  else
    failed+=("$t")
    echo "fuzz_$t: FAILED" >&2
    tail -n 60 "$scratch/$t.log" >&2
    ls -l "$findings/$t/" >&2
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "== fuzz: failed: ${failed[*]} (inputs in $findings/)" >&2
  exit 1
fi
echo "== fuzz: all ${#targets[@]} targets ran ${seconds}s without a finding"
