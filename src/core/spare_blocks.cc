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

class ThreadBlocks {
public:
    ThreadBlocks() = default;
    ThreadBlocks(const ThreadBlocks&) = delete;
    ThreadBlocks& operator=(const ThreadBlocks&) = delete;
    ~ThreadBlocks() {
        for (std::size_t i = 0; i < count_; ++i) {
            ::operator delete[](kept_[i].block);
        }
    }

    char* take(std::size_t size) {
        for (std::size_t i = count_; i > 0; --i) { // the latest first: warm in the cache
            if (kept_[i - 1].size == size) {
                char* block = kept_[i - 1].block;
                kept_[i - 1] = kept_[--count_];
                return block;
            }
        }
        return nullptr;
    }

    bool keep(char* block, std::size_t size) {
        if (count_ == kKept) {
            return false;
        }
        kept_[count_++] = Kept{block, size};
        return true;
    }

private:
    std::array<Kept, kKept> kept_{};
    std::size_t count_ = 0;
};

thread_local ThreadBlocks t_blocks;

} // namespace

char* take_block(std::size_t size) {
    if (kKeepsBlocks) {
        if (char* block = t_blocks.take(size)) {
            return block;
        }
    }
    return static_cast<char*>(::operator new[](size));
}

void give_block(char* block, std::size_t size) noexcept {
    if (block == nullptr) {
        return;
    }
    if (!kKeepsBlocks || !t_blocks.keep(block, size)) {
        ::operator delete[](block);
    }
}

} // namespace lacquer::core
