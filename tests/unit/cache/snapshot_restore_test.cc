// The eviction order across a restart (cache/snapshot.h, ObjectStore::restore): each record
// keeps its queue or segment, its hits and (W-TinyLFU) its sketch count, so the hot set comes
// back where it was and a scan after the restart passes it by; older formats (version 1, 2) are
// still read, a snapshot written under one eviction policy restores under another, and a key
// stored since the restart is never replaced.
#include "snapshot_test_support.h"
#include "unit/cache/store_probe.h"

#include <cstring>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <string>

namespace lacquer::cache {
namespace {

using namespace snapshot_test;

// --- The hot set across a restart (format version 2: each record keeps its queue and hits) ---

constexpr std::size_t kQueueBudget = 512 * 1024;

std::string written_from(const ObjectStore& store, const core::ManualClock& clock) {
    ScratchDir dir;
    const std::string path = dir.file("cache.snap");
    const SnapshotWrite w = write_snapshot(store, path, clock, {}, "test-build");
    EXPECT_EQ(w.error, "");
    return read_all(path);
}

// `file` with byte 7 of its first record (the queue byte since version 2) set to `value`: the
// header's length is at offset 12, then the first block's 32-byte header, then its first record.
std::string with_first_queue_byte(std::string file, unsigned char value) {
    std::uint32_t header = 0;
    std::memcpy(&header, &file[12], 4);
    file[header + 32 + 7] = static_cast<char>(value);
    return file;
}

bool stored(ObjectStore& store, std::string_view path) {
    return stored_quietly(store, canonical(path));
}

// Where each object is in the eviction order, by key: main queue and hits.
std::map<std::string, std::pair<bool, int>> places(const ObjectStore& store) {
    std::map<std::string, std::pair<bool, int>> out;
    store.visit([&out, &store](const StoredObject& o) {
        const ObjectStore::QueuePlace p = store.queue_place(o);
        out[std::string(o.key())] = {p.main, p.hits};
    });
    return out;
}

// 50 objects hit often enough to reach S3-FIFO's main queue, among objects asked once.
ObjectStore& with_a_hot_set(ObjectStore& store, core::ManualClock& clock) {
    const std::string body(1024, 'h');
    for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(store.insert(make({"/hot-" + std::to_string(i), body}, clock)));
    }
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 50; ++i) {
            EXPECT_TRUE(find(store, "/hot-" + std::to_string(i)));
        }
        for (int i = 0; i < 150; ++i) {
            EXPECT_TRUE(
                store.insert(make({"/once-" + std::to_string(round * 150 + i), body}, clock)));
        }
    }
    for (int i = 0; i < 50; i += 2) { // hits on half of them since their last second chance
        EXPECT_TRUE(find(store, "/hot-" + std::to_string(i)));
    }
    return store;
}

int hot_left_after_a_scan(ObjectStore& store, core::ManualClock& clock) {
    for (int i = 0; i < 2000; ++i) {
        EXPECT_TRUE(
            store.insert(make({"/scan-" + std::to_string(i), std::string(1024, 's')}, clock)));
    }
    int left = 0;
    for (int i = 0; i < 50; ++i) {
        left += stored(store, "/hot-" + std::to_string(i)) ? 1 : 0;
    }
    return left;
}

// `bytes` (version 3) as the version 1 or 2 writer wrote the same objects: version and format
// id in the header, byte 7 of every record 0 (version 1) or only its main bit and hits
// (version 2), no ghost block in version 1, the checksums recomputed. The old format texts are
// pinned here: a reader that stops recognising them fails these tests.
std::string as_older(std::string bytes, std::uint32_t version) {
    constexpr std::string_view kV1 =
        "lacquer snapshot v1: records of 84 bytes then key/head/etag/lm/vary/tags/body; windows in "
        "ms; ages in ms at the write; hashes XXH3-64 of the canonical key and of its first 4 lines";
    constexpr std::string_view kV2 =
        "lacquer snapshot v2: records of 84 bytes then key/head/etag/lm/vary/tags/body; windows in "
        "ms; ages in ms at the write; hashes XXH3-64 of the canonical key and of its first 4 "
        "lines; "
        "byte 7 the eviction queue (0x80 main) and hits (low bits, <= 3); ghost blocks (kind 3) of "
        "u32 shard u32 hash before the end block";
    const std::string_view text = version == 1 ? kV1 : kV2;
    const auto put64 = [&bytes](std::size_t at, std::uint64_t v) {
        std::memcpy(&bytes[at], &v, 8);
    };
    std::memcpy(&bytes[8], &version, 4);
    std::uint32_t header = 0;
    std::memcpy(&header, &bytes[12], 4);
    put64(16, XXH3_64bits(text.data(), text.size()));
    put64(header - 8, XXH3_64bits(bytes.data(), header - 8));
    for (std::size_t at = header; at + 32 <= bytes.size();) {
        std::uint32_t kind = 0;
        std::uint32_t count = 0;
        std::uint64_t payload = 0;
        std::memcpy(&kind, &bytes[at], 4);
        std::memcpy(&count, &bytes[at + 4], 4);
        std::memcpy(&payload, &bytes[at + 8], 8);
        if (kind == 3 && version == 1) { // version 1 had no ghosts: the end block's sum loses
                                         // their bytes
            bytes.erase(at, 32 + payload);
            const std::size_t end = at;
            std::uint64_t sum = 0;
            std::memcpy(&sum, &bytes[end + 16], 8);
            put64(end + 16, sum - payload);
            put64(end + 24, XXH3_64bits(&bytes[end], 24));
            break;
        }
        if (kind == 3) {
            at += 32 + payload;
            continue;
        }
        if (kind != 1) {
            break;
        }
        std::size_t record = at + 32;
        for (std::uint32_t i = 0; i < count; ++i) {
            std::uint32_t size = 0;
            std::memcpy(&size, &bytes[record], 4);
            bytes[record + 7] = static_cast<char>(version == 1 ? 0 : bytes[record + 7] & 0x83);
            record += size;
        }
        put64(at + 16, XXH3_64bits(&bytes[at + 32], payload));
        put64(at + 24, XXH3_64bits(&bytes[at], 24));
        at += 32 + payload;
    }
    return bytes;
}

TEST(Snapshot, TheHotSetComesBackInTheMainQueueWithItsHitsAndAScanPassesItBy) {
    core::ManualClock clock;
    ObjectStore before(kQueueBudget);
    with_a_hot_set(before, clock);
    const auto places_before = places(before);
    int hot_in_main = 0;
    for (int i = 0; i < 50; ++i) {
        hot_in_main += places_before.at(canonical("/hot-" + std::to_string(i))).first ? 1 : 0;
    }
    ASSERT_EQ(hot_in_main, 50); // the premise: the hot set made it to the main queue
    const std::string bytes = written_from(before, clock);

    clock.advance(seconds(2));
    ObjectStore after(kQueueBudget);
    const SnapshotLoad r = load(bytes, after, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, places_before.size());
    EXPECT_EQ(places(after), places_before); // every object in its queue with its hits
    // The ghost list too: an object dropped from probation before the restart and asked again
    // after it goes straight to the main queue, as it would have without the restart.
    const auto ghost_set = [](const ObjectStore& store) {
        std::set<std::pair<std::uint32_t, std::uint32_t>> out;
        for (const ObjectStore::Ghost& g : store.ghosts()) {
            out.insert({g.shard, g.hash});
        }
        return out;
    };
    ASSERT_FALSE(before.ghosts().empty());
    EXPECT_EQ(ghost_set(after), ghost_set(before));
    std::string dropped;
    for (int i = 0; i < 450 && dropped.empty(); ++i) {
        const std::string path = "/once-" + std::to_string(i);
        const std::string key = canonical(path);
        const auto hash = static_cast<std::uint32_t>(XXH3_64bits(key.data(), key.size()));
        for (const ObjectStore::Ghost& g : after.ghosts()) {
            if (g.hash == hash && !stored(after, path)) {
                dropped = path;
            }
        }
    }
    ASSERT_FALSE(dropped.empty());
    ASSERT_TRUE(after.insert(make({dropped, "again"}, clock)));
    EXPECT_TRUE(places(after).at(canonical(dropped)).first) << dropped;
    EXPECT_EQ(hot_left_after_a_scan(after, clock), 50);
    for (const auto& [key, place] : places_before) { // the restored one-hit objects went first
        if (!place.first && place.second == 0) {
            EXPECT_FALSE(stored_quietly(after, key)) << key;
        }
    }
}

TEST(Snapshot, AVersion1FileIsStillReadWithEveryObjectOnProbation) {
    core::ManualClock clock;
    ObjectStore before(kQueueBudget);
    with_a_hot_set(before, clock);
    const std::string v1 = as_older(written_from(before, clock), 1);
    ObjectStore after(kQueueBudget);
    const SnapshotLoad r = load(v1, after, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, before.stats().objects);
    for (const auto& [key, place] : places(after)) {
        EXPECT_FALSE(place.first) << key;
        EXPECT_EQ(place.second, 0) << key;
    }
    // Which is why version 2 exists: on probation, the hot set does not survive a scan.
    EXPECT_LT(hot_left_after_a_scan(after, clock), 50);
    // A version 1 record with byte 7 set is corrupt, not a version 2 record.
    expect_cold_start(with_first_queue_byte(v1, 0x80),
                      "v1 record with a queue byte (checksums left wrong too)");
}

namespace {
// Where each object is under W-TinyLFU, by key: main, protected segment, hits; and its count
// in the sketch.
struct TinyLfuPlace {
    bool main = false;
    bool protected_segment = false;
    int hits = 0;
    int frequency = 0;
};
std::map<std::string, TinyLfuPlace> tinylfu_places(const ObjectStore& store) {
    std::map<std::string, TinyLfuPlace> out;
    store.visit([&out, &store](const StoredObject& o) {
        const ObjectStore::QueuePlace p = store.queue_place(o);
        out[std::string(o.key())] = {p.main, p.protected_segment, p.hits, p.frequency};
    });
    return out;
}
} // namespace

TEST(Snapshot, UnderTinyLfuTheSegmentsAndTheSketchCountsComeBack) {
    core::ManualClock clock;
    ObjectStore before(kQueueBudget, config::Eviction::TinyLfu);
    with_a_hot_set(before, clock);
    const auto places_before = tinylfu_places(before);
    int hot_protected = 0;
    for (int i = 0; i < 50; ++i) {
        const TinyLfuPlace& p = places_before.at(canonical("/hot-" + std::to_string(i)));
        hot_protected += p.protected_segment ? 1 : 0;
    }
    ASSERT_GT(hot_protected, 25); // the premise: the hot set made it to the protected segment
    ObjectStore after(kQueueBudget, config::Eviction::TinyLfu);
    const SnapshotLoad r = load(written_from(before, clock), after, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, places_before.size());
    const auto places_after = tinylfu_places(after);
    ASSERT_EQ(places_after.size(), places_before.size());
    for (const auto& [key, p] : places_before) {
        const TinyLfuPlace& q = places_after.at(key);
        EXPECT_EQ(q.main, p.main) << key;
        EXPECT_EQ(q.protected_segment, p.protected_segment) << key;
        EXPECT_EQ(q.hits, p.hits) << key;
        // At least what it was: the counters are raised to it, and other keys share some.
        EXPECT_GE(q.frequency, p.frequency) << key;
        EXPECT_LE(q.frequency, 15) << key;
    }
}

TEST(Snapshot, ASnapshotWrittenUnderOnePolicyRestoresUnderAnother) {
    using config::Eviction;
    for (const Eviction writer : {Eviction::S3Fifo, Eviction::TinyLfu, Eviction::Clock}) {
        core::ManualClock clock;
        ObjectStore before(kQueueBudget, writer);
        with_a_hot_set(before, clock);
        const std::string bytes = written_from(before, clock);
        for (const std::string& file : {bytes, as_older(bytes, 2), as_older(bytes, 1)}) {
            for (const Eviction reader : {Eviction::S3Fifo, Eviction::TinyLfu, Eviction::Clock}) {
                ObjectStore after(kQueueBudget, reader);
                const SnapshotLoad r = load(file, after, clock);
                const auto what = [&] {
                    return "written " + std::to_string(static_cast<int>(writer)) + " read " +
                           std::to_string(static_cast<int>(reader)) + " file version " +
                           std::to_string(static_cast<int>(file[8]));
                };
                ASSERT_EQ(r.error, "") << what();
                EXPECT_EQ(r.loaded, before.stats().objects) << what();
                EXPECT_GT(after.stats().objects, 0U) << what();
                EXPECT_LE(after.stats().bytes + after.policy_bytes(), kQueueBudget) << what();
            }
        }
    }
}

TEST(Snapshot, AVersion2FileIsStillReadWithItsQueuesAndHits) {
    core::ManualClock clock;
    ObjectStore before(kQueueBudget);
    with_a_hot_set(before, clock);
    const auto places_before = places(before);
    const std::string v2 = as_older(written_from(before, clock), 2);
    ObjectStore after(kQueueBudget);
    const SnapshotLoad r = load(v2, after, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(places(after), places_before);
    EXPECT_EQ(hot_left_after_a_scan(after, clock), 50);
    // A version 2 record with the protected bit (version 3's) is corrupt.
    expect_cold_start(with_first_queue_byte(v2, 0xc0),
                      "v2 record with a protected bit (checksums left wrong too)");
}

TEST(Snapshot, ARestoredObjectNeverReplacesOneStoredSince) {
    core::ManualClock clock;
    const std::string bytes = written({{"/a", "old"}, {"/b", "old"}}, clock);
    ObjectStore store(64 << 20);
    ASSERT_TRUE(store.insert(make({"/a", "new"}, clock)));
    const SnapshotLoad r = load(bytes, store, clock);
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.loaded, 1U);
    EXPECT_EQ(r.newer_stored, 1U);
    const ObjectRef a = find(store, "/a");
    ASSERT_TRUE(a);
    EXPECT_EQ(std::string_view(a->body(), a->body_size()), "new");
    EXPECT_TRUE(find(store, "/b"));
}
} // namespace
} // namespace lacquer::cache
