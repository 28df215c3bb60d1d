#pragma once
// W-TinyLFU's admission filter (storage.eviction: tinylfu; Einziger, Friedman and Manes, "TinyLFU:
// A Highly Efficient Cache Admission Policy", and Caffeine's FrequencySketch): a count-min sketch
// of 4-bit counters, sixteen to a 64-bit word, four rows. How often a hash was asked lately is
// the smallest of its four counters. As Caffeine's, a hash's four counters sit in one 64-byte
// block (two words a row), so a hit costs one cache line, not four. Every `sample` increments,
// every counter is halved (the "reset"), so the sketch forgets old popularity at the pace the
// cache turns over.
// Not thread-safe: a store shard owns one and uses it under its lock. Allocates only in resize().

#include <cstddef>
#include <cstdint>
#include <memory>

namespace lacquer::cache {

class FrequencySketch {
public:
    static constexpr std::uint32_t kMaxCount = 15; // a 4-bit counter saturates

    // `words` 64-bit words (rounded up to a power of two, 8 to 1 << 16), zeroed; the counts
    // are halved every 10 * words increments (about ten per object the shard may hold, as
    // Caffeine samples).
    void resize(std::size_t words);

    // Counts one request for `hash`. Writes at most four words, none when all four counters
    // are saturated; allocation-free.
    void increment(std::uint32_t hash);
    // Starts loading the block of `hash` into the cache. Safe without the owner's lock: it reads
    // only what resize() set, and writes nothing.
    void prefetch(std::uint32_t hash) const {
        if (table_ != nullptr) {
            __builtin_prefetch(&table_[static_cast<std::size_t>(spread(hash)) & block_mask_], 1);
        }
    }
    // Raises each of the counters of `hash` to at least `count` (saturating at kMaxCount): a
    // warm restart's estimate put back. Not counted as additions (it brings back counts that
    // the sketch had, not new requests). Allocation-free.
    void raise(std::uint32_t hash, std::uint32_t count);
    // The estimated count of `hash` since the last resets (0..15).
    std::uint32_t frequency(std::uint32_t hash) const;

    std::size_t bytes() const { return table_ == nullptr ? 0 : (block_mask_ + 1) * sizeof(Block); }
    std::uint64_t additions() const { return additions_; } // since the last reset, halved by it

private:
    // Where row `row`'s counter of `hash` is: the word, and the counter's bit offset in it.
    struct Cell {
        std::uint64_t* word;
        unsigned shift;
    };
    Cell cell(std::uint64_t spread, unsigned row) const;
    static std::uint32_t count(const Cell& c) {
        return static_cast<std::uint32_t>((*c.word >> c.shift) & 0xf);
    }
    static std::uint64_t spread(std::uint32_t hash);
    void reset();

    struct alignas(64) Block {
        std::uint64_t words[8];
    };
    std::unique_ptr<Block[]> table_;
    std::size_t block_mask_ = 0; // blocks - 1
    std::uint64_t additions_ = 0;
    std::uint64_t sample_ = 0;
};

} // namespace lacquer::cache
