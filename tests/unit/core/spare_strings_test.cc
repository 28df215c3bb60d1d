#include "lacquer/core/spare_blocks.h"
#include "lacquer/core/spare_strings.h"

#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::core {
namespace {

TEST(SpareStrings, AGivenBufferServesTheNextStringThatFitsIt) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no buffers";
    }
    release_spare_strings();
    std::string first;
    assign_string(first, std::string(300, 'a'));
    const char* buffer = first.data();
    give_string(first);
    EXPECT_TRUE(first.empty());
    EXPECT_GE(kept_string_bytes(), 300U);

    std::string too_big;
    assign_string(too_big, std::string(600, 'b')); // the kept buffer (512) does not fit it
    EXPECT_NE(too_big.data(), buffer);
    std::string fits;
    assign_string(fits, std::string(200, 'c'));
    EXPECT_EQ(fits.data(), buffer); // reused, not allocated
    EXPECT_EQ(fits, std::string(200, 'c'));
    EXPECT_EQ(kept_string_bytes(), 0U);
    give_string(fits);
    give_string(too_big);
    EXPECT_GE(release_spare_strings(), 900U);
    EXPECT_EQ(kept_string_bytes(), 0U);
}

TEST(SpareStrings, BuffersComeInPowersOfTwoSoOneGivenBackFitsTheNextKeyOfAboutItsSize) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no buffers";
    }
    release_spare_strings();
    std::string key;
    assign_string(key, std::string(65, 'k'));
    EXPECT_EQ(key.capacity(), 128U);
    const char* buffer = key.data();
    give_string(key);
    std::string longer_key;
    assign_string(longer_key, std::string(67, 'l')); // two bytes more: still that buffer
    EXPECT_EQ(longer_key.data(), buffer);
    give_string(longer_key);
    release_spare_strings();
}

TEST(SpareStrings, AStringTakesTheBufferOfItsSizeClassNotALargerOne) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no buffers";
    }
    release_spare_strings();
    std::string big;
    std::string middle;
    std::string small;
    assign_string(big, std::string(1000, 'x'));   // 1024
    assign_string(middle, std::string(200, 'y')); // 256
    assign_string(small, std::string(40, 'z'));   // 64
    const char* middle_buffer = middle.data();
    give_string(big);
    give_string(middle);
    give_string(small);
    std::string out;
    clear_for(out, 150);
    EXPECT_EQ(out.data(), middle_buffer);
    EXPECT_TRUE(out.empty());
    EXPECT_GE(out.capacity(), 150U);
    give_string(out);
    release_spare_strings();
}

TEST(SpareStrings, ReuseKeptTakesAKeptBufferOrNothingAndNeverAllocates) {
    if (!kKeepsBlocks) {
        GTEST_SKIP() << "sanitizer builds keep no buffers";
    }
    release_spare_strings();
    std::string out;
    EXPECT_FALSE(reuse_kept(out, 1024)) << "nothing kept";
    EXPECT_LT(out.capacity(), 1024U) << "and nothing allocated";
    std::string given;
    assign_string(given, std::string(1000, 'g'));
    const char* buffer = given.data();
    give_string(given);
    out = "left over";
    EXPECT_TRUE(reuse_kept(out, 1024));
    EXPECT_EQ(out.data(), buffer);
    EXPECT_TRUE(out.empty());
    EXPECT_TRUE(reuse_kept(out, 512)) << "already big enough";
    EXPECT_EQ(out.data(), buffer);
    give_string(out);
    release_spare_strings();
}

TEST(SpareStrings, ThePoolIsBoundedInCountAndLargestBuffer) {
    release_spare_strings();
    std::string huge(kLargestKeptString + 1, 'h');
    give_string(huge);
    EXPECT_EQ(kept_string_bytes(), 0U); // freed, not kept
    std::vector<std::string> many(kKeptStrings + 10, std::string(64, 'm'));
    for (std::string& s : many) {
        give_string(s);
    }
    EXPECT_LE(kept_string_bytes(), kKeptStrings * 128);
    std::string inline_only = "short";
    give_string(inline_only); // no buffer of its own: nothing to keep
    EXPECT_TRUE(inline_only.empty());
    release_spare_strings();
    EXPECT_EQ(kept_string_bytes(), 0U);
}

TEST(SpareStrings, AStringGivenOnAnotherThreadJoinsThatThreadsPool) {
    release_spare_strings();
    std::string moved(500, 'q');
    std::thread other([&moved] {
        give_string(moved);
        if (kKeepsBlocks) {
            EXPECT_GE(kept_string_bytes(), 500U);
        }
        // The thread exits with a buffer kept: its pool frees it (LeakSanitizer would say).
    });
    other.join();
    EXPECT_EQ(kept_string_bytes(), 0U);
    EXPECT_TRUE(moved.empty());
}

} // namespace
} // namespace lacquer::core
