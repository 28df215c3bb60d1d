#pragma once
// Giving memory back to the system after a wave of connections or requests. A connection takes
// its request buffers when a request starts and gives them back when it ends, to per-thread
// caches (core/spare_blocks.h, event_memory.h) that are bounded; what they cannot keep goes to
// free(), and glibc keeps that too: a freed chunk inside the heap stays resident until
// malloc_trim() returns its pages. So each worker watches its connections (how many are open,
// the most it had since it last gave memory back) and the bytes its caches could not keep, and
// once a wave is over it empties its caches and calls malloc_trim(0), which hands every free
// page of every arena back (madvise). That costs a walk of the heap's free lists and page
// faults when the memory is used again, so it runs only after a large drop, kTrimDelay after
// the drop was seen, never on the steady path.
// Thread: a worker's; give_memory_back() on any thread (it empties that thread's caches).

#include "lacquer/core/clock.h"

#include <cstddef>
#include <cstdint>

namespace lacquer::net {

struct TrimWatch {
    std::size_t connections = 0; // open now on the worker
    std::size_t peak = 0;        // the most open since memory was last given back
    std::size_t freed_bytes = 0; // what the caches freed (could not keep) since then
};

// A wave is over when at least kTrimDrop connections have closed since the peak and at most
// half of the peak are left, or when the caches have freed kTrimFreedBytes (a burst of
// requests that ended on connections that stay open).
inline constexpr std::size_t kTrimDrop = 128;
inline constexpr std::size_t kTrimFreedBytes = 16 * 1024 * 1024;
// How long after that memory is given back, so that the rest of the wave ends first.
inline constexpr core::Millis kTrimDelay{1000};
// A worker also looks every kQuietCheck: if its loop ran at most kQuietTurns times since the
// last look and its caches hold or have freed anything, it gives that back too (the caches of a
// busy spell end up in the system once the worker has gone quiet, whatever its connections do).
inline constexpr core::Millis kQuietCheck{5000};
inline constexpr std::uint64_t kQuietTurns = 4;

// Pure: whether `watch` says a wave is over.
bool wave_over(const TrimWatch& watch);
// Pure: whether a worker whose loop ran `turns` times in the last kQuietCheck, and whose caches
// hold `cached` bytes and freed `freed` bytes since memory was last given back, has gone quiet
// with something to give back.
bool quiet_with_memory(std::uint64_t turns, std::size_t cached, std::size_t freed);

// This thread's cached blocks (spare blocks, libevent's), then every free page of the heap, go
// back to the system. Returns the bytes the caches held.
std::size_t give_memory_back();

// The bytes this thread's caches keep, and the bytes they freed since their last
// give_memory_back().
std::size_t cache_bytes_kept();
std::size_t cache_bytes_freed();

} // namespace lacquer::net
