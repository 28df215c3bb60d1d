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

TEST(SpareBlocks, AThreadKeepsUpTo64FreedBlocksForItsNextTakes) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no blocks";
    }
    constexpr std::size_t kSize = 4096 + 16;
    std::set<char*> given;
    for (int i = 0; i < 100; ++i) {
        char* b = take_block(kSize);
        std::memset(b, 'k', kSize);
        given.insert(b);
    }
    for (char* b : given) {
        give_block(b, kSize); // past 64 they are freed, not kept
    }
    std::vector<char*> again;
    for (int i = 0; i < 64; ++i) {
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

} // namespace
} // namespace lacquer::core
