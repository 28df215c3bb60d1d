#include "lacquer/cache/frequency_sketch.h"

#include <algorithm>
#include <bit>

namespace lacquer::cache {

namespace {
constexpr std::size_t kMaxWords = std::size_t{1} << 16; // a row's index takes 16 bits
constexpr std::uint64_t kSamplePerWord = 10;
// Every counter's low bit cleared after a shift right by one: halves sixteen counters at once.
constexpr std::uint64_t kHalfMask = 0x7777777777777777ULL;
} // namespace

void FrequencySketch::resize(std::size_t words) {
    const std::size_t n = std::bit_ceil(std::clamp<std::size_t>(words, 8, kMaxWords));
    table_ = std::make_unique<Block[]>(n / 8); // zeroed
    block_mask_ = n / 8 - 1;
    additions_ = 0;
    sample_ = kSamplePerWord * n;
}

std::uint64_t FrequencySketch::spread(std::uint32_t hash) {
    // The store's hashes are already xxh3, but a shard's share of them agrees in some bits
    // (those that picked the shard): a 64-bit finaliser (splitmix64's) spreads all 32 over 64.
    std::uint64_t x = hash + 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

FrequencySketch::Cell FrequencySketch::cell(std::uint64_t spread, unsigned row) const {
    // The block from the low 32 bits; row r's counter from byte r of the high ones: one bit
    // picks the row's word of its two (words 2r and 2r+1), four bits the counter in it.
    Block& block = table_[static_cast<std::size_t>(spread) & block_mask_];
    const auto byte = static_cast<unsigned>(spread >> (32 + 8 * row)) & 0xff;
    return {&block.words[2 * row + (byte & 1)], ((byte >> 1) & 15) * 4};
}

void FrequencySketch::increment(std::uint32_t hash) {
    if (table_ == nullptr) {
        return;
    }
    const std::uint64_t s = spread(hash);
    // Read all four counters first: when every one is saturated (a hot hash between resets)
    // the block is not written, so it stays clean and shared in the CPU's caches.
    Cell cells[4];
    std::uint64_t ones[4];
    std::uint64_t added = 0; // branch-free: the counters' values are random to the predictor
    for (unsigned row = 0; row < 4; ++row) {
        cells[row] = cell(s, row);
        ones[row] = static_cast<std::uint64_t>(count(cells[row]) < kMaxCount) << cells[row].shift;
        added |= ones[row];
    }
    if (added == 0) {
        return;
    }
    for (unsigned row = 0; row < 4; ++row) {
        *cells[row].word += ones[row];
    }
    if (++additions_ >= sample_) {
        reset();
    }
}

void FrequencySketch::raise(std::uint32_t hash, std::uint32_t count) {
    if (table_ == nullptr) {
        return;
    }
    const std::uint64_t s = spread(hash);
    const std::uint64_t want = std::min(count, kMaxCount);
    for (unsigned row = 0; row < 4; ++row) {
        const Cell c = cell(s, row);
        if (FrequencySketch::count(c) < want) {
            *c.word = (*c.word & ~(std::uint64_t{0xf} << c.shift)) | (want << c.shift);
        }
    }
}

std::uint32_t FrequencySketch::frequency(std::uint32_t hash) const {
    if (table_ == nullptr) {
        return 0;
    }
    const std::uint64_t s = spread(hash);
    std::uint32_t least = kMaxCount;
    for (unsigned row = 0; row < 4; ++row) {
        least = std::min(least, count(cell(s, row)));
    }
    return least;
}

void FrequencySketch::reset() {
    for (std::size_t b = 0; b <= block_mask_; ++b) {
        for (std::uint64_t& w : table_[b].words) {
            w = (w >> 1) & kHalfMask;
        }
    }
    additions_ /= 2;
}

} // namespace lacquer::cache
