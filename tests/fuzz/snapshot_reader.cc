// libFuzzer target: any bytes as a snapshot file -> read_snapshot. Read three times: with the
// checksums off, so the fuzzer reaches the header, block and record parsers behind them (they
// must stand on their own), and with them on, as lacquerd reads; once more into a W-TinyLFU
// store, which reads the queue byte its own way. Beyond "no crash": a refused
// file leaves the store empty (never a partial load), an accepted one stored exactly what it
// counts, and every object it stored is found again under the key and hash it was given.
#include "lacquer/cache/snapshot.h"
#include "lacquer/core/assert.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>
#include <xxhash.h>

namespace {

using namespace lacquer;

class BytesSource final : public cache::SnapshotSource {
public:
    explicit BytesSource(std::string_view bytes) : rest_(bytes) {}
    long read(char* out, std::size_t size) override {
        // Short reads, as a pipe or a slow disk gives them, exercise the reader's loops too.
        const std::size_t n = std::min({size, rest_.size(), std::size_t{4096}});
        std::copy_n(rest_.data(), n, out);
        rest_.remove_prefix(n);
        return static_cast<long>(n);
    }

private:
    std::string_view rest_;
};

void read_once(std::string_view bytes, bool verify, config::Eviction policy) {
    const core::ManualClock clock;
    cache::ObjectStore store(8 << 20, policy);
    BytesSource source(bytes);
    // Keys with "/drop" belong to no caching route now; the rest keep fingerprint 1.
    const cache::KeyPolicyFingerprint fingerprint = [](std::string_view key) -> std::uint64_t {
        return key.find("/drop") != std::string_view::npos ? 0 : 1;
    };
    cache::SnapshotReadOptions options;
    options.verify_checksums = verify;
    const cache::SnapshotLoad r = cache::read_snapshot(source, store, clock, fingerprint, options);
    const cache::StoreStats stats = store.stats();
    if (!r.error.empty()) {
        LACQUER_ASSERT(stats.objects == 0 && r.loaded == 0);
        LACQUER_ASSERT(r.error.find('\n') == std::string::npos);
        return;
    }
    LACQUER_ASSERT(stats.objects <= r.loaded && stats.bytes <= store.budget());
    store.visit([](const cache::StoredObject& o) {
        const std::string_view key = o.key();
        const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
        LACQUER_ASSERT(o.has_hash(hash));
        LACQUER_ASSERT(key.find("/drop") == std::string_view::npos);
    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    read_once(bytes, false, config::Eviction::S3Fifo);
    read_once(bytes, true, config::Eviction::S3Fifo);
    // W-TinyLFU places a record's queue byte in its own segments and sketch (restore()).
    read_once(bytes, false, config::Eviction::TinyLfu);
    return 0;
}
