#pragma once
// libevent's heap memory (evbuffer chains above all: one per read and per queued write) comes
// from per-thread caches of blocks in size classes instead of malloc, so that a steady stream of
// requests on a worker reuses the same blocks and allocates nothing. Classes go by 16 bytes up to
// 256 (events, evbuffers, reference chains) and by powers of two up to 64 KiB (data chains).
// Blocks over 64 KiB, and what a full cache cannot keep (64 a class, 1 MiB a thread), go back to
// malloc/free; a worker that has gone quiet empties its cache (release_event_memory).
// The smallest blocks (at most 32 bytes: libevent's per-fd records, which live as long as the
// event loop) come from slabs of their own instead, so that they do not sit one in each page of
// the memory that connections take and give back, and keep it from the system.

#include <cstddef>
#include <cstdint>

namespace lacquer::net {

// Routes libevent's allocations through the caches. Must run before libevent allocates
// anything (Worker's constructor calls it); later calls do nothing. Sanitizer builds keep
// plain malloc so that every block stays checked on its own.
void install_event_memory();

// Blocks served from a cache since start, process-wide (for tests and benchmarks).
std::uint64_t event_memory_reuses();

// Frees every block this thread's cache keeps; returns their bytes (headers included).
std::size_t release_event_memory();
// The bytes this thread's cache keeps.
std::size_t kept_event_memory();
// The bytes of the cached classes this thread freed (could not keep) since its last
// release_event_memory().
std::size_t event_memory_freed();

} // namespace lacquer::net
