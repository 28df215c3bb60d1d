#include "lacquer/core/spare_blocks.h"

#include <array>
#include <new>

namespace lacquer::core {

namespace {

struct Kept {
    char* block;
    std::size_t size;
};

// This thread's kept blocks. Trivially destructible, so a block given back while the thread is
// exiting (after t_releaser's destructor ran) still finds valid state, and is freed instead.
thread_local std::array<Kept, kKeptBlocks> t_kept;
thread_local std::size_t t_count = 0;
thread_local std::size_t t_bytes = 0;
thread_local std::size_t t_freed = 0;
thread_local bool t_closed = false;

// Frees the kept blocks when the thread exits.
struct Releaser {
    Releaser() = default;
    Releaser(const Releaser&) = delete;
    Releaser& operator=(const Releaser&) = delete;
    ~Releaser() {
        release_spare_blocks();
        t_closed = true;
    }
};
thread_local Releaser t_releaser;

char* take_kept(std::size_t size) {
    for (std::size_t i = t_count; i > 0; --i) { // the latest first: warm in the cache
        if (t_kept[i - 1].size == size) {
            char* block = t_kept[i - 1].block;
            t_kept[i - 1] = t_kept[--t_count];
            t_bytes -= size;
            return block;
        }
    }
    return nullptr;
}

bool keep(char* block, std::size_t size) {
    if (t_closed || t_count == kKeptBlocks || size > kLargestKeptBlock ||
        t_bytes + size > kKeptBytes) {
        return false;
    }
    static_cast<void>(&t_releaser); // constructed on this thread's first keep
    t_kept[t_count++] = Kept{block, size};
    t_bytes += size;
    return true;
}

} // namespace

char* take_block(std::size_t size) {
    if (kKeepsBlocks) {
        if (char* block = take_kept(size)) {
            return block;
        }
    }
    return static_cast<char*>(::operator new[](size));
}

void give_block(char* block, std::size_t size) noexcept {
    if (block == nullptr) {
        return;
    }
    if (!kKeepsBlocks || !keep(block, size)) {
        ::operator delete[](block);
        t_freed += size;
    }
}

std::size_t release_spare_blocks() noexcept {
    const std::size_t bytes = t_bytes;
    for (std::size_t i = 0; i < t_count; ++i) {
        ::operator delete[](t_kept[i].block);
    }
    t_count = 0;
    t_bytes = 0;
    t_freed = 0;
    return bytes;
}

std::size_t kept_block_bytes() noexcept {
    return t_bytes;
}

std::size_t block_bytes_freed() noexcept {
    return t_freed;
}

} // namespace lacquer::core
