#include "lacquer/core/spare_blocks.h"

#include <cstring>
#include <gtest/gtest.h>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::core {
namespace {

TEST(SpareBlocks, AFreedBlockServesTheNextTakeOfItsSizeOnly) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no blocks";
    }
    char* first = take_block(32768);
    std::memset(first, 'x', 32768); // the whole size is usable
    give_block(first, 32768);
    char* other_size = take_block(26624);
    EXPECT_NE(other_size, first);
    char* again = take_block(32768);
    EXPECT_EQ(again, first);
    EXPECT_EQ(std::string_view(again, 16), std::string(16, 'x')); // untouched: never freed
    give_block(again, 32768);
    give_block(other_size, 26624);
}

TEST(SpareBlocks, AThreadKeepsUpTo256FreedBlocksForItsNextTakes) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no blocks";
    }
    release_spare_blocks();
    constexpr std::size_t kSize = 4096 + 16;
    std::set<char*> given;
    for (std::size_t i = 0; i < kKeptBlocks + 36; ++i) {
        char* b = take_block(kSize);
        std::memset(b, 'k', kSize);
        given.insert(b);
    }
    for (char* b : given) {
        give_block(b, kSize); // past kKeptBlocks they are freed, not kept
    }
    EXPECT_EQ(kept_block_bytes(), kKeptBlocks * kSize);
    EXPECT_EQ(block_bytes_freed(), 36 * kSize);
    std::vector<char*> again;
    for (std::size_t i = 0; i < kKeptBlocks; ++i) {
        again.push_back(take_block(kSize));
        // Kept, not freed and handed back by malloc, which writes its links into a free chunk.
        EXPECT_TRUE(given.contains(again.back())) << i;
        EXPECT_EQ(std::string_view(again.back(), 16), std::string(16, 'k')) << i;
    }
    for (char* b : again) {
        give_block(b, kSize);
    }
}

TEST(SpareBlocks, GivingNullIsHarmlessAndMakeBlockGivesBack) {
    give_block(nullptr, 64);
    char* raw = nullptr;
    {
        Block block = make_block(1000);
        raw = block.get();
        raw[999] = 'z';
    }
    Block next = make_block(1000);
    if (kKeepsBlocks) {
        EXPECT_EQ(next.get(), raw);
    }
}

TEST(SpareBlocks, KeepsNoMoreThanItsBytesAndNoHugeBlock) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no blocks";
    }
    release_spare_blocks();
    give_block(take_block(kLargestKeptBlock + 1), kLargestKeptBlock + 1); // a big request body
    EXPECT_EQ(kept_block_bytes(), 0u);
    EXPECT_EQ(block_bytes_freed(), kLargestKeptBlock + 1);
    std::vector<char*> blocks;
    for (std::size_t i = 0; i < kKeptBytes / kLargestKeptBlock + 2; ++i) {
        blocks.push_back(take_block(kLargestKeptBlock));
    }
    for (char* b : blocks) {
        give_block(b, kLargestKeptBlock);
    }
    EXPECT_EQ(kept_block_bytes(), kKeptBytes);
    EXPECT_EQ(release_spare_blocks(), kKeptBytes);
    EXPECT_EQ(kept_block_bytes(), 0u);
    EXPECT_EQ(block_bytes_freed(), 0u); // counted again from the release on
}

TEST(SpareBlocks, ReleasedBlocksAreFreedAndNotServedAgain) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no blocks";
    }
    release_spare_blocks();
    char* b = take_block(40000);
    give_block(b, 40000);
    EXPECT_EQ(kept_block_bytes(), 40000u);
    EXPECT_EQ(release_spare_blocks(), 40000u);
    char* fresh = take_block(40000); // malloc's; it may well be the same address
    EXPECT_EQ(kept_block_bytes(), 0u);
    give_block(fresh, 40000);
}

TEST(SpareArray, TakesItsBlockOnFirstUseAndGivesItBackOnRelease) {
    struct Pair {
        std::string_view a;
        std::string_view b;
    };
    SpareArray<Pair, 34> pairs;
    EXPECT_FALSE(pairs.holds_memory());
    EXPECT_EQ(pairs.size(), 34u);
    pairs[33] = Pair{"x", "y"};
    EXPECT_TRUE(pairs.holds_memory());
    EXPECT_EQ(pairs.data()[33].b, "y");
    Pair* first = pairs.data();
    pairs.release();
    EXPECT_FALSE(pairs.holds_memory());
    if (kKeepsBlocks) {
        EXPECT_EQ(pairs.data(), first); // the same spare block, from this thread's cache
    }
}

} // namespace
} // namespace lacquer::core
