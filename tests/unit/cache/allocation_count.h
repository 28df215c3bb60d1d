#pragma once
// Every global operator new of the unit_cache binary counts here (cache_key_test.cc replaces
// it), so a test can assert that a code path allocates nothing (STYLE.md §E).
#include <atomic>
#include <cstddef>

namespace lacquer::test {
extern std::atomic<std::size_t> g_allocations;
} // namespace lacquer::test
