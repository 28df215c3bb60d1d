#pragma once
// The proxy's metrics, declared once at start-up: which slot each event counts into. The label
// sets are closed (routes, origins and their servers come from the config; statuses and reasons
// from their X-macro lists), so counting is an array index on the hot path.

#include "lacquer/cache/freshness.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/metrics/route_usage.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/route_table.h"
#include "lacquer/proxy/worker_context.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::net {
class ConnectionBalancer;
}
namespace lacquer::cache {
class ObjectStore;
}

namespace lacquer::proxy {

inline constexpr std::size_t kCacheStatusCount = static_cast<std::size_t>(CacheStatus::Error) + 1;

struct ProxyMetrics {
    // [route index][cache status]; the last route index is "-" (refused before routing).
    std::vector<std::array<std::uint32_t, kCacheStatusCount>> requests;
    // Only the pairs that can occur: a route that does not cache has no hit, miss, stale...
    // series (metrics::kNoSlot; observing it does nothing).
    std::vector<std::array<metrics::HistogramSlots, kCacheStatusCount>> durations;
    // [route index][status class 1xx..5xx]: every answer to a client (lacquer_responses_total).
    std::vector<std::array<std::uint32_t, 5>> responses;
    // [route index]: last request and recent counts (none for "-").
    std::vector<metrics::RouteUsageSlots> usage;
    std::uint32_t coalesced_waits = 0;
    std::uint32_t fetches_avoided = 0;
    std::uint32_t wait_timeouts = 0;
    std::uint32_t background_refreshes = 0;
    std::uint32_t hit_for_miss = 0;
    std::uint32_t stale_while_refresh = 0;
    std::uint32_t stale_origin_error = 0;
    std::vector<std::uint32_t> not_stored; // per cache::StoreVerdict (Stored unused)
    std::uint32_t connections_accepted = 0;
    std::uint32_t connections_refused = 0;
    std::uint32_t connections_moved = 0; // handed to a less loaded worker (listen[].balance)
    std::uint32_t received_bytes = 0;
    std::uint32_t sent_bytes = 0;
    std::vector<std::unique_ptr<origin::OriginCounters>> origins; // per pool

    std::size_t unrouted_index() const { return requests.size() - 1; }
};

// Counts one event of a single-series counter, e.g. count(ctx, &ProxyMetrics::hit_for_miss).
inline void count(const WorkerContext& ctx, std::uint32_t ProxyMetrics::*field,
                  std::uint64_t n = 1) {
    if (const ProxyMetrics* m = ctx.metrics()) {
        ctx.count(m->*field, n);
    }
}

// Where a request ends (RequestFsm::log): its answer's status class and its route's usage, in
// the worker's own shard. `status` 499 (the client went away: nothing was answered) and
// anything outside 100..599 count no response.
inline void count_request_end(const WorkerContext& ctx, const ProxyMetrics& m, std::size_t route,
                              int status, std::int64_t unix_seconds) {
    if (ctx.shard == nullptr) {
        return;
    }
    if (status >= 100 && status <= 599 && status != 499) {
        ctx.shard->add(m.responses[route][static_cast<std::size_t>(status / 100 - 1)]);
    }
    metrics::record_route_request(*ctx.shard, m.usage[route], unix_seconds);
}

// What the gauges read at scrape.
struct MetricSources {
    const cache::ObjectStore* store = nullptr;
    const std::atomic<std::uint32_t>* open_connections = nullptr;
    const net::ConnectionBalancer* balancer = nullptr; // each worker's connections
    const std::atomic<bool>* ready = nullptr;
    unsigned workers = 0;
    std::string version;
};

std::unique_ptr<ProxyMetrics>
declare_proxy_metrics(metrics::Registry& registry, const RouteTable& routes,
                      const std::vector<origin::OriginPoolSpec>& pools,
                      const MetricSources& sources);

} // namespace lacquer::proxy
