#pragma once
// The registry as prometheus-cpp sees it: a Collectable whose Collect() sums the per-worker
// shards into MetricFamily objects at the scrape. Workers never touch prometheus-cpp (its
// counters are atomics shared by every thread); only the scraping thread builds these objects.
// Route usage (route_usage.h) comes out as gauges after the registry's own families.

#include "lacquer/metrics/registry.h"

#include <cstdint>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <span>
#include <vector>

namespace lacquer::metrics {

class ShardCollector final : public prometheus::Collectable {
public:
    // `registry` and `shards` outlive the collector; `unix_now` dates the usage windows.
    ShardCollector(const Registry& registry, std::span<const Shard* const> shards,
                   std::int64_t unix_now)
        : registry_(registry), shards_(shards), unix_now_(unix_now) {}

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    void collect_route_usage(std::vector<prometheus::MetricFamily>& out) const;

    const Registry& registry_;
    std::span<const Shard* const> shards_;
    std::int64_t unix_now_;
};

} // namespace lacquer::metrics
