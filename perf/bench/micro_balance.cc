// The per-request cost of choosing an origin server on the miss path (OriginPool::pick): the
// weights of now from the shared health (a few relaxed atomic loads per server) and the
// balancing policy, for 3 and 16 servers. Hits never reach it. Should allocate nothing.
#include "lacquer/core/clock.h"
#include "lacquer/origin/balancer.h"
#include "lacquer/origin/server_health.h"
#include "micro_allocs.h"

#include <benchmark/benchmark.h>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace lacquer;

void pick(benchmark::State& state, config::Balance policy) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<std::shared_ptr<origin::ServerHealth>> servers;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < n; ++i) {
        servers.push_back(std::make_shared<origin::ServerHealth>());
        names.push_back("10.0.0." + std::to_string(i + 1) + ":8080");
    }
    const core::Clock& clock = core::system_clock();
    const origin::PoolHealth health("api", config::OutlierDetectionConfig{}, core::Duration(0),
                                    servers, clock);
    const std::vector<std::uint32_t> configured(n, 1);
    const origin::MaglevTable table(names, configured);
    origin::Balancer balancer(policy, n, &table);
    std::vector<std::uint32_t> weights(n);
    std::vector<std::size_t> active(n, 0);
    const core::Instant now = clock.now();
    std::uint64_t hash = 0x12345;
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        hash = hash * 6364136223846793005ULL + 1442695040888963407ULL; // a new key each time
        benchmark::DoNotOptimize(health.weights(configured, now, weights));
        const std::size_t chosen = balancer.pick(hash, weights, active);
        ++active[chosen]; // keeps least_connections moving
        if (active[chosen] > 8) {
            active[chosen] = 0;
        }
        benchmark::DoNotOptimize(chosen);
    }
    bench::report_allocs(state, before);
}

void BM_PickRoundRobin(benchmark::State& state) {
    pick(state, config::Balance::RoundRobin);
}
void BM_PickLeastConnections(benchmark::State& state) {
    pick(state, config::Balance::LeastConnections);
}
void BM_PickConsistentHash(benchmark::State& state) {
    pick(state, config::Balance::ConsistentHash);
}

BENCHMARK(BM_PickRoundRobin)->Arg(3)->Arg(16);
BENCHMARK(BM_PickLeastConnections)->Arg(3)->Arg(16);
BENCHMARK(BM_PickConsistentHash)->Arg(3)->Arg(16);

} // namespace
