// The store's eviction policies (issue 22): S3-FIFO keeps a hit set through a flood of objects
// asked once, where CLOCK loses it; its ghost list sends an object asked again soon after its
// eviction straight to the main queue; both stay within the budget, the ghost list included.
#include "lacquer/cache/object_store.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::cache {
namespace {

ObjectRef make(const std::string& key, std::size_t body_size) {
    StoredObject::Fields f;
    f.key = key;
    f.hash = std::hash<std::string>{}(key)*0x9e3779b97f4a7c15ULL;
    f.url_hash = f.hash;
    f.head = "HTTP/1.1 200 OK\r\n";
    f.body_size = body_size;
    return ObjectRef(StoredObject::create(f));
}

bool hit(ObjectStore& store, const std::string& key) {
    const std::uint64_t hash = std::hash<std::string>{}(key)*0x9e3779b97f4a7c15ULL;
    return static_cast<bool>(store.lookup({hash, hash, key}));
}

// Whether `key` is stored, without counting a hit (remove_if visits and takes nothing).
bool stored(ObjectStore& store, const std::string& key) {
    bool found = false;
    store.remove_if([&](const StoredObject& o) {
        found = found || o.key() == key;
        return false;
    });
    return found;
}

// 50 objects hit a few times each, then a flood of 20 budgets of objects asked once: how many
// of the 50 are still stored.
int hot_left_after_a_flood(config::Eviction policy) {
    ObjectStore store(512 * 1024, policy);
    for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(store.insert(make("hot-" + std::to_string(i), 1024)));
    }
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 50; ++i) {
            EXPECT_TRUE(hit(store, "hot-" + std::to_string(i)));
        }
        for (int i = 0; i < 100; ++i) { // some churn between the rounds
            EXPECT_TRUE(store.insert(make("warm-" + std::to_string(round * 100 + i), 1024)));
        }
    }
    for (int i = 0; i < 10000; ++i) {
        EXPECT_TRUE(store.insert(make("once-" + std::to_string(i), 1024)));
    }
    int left = 0;
    for (int i = 0; i < 50; ++i) {
        left += hit(store, "hot-" + std::to_string(i)) ? 1 : 0;
    }
    return left;
}

TEST(Eviction, S3FifoKeepsTheHitSetThroughAFloodOfObjectsAskedOnceWhereClockLosesIt) {
    EXPECT_EQ(hot_left_after_a_flood(config::Eviction::S3Fifo), 50);
    EXPECT_EQ(hot_left_after_a_flood(config::Eviction::Clock), 0);
}

TEST(Eviction, AnObjectAskedAgainSoonAfterItsEvictionGoesStraightToTheMainQueue) {
    ObjectStore store(256 * 1024, config::Eviction::S3Fifo);
    ASSERT_TRUE(store.insert(make("again", 1024)));
    int inserted = 0;
    while (stored(store, "again") && inserted < 10000) { // never hit on probation: dropped
        ASSERT_TRUE(store.insert(make("filler-" + std::to_string(inserted++), 1024)));
    }
    ASSERT_FALSE(stored(store, "again"));
    ASSERT_TRUE(store.insert(make("again", 1024))); // the ghost list remembers it
    // In the main queue now: a flood of objects asked once passes through the small queue
    // without reaching it, though it was never hit since it came back.
    for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(store.insert(make("once-" + std::to_string(i), 1024)));
    }
    EXPECT_TRUE(stored(store, "again"));
}

TEST(Eviction, BothPoliciesStayWithinTheBudgetTheGhostListIncluded) {
    for (const config::Eviction policy : {config::Eviction::S3Fifo, config::Eviction::Clock}) {
        const std::uint64_t budget = 1 << 20;
        ObjectStore store(budget, policy);
        EXPECT_EQ(store.policy_bytes() > 0, policy == config::Eviction::S3Fifo);
        for (int i = 0; i < 5000; ++i) {
            ASSERT_TRUE(store.insert(make("o-" + std::to_string(i), 700 + i % 900)));
            if (i % 3 == 0) {
                hit(store, "o-" + std::to_string(i / 2));
            }
            ASSERT_LE(store.stats().bytes + store.policy_bytes(), budget);
        }
        EXPECT_GT(store.stats().objects, 400U); // the budget is used, not emptied
        EXPECT_FALSE(store.insert(make("huge", budget - store.policy_bytes())));
    }
}

TEST(Eviction, EveryObjectIsVisitedAndRemovedWhicheverQueueItIsIn) {
    ObjectStore store(1 << 20, config::Eviction::S3Fifo);
    for (int i = 0; i < 600; ++i) {
        ASSERT_TRUE(store.insert(make("o-" + std::to_string(i), 1024)));
        if (i % 2 == 0) {
            hit(store, "o-" + std::to_string(i)); // some move to the main queue below
        }
    }
    for (int i = 0; i < 1200; ++i) { // evictions promote the hit ones
        ASSERT_TRUE(store.insert(make("p-" + std::to_string(i), 512)));
    }
    const std::uint64_t stored = store.stats().objects;
    std::uint64_t visited = 0;
    EXPECT_EQ(store.remove_if([&visited](const StoredObject&) {
        ++visited;
        return true;
    }),
              stored);
    EXPECT_EQ(visited, stored);
    EXPECT_EQ(store.stats().objects, 0U);
    EXPECT_EQ(store.stats().bytes, 0U);
}

} // namespace
} // namespace lacquer::cache
