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
    const std::size_t n = std::bit_ceil(std::clamp<std::size_t>(words, 1, kMaxWords));
    table_ = std::make_unique<std::uint64_t[]>(n); // zeroed
    mask_ = n - 1;
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
    // Row r's word from bits 16r..16r+15; its counter is one of the four (r, r+4, r+8, r+12)
    // the row owns in that word, chosen by two more bits, so the rows never share a counter.
    const std::size_t word = static_cast<std::size_t>(spread >> (16 * row)) & mask_;
    const auto pick = static_cast<unsigned>((spread * 0x2545F4914F6CDD1DULL) >> (62 - 2 * row)) & 3;
    return {word, (pick * 4 + row) * 4};
}

void FrequencySketch::increment(std::uint32_t hash) {
    if (table_ == nullptr) {
        return;
    }
    const std::uint64_t s = spread(hash);
    bool added = false;
    for (unsigned row = 0; row < 4; ++row) {
        const Cell c = cell(s, row);
        std::uint64_t& word = table_[c.word];
        if (((word >> c.shift) & 0xf) < kMaxCount) {
            word += std::uint64_t{1} << c.shift;
            added = true;
        }
    }
    if (added && ++additions_ >= sample_) {
        reset();
    }
}

std::uint32_t FrequencySketch::frequency(std::uint32_t hash) const {
    if (table_ == nullptr) {
        return 0;
    }
    const std::uint64_t s = spread(hash);
    std::uint32_t least = kMaxCount;
    for (unsigned row = 0; row < 4; ++row) {
        const Cell c = cell(s, row);
        least = std::min(least, static_cast<std::uint32_t>((table_[c.word] >> c.shift) & 0xf));
    }
    return least;
}

void FrequencySketch::reset() {
    for (std::size_t i = 0; i <= mask_; ++i) {
        table_[i] = (table_[i] >> 1) & kHalfMask;
    }
    additions_ /= 2;
}

} // namespace lacquer::cache
