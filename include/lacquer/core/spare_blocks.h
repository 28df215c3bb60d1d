#pragma once
// Large working buffers (a head parser's storage, a connection's key buffer: tens of KiB each)
// come from a per-thread cache of freed blocks of the same size instead of malloc. A miss then
// allocates none of them, and, above all, the heap never gets them back to carve into the
// stored objects that are allocated meanwhile: each freed 32 KiB parser buffer used to become
// 24 objects of 1,328 bytes and a 912-byte hole nothing else fits (perf/memory.sh). Sanitizer
// builds use plain new/delete so that every block stays checked on its own.

#include <cstddef>
#include <memory>

namespace lacquer::core {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kKeepsBlocks = false; // sanitizers check each block on its own
#else
inline constexpr bool kKeepsBlocks = true;
#endif

// A block of exactly `size` bytes (uninitialised): a kept one of that size, else a new one.
char* take_block(std::size_t size);
// Keeps `block` (from take_block(size)) for this thread's next take_block(size), up to a bound
// per thread; frees what does not fit.
void give_block(char* block, std::size_t size) noexcept;

struct BlockDeleter {
    std::size_t size = 0;
    void operator()(char* block) const noexcept { give_block(block, size); }
};
using Block = std::unique_ptr<char[], BlockDeleter>;
inline Block make_block(std::size_t size) {
    return Block(take_block(size), BlockDeleter{size});
}

} // namespace lacquer::core
