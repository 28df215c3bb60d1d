#include "lacquer/core/spare_blocks.h"

#include <array>
#include <new>

namespace lacquer::core {

namespace {

// A connection holds three blocks and a miss two, so 64 covers a few dozen of each per thread
// (2 MiB at 32 KiB) before blocks go back to the heap.
constexpr std::size_t kKept = 64;

struct Kept {
    char* block;
    std::size_t size;
};

// This thread's kept blocks. Trivially destructible, so a block given back while the thread is
// exiting (after t_releaser's destructor ran) still finds valid state, and is freed instead.
thread_local std::array<Kept, kKept> t_kept;
thread_local std::size_t t_count = 0;
thread_local bool t_closed = false;

// Frees the kept blocks when the thread exits.
struct Releaser {
    Releaser() = default;
    Releaser(const Releaser&) = delete;
    Releaser& operator=(const Releaser&) = delete;
    ~Releaser() {
        for (std::size_t i = 0; i < t_count; ++i) {
            ::operator delete[](t_kept[i].block);
        }
        t_count = 0;
        t_closed = true;
    }
};
thread_local Releaser t_releaser;

char* take_kept(std::size_t size) {
    for (std::size_t i = t_count; i > 0; --i) { // the latest first: warm in the cache
        if (t_kept[i - 1].size == size) {
            char* block = t_kept[i - 1].block;
            t_kept[i - 1] = t_kept[--t_count];
            return block;
        }
    }
    return nullptr;
}

bool keep(char* block, std::size_t size) {
    if (t_closed || t_count == kKept) {
        return false;
    }
    static_cast<void>(&t_releaser); // constructed on this thread's first keep
    t_kept[t_count++] = Kept{block, size};
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
    }
}

} // namespace lacquer::core
