#include "lacquer/core/spare_strings.h"

#include "lacquer/core/spare_blocks.h"

#include <algorithm>
#include <array>
#include <bit>
#include <new>

namespace lacquer::core {

namespace {

// The capacity of a string that has no buffer of its own (small-string storage).
const std::size_t kInlineCapacity = std::string().capacity();

// Kept buffers by size class: class c holds buffers of at least 2^c bytes (a buffer the pool
// made has exactly that; one made elsewhere joins the class below its capacity).
constexpr unsigned kSmallestClass = 5; // 32 bytes
constexpr unsigned kLargestClass = std::bit_width(kLargestKeptString) - 1;
constexpr std::size_t kClasses = kLargestClass - kSmallestClass + 1;
constexpr std::size_t kPerClass = kKeptStrings / 8; // a class may hold this share of the count

struct Class {
    std::array<std::string, kPerClass> strings;
    std::size_t count = 0;
};
struct Pool {
    std::array<Class, kClasses> classes;
    std::size_t count = 0;
    std::size_t bytes = 0;
};

// Made on the thread's first give; trivially destructible pointers and flags, so a string given
// back while the thread exits (after t_releaser's destructor ran) still finds valid state, and
// is freed instead.
thread_local Pool* t_pool = nullptr;
thread_local bool t_closed = false;

struct Releaser {
    Releaser() = default;
    Releaser(const Releaser&) = delete;
    Releaser& operator=(const Releaser&) = delete;
    ~Releaser() {
        delete t_pool;
        t_pool = nullptr;
        t_closed = true;
    }
};
thread_local Releaser t_releaser;

// The class a string of `size` bytes takes from (every buffer there holds it).
unsigned class_for(std::size_t size) {
    return std::max(kSmallestClass, static_cast<unsigned>(std::bit_width(size - 1)));
}

// Moves into `out` a kept buffer that holds `size` bytes: from the smallest class that
// guarantees it, or the next one up; false when neither has one.
bool take_kept(std::string& out, std::size_t size) {
    Pool* p = t_pool;
    if (p == nullptr || size == 0 || size > kLargestKeptString) {
        return false;
    }
    const unsigned first = class_for(size);
    for (unsigned c = first; c <= std::min(first + 1, kLargestClass); ++c) {
        Class& k = p->classes[c - kSmallestClass];
        if (k.count == 0) {
            continue;
        }
        std::string taken;
        taken.swap(k.strings[--k.count]);
        --p->count;
        p->bytes -= taken.capacity();
        give_string(out);
        out.swap(taken);
        return true;
    }
    return false;
}

// A new buffer for `size` bytes gets the next power of two: buffers come in few sizes, and one
// given back fits the next string of about its size (exact sizes left the pool full of buffers
// a byte or two too small for every later key).
void reserve_class(std::string& out, std::size_t size) {
    out.reserve(size <= kLargestKeptString ? std::size_t{1} << class_for(size) : size);
}

} // namespace

void give_string(std::string& s) noexcept {
    const std::size_t cap = s.capacity();
    if (!kKeepsBlocks || cap <= kInlineCapacity || cap < (std::size_t{1} << kSmallestClass) ||
        cap > kLargestKeptString || t_closed) {
        std::string().swap(s); // frees its buffer
        return;
    }
    if (t_pool == nullptr) {
        static_cast<void>(&t_releaser); // constructed on this thread's first keep
        t_pool = new (std::nothrow) Pool;
    }
    Pool* p = t_pool;
    if (p == nullptr || p->count == kKeptStrings || p->bytes + cap > kKeptStringBytes) {
        std::string().swap(s);
        return;
    }
    Class& k = p->classes[std::bit_width(cap) - 1 - kSmallestClass];
    if (k.count == kPerClass) {
        std::string().swap(s);
        return;
    }
    s.clear();
    k.strings[k.count++].swap(s);
    ++p->count;
    p->bytes += cap;
}

bool reuse_kept(std::string& out, std::size_t capacity) {
    out.clear();
    return out.capacity() >= capacity || (kKeepsBlocks && take_kept(out, capacity));
}

void clear_for(std::string& out, std::size_t capacity) {
    if (!reuse_kept(out, capacity)) {
        reserve_class(out, capacity);
    }
}

void assign_string(std::string& out, std::string_view content) {
    if (out.capacity() < content.size() && kKeepsBlocks && !take_kept(out, content.size())) {
        reserve_class(out, content.size());
    }
    out.assign(content);
}

std::size_t release_spare_strings() noexcept {
    Pool* p = t_pool;
    if (p == nullptr) {
        return 0;
    }
    const std::size_t kept = p->bytes;
    for (Class& k : p->classes) {
        for (std::size_t i = 0; i < k.count; ++i) {
            std::string().swap(k.strings[i]);
        }
        k.count = 0;
    }
    p->count = 0;
    p->bytes = 0;
    return kept;
}

std::size_t kept_string_bytes() noexcept {
    return t_pool != nullptr ? t_pool->bytes : 0;
}

} // namespace lacquer::core
