#include "lacquer/net/event_memory.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <event2/event.h>
#include <mutex>

namespace lacquer::net {

namespace {

// Classes are payloads of 256 B .. 64 KiB (powers of two); the header comes on top, so that
// libevent's power-of-two chains (a 16 KiB read chain) fill their class instead of spilling
// into the next one, twice as large.
constexpr std::size_t kMinShift = 8;
constexpr std::size_t kClasses = 9;
constexpr std::size_t kKeptPerClass = 64;
constexpr std::uint32_t kNoClass = 0xff;
// Keeps the payload 16-byte aligned, as malloc's would be.
struct alignas(16) BlockHeader {
    std::uint32_t size_class;
    std::uint32_t unused;
};
static_assert(sizeof(BlockHeader) == 16);

std::atomic<std::uint64_t> g_reuses{0};

std::size_t class_bytes(std::size_t c) {
    return std::size_t{1} << (kMinShift + c);
}

std::uint32_t class_for(std::size_t payload) {
    for (std::size_t c = 0; c < kClasses; ++c) {
        if (payload <= class_bytes(c)) {
            return static_cast<std::uint32_t>(c);
        }
    }
    return kNoClass;
}

// One thread's free blocks, singly linked through their payloads; freed at thread exit.
struct ThreadCache {
    std::array<void*, kClasses> head{};
    std::array<std::size_t, kClasses> count{};
    ~ThreadCache() {
        for (std::size_t c = 0; c < kClasses; ++c) {
            while (head[c] != nullptr) {
                void* block = head[c];
                std::memcpy(&head[c], static_cast<char*>(block) + sizeof(BlockHeader),
                            sizeof(void*));
                std::free(block);
            }
        }
    }
};
thread_local ThreadCache t_cache;

void* payload_of(void* block) {
    return static_cast<char*>(block) + sizeof(BlockHeader);
}
BlockHeader* header_of(void* payload) {
    return reinterpret_cast<BlockHeader*>(static_cast<char*>(payload) - sizeof(BlockHeader));
}

void* cached_malloc(std::size_t n) {
    const std::uint32_t c = class_for(n);
    void* block = nullptr;
    if (c != kNoClass && t_cache.head[c] != nullptr) {
        block = t_cache.head[c];
        std::memcpy(&t_cache.head[c], payload_of(block), sizeof(void*));
        --t_cache.count[c];
        g_reuses.fetch_add(1, std::memory_order_relaxed);
    } else {
        block = std::malloc((c != kNoClass ? class_bytes(c) : n) + sizeof(BlockHeader));
        if (block == nullptr) {
            return nullptr;
        }
    }
    static_cast<BlockHeader*>(block)->size_class = c;
    return payload_of(block);
}

void cached_free(void* p) {
    if (p == nullptr) {
        return;
    }
    BlockHeader* block = header_of(p);
    const std::uint32_t c = block->size_class;
    if (c == kNoClass || t_cache.count[c] >= kKeptPerClass) {
        std::free(block);
        return;
    }
    std::memcpy(p, &t_cache.head[c], sizeof(void*));
    t_cache.head[c] = block;
    ++t_cache.count[c];
}

void* cached_realloc(void* p, std::size_t n) {
    if (p == nullptr) {
        return cached_malloc(n);
    }
    const std::uint32_t c = header_of(p)->size_class;
    if (c != kNoClass) {
        const std::size_t capacity = class_bytes(c);
        if (n <= capacity) {
            return p;
        }
        void* grown = cached_malloc(n);
        if (grown != nullptr) {
            std::memcpy(grown, p, capacity);
            cached_free(p);
        }
        return grown;
    }
    void* moved = std::realloc(header_of(p), n + sizeof(BlockHeader));
    return moved == nullptr ? nullptr : payload_of(moved);
}

} // namespace

void install_event_memory() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return; // sanitizers see each libevent allocation on its own, overflows included
#endif
    static std::once_flag once;
    std::call_once(once,
                   [] { event_set_mem_functions(cached_malloc, cached_realloc, cached_free); });
}

std::uint64_t event_memory_reuses() {
    return g_reuses.load(std::memory_order_relaxed);
}

} // namespace lacquer::net
