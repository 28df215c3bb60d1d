// lacquer_snapshot_bench: the warm restart's write and load rates (cache/snapshot.h) on a store
// filled in memory, no sockets: `uniform N SIZE` stores N objects of SIZE body bytes, `mixed
// BYTES` stores bodies of log-uniform sizes from 200 B to 1 MiB until BYTES. Keys are those of
// the config's routes (default route: "G\n<host>\n/obj/<i>\n\n"), fingerprinted as lacquerd
// does, so `--keep FILE` leaves a snapshot that lacquerd started on that config loads whole
// (perf/snapshot.sh times that restart). Prints one line per phase: objects, MiB, ms, MB/s.
#include "lacquer/cache/snapshot.h"
#include "lacquer/config/load.h"
#include "lacquer/proxy/route_fingerprint.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>
#include <xxhash.h>

namespace {

using namespace lacquer;

// CPU time of the process (user + system), ms: on a busy machine the wall time says little.
double cpu_ms() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto ms = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
    };
    return ms(usage.ru_utime) + ms(usage.ru_stime);
}

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

cache::ObjectRef make(std::size_t i, std::size_t body_size, const core::Clock& clock) {
    const std::string key = "G\nbench.test\n/obj/" + std::to_string(i) + "\n\n";
    cache::StoredObject::Fields f;
    f.key = key;
    f.hash = XXH3_64bits(key.data(), key.size());
    f.url_hash = f.hash; // no variants: the key is its URL
    f.head = "Content-Type: application/json\r\nCache-Control: max-age=3600\r\n";
    f.body_size = body_size;
    f.stored_at = clock.now();
    f.window = {std::chrono::hours(1), std::chrono::minutes(10), std::chrono::minutes(15), false,
                false};
    f.etag = "\"abcdef\"";
    cache::ObjectRef o(cache::StoredObject::create(f));
    for (std::size_t b = 0; b < body_size; ++b) {
        o->body_for_fill()[b] = static_cast<char>('a' + (i + b) % 26);
    }
    return o;
}

int usage() {
    std::fprintf(stderr, "usage: lacquer_snapshot_bench CONFIG DIR (uniform N SIZE | mixed BYTES) "
                         "[--keep FILE]\n");
    return 64;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        return usage();
    }
    const config::Config config = config::load_config_file(argv[1]);
    const proxy::RouteTable routes(config);
    const proxy::RouteFingerprints fingerprints(routes);
    const cache::KeyPolicyFingerprint fingerprint = [&](std::string_view key) {
        return fingerprints.of_key(key);
    };
    const std::string dir = argv[2];
    const std::string mode = argv[3];
    std::vector<std::size_t> sizes;
    if (mode == "uniform" && argc >= 6) {
        sizes.assign(std::strtoull(argv[4], nullptr, 10), std::strtoull(argv[5], nullptr, 10));
    } else if (mode == "mixed") {
        const std::uint64_t total = std::strtoull(argv[4], nullptr, 10);
        std::mt19937_64 rng(42);
        std::uniform_real_distribution<double> log_size(std::log(200.0), std::log(1 << 20));
        for (std::uint64_t sum = 0; sum < total;) {
            sizes.push_back(static_cast<std::size_t>(std::exp(log_size(rng))));
            sum += sizes.back();
        }
    } else {
        return usage();
    }
    std::string keep;
    for (int i = 4; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--keep") {
            keep = argv[i + 1];
        }
    }
    const std::uint64_t budget = 4ULL << 30;
    const core::Clock& clock = core::system_clock();
    const std::string path = keep.empty() ? dir + "/bench.snap" : keep;
    {
        auto store = std::make_unique<cache::ObjectStore>(budget);
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            if (!store->insert(make(i, sizes[i], clock))) {
                std::fprintf(stderr, "insert %zu refused\n", i);
                return 1;
            }
        }
        const cache::StoreStats st = store->stats();
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = cpu_ms();
        const cache::SnapshotWrite w =
            cache::write_snapshot(*store, path, clock, fingerprint, "bench");
        const double ms = ms_since(start);
        const double cpu = cpu_ms() - cpu_start;
        if (!w.error.empty()) {
            std::fprintf(stderr, "write: %s\n", w.error.c_str());
            return 1;
        }
        std::printf("%-8s write: %8llu objects %8.1f MiB (store %.1f MiB) %6.0f ms %6.0f MB/s, "
                    "cpu %5.0f ms = %5.0f MB/s per core (fsync included)\n",
                    mode.c_str(), static_cast<unsigned long long>(w.objects),
                    static_cast<double>(w.bytes) / (1 << 20),
                    static_cast<double>(st.bytes) / (1 << 20), ms,
                    static_cast<double>(w.bytes) / ms / 1000.0, cpu,
                    static_cast<double>(w.bytes) / cpu / 1000.0);
    } // the first store is freed before the load, as across a restart
    cache::ObjectStore loaded(budget);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = cpu_ms();
    const cache::SnapshotLoad r = cache::read_snapshot_file(path, loaded, clock, fingerprint);
    const double ms = ms_since(start);
    const double cpu = cpu_ms() - cpu_start;
    if (!r.error.empty() || r.loaded != sizes.size()) {
        std::fprintf(stderr, "load: %s (%llu of %zu)\n", r.error.c_str(),
                     static_cast<unsigned long long>(r.loaded), sizes.size());
        return 1;
    }
    std::printf(
        "%-8s load:  %8llu objects %8.1f MiB %24s %6.0f ms %6.0f MB/s, cpu %5.0f ms = %5.0f "
        "MB/s per core (page cache)\n",
        mode.c_str(), static_cast<unsigned long long>(r.loaded),
        static_cast<double>(r.file_bytes) / (1 << 20), "", ms,
        static_cast<double>(r.file_bytes) / ms / 1000.0, cpu,
        static_cast<double>(r.file_bytes) / cpu / 1000.0);
    if (keep.empty()) {
        ::unlink(path.c_str());
    }
    return 0;
}
