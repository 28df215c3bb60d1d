#pragma once
// Large working buffers (a head parser's storage, a request's key buffer: tens of KiB each)
// come from a per-thread cache of freed blocks of the same size instead of malloc. A request
// then allocates none of them, and, above all, the heap never gets them back to carve into the
// stored objects that are allocated meanwhile: each freed 32 KiB parser buffer used to become
// 24 objects of 1,328 bytes and a 912-byte hole nothing else fits (perf/memory.sh).
// Connections take their blocks when a request starts and give them back when it ends, so the
// cache is bounded (count and bytes) and a worker that has gone quiet empties it
// (release_spare_blocks): after a wave of connections the blocks go back to the heap, and from
// there to the system (net/memory_trim.h). Sanitizer builds use plain new/delete so that every
// block stays checked on its own.

#include "lacquer/core/sanitizers.h"

#include <cstddef>
#include <memory>
#include <type_traits>

namespace lacquer::core {

#if defined(LACQUER_ASAN) || defined(LACQUER_TSAN)
inline constexpr bool kKeepsBlocks = false; // sanitizers check each block on its own
#else
inline constexpr bool kKeepsBlocks = true;
#endif

// What one thread keeps at most: blocks, bytes, and the largest block kept.
inline constexpr std::size_t kKeptBlocks = 256;
inline constexpr std::size_t kKeptBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kLargestKeptBlock = 1024 * 1024;

// A block of exactly `size` bytes (uninitialised): a kept one of that size, else a new one.
char* take_block(std::size_t size);
// Keeps `block` (from take_block(size)) for this thread's next take_block(size), within the
// bounds above; frees what does not fit.
void give_block(char* block, std::size_t size) noexcept;

// Frees every block this thread keeps; returns their bytes.
std::size_t release_spare_blocks() noexcept;
// The bytes of the blocks this thread keeps.
std::size_t kept_block_bytes() noexcept;
// The bytes of the blocks this thread gave back and could not keep (freed) since its last
// release_spare_blocks().
std::size_t block_bytes_freed() noexcept;

struct BlockDeleter {
    std::size_t size = 0;
    void operator()(char* block) const noexcept { give_block(block, size); }
};
using Block = std::unique_ptr<char[], BlockDeleter>;
inline Block make_block(std::size_t size) {
    return Block(take_block(size), BlockDeleter{size});
}

// N values of T in a spare block taken on first use and given back by release(): per-request
// room that an idle connection does not hold. The values start unset (write before reading);
// T needs no construction beyond that and no destruction (string_views, plain structs).
template <typename T, std::size_t N> class SpareArray {
public:
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

    static constexpr std::size_t size() { return N; }
    T* data() {
        if (!block_) {
            block_ = make_block(sizeof(T) * N);
        }
        return reinterpret_cast<T*>(block_.get());
    }
    T& operator[](std::size_t i) { return data()[i]; }
    void release() { block_.reset(); }
    bool holds_memory() const { return block_ != nullptr; }

private:
    Block block_;
};

} // namespace lacquer::core
