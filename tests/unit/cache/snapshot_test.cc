// The snapshot file's writer and reader (cache/snapshot.h): a round trip keeps every field and
// the objects' absolute times; what expired while down, what a changed route key policy made,
// and what is beyond storage.memory stays out; every kind of damaged file (empty, foreign,
// future version, truncated anywhere, any byte flipped, bytes appended) is one error line and
// nothing in the store.
#include "lacquer/cache/snapshot.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <xxhash.h>

namespace lacquer::cache {
namespace {

using std::chrono::seconds;

// A directory of its own, removed with what is in it.
class ScratchDir {
public:
    ScratchDir() {
        std::string pattern = ::testing::TempDir() + "lacquer-snapshot-XXXXXX";
        const char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        path_ = pattern;
    }
    ~ScratchDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class MemorySource final : public SnapshotSource {
public:
    explicit MemorySource(std::string_view bytes) : rest_(bytes) {}
    long read(char* out, std::size_t size) override {
        const std::size_t n = std::min(size, rest_.size());
        std::copy_n(rest_.data(), n, out);
        rest_.remove_prefix(n);
        return static_cast<long>(n);
    }

private:
    std::string_view rest_;
};

std::string canonical(std::string_view path, std::string_view variants = "") {
    return "G\nexample.com\n" + std::string(path) + "\n\n" + std::string(variants);
}

struct Spec {
    std::string path;
    std::string body;
    core::Millis ttl{seconds(60)};
    core::Millis stale{0};
    core::Millis stale_if_error{0};
    core::Millis age{0}; // at the write
};

ObjectRef make(const Spec& spec, const core::ManualClock& clock) {
    const std::string key = canonical(spec.path);
    const std::string& url = key; // no variants: the key is its URL
    StoredObject::Fields f;
    f.key = key;
    f.hash = XXH3_64bits(key.data(), key.size());
    f.url_hash = XXH3_64bits(url.data(), url.size());
    f.head = "Content-Type: text/plain\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nX-A: 1\r\n";
    f.body_size = spec.body.size();
    f.status = 203;
    f.stored_at = clock.now() - spec.age;
    f.initial_age = 7;
    f.window = {spec.ttl, spec.stale, spec.stale_if_error, false, true};
    f.etag = "\"v1\"";
    f.last_modified = "Tue, 14 Nov 2023 22:00:00 GMT";
    f.vary = "accept-encoding\n!\n"; // the request had none
    f.tags = "a b";
    ObjectRef o(StoredObject::create(f));
    std::copy(spec.body.begin(), spec.body.end(), o->body_for_fill());
    return o;
}

ObjectRef find(const ObjectStore& store, std::string_view path) {
    const std::string key = canonical(path);
    const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
    return store.lookup({hash, hash, key}); // a request without Accept-Encoding
}

// A snapshot of `specs` written at the clock's now, as bytes.
std::string written(const std::vector<Spec>& specs, core::ManualClock& clock,
                    const KeyPolicyFingerprint& fingerprint = {}) {
    ObjectStore store(64 << 20);
    for (const Spec& s : specs) {
        EXPECT_TRUE(store.insert(make(s, clock)));
    }
    ScratchDir dir;
    const std::string path = dir.file("cache.snap");
    const SnapshotWrite w = write_snapshot(store, path, clock, fingerprint, "test-build");
    EXPECT_EQ(w.error, "");
    EXPECT_EQ(w.objects, specs.size());
    std::string bytes = read_all(path);
    EXPECT_EQ(bytes.size(), w.bytes);
    EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0); // renamed into place
    return bytes;
}

SnapshotLoad load(std::string_view bytes, ObjectStore& store, const core::Clock& clock,
                  const KeyPolicyFingerprint& fingerprint = {}) {
    MemorySource source(bytes);
    return read_snapshot(source, store, clock, fingerprint);
}

std::vector<Spec> two_objects() {
    return {{"/a", "alpha body", seconds(60)}, {"/b", std::string(3000, 'b'), seconds(60)}};
}

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

// Every damaged file: an error of one line, nothing stored.
void expect_cold_start(std::string_view bytes, const std::string& what) {
    core::ManualClock clock;
    ObjectStore store(64 << 20);
    const SnapshotLoad r = load(bytes, store, clock);
    EXPECT_NE(r.error, "") << what;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << what;
    EXPECT_EQ(r.loaded, 0U) << what;
    EXPECT_EQ(store.stats().objects, 0U) << what;
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

namespace {

// --- The hot set across a restart (format version 2: each record keeps its queue and hits) ---

constexpr std::size_t kQueueBudget = 512 * 1024;

std::string written_from(const ObjectStore& store, const core::ManualClock& clock) {
    ScratchDir dir;
    const std::string path = dir.file("cache.snap");
    const SnapshotWrite w = write_snapshot(store, path, clock, {}, "test-build");
    EXPECT_EQ(w.error, "");
    return read_all(path);
}

// Whether `path` is stored, without counting a hit (remove_if visits and takes nothing).
bool stored_key(ObjectStore& store, const std::string& key) {
    bool found = false;
    store.remove_if([&](const StoredObject& o) {
        found = found || o.key() == key;
        return false;
    });
    return found;
}
bool stored(ObjectStore& store, std::string_view path) {
    return stored_key(store, canonical(path));
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

} // namespace

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
            EXPECT_FALSE(stored_key(after, key)) << key;
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
    std::string damaged = v1;
    std::uint32_t header = 0;
    std::memcpy(&header, &damaged[12], 4);
    damaged[header + 32 + 7] = static_cast<char>(0x80);
    expect_cold_start(damaged, "v1 record with a queue byte (checksums left wrong too)");
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
    std::string damaged = v2;
    std::uint32_t header = 0;
    std::memcpy(&header, &damaged[12], 4);
    damaged[header + 32 + 7] = static_cast<char>(0xc0);
    expect_cold_start(damaged, "v2 record with a protected bit (checksums left wrong too)");
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
