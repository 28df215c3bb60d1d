// Durations and sizes: the accepted spellings, the refused ones, and format/parse round trips.
#include "lacquer/config/units.h"

#include <gtest/gtest.h>
#include <limits>

namespace lacquer::config {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kMaxMillis = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t kMaxBytes = std::numeric_limits<std::uint64_t>::max();

TEST(ParseDuration, AcceptsEachUnit) {
    EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
    EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
    EXPECT_EQ(parse_duration("10m"), milliseconds(600'000));
    EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
    EXPECT_EQ(parse_duration("0s"), milliseconds(0));
    EXPECT_EQ(parse_duration("0ms"), milliseconds(0));
    EXPECT_EQ(parse_duration("007s"), milliseconds(7'000));
}

TEST(ParseDuration, AcceptsTheLargestValueThatFits) {
    EXPECT_EQ(parse_duration("9223372036854775807ms"), milliseconds(kMaxMillis));
    EXPECT_EQ(parse_duration("2562047788015h"), milliseconds(2562047788015LL * 3'600'000));
}

class ParseDurationRejects : public testing::TestWithParam<const char*> {};

TEST_P(ParseDurationRejects, Text) {
    EXPECT_EQ(parse_duration(GetParam()), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Texts, ParseDurationRejects,
                         testing::Values("", "10", "-1s", "+1s", "1.5s", "1,5s",
                                         "99999999999999999999h", "9223372036854775808ms",
                                         "2562047788016h", "1 s", " 1s", "1s ", "s", "ms", "1S",
                                         "1MS", "1d", "1sms", "1m1s", "1hour", "0x10s", "1e3ms",
                                         "18446744073709551616ms"));

TEST(ParseSize, AcceptsEachUnit) {
    EXPECT_EQ(parse_size("512B"), 512U);
    EXPECT_EQ(parse_size("64KiB"), 64U * 1024);
    EXPECT_EQ(parse_size("16MiB"), 16U * 1024 * 1024);
    EXPECT_EQ(parse_size("1GiB"), 1ULL << 30);
    EXPECT_EQ(parse_size("0B"), 0U);
    EXPECT_EQ(parse_size("18446744073709551615B"), kMaxBytes);
    EXPECT_EQ(parse_size("17179869183GiB"), 17179869183ULL << 30);
}

class ParseSizeRejects : public testing::TestWithParam<const char*> {};

TEST_P(ParseSizeRejects, Text) {
    EXPECT_EQ(parse_size(GetParam()), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Texts, ParseSizeRejects,
                         testing::Values("", "1", "1KB", "1MB", "1GB", "1kib", "1K", "1TiB", "-1B",
                                         "1.5MiB", " 1B", "1B ", "B", "KiB",
                                         "18446744073709551616B", "17179869184GiB",
                                         "99999999999999999999GiB", "1 KiB", "1KiBB"));

TEST(FormatDuration, PicksTheLargestExactUnit) {
    EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
    EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
    EXPECT_EQ(format_duration(milliseconds(60'000)), "1m");
    EXPECT_EQ(format_duration(milliseconds(5'400'000)), "90m");
    EXPECT_EQ(format_duration(milliseconds(7'200'000)), "2h");
    EXPECT_EQ(format_duration(milliseconds(0)), "0s");
    EXPECT_EQ(format_duration(milliseconds(kMaxMillis)), "9223372036854775807ms");
}

TEST(FormatDuration, NegativeValuesDoNotParseBack) {
    EXPECT_EQ(format_duration(milliseconds(-1500)), "-1500ms");
    EXPECT_EQ(parse_duration(format_duration(milliseconds(-1500))), std::nullopt);
    EXPECT_EQ(format_duration(milliseconds(std::numeric_limits<std::int64_t>::min())),
              "-9223372036854775808ms");
}

TEST(FormatSize, PicksTheLargestExactUnit) {
    EXPECT_EQ(format_size(16U * 1024 * 1024), "16MiB");
    EXPECT_EQ(format_size(1000), "1000B");
    EXPECT_EQ(format_size(1024), "1KiB");
    EXPECT_EQ(format_size(1536), "1536B");
    EXPECT_EQ(format_size(3ULL << 30), "3GiB");
    EXPECT_EQ(format_size(0), "0B");
    EXPECT_EQ(format_size(kMaxBytes), "18446744073709551615B");
}

// A fixed pseudo-random walk over magnitudes, so the round trip sees every unit and both ends
// of the range without making the test flaky.
std::vector<std::uint64_t> sample_values(std::uint64_t max) {
    std::vector<std::uint64_t> values{0, 1, 999, 1000, 1023, 1024, max, max - 1, max / 2};
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 2000; ++i) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        const unsigned shift = static_cast<unsigned>(state >> 58); // 0..63
        std::uint64_t value = (state >> 7) >> shift;
        if (i % 3 == 0) {
            value = (value % 1000) * (i % 2 == 0 ? 3'600'000 : (1ULL << 20)); // exact units
        }
        values.push_back(value % max);
    }
    return values;
}

TEST(RoundTrip, FormatThenParseGivesTheSameDuration) {
    for (std::uint64_t value : sample_values(static_cast<std::uint64_t>(kMaxMillis))) {
        const milliseconds duration(static_cast<std::int64_t>(value));
        const std::string text = format_duration(duration);
        EXPECT_EQ(parse_duration(text), duration) << text;
    }
}

TEST(RoundTrip, FormatThenParseGivesTheSameSize) {
    for (std::uint64_t value : sample_values(kMaxBytes)) {
        const std::string text = format_size(value);
        EXPECT_EQ(parse_size(text), value) << text;
    }
}

TEST(RoundTrip, ParseThenFormatIsCanonical) {
    EXPECT_EQ(format_duration(*parse_duration("120s")), "2m");
    EXPECT_EQ(format_duration(*parse_duration("007s")), "7s");
    EXPECT_EQ(format_size(*parse_size("2048KiB")), "2MiB");
}

} // namespace
} // namespace lacquer::config
