// ObjectStore::lookup on a populated store: 10,000 and 100,000 objects of 1 KiB under keys
// shaped like build_key's (hashed with XXH3 as it does), looked up in a shuffled order where
// each key comes once per round (hit: every hit is cold, the worst case of a store larger than
// the CPU's caches), in a Zipf 1.0 order (zipf_hit: the shape of real traffic, where the hot
// keys' lines stay cached), or under a key the store does not hold (miss). A hit takes a shard
// lock, walks the chain, compares the full key and takes a reference; it should allocate
// nothing. Per eviction policy (policy:0 s3fifo, 1 clock, 2 tinylfu): W-TinyLFU's hit also
// counts in the shard's sketch. BM_SketchIncrement is that count alone, on sketches of a
// store shard's sizes (64 shards: 4096 words a shard is a 2 MiB sketch in all).
#include "lacquer/cache/frequency_sketch.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/http/head.h"
#include "micro_allocs.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>
#include <xxhash.h>

namespace {

using namespace lacquer;

constexpr std::size_t kBodySize = 1024;

std::uint64_t xxh3(std::string_view bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

// The URL part of a canonical key (BuiltKey::url) and the whole key with its variants.
std::string url_of(std::size_t i) {
    return "G\napi.example.com\n/v3/listings/" + std::to_string(i) + "\nlimit=20&page=2\n";
}
std::string key_of(std::size_t i) {
    return url_of(i) + "locale=en-US\ncurrency=USD\nregion=US\n";
}

cache::ObjectRef make_object(const std::string& url, const std::string& key) {
    cache::StoredObject::Fields f;
    f.key = key;
    f.hash = xxh3(key);
    f.url_hash = xxh3(url);
    f.head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "Cache-Control: public, max-age=600\r\nETag: \"5f2b-1a\"\r\nVia: 1.1 lacquer\r\n";
    f.body_size = kBodySize;
    f.etag = "\"5f2b-1a\"";
    f.window.ttl = std::chrono::minutes(10);
    cache::ObjectRef o(cache::StoredObject::create(f));
    std::fill_n(o->body_for_fill(), kBodySize, 'b');
    return o;
}

// One populated store, kept between the runs of one size (building 100,000 objects for every
// run would dominate the benchmark's wall time).
struct Population {
    Population(std::size_t n, config::Eviction policy) : store(n * 4 * kBodySize, policy) {
        urls.reserve(n);
        keys.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            urls.push_back(url_of(i));
            keys.push_back(key_of(i));
            store.insert(make_object(urls.back(), keys.back()));
        }
        order.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            order.push_back({xxh3(keys[i]), xxh3(urls[i]), keys[i]});
        }
        std::mt19937_64 rng(42);
        std::shuffle(order.begin(), order.end(), rng);
        // Zipf 1.0 over the shuffled keys (rank r is order[r]), by inverse CDF.
        std::vector<double> cdf(n);
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            sum += 1.0 / static_cast<double>(i + 1);
            cdf[i] = sum;
        }
        std::uniform_real_distribution<double> uniform(0, sum);
        zipf.reserve(kZipfRequests);
        for (std::size_t i = 0; i < kZipfRequests; ++i) {
            zipf.push_back(static_cast<std::uint32_t>(
                std::lower_bound(cdf.begin(), cdf.end() - 1, uniform(rng)) - cdf.begin()));
        }
    }

    static constexpr std::size_t kZipfRequests = std::size_t{1} << 20;

    cache::ObjectStore store;
    std::vector<std::string> urls;
    std::vector<std::string> keys;
    std::vector<cache::StoreKey> order; // every key once, shuffled
    std::vector<std::uint32_t> zipf;    // indexes into order, Zipf 1.0
};

enum class Order : std::uint8_t { Uniform, Zipf, Miss };

Population& population(std::size_t n, config::Eviction policy) {
    static std::unique_ptr<Population> current;
    if (!current || current->keys.size() != n || current->store.policy() != policy) {
        current.reset(); // one population at a time
        current = std::make_unique<Population>(n, policy);
    }
    return *current;
}

void BM_StoreLookup(benchmark::State& state, Order kind) {
    const bool hit = kind != Order::Miss;
    const auto n = static_cast<std::size_t>(state.range(0));
    Population& pop = population(n, static_cast<config::Eviction>(state.range(1)));
    if (pop.store.stats().objects != n) {
        state.SkipWithError("the store did not keep every object");
        return;
    }
    const std::string missing_url = url_of(n + 1);
    const std::string missing_key = key_of(n + 1);
    const cache::StoreKey missing{xxh3(missing_key), xxh3(missing_url), missing_key};
    http::HeaderList request; // the lookup's Vary check reads the request's headers
    request.items[request.count++] = {"Host", "api.example.com"};
    request.items[request.count++] = {"Accept-Encoding", "gzip, deflate, br"};

    if (!pop.store.lookup(pop.order.front(), &request) || pop.store.lookup(missing, &request)) {
        state.SkipWithError("unexpected lookup result");
        return;
    }
    std::size_t next = 0;
    std::size_t found = 0;
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        const cache::StoreKey& key = kind == Order::Uniform ? pop.order[next]
                                     : kind == Order::Zipf  ? pop.order[pop.zipf[next]]
                                                            : missing;
        const std::size_t round = kind == Order::Zipf ? Population::kZipfRequests : n;
        next = next + 1 == round ? 0 : next + 1;
        const cache::ObjectRef object = pop.store.lookup(key, &request);
        found += object ? 1 : 0;
        benchmark::DoNotOptimize(object.get());
    }
    bench::report_allocs(state, before);
    if (found != (hit ? static_cast<std::size_t>(state.iterations()) : 0)) {
        state.SkipWithError("a lookup answered wrongly");
    }
}
constexpr auto kS3Fifo = static_cast<std::int64_t>(config::Eviction::S3Fifo);
constexpr auto kTinyLfu = static_cast<std::int64_t>(config::Eviction::TinyLfu);
constexpr auto kClock = static_cast<std::int64_t>(config::Eviction::Clock);
BENCHMARK_CAPTURE(BM_StoreLookup, hit, Order::Uniform)
    ->ArgNames({"objects", "policy"})
    ->ArgsProduct({{10'000, 100'000}, {kS3Fifo, kTinyLfu, kClock}});
BENCHMARK_CAPTURE(BM_StoreLookup, zipf_hit, Order::Zipf)
    ->ArgNames({"objects", "policy"})
    ->ArgsProduct({{10'000, 100'000}, {kS3Fifo, kTinyLfu, kClock}});
BENCHMARK_CAPTURE(BM_StoreLookup, miss, Order::Miss)
    ->ArgNames({"objects", "policy"})
    ->ArgsProduct({{10'000, 100'000}, {kS3Fifo, kTinyLfu, kClock}});

// One shard's sketch counting random hashes: the cost of the count alone as the sketch
// outgrows the CPU's caches (4096 words: 32 KiB a shard, the 2 MiB of a 64-shard store sized
// for 400 MB).
void BM_SketchIncrement(benchmark::State& state) {
    std::vector<cache::FrequencySketch> shards(cache::ObjectStore::kShards);
    for (cache::FrequencySketch& s : shards) {
        s.resize(static_cast<std::size_t>(state.range(0)));
    }
    std::mt19937_64 rng(1);
    std::vector<std::uint32_t> hashes(std::size_t{1} << 16);
    for (std::uint32_t& h : hashes) {
        h = static_cast<std::uint32_t>(rng());
    }
    std::size_t next = 0;
    for (auto _ : state) {
        const std::uint32_t h = hashes[next];
        next = (next + 1) & (hashes.size() - 1);
        shards[h >> 26].increment(h);
    }
    state.counters["sketch_kib"] = static_cast<double>(shards[0].bytes() * shards.size()) / 1024;
}
BENCHMARK(BM_SketchIncrement)->ArgName("words")->RangeMultiplier(8)->Range(64, 1 << 16);
} // namespace
