// W-TinyLFU's count-min sketch (frequency_sketch.h): counts saturate at 15, keys barely disturb
// each other, and every `sample` increments all counts halve.
#include "lacquer/cache/frequency_sketch.h"

#include <cstdint>
#include <gtest/gtest.h>

namespace lacquer::cache {
namespace {

std::uint32_t key(std::uint32_t i) {
    return i * 2654435761U + 12345; // distinct for distinct i
}

TEST(FrequencySketch, CountsEachKeyUpToFifteen) {
    FrequencySketch sketch;
    EXPECT_EQ(sketch.frequency(key(1)), 0U); // not sized yet: counts nothing
    sketch.increment(key(1));
    EXPECT_EQ(sketch.bytes(), 0U);
    sketch.resize(64);
    EXPECT_EQ(sketch.bytes(), 64U * 8);
    for (std::uint32_t n = 1; n <= 20; ++n) {
        sketch.increment(key(1));
        EXPECT_EQ(sketch.frequency(key(1)), n < 15 ? n : 15U);
    }
    sketch.increment(key(2));
    sketch.increment(key(2));
    EXPECT_EQ(sketch.frequency(key(2)), 2U);
    EXPECT_EQ(sketch.frequency(key(1)), 15U);
}

TEST(FrequencySketch, KeysAskedOnceReadAsOnceNotAsTheHotKeys) {
    FrequencySketch sketch;
    sketch.resize(256); // 4096 counters; 1000 keys once and ten hot ones below
    for (std::uint32_t hot = 0; hot < 10; ++hot) {
        for (int n = 0; n < 12; ++n) {
            sketch.increment(key(hot));
        }
    }
    for (std::uint32_t i = 100; i < 1100; ++i) {
        sketch.increment(key(i));
    }
    int overestimated = 0;
    for (std::uint32_t i = 100; i < 1100; ++i) {
        EXPECT_GE(sketch.frequency(key(i)), 1U); // count-min never underestimates
        overestimated += sketch.frequency(key(i)) > 2 ? 1 : 0;
    }
    EXPECT_LT(overestimated, 10);
    for (std::uint32_t hot = 0; hot < 10; ++hot) {
        EXPECT_GE(sketch.frequency(key(hot)), 12U);
    }
}

TEST(FrequencySketch, HalvesEveryCountAfterItsSample) {
    FrequencySketch sketch;
    sketch.resize(1024); // sample: 10240 increments
    for (int n = 0; n < 14; ++n) {
        sketch.increment(key(0));
    }
    std::uint64_t before = sketch.additions();
    std::uint32_t i = 1;
    for (; i < 20000 && sketch.additions() >= before; ++i) {
        before = sketch.additions();
        sketch.increment(key(i));
    }
    ASSERT_LT(i, 20000U) << "no reset";
    EXPECT_GT(i, 10000U); // not before the sample
    EXPECT_LE(sketch.additions(), 10240U / 2);
    // 14, or 15 with other keys' increments on all four counters, halved.
    EXPECT_EQ(sketch.frequency(key(0)), 7U);
}

} // namespace
} // namespace lacquer::cache
