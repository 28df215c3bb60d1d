// Route usage rings: a request counts in the last hour, day and week until its bucket falls out
// of the window, the shards of several workers add up, the last request is the latest of them,
// and a bucket reused for a later period starts again from zero.
#include "lacquer/metrics/route_usage.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>

namespace lacquer::metrics {
namespace {

constexpr std::int64_t kT0 = 1'700'006'400; // on a 6-hour boundary: the windows below are exact
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 24 * kHour;

struct Fixture {
    Registry registry;
    RouteUsageSlots slots = registry.route_usage("api");
    Shard a{registry.capacity()};
    Shard b{registry.capacity()};
    RouteUsage at(std::int64_t now) const {
        const Shard* shards[] = {&a, &b};
        return read_route_usage("api", slots, shards, now);
    }
};

TEST(RouteUsage, ARequestCountsInEachWindowUntilItLeavesIt) {
    Fixture f;
    record_route_request(f.a, f.slots, kT0);
    record_route_request(f.a, f.slots, kT0 + 10);
    record_route_request(f.b, f.slots, kT0 + 20);
    RouteUsage u = f.at(kT0 + 30);
    EXPECT_EQ(u.route, "api");
    EXPECT_EQ(u.last_request, kT0 + 20);
    EXPECT_EQ(u.last_hour, 3u);
    EXPECT_EQ(u.last_day, 3u);
    EXPECT_EQ(u.last_week, 3u);

    u = f.at(kT0 + kHour + 5 * 60); // past the 12 five-minute buckets
    EXPECT_EQ(u.last_hour, 0u);
    EXPECT_EQ(u.last_day, 3u);
    u = f.at(kT0 + kDay + kHour);
    EXPECT_EQ(u.last_day, 0u);
    EXPECT_EQ(u.last_week, 3u);
    u = f.at(kT0 + 7 * kDay + 6 * kHour);
    EXPECT_EQ(u.last_week, 0u);
    EXPECT_EQ(u.last_request, kT0 + 20); // the last request is remembered for ever
}

TEST(RouteUsage, ABucketReusedForALaterPeriodStartsFromZero) {
    Fixture f;
    record_route_request(f.a, f.slots, kT0);
    record_route_request(f.a, f.slots, kT0);
    // 7 days later every ring wraps onto the same buckets (12 x 5 min, 24 h, 28 x 6 h divide it).
    record_route_request(f.a, f.slots, kT0 + 7 * kDay);
    const RouteUsage u = f.at(kT0 + 7 * kDay);
    EXPECT_EQ(u.last_hour, 1u);
    EXPECT_EQ(u.last_day, 1u);
    EXPECT_EQ(u.last_week, 1u);
}

TEST(RouteUsage, AClockThatStepsBackKeepsTheLatestTime) {
    Fixture f;
    record_route_request(f.a, f.slots, kT0 + 100);
    record_route_request(f.a, f.slots, kT0);
    EXPECT_EQ(f.at(kT0 + 100).last_request, kT0 + 100);
    EXPECT_EQ(f.at(kT0 + 100).last_hour, 2u);
}

TEST(RouteUsage, NoSlotsAndNoTimeRecordNothing) {
    Fixture f;
    record_route_request(f.a, RouteUsageSlots{}, kT0);
    record_route_request(f.a, f.slots, 0);
    const RouteUsage u = f.at(kT0);
    EXPECT_EQ(u.last_request, 0);
    EXPECT_EQ(u.last_week, 0u);
}

TEST(RouteUsage, TheRegistryListsEveryRouteOnceInDeclarationOrder) {
    Registry r;
    const RouteUsageSlots api = r.route_usage("api");
    const RouteUsageSlots web = r.route_usage("web");
    EXPECT_EQ(r.route_usage("api").first, api.first); // a reload declares it again
    EXPECT_EQ(web.first, api.first + kRouteUsageSlotCount);
    Shard s(r.capacity());
    record_route_request(s, web, kT0);
    const Shard* shards[] = {&s};
    const std::vector<RouteUsage> all = read_route_usage(r, shards, kT0);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].route, "api");
    EXPECT_EQ(all[0].last_hour, 0u);
    EXPECT_EQ(all[1].route, "web");
    EXPECT_EQ(all[1].last_hour, 1u);
}

// A worker records while the admin thread reads (TSan runs this): every read sees counts that
// only grow and never pass what was sent, and the read after the worker ends sees every request.
TEST(RouteUsage, AReaderOnAnotherThreadSeesCountsThatOnlyGrow) {
    Fixture f;
    constexpr int kRequests = 20000;
    std::atomic<bool> done{false};
    std::thread worker([&] {
        for (int i = 0; i < kRequests; ++i) {
            record_route_request(f.a, f.slots, kT0 + i / 1000); // 20 s of traffic
        }
        done = true;
    });
    std::uint64_t hour = 0;
    std::uint64_t week = 0;
    for (int reads = 0; reads < 1'000'000 && !done; ++reads) {
        const RouteUsage u = f.at(kT0 + 20);
        ASSERT_GE(u.last_hour, hour);
        ASSERT_GE(u.last_week, week);
        ASSERT_LE(u.last_week, static_cast<std::uint64_t>(kRequests));
        hour = u.last_hour;
        week = u.last_week;
    }
    worker.join();
    EXPECT_EQ(f.at(kT0 + 20).last_hour, static_cast<std::uint64_t>(kRequests));
    EXPECT_EQ(f.at(kT0 + 20).last_request, kT0 + 19);
}

} // namespace
} // namespace lacquer::metrics
