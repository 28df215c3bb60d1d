// The snapshot file's writer and reader (cache/snapshot.h): a round trip keeps every field and
// the objects' absolute times; what expired while down, what a changed route key policy made,
// and what is beyond storage.memory stays out; every kind of damaged file (empty, foreign,
// future version, truncated anywhere, any byte flipped, bytes appended) is one error line and
// nothing in the store.
#include "snapshot_test_support.h"

#include <atomic>
#include <gtest/gtest.h>
#include <string>
#include <thread>

namespace lacquer::cache {
namespace {

using namespace snapshot_test;

TEST(Snapshot, ARoundTripKeepsEveryFieldAndTheAge) {
    core::ManualClock clock;
    const std::string bytes =
        written({{"/a", "alpha", seconds(60), seconds(5), seconds(9), seconds(20)},
                 {"/empty", "", seconds(30)}},
                clock);
    clock.advance(seconds(10)); // down for 10 s
    ObjectStore store(64 << 20);
    const SnapshotLoad r = load(bytes, store, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, 2U);
    EXPECT_EQ(r.build, "test-build");
    EXPECT_EQ(r.file_bytes, bytes.size());
    EXPECT_EQ(store.stats().objects, 2U);
    EXPECT_EQ(store.stats().bytes, r.bytes);

    const ObjectRef a = find(store, "/a");
    ASSERT_TRUE(a);
    core::ManualClock fresh; // a second process made the original: compare by value
    const ObjectRef want = make({"/a", "alpha", seconds(60), seconds(5), seconds(9)}, fresh);
    EXPECT_EQ(a->key(), want->key());
    EXPECT_EQ(a->head(), want->head());
    EXPECT_EQ(a->date(), want->date());
    EXPECT_NE(a->date(), 0U);
    EXPECT_EQ(a->etag(), "\"v1\"");
    EXPECT_EQ(a->last_modified(), want->last_modified());
    EXPECT_EQ(a->vary(), want->vary());
    EXPECT_EQ(a->tags(), "a b");
    EXPECT_EQ(a->status(), 203);
    EXPECT_EQ(a->initial_age(), 7);
    EXPECT_EQ(std::string_view(a->body(), a->body_size()), "alpha");
    EXPECT_EQ(a->window().ttl, seconds(60));
    EXPECT_EQ(a->window().stale, seconds(5));
    EXPECT_EQ(a->window().stale_if_error, seconds(9));
    EXPECT_TRUE(a->window().reusable_with_authorization);
    EXPECT_FALSE(a->window().must_revalidate);
    // 20 s old at the write, 10 s down: 30 s, plus at most the 1 s the reader adds so that an
    // object never comes back younger than it is.
    const core::Millis age = a->age_at(clock.now());
    EXPECT_GE(age, seconds(30));
    EXPECT_LE(age, seconds(31));
    const ObjectRef empty = find(store, "/empty");
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->body_size(), 0U);
}

TEST(Snapshot, WhatExpiredWhileDownStaysOutUnlessInsideItsStaleWindows) {
    core::ManualClock clock;
    const std::string bytes =
        written({{"/fresh", "f", seconds(600)},
                 {"/stale", "s", seconds(60), seconds(120), seconds(0), seconds(50)},
                 {"/if-error", "e", seconds(60), seconds(0), seconds(300), seconds(50)},
                 {"/gone", "g", seconds(60), seconds(30), seconds(40), seconds(50)}},
                clock);
    clock.advance(seconds(60)); // /stale is 110 s old, /gone is past 60 + max(30, 40)
    ObjectStore store(64 << 20);
    const SnapshotLoad r = load(bytes, store, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, 3U);
    EXPECT_EQ(r.expired, 1U);
    EXPECT_FALSE(find(store, "/gone"));
    const ObjectRef stale = find(store, "/stale");
    ASSERT_TRUE(stale);
    EXPECT_EQ(classify(stale->window(), stale->age_at(clock.now()), OriginHealth::Up),
              Usability::StaleRefresh);
    const ObjectRef if_error = find(store, "/if-error");
    ASSERT_TRUE(if_error);
    EXPECT_EQ(classify(if_error->window(), if_error->age_at(clock.now()), OriginHealth::Down),
              Usability::StaleIfError);
    EXPECT_EQ(classify(if_error->window(), if_error->age_at(clock.now()), OriginHealth::Up),
              Usability::Unusable);
}

TEST(Snapshot, NothingComesBackPastItsHardBound) {
    // Hard bound 100 s; 50 s old at the write. Down 49 s: 99 s + the 1 s rounding = the bound.
    core::ManualClock clock;
    const std::string bytes =
        written({{"/edge", "x", seconds(40), seconds(60), seconds(10), seconds(50)}}, clock);
    clock.advance(seconds(49));
    ObjectStore store(64 << 20);
    EXPECT_EQ(load(bytes, store, clock).expired, 1U);
    EXPECT_EQ(store.stats().objects, 0U);
}

TEST(Snapshot, ASoftPurgeComesBackAsLongAgo) {
    core::ManualClock clock;
    ObjectStore store(64 << 20);
    ASSERT_TRUE(store.insert(make({"/p", "p", seconds(600), seconds(300)}, clock)));
    find(store, "/p")->mark_stale(clock.now());
    clock.advance(seconds(20));
    ScratchDir dir;
    ASSERT_EQ(write_snapshot(store, dir.file("s"), clock, {}, "b").error, "");
    clock.advance(seconds(10));
    ObjectStore next(64 << 20);
    ASSERT_EQ(read_snapshot_file(dir.file("s"), next, clock, {}).loaded, 1U);
    const ObjectRef p = find(next, "/p");
    ASSERT_TRUE(p);
    // Marked 30 s ago: ttl + 30 s (+ the 1 s rounding), stale now, not fresh.
    EXPECT_GE(p->age_at(clock.now()), seconds(630));
    EXPECT_LE(p->age_at(clock.now()), seconds(631));
}

TEST(Snapshot, ObjectsOfAChangedRouteKeyPolicyAreDropped) {
    core::ManualClock clock;
    const auto before = [](std::string_view key) -> std::uint64_t {
        return key.find("/v3/") != std::string_view::npos ? 33 : 44;
    };
    const std::string bytes =
        written({{"/v3/a", "1"}, {"/v3/b", "2"}, {"/other", "3"}, {"/none", "4"}}, clock, before);
    const auto after = [](std::string_view key) -> std::uint64_t {
        if (key.find("/none") != std::string_view::npos) {
            return 0; // no caching route keys it now
        }
        return key.find("/v3/") != std::string_view::npos ? 34 : 44; // /v3/ changed
    };
    ObjectStore store(64 << 20);
    const SnapshotLoad r = load(bytes, store, clock, after);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, 1U);
    EXPECT_EQ(r.policy_changed, 3U);
    EXPECT_TRUE(find(store, "/other"));
    EXPECT_FALSE(find(store, "/v3/a"));
    EXPECT_FALSE(find(store, "/none"));
}

TEST(Snapshot, LoadingStaysWithinStorageMemory) {
    core::ManualClock clock;
    std::vector<Spec> specs;
    for (int i = 0; i < 100; ++i) {
        specs.push_back({"/o" + std::to_string(i), std::string(10'000, 'x')});
    }
    const std::string bytes = written(specs, clock);
    ObjectStore store(300'000);
    const SnapshotLoad r = load(bytes, store, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_GT(r.loaded, 20U);
    EXPECT_LT(r.loaded, 31U);
    EXPECT_EQ(r.loaded + r.over_budget, 100U);
    EXPECT_LE(store.stats().bytes, 300'000U);
}

TEST(Snapshot, AnEmptyFileIsAColdStart) {
    expect_cold_start("", "empty");
    core::ManualClock clock;
    ObjectStore store(1 << 20);
    EXPECT_EQ(load("", store, clock).error, "empty file");
}

TEST(Snapshot, AForeignFileIsAColdStart) {
    core::ManualClock clock;
    ObjectStore store(1 << 20);
    EXPECT_EQ(load("GIF89a....................", store, clock).error,
              "not a lacquer snapshot (bad magic)");
    EXPECT_EQ(load("LACQ", store, clock).error, "not a lacquer snapshot (bad magic)");
    EXPECT_EQ(store.stats().objects, 0U);
}

TEST(Snapshot, AFutureVersionIsAColdStart) {
    core::ManualClock clock;
    std::string bytes = written(two_objects(), clock);
    bytes[8] = 4; // the version, little-endian
    ObjectStore store(1 << 20);
    EXPECT_EQ(load(bytes, store, clock).error,
              "format version 4 is newer than this build reads (3)");
    EXPECT_EQ(store.stats().objects, 0U);
}

TEST(Snapshot, ATruncatedFileIsAColdStartWhereverItEnds) {
    core::ManualClock clock;
    const std::string bytes = written(two_objects(), clock);
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        expect_cold_start(std::string_view(bytes).substr(0, size),
                          "truncated to " + std::to_string(size));
    }
}

TEST(Snapshot, AnyFlippedByteIsAColdStart) {
    core::ManualClock clock;
    const std::string bytes = written(two_objects(), clock);
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        for (const char mask : {'\x01', '\x80'}) {
            std::string damaged = bytes;
            damaged[at] = static_cast<char>(damaged[at] ^ mask);
            expect_cold_start(damaged, "byte " + std::to_string(at) + " flipped");
        }
    }
}

TEST(Snapshot, BytesAfterTheEndAreAColdStart) {
    core::ManualClock clock;
    expect_cold_start(written(two_objects(), clock) + "x", "one byte appended");
    expect_cold_start(written(two_objects(), clock) + written(two_objects(), clock), "twice");
}

TEST(Snapshot, AMissingFileSaysSo) {
    core::ManualClock clock;
    ObjectStore store(1 << 20);
    ScratchDir dir;
    const SnapshotLoad r = read_snapshot_file(dir.file("none"), store, clock, {});
    EXPECT_TRUE(r.missing);
    EXPECT_NE(r.error, "");
}

TEST(Snapshot, AnUnwritableDirectoryIsAnErrorAndNoFile) {
    core::ManualClock clock;
    ObjectStore store(1 << 20);
    ScratchDir dir;
    const SnapshotWrite w = write_snapshot(store, dir.file("no/such/dir/s"), clock, {}, "b");
    EXPECT_NE(w.error, "");
}

TEST(Snapshot, AWriteBesideInsertsAndLookupsReadsBackWhole) {
    // What a periodic snapshot meets: workers inserting, replacing and looking up meanwhile.
    core::ManualClock clock;
    ObjectStore store(64 << 20);
    for (int i = 0; i < 2000; ++i) {
        ASSERT_TRUE(store.insert(make({"/k" + std::to_string(i), std::string(100, 'k')}, clock)));
    }
    std::atomic<bool> done{false};
    std::thread worker([&] {
        for (int round = 0; !done.load(); ++round) {
            const std::string path = "/k" + std::to_string(round % 3000);
            (void)store.insert(make({path, "round " + std::to_string(round)}, clock));
            (void)find(store, "/k" + std::to_string((round * 7) % 2000));
        }
    });
    ScratchDir dir;
    SnapshotWrite w;
    for (int i = 0; i < 5; ++i) {
        w = write_snapshot(store, dir.file("s"), clock, {}, "b");
        ASSERT_EQ(w.error, "");
    }
    done = true;
    worker.join();
    ObjectStore next(64 << 20);
    const SnapshotLoad r = read_snapshot_file(dir.file("s"), next, clock, {});
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, w.objects);
    EXPECT_GE(r.loaded, 2000U);
}

TEST(Snapshot, AnEmptyStoreRoundTrips) {
    core::ManualClock clock;
    const std::string bytes = written({}, clock);
    ObjectStore store(1 << 20);
    const SnapshotLoad r = load(bytes, store, clock);
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, 0U);
}
} // namespace
} // namespace lacquer::cache
