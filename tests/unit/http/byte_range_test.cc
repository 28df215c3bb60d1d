// Range planning and If-Range (RFC 9110 §14.1.1, §14.1.2, §14.2, §13.1.5).
#include "lacquer/http/byte_range.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::http {
namespace {

void expect_single(std::string_view value, std::uint64_t length, std::uint64_t first,
                   std::uint64_t last) {
    const RangePlan plan = plan_byte_range(value, length);
    EXPECT_EQ(plan.kind, RangeKind::Single) << value;
    EXPECT_EQ(plan.first, first) << value;
    EXPECT_EQ(plan.last, last) << value;
}

TEST(ByteRange, Rfc9110Section14_1_2Examples) {
    // The examples of §14.1.2 on a 10000-byte representation.
    expect_single("bytes=0-499", 10000, 0, 499);
    expect_single("bytes=500-999", 10000, 500, 999);
    expect_single("bytes=-500", 10000, 9500, 9999);
    expect_single("bytes=9500-", 10000, 9500, 9999);
    expect_single("bytes=0-0", 10000, 0, 0);
    expect_single("bytes=-1", 10000, 9999, 9999);
}

TEST(ByteRange, Rfc9110Section14_1_1LastPosAndSuffixAreCutAtTheEnd) {
    expect_single("bytes=5-100", 10, 5, 9);
    expect_single("bytes=-100", 10, 0, 9);
    expect_single("bytes=0-99999999999999999999999", 10, 0, 9); // saturates, still cut
    expect_single("BYTES=2-3", 10, 2, 3);                       // the unit is case-insensitive
    EXPECT_EQ(plan_byte_range("bytes = 2-3", 10).kind, RangeKind::Whole); // no OWS around '='
    expect_single("bytes=1-2 , 70-", 10, 1, 2); // OWS between list elements
    expect_single(" bytes=2-3 ", 10, 2, 3);
}

TEST(ByteRange, Rfc9110Section14_1_1InvalidSpecifiersAreIgnoredWhole) {
    for (const char* value : {"bytes=5-4", "bytes=", "bytes=,", "bytes=a-b", "bytes=1-2-3",
                              "bytes=- 5", "bytes=1 -2", "bytes=--1", "bytes=0-1,5-4", "bytes 0-1",
                              "items=0-1", "", "=0-1", "bytes=-", "bytes=+1-2"}) {
        EXPECT_EQ(plan_byte_range(value, 100).kind, RangeKind::Whole) << value;
    }
}

TEST(ByteRange, Rfc9110Section14_1_1UnsatisfiableRangesAre416) {
    EXPECT_EQ(plan_byte_range("bytes=100-", 100).kind, RangeKind::Unsatisfiable);
    EXPECT_EQ(plan_byte_range("bytes=100-200,300-400", 100).kind, RangeKind::Unsatisfiable);
    EXPECT_EQ(plan_byte_range("bytes=-0", 100).kind, RangeKind::Unsatisfiable);
    EXPECT_EQ(plan_byte_range("bytes=99999999999999999999-", 100).kind, RangeKind::Unsatisfiable);
    // A zero-length representation: an int-range never fits; a suffix range is answered whole.
    EXPECT_EQ(plan_byte_range("bytes=0-0", 0).kind, RangeKind::Unsatisfiable);
    EXPECT_EQ(plan_byte_range("bytes=-5", 0).kind, RangeKind::Whole);
}

TEST(ByteRange, Rfc9110Section14_2SeveralRangesAreAnsweredWhole) {
    EXPECT_EQ(plan_byte_range("bytes=0-1,5-6", 100).kind, RangeKind::Whole);
    EXPECT_EQ(plan_byte_range("bytes=0-1, -5", 100).kind, RangeKind::Whole);
    // Only one of them overlaps the representation: that one is answered.
    expect_single("bytes=0-1, 500-600", 100, 0, 1);
    expect_single("bytes=,,2-3,,", 100, 2, 3); // empty list elements are ignored
    std::string many = "bytes=0-0";
    for (std::size_t i = 0; i < kMaxRangeSpecs; ++i) {
        many += ",1000-1001";
    }
    EXPECT_EQ(plan_byte_range(many, 100).kind, RangeKind::Whole) << "over kMaxRangeSpecs";
}

TEST(ByteRange, Rfc9110Section13_1_5IfRangeWithAnEntityTagIsAStrongComparison) {
    EXPECT_TRUE(if_range_matches("\"v1\"", "\"v1\"", {}, 0));
    EXPECT_FALSE(if_range_matches("\"v2\"", "\"v1\"", {}, 0));
    EXPECT_FALSE(if_range_matches("W/\"v1\"", "W/\"v1\"", {}, 0)); // weak tags never match
    EXPECT_FALSE(if_range_matches("\"v1\"", "W/\"v1\"", {}, 0));
    EXPECT_FALSE(if_range_matches("\"v1\"", {}, {}, 0));
}

TEST(ByteRange, Rfc9110Section13_1_5IfRangeWithADateNeedsAStrongLastModified) {
    constexpr std::string_view kModified = "Sun, 06 Nov 1994 08:49:37 GMT";
    constexpr std::int64_t kModifiedUnix = 784111777;
    EXPECT_TRUE(if_range_matches(kModified, {}, kModified, kModifiedUnix + 60));
    EXPECT_TRUE(if_range_matches(kModified, "\"v1\"", kModified, kModifiedUnix + 1));
    // Last-Modified equal to Date is weak (§8.8.2.2); no Date: not known to be strong.
    EXPECT_FALSE(if_range_matches(kModified, {}, kModified, kModifiedUnix));
    EXPECT_FALSE(if_range_matches(kModified, {}, kModified, 0));
    EXPECT_FALSE(
        if_range_matches("Sun, 06 Nov 1994 08:49:38 GMT", {}, kModified, kModifiedUnix + 60));
    EXPECT_FALSE(if_range_matches("not a date", {}, kModified, kModifiedUnix + 60));
    EXPECT_FALSE(if_range_matches(kModified, {}, {}, kModifiedUnix + 60));
}

} // namespace
} // namespace lacquer::http
