#pragma once
// What the snapshot suites share (snapshot_test.cc: the file format, damage and round trips;
// snapshot_restore_test.cc: the eviction order across a restart): a scratch directory, objects
// made to a spec, a snapshot written from them and read back through memory.

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

namespace lacquer::cache::snapshot_test {

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

inline std::string read_all(const std::string& path) {
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

inline std::string canonical(std::string_view path, std::string_view variants = "") {
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

inline ObjectRef make(const Spec& spec, const core::ManualClock& clock) {
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

inline ObjectRef find(const ObjectStore& store, std::string_view path) {
    const std::string key = canonical(path);
    const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
    return store.lookup({hash, hash, key}); // a request without Accept-Encoding
}

// A snapshot of `specs` written at the clock's now, as bytes.
inline std::string written(const std::vector<Spec>& specs, core::ManualClock& clock,
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

inline SnapshotLoad load(std::string_view bytes, ObjectStore& store, const core::Clock& clock,
                         const KeyPolicyFingerprint& fingerprint = {}) {
    MemorySource source(bytes);
    return read_snapshot(source, store, clock, fingerprint);
}

inline std::vector<Spec> two_objects() {
    return {{"/a", "alpha body", seconds(60)}, {"/b", std::string(3000, 'b'), seconds(60)}};
}

// Every damaged file: an error of one line, nothing stored.
inline void expect_cold_start(std::string_view bytes, const std::string& what) {
    core::ManualClock clock;
    ObjectStore store(64 << 20);
    const SnapshotLoad r = load(bytes, store, clock);
    EXPECT_NE(r.error, "") << what;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << what;
    EXPECT_EQ(r.loaded, 0U) << what;
    EXPECT_EQ(store.stats().objects, 0U) << what;
}

} // namespace lacquer::cache::snapshot_test
