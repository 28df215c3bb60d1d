// One fetch per key: the first miss leads, the others wait and are woken once with the leader's
// result; hit-for-miss sends later misses to the origin in parallel; refreshes back off while
// they fail. Time is passed in, so every case runs without sleeping.
#include "lacquer/cache/coalescer.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace lacquer::cache {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct RecordingWaiter final : FillWaiter {
    void wake(const FillResult& result) override {
        ++wakes;
        last = result;
    }
    std::atomic<int> wakes{0};
    FillResult last;
};

StoreKey key_of(const std::string& key) {
    return {std::hash<std::string>{}(key), std::hash<std::string>{}(key), key};
}

ObjectRef object_for(const std::string& key) {
    StoredObject::Fields f;
    f.key = key;
    f.head = "HTTP/1.1 200 OK\r\n";
    return ObjectRef(StoredObject::create(f));
}

const core::Instant kT0 = core::Instant{} + std::chrono::hours(1);

TEST(Coalescer, FirstMissLeadsOthersWaitAndAreWokenOnce) {
    Coalescer c;
    const std::string k = "G\nh\n/a\n\n";
    auto a = std::make_shared<RecordingWaiter>();
    auto b = std::make_shared<RecordingWaiter>();
    auto lead = std::make_shared<RecordingWaiter>();
    EXPECT_EQ(c.join(key_of(k), lead, kT0), Coalescer::Join::Lead);
    EXPECT_EQ(c.join(key_of(k), a, kT0), Coalescer::Join::Wait);
    EXPECT_EQ(c.join(key_of(k), b, kT0), Coalescer::Join::Wait);
    EXPECT_EQ(c.join(key_of("G\nh\n/other\n\n"), a, kT0), Coalescer::Join::Lead); // other key
    EXPECT_EQ(c.stats().in_flight, 2u);

    c.finish(key_of(k), {FillOutcome::Stored, object_for(k), 0, {}}, kT0, seconds(60), false);
    EXPECT_EQ(lead->wakes, 0); // the leader has its own answer
    EXPECT_EQ(a->wakes, 1);
    EXPECT_EQ(b->wakes, 1);
    ASSERT_TRUE(b->last.object);
    EXPECT_EQ(b->last.object->key(), k);
    // The fetch is over: the next miss leads again (the store answers hits, not the coalescer).
    EXPECT_EQ(c.join(key_of(k), a, kT0), Coalescer::Join::Lead);
    EXPECT_EQ(c.stats().waits, 2u);
}

TEST(Coalescer, UncacheableMarksHitForMissForItsDuration) {
    Coalescer c;
    const std::string k = "G\nh\n/private\n\n";
    auto w = std::make_shared<RecordingWaiter>();
    ASSERT_EQ(c.join(key_of(k), w, kT0), Coalescer::Join::Lead);
    ASSERT_EQ(c.join(key_of(k), w, kT0), Coalescer::Join::Wait);
    c.finish(key_of(k), {FillOutcome::Uncacheable, {}, 0, {}}, kT0, seconds(60), false);
    EXPECT_EQ(w->last.outcome, FillOutcome::Uncacheable); // released at once
    EXPECT_EQ(c.join(key_of(k), w, kT0 + seconds(59)), Coalescer::Join::HitForMiss);
    EXPECT_EQ(c.join(key_of(k), w, kT0 + seconds(59)), Coalescer::Join::HitForMiss);
    EXPECT_EQ(c.join(key_of(k), w, kT0 + seconds(61)), Coalescer::Join::Lead); // expired
    c.finish(key_of(k), {FillOutcome::Stored, object_for(k), 0, {}}, kT0 + seconds(61), seconds(60),
             false);
    EXPECT_EQ(c.join(key_of(k), w, kT0 + seconds(62)), Coalescer::Join::Lead); // cacheable again
    EXPECT_EQ(c.stats().hit_for_miss, 2u);
}

TEST(Coalescer, AWaiterThatLeavesIsNotWoken) {
    Coalescer c;
    const std::string k = "G\nh\n/slow\n\n";
    auto gone = std::make_shared<RecordingWaiter>();
    auto stays = std::make_shared<RecordingWaiter>();
    ASSERT_EQ(c.join(key_of(k), stays, kT0), Coalescer::Join::Lead);
    ASSERT_EQ(c.join(key_of(k), gone, kT0), Coalescer::Join::Wait);
    ASSERT_EQ(c.join(key_of(k), stays, kT0), Coalescer::Join::Wait);
    EXPECT_TRUE(c.leave(key_of(k), gone.get()));
    EXPECT_FALSE(c.leave(key_of(k), gone.get())); // once only
    c.finish(key_of(k), {FillOutcome::Failed, {}, 504, {}}, kT0, seconds(60), false);
    EXPECT_EQ(gone->wakes, 0);
    EXPECT_EQ(stays->wakes, 1);
    EXPECT_EQ(stays->last.error_status, 504);
    EXPECT_FALSE(c.leave(key_of(k), stays.get())); // woken already: its result is on the way
}

TEST(Coalescer, RefreshesAreSingleAndBackOffWhileFailing) {
    Coalescer c;
    const std::string k = "G\nh\n/r\n\n";
    const StoreKey key = key_of(k);
    ASSERT_TRUE(c.lead_refresh(key, kT0));
    EXPECT_FALSE(c.lead_refresh(key, kT0)); // one at a time
    auto w = std::make_shared<RecordingWaiter>();
    EXPECT_EQ(c.join(key, w, kT0), Coalescer::Join::Wait); // a miss joins the refresh
    c.finish(key, {FillOutcome::Failed, {}, 502, {}}, kT0, seconds(60), true);
    EXPECT_EQ(w->wakes, 1);
    // 1 s, then 2 s, then 4 s ... between attempts while the origin keeps failing.
    EXPECT_FALSE(c.lead_refresh(key, kT0 + milliseconds(900)));
    ASSERT_TRUE(c.lead_refresh(key, kT0 + milliseconds(1000)));
    c.finish(key, {FillOutcome::Failed, {}, 502, {}}, kT0 + seconds(1), seconds(60), true);
    EXPECT_FALSE(c.lead_refresh(key, kT0 + milliseconds(2900)));
    ASSERT_TRUE(c.lead_refresh(key, kT0 + seconds(3)));
    c.finish(key, {FillOutcome::Stored, object_for(k), 0, {}}, kT0 + seconds(3), seconds(60), true);
    EXPECT_TRUE(c.lead_refresh(key, kT0 + seconds(3))); // success resets the backoff
    c.finish(key, {FillOutcome::Stored, object_for(k), 0, {}}, kT0 + seconds(3), seconds(60), true);
}

TEST(Coalescer, ManyThreadsOneKeyOneLeaderEveryWaiterWokenOnce) {
    Coalescer c;
    const std::string k = "G\nh\n/hot\n\n";
    std::vector<std::shared_ptr<RecordingWaiter>> waiters(400);
    std::atomic<int> leaders{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = t; i < 400; i += 4) {
                waiters[i] = std::make_shared<RecordingWaiter>();
                if (c.join(key_of(k), waiters[i], kT0) == Coalescer::Join::Lead) {
                    ++leaders;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(leaders, 1);
    c.finish(key_of(k), {FillOutcome::Stored, object_for(k), 0, {}}, kT0, seconds(60), false);
    int woken = 0;
    for (const auto& w : waiters) {
        woken += w->wakes;
        EXPECT_LE(w->wakes, 1);
    }
    EXPECT_EQ(woken, 399);
}

} // namespace
} // namespace lacquer::cache
