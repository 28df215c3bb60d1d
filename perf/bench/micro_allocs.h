#pragma once
// Heap allocations in the lacquer_micro binary: micro_allocs.cc replaces the global operator
// new (every form: plain, array, nothrow, aligned), so a benchmark can report how many
// allocations one iteration of its hot path makes. malloc called directly (C libraries) is not
// counted; the paths measured here are C++ (llhttp, which is C, does not allocate).

#include <benchmark/benchmark.h>
#include <cstdint>

namespace lacquer::bench {

// Allocations made so far, by every thread.
std::uint64_t allocations();

// Sets the `allocs_per_op` counter from the allocations made since `before` (read just
// before the timed loop), averaged over the iterations of the run.
inline void report_allocs(benchmark::State& state, std::uint64_t before) {
    const std::uint64_t made = allocations() - before;
    state.counters["allocs_per_op"] =
        benchmark::Counter(static_cast<double>(made), benchmark::Counter::kAvgIterations);
}

} // namespace lacquer::bench
