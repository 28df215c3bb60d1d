// The store alone, no sockets: replays synthetic request streams against cache::ObjectStore
// with each eviction policy at budgets of 1%, 10% and 30% of the stream's working set, and
// prints the hit ratio by objects and by bytes over the second half of each stream (the first
// fills the cache: compulsory misses would blur the policies' difference) (issue 22): S3-FIFO,
// W-TinyLFU and CLOCK side by side, and each frequency-aware one's lead over CLOCK. A request looks
// its key up; a miss stores a new object of the key's size, as a fill would. Sizes follow a
// log-normal law of API answers (median 2 KiB, sigma 1, 128 B to 256 KiB), fixed per key. Each
// workload first prints its ceiling: the hit ratio of a cache that never evicts; each row ends with
// two references no online policy passes: Belady's MIN, and on the Zipf streams the best key set
// that fits the budget (by probability per byte, and by probability alone for size-blind policies).
//   lacquer_store_sim [requests]     (default 400000; perf/store_sim.sh runs it)
//   lacquer_store_sim --trace FILE BUDGET HEAD_BYTES
//       replays FILE (one "id size" a line) with every policy at BUDGET bytes, objects carrying
//       HEAD_BYTES of stored head, and prints the hit ratio over the whole trace: what
//       perf/store_e2e.sh compares with the real lacquerd serving the same trace.
#include "lacquer/cache/object_store.h"
#include "lacquer/cache/stored_object.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <xxhash.h>

namespace {

using namespace lacquer;

constexpr config::Eviction kPolicies[] = {config::Eviction::S3Fifo, config::Eviction::TinyLfu,
                                          config::Eviction::Clock};

const char* name_of(config::Eviction policy) {
    switch (policy) {
    case config::Eviction::S3Fifo:
        return "s3fifo";
    case config::Eviction::TinyLfu:
        return "tinylfu";
    case config::Eviction::Clock:
        break;
    }
    return "clock";
}

constexpr std::uint64_t kKeys = 100000; // the popular population of every workload

struct Workload {
    const char* name;
    std::vector<std::uint64_t> stream; // key ids
    // Streams of independent draws (the Zipf ones, with or without wonders): the law's alpha and
    // the share of requests drawn from it; 0 for the others.
    double alpha = 0;
    double zipf_share = 0;
};

std::size_t size_of(std::uint64_t id) {
    std::mt19937_64 rng(id * 0x9E3779B97F4A7C15ULL + 1);
    std::lognormal_distribution<double> law(std::log(2048.0), 1.0);
    return static_cast<std::size_t>(std::clamp(law(rng), 128.0, 256.0 * 1024));
}

// Zipf(alpha) over [0, n): ranks by inverse CDF over the precomputed cumulative weights.
class Zipf {
public:
    Zipf(double alpha, std::uint64_t n) : cdf_(n) {
        double sum = 0;
        for (std::uint64_t i = 0; i < n; ++i) {
            sum += 1.0 / std::pow(static_cast<double>(i + 1), alpha);
            cdf_[i] = sum;
        }
        for (double& c : cdf_) {
            c /= sum;
        }
    }
    std::uint64_t operator()(std::mt19937_64& rng) const {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        return static_cast<std::uint64_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) -
                                          cdf_.begin());
    }

private:
    std::vector<double> cdf_;
};

// Popular keys are shuffled ids, so a key's rank says nothing of its hash or size.
std::uint64_t popular(std::uint64_t rank) {
    return (rank * 2654435761ULL) % 1000003ULL;
}

std::vector<Workload> workloads(std::size_t requests) {
    std::vector<Workload> out;
    std::mt19937_64 rng(7);
    std::uint64_t fresh = 2000000; // ids never asked before
    for (double alpha : {0.6, 0.8, 1.0, 1.2}) {
        static char names[4][32];
        char* name = names[out.size()];
        std::snprintf(name, sizeof names[0], "zipf %.1f", alpha);
        const Zipf zipf(alpha, kKeys);
        Workload w{name, {}, alpha, 1.0};
        for (std::size_t i = 0; i < requests; ++i) {
            w.stream.push_back(popular(zipf(rng)));
        }
        out.push_back(std::move(w));
    }
    const Zipf zipf(1.0, kKeys);
    {
        // 30% of the requests ask a key once and never again: about 70% of the distinct keys
        // are such one-hit wonders, the shape of web and CDN traces.
        Workload w{"zipf 1.0 + one-hit wonders", {}, 1.0, 0.7};
        std::bernoulli_distribution wonder(0.3);
        for (std::size_t i = 0; i < requests; ++i) {
            w.stream.push_back(wonder(rng) ? fresh++ : popular(zipf(rng)));
        }
        out.push_back(std::move(w));
    }
    {
        Workload w{"loop over all keys", {}};
        for (std::size_t i = 0; i < requests; ++i) {
            w.stream.push_back(popular(i % kKeys));
        }
        out.push_back(std::move(w));
    }
    {
        // The middle fifth of the stream is a scan of keys asked once (a crawler, a batch job).
        Workload w{"zipf 1.0 with a scan burst", {}};
        for (std::size_t i = 0; i < requests; ++i) {
            const bool scanning = i >= requests * 2 / 5 && i < requests * 3 / 5;
            w.stream.push_back(scanning ? fresh++ : popular(zipf(rng)));
        }
        out.push_back(std::move(w));
    }
    return out;
}

struct Result {
    double objects = 0; // hit ratio by requests
    double bytes = 0;   // by bytes served
};

// `sizes`: each request's size (empty: size_of(id)); `measure_from`: the first request counted.
Result replay(const Workload& w, std::uint64_t budget, config::Eviction policy,
              const std::vector<std::size_t>& sizes, std::size_t measure_from,
              std::size_t head_bytes) {
    cache::ObjectStore store(budget, policy);
    std::uint64_t hits = 0;
    std::uint64_t hit_bytes = 0;
    std::uint64_t all_bytes = 0;
    std::string key;
    const std::string head = "Content-Type: application/json\r\n" +
                             std::string(head_bytes > 32 ? head_bytes - 32 : 0, 'h');
    std::size_t at = 0;
    std::uint64_t counted = 0;
    for (const std::uint64_t id : w.stream) {
        const std::size_t size = sizes.empty() ? size_of(id) : sizes[at];
        const bool measured = at++ >= measure_from;
        counted += measured ? 1 : 0;
        key = "G\nsim\n/k/" + std::to_string(id) + "\n";
        const std::uint64_t hash = XXH3_64bits(key.data(), key.size());
        all_bytes += measured ? size : 0;
        if (store.lookup(cache::StoreKey{hash, hash, key})) {
            hits += measured ? 1 : 0;
            hit_bytes += measured ? size : 0;
            continue;
        }
        cache::StoredObject::Fields f;
        f.key = key;
        f.hash = hash;
        f.url_hash = hash;
        f.head = head;
        f.body_size = size;
        f.window.ttl = std::chrono::hours(1);
        store.insert(cache::ObjectRef(cache::StoredObject::create(f)));
    }
    return {static_cast<double>(hits) / static_cast<double>(counted),
            static_cast<double>(hit_bytes) / static_cast<double>(all_bytes)};
}

std::uint64_t working_set(const Workload& w) {
    std::unordered_set<std::uint64_t> seen(w.stream.begin(), w.stream.end());
    std::uint64_t bytes = 0;
    for (const std::uint64_t id : seen) {
        bytes += size_of(id) + 160; // the object's head, key and bookkeeping, roughly
    }
    return bytes;
}

// What no policy at any budget can beat: the share of the counted requests (from
// `measure_from` on) whose key was asked before, anywhere earlier in the stream.
double ceiling(const Workload& w, std::size_t measure_from) {
    std::unordered_set<std::uint64_t> seen;
    std::uint64_t repeats = 0;
    for (std::size_t i = 0; i < w.stream.size(); ++i) {
        const bool again = !seen.insert(w.stream[i]).second;
        repeats += i >= measure_from && again ? 1 : 0;
    }
    return static_cast<double>(repeats) / static_cast<double>(w.stream.size() - measure_from);
}

// When each request is an independent draw (the Zipf streams), a request hits with the summed
// probability of the keys the cache holds just then, whatever the policy that chose them, so no
// online policy beats the best set that fits in the budget. `aware` picks keys by probability per
// byte (fractional knapsack: a bound that no policy exceeds); `blind` by probability alone, the
// most a policy that ignores sizes can hold. Both ignore first misses, so they may pass the
// ceiling. Objects are charged as working_set() charges them, less than the store does.
struct Oracle {
    double aware = 0;
    double blind = 0;
};

Oracle oracle(const Workload& w, std::uint64_t budget) {
    struct Key {
        double p;
        double bytes;
    };
    std::vector<Key> keys(kKeys);
    double sum = 0;
    for (std::uint64_t rank = 0; rank < kKeys; ++rank) {
        keys[rank].p = 1.0 / std::pow(static_cast<double>(rank + 1), w.alpha);
        keys[rank].bytes = static_cast<double>(size_of(popular(rank)) + 160);
        sum += keys[rank].p;
    }
    for (Key& k : keys) {
        k.p *= w.zipf_share / sum;
    }
    Oracle out;
    double used = 0;
    for (const Key& k : keys) { // ranks are in order of probability already
        if (used + k.bytes > static_cast<double>(budget)) {
            break;
        }
        used += k.bytes;
        out.blind += k.p;
    }
    std::sort(keys.begin(), keys.end(),
              [](const Key& a, const Key& b) { return a.p / a.bytes > b.p / b.bytes; });
    used = 0;
    for (const Key& k : keys) {
        const double room = static_cast<double>(budget) - used;
        out.aware += k.p * std::min(1.0, room / k.bytes);
        used += k.bytes;
        if (used >= static_cast<double>(budget)) {
            break;
        }
    }
    return out;
}

// The hit ratio of Belady's MIN, the offline policy that sees the whole stream: a miss is stored
// only if its key is asked again, and the cache sheds the objects asked again the farthest ahead
// (the new one included, which is then not admitted). Objects are charged as working_set() charges
// them. With objects of one size no policy, online or offline, hits more often; with sizes it is
// the usual reference, not a proof (the exact optimum is NP-hard), and a policy that knows the
// future is the most an online one can hope to approach.
double belady(const Workload& w, std::uint64_t budget, std::size_t from) {
    constexpr std::size_t kNever = SIZE_MAX;
    std::vector<std::size_t> next(w.stream.size(), kNever);
    {
        std::unordered_map<std::uint64_t, std::size_t> later;
        for (std::size_t i = w.stream.size(); i-- > 0;) {
            const auto [it, first] = later.try_emplace(w.stream[i], i);
            next[i] = first ? kNever : it->second;
            it->second = i;
        }
    }
    std::set<std::pair<std::size_t, std::uint64_t>> by_next; // (next request, key) of each held
    std::unordered_map<std::uint64_t, std::size_t> held;     // key -> its next request
    std::uint64_t used = 0;
    std::uint64_t hits = 0;
    for (std::size_t i = 0; i < w.stream.size(); ++i) {
        const std::uint64_t id = w.stream[i];
        const auto it = held.find(id);
        if (it != held.end()) {
            hits += i >= from ? 1 : 0;
            by_next.erase({it->second, id});
            if (next[i] == kNever) {
                used -= size_of(id) + 160;
                held.erase(it);
                continue;
            }
            it->second = next[i];
            by_next.emplace(next[i], id);
            continue;
        }
        if (next[i] == kNever) {
            continue;
        }
        held.emplace(id, next[i]);
        by_next.emplace(next[i], id);
        used += size_of(id) + 160;
        while (used > budget) {
            const auto farthest = std::prev(by_next.end());
            used -= size_of(farthest->second) + 160;
            held.erase(farthest->second);
            by_next.erase(farthest);
        }
    }
    return static_cast<double>(hits) / static_cast<double>(w.stream.size() - from);
}

} // namespace

// --trace: the same stream lacquerd is given by perf/store_e2e.sh.
int replay_trace(const char* path, std::uint64_t budget, std::size_t head_bytes) {
    std::ifstream in(path);
    Workload w{"trace", {}};
    std::vector<std::size_t> sizes;
    std::uint64_t id = 0;
    std::size_t size = 0;
    while (in >> id >> size) {
        w.stream.push_back(id);
        sizes.push_back(size);
    }
    if (w.stream.empty()) {
        std::fprintf(stderr, "lacquer_store_sim: no requests in %s\n", path);
        return 1;
    }
    for (const config::Eviction policy : kPolicies) {
        const Result r = replay(w, budget, policy, sizes, 0, head_bytes);
        std::printf("%-7s simulated: %5.1f%% of requests hit (%zu requests, budget %.1f MiB)\n",
                    name_of(policy), 100 * r.objects, w.stream.size(),
                    static_cast<double>(budget) / (1 << 20));
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 5 && std::string(argv[1]) == "--trace") {
        return replay_trace(argv[2], std::strtoull(argv[3], nullptr, 10),
                            std::strtoull(argv[4], nullptr, 10));
    }
    const std::size_t requests = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400000;
    std::printf("%-28s %6s %11s  %-15s %-15s %-15s %-35s %s\n", "workload", "budget", "working set",
                "s3fifo obj/B", "tinylfu obj/B", "clock obj/B",
                "vs clock (objects): s3fifo tinylfu",
                "belady (offline)  best set: by bytes / size-blind");
    for (const Workload& w : workloads(requests)) {
        const std::uint64_t ws = working_set(w);
        std::printf("%-28s ceiling (every earlier key still stored): %5.1f%% of requests\n", w.name,
                    100 * ceiling(w, w.stream.size() / 2));
        for (const int percent : {1, 10, 30}) {
            const std::uint64_t budget = ws * static_cast<std::uint64_t>(percent) / 100;
            // The first half of each stream fills the cache: it is not counted.
            const std::size_t half = w.stream.size() / 2;
            Result r[std::size(kPolicies)];
            for (std::size_t p = 0; p < std::size(kPolicies); ++p) {
                r[p] = replay(w, budget, kPolicies[p], {}, half, 32);
            }
            char best[32] = "-";
            if (w.alpha > 0) {
                const Oracle o = oracle(w, budget);
                std::snprintf(best, sizeof best, "%5.1f%% / %5.1f%%", 100 * o.aware, 100 * o.blind);
            }
            std::printf("%-28s %5d%% %7.1f MiB  %5.1f%% / %5.1f%%  %5.1f%% / %5.1f%%  %5.1f%% / "
                        "%5.1f%%  %+5.1f %+5.1f %22s %5.1f%%  %17s\n",
                        w.name, percent, static_cast<double>(ws) / (1 << 20), 100 * r[0].objects,
                        100 * r[0].bytes, 100 * r[1].objects, 100 * r[1].bytes, 100 * r[2].objects,
                        100 * r[2].bytes, 100 * (r[0].objects - r[2].objects),
                        100 * (r[1].objects - r[2].objects), "", 100 * belady(w, budget, half),
                        best);
            std::fflush(stdout);
        }
    }
    return 0;
}
