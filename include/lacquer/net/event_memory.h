#pragma once
// libevent's heap memory (evbuffer chains above all: one per read and per queued write) comes
// from per-thread caches of power-of-two blocks instead of malloc, so that a steady stream of
// requests on a worker reuses the same blocks and allocates nothing. Blocks over 64 KiB, and
// what a full cache cannot keep, go back to malloc/free.

#include <cstdint>

namespace lacquer::net {

// Routes libevent's allocations through the caches. Must run before libevent allocates
// anything (Worker's constructor calls it); later calls do nothing. Sanitizer builds keep
// plain malloc so that every block stays checked on its own.
void install_event_memory();

// Blocks served from a cache since start, process-wide (for tests and benchmarks).
std::uint64_t event_memory_reuses();

} // namespace lacquer::net
