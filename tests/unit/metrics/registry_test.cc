// The registry across a reload: declaring a series again finds its slot (its count goes on),
// a new series gets a new slot, a gauge declared again reads from its new source, and nothing
// is declared past the capacity the shards were sized to. The exposition names each series once.
#include "lacquer/metrics/registry.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace lacquer::metrics {
namespace {

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

TEST(Registry, DeclaringASeriesAgainFindsItsSlotAndANewOneGetsItsOwn) {
    Registry r;
    const std::uint32_t a = r.counter("x_total", "X.", {{"route", "a"}});
    const HistogramSlots ha = r.histogram("x_seconds", "X time.", {{"route", "a"}});
    const std::size_t after_first = r.slot_count();
    EXPECT_EQ(r.counter("x_total", "X.", {{"route", "a"}}), a); // a reload declares it again
    EXPECT_EQ(r.histogram("x_seconds", "X time.", {{"route", "a"}}).first, ha.first);
    EXPECT_EQ(r.slot_count(), after_first);
    const std::uint32_t b = r.counter("x_total", "X.", {{"route", "b"}}); // a new route
    EXPECT_NE(b, a);
    EXPECT_EQ(r.slot_count(), after_first + 1);

    Shard shard(r.capacity());
    shard.add(a, 2);
    shard.add(b, 5);
    const Shard* shards[] = {&shard};
    std::string out;
    r.write(out, shards);
    EXPECT_EQ(occurrences(out, "x_total{route=\"a\"} 2\n"), 1u);
    EXPECT_EQ(occurrences(out, "x_total{route=\"b\"} 5\n"), 1u);
    EXPECT_EQ(occurrences(out, "# TYPE x_total counter"), 1u);
}

TEST(Registry, AGaugeDeclaredAgainReadsFromItsNewSource) {
    Registry r;
    r.gauge("up", "Up.", {{"server", "s1"}}, [] { return 0.0; });
    r.gauge("up", "Up.", {{"server", "s1"}}, [] { return 1.0; });
    std::string out;
    r.write(out, {});
    EXPECT_EQ(occurrences(out, "up{server=\"s1\"}"), 1u);
    EXPECT_NE(out.find("up{server=\"s1\"} 1\n"), std::string::npos) << out;
}

TEST(Registry, NothingIsDeclaredPastTheCapacity) {
    Registry r(3);
    r.counter("a_total", "A.");
    r.counter("b_total", "B.");
    r.counter("c_total", "C.");
    EXPECT_THROW(r.counter("d_total", "D."), std::length_error);
    EXPECT_THROW(r.histogram("e_seconds", "E."), std::length_error);
    EXPECT_EQ(r.counter("a_total", "A."), 0u); // what exists is still found
}

TEST(Registry, AHistogramIsWrittenCumulativeWithItsCountAsInfAndAnUndeclaredOneIsIgnored) {
    Registry r;
    const HistogramSlots h = r.histogram("t_seconds", "T.", {{"route", "a"}});
    Shard shard(r.capacity());
    shard.observe(h, std::chrono::microseconds(300));                // <= 0.0005
    shard.observe(h, std::chrono::milliseconds(20));                 // <= 0.025
    shard.observe(h, std::chrono::seconds(30));                      // +Inf only
    shard.observe(HistogramSlots{kNoSlot}, std::chrono::seconds(1)); // a pair that cannot occur
    const Shard* shards[] = {&shard};
    std::string out;
    r.write(out, shards);
    EXPECT_NE(out.find("# TYPE t_seconds histogram\n"), std::string::npos) << out;
    EXPECT_NE(out.find("t_seconds_bucket{route=\"a\",le=\"0.0005\"} 1\n"), std::string::npos)
        << out;
    EXPECT_NE(out.find("t_seconds_bucket{route=\"a\",le=\"0.01\"} 1\n"), std::string::npos);
    EXPECT_NE(out.find("t_seconds_bucket{route=\"a\",le=\"0.025\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("t_seconds_bucket{route=\"a\",le=\"10\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("t_seconds_bucket{route=\"a\",le=\"+Inf\"} 3\n"), std::string::npos);
    EXPECT_NE(out.find("t_seconds_count{route=\"a\"} 3\n"), std::string::npos);
    EXPECT_NE(out.find("t_seconds_sum{route=\"a\"} 30.0203\n"), std::string::npos) << out;
    EXPECT_EQ(occurrences(out, "le=\"+Inf\""), 1u);
}

TEST(Registry, LabelValuesAndHelpAreEscapedAsTheTextFormatSays) {
    Registry r;
    const std::uint32_t c = r.counter("q_total", "Q.", {{"path", "a\"b\\c\nd"}});
    Shard shard(r.capacity());
    shard.add(c, 7);
    const Shard* shards[] = {&shard};
    std::string out;
    r.write(out, shards);
    EXPECT_NE(out.find("q_total{path=\"a\\\"b\\\\c\\nd\"} 7\n"), std::string::npos) << out;
}

} // namespace
} // namespace lacquer::metrics
