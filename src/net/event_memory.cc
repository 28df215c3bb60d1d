#include "lacquer/net/event_memory.h"

#include "lacquer/core/sanitizers.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <event2/event.h>
#include <mutex>

namespace lacquer::net {

namespace {

// Cached classes: payloads of 16 B steps up to 256 B, then powers of two up to 64 KiB. The
// header comes on top, so that libevent's power-of-two chains (a 16 KiB read chain) fill their
// class instead of spilling into the next one, twice as large.
constexpr std::size_t kStep = 16;
constexpr std::size_t kStepClasses = 16; // 16 .. 256
constexpr std::size_t kPowerShift = 9;   // 512 ..
constexpr std::size_t kPowerClasses = 8; // .. 64 KiB
constexpr std::size_t kClasses = kStepClasses + kPowerClasses;
constexpr std::size_t kKeptPerClass = 64;
constexpr std::size_t kKeptBytes = 8 * 1024 * 1024; // a thread's cache, headers included
// Payloads up to this size come from the slabs (a class per step).
constexpr std::size_t kSlabMax = 32;
constexpr std::size_t kSlabClasses = kSlabMax / kStep;
constexpr std::size_t kSlabBytes = 64 * 1024;
constexpr std::uint32_t kSlabClassBase = 0x100;
constexpr std::uint32_t kNoClass = 0xff;
// Keeps the payload 16-byte aligned, as malloc's would be.
struct alignas(16) BlockHeader {
    std::uint32_t size_class;
    std::uint32_t unused;
};
static_assert(sizeof(BlockHeader) == 16);

std::atomic<std::uint64_t> g_reuses{0};

std::size_t class_bytes(std::size_t c) {
    return c < kStepClasses ? (c + 1) * kStep : std::size_t{1} << (kPowerShift + c - kStepClasses);
}

std::uint32_t class_for(std::size_t payload) {
    if (payload <= kStepClasses * kStep) {
        return static_cast<std::uint32_t>(payload == 0 ? 0 : (payload - 1) / kStep);
    }
    for (std::size_t c = kStepClasses; c < kClasses; ++c) {
        if (payload <= class_bytes(c)) {
            return static_cast<std::uint32_t>(c);
        }
    }
    return kNoClass;
}

void* payload_of(void* block) {
    return static_cast<char*>(block) + sizeof(BlockHeader);
}
BlockHeader* header_of(void* payload) {
    return reinterpret_cast<BlockHeader*>(static_cast<char*>(payload) - sizeof(BlockHeader));
}
void* next_of(void* block) {
    void* next = nullptr;
    std::memcpy(&next, payload_of(block), sizeof next);
    return next;
}
void set_next(void* block, void* next) {
    std::memcpy(payload_of(block), &next, sizeof next);
}

// One thread's free blocks, singly linked through their payloads; freed at thread exit.
struct ThreadCache {
    std::array<void*, kClasses> head{};
    std::array<std::size_t, kClasses> count{};
    std::size_t bytes = 0;
    std::size_t freed = 0; // bytes of cached classes freed since the last release()

    std::size_t release() {
        const std::size_t released = bytes;
        freed = 0;
        for (std::size_t c = 0; c < kClasses; ++c) {
            while (head[c] != nullptr) {
                void* block = head[c];
                head[c] = next_of(block);
                std::free(block);
            }
            count[c] = 0;
        }
        bytes = 0;
        return released;
    }
    ~ThreadCache() { release(); }
};
thread_local ThreadCache t_cache;

// The slabs: process-wide, never given back (what lives in them lives as long as an event loop,
// and there is one record per fd number a loop has seen). Taken rarely, so a lock is fine.
struct Slabs {
    std::mutex mutex;
    std::array<void*, kSlabClasses> free{}; // guarded by mutex
    char* next = nullptr;                   // guarded by mutex
    char* end = nullptr;                    // guarded by mutex
};
Slabs& slabs() {
    static Slabs* s = new Slabs; // never destroyed: blocks may be freed during exit
    return *s;
}

void* slab_malloc(std::size_t c) {
    const std::size_t size = sizeof(BlockHeader) + (c + 1) * kStep;
    Slabs& s = slabs();
    std::lock_guard<std::mutex> lock(s.mutex);
    void* block = s.free[c];
    if (block != nullptr) {
        s.free[c] = next_of(block);
    } else {
        if (s.next == nullptr || static_cast<std::size_t>(s.end - s.next) < size) {
            s.next = static_cast<char*>(std::malloc(kSlabBytes)); // the rest of the last is lost
            if (s.next == nullptr) {
                return nullptr;
            }
            s.end = s.next + kSlabBytes;
        }
        block = s.next;
        s.next += size;
    }
    static_cast<BlockHeader*>(block)->size_class = kSlabClassBase + static_cast<std::uint32_t>(c);
    return payload_of(block);
}

void slab_free(BlockHeader* block, std::size_t c) {
    Slabs& s = slabs();
    std::lock_guard<std::mutex> lock(s.mutex);
    set_next(block, s.free[c]);
    s.free[c] = block;
}

void* cached_malloc(std::size_t n) {
    if (n <= kSlabMax) {
        return slab_malloc(n == 0 ? 0 : (n - 1) / kStep);
    }
    const std::uint32_t c = class_for(n);
    void* block = nullptr;
    if (c != kNoClass && t_cache.head[c] != nullptr) {
        block = t_cache.head[c];
        t_cache.head[c] = next_of(block);
        --t_cache.count[c];
        t_cache.bytes -= sizeof(BlockHeader) + class_bytes(c);
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
    if (c >= kSlabClassBase) {
        slab_free(block, c - kSlabClassBase);
        return;
    }
    const std::size_t size = c == kNoClass ? 0 : sizeof(BlockHeader) + class_bytes(c);
    if (c == kNoClass || t_cache.count[c] >= kKeptPerClass || t_cache.bytes + size > kKeptBytes) {
        std::free(block);
        t_cache.freed += size;
        return;
    }
    set_next(block, t_cache.head[c]);
    t_cache.head[c] = block;
    ++t_cache.count[c];
    t_cache.bytes += size;
}

void* cached_realloc(void* p, std::size_t n) {
    if (p == nullptr) {
        return cached_malloc(n);
    }
    const std::uint32_t c = header_of(p)->size_class;
    if (c != kNoClass) {
        const std::size_t capacity =
            c >= kSlabClassBase ? (c - kSlabClassBase + 1) * kStep : class_bytes(c);
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
#if defined(LACQUER_ASAN) || defined(LACQUER_TSAN)
    return; // sanitizers see each libevent allocation on its own, overflows included
#endif
    static std::once_flag once;
    std::call_once(once,
                   [] { event_set_mem_functions(cached_malloc, cached_realloc, cached_free); });
}

std::uint64_t event_memory_reuses() {
    return g_reuses.load(std::memory_order_relaxed);
}

std::size_t release_event_memory() {
    return t_cache.release();
}

std::size_t kept_event_memory() {
    return t_cache.bytes;
}

std::size_t event_memory_freed() {
    return t_cache.freed;
}

} // namespace lacquer::net
