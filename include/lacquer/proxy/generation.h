#pragma once
// A loaded config and what is compiled from it, as the workers run it. A reload (SIGHUP) builds
// a new Generation beside the running one; each worker then switches to it on its own thread.
// A WorkerGeneration is one worker's view of a generation: the shared part plus that worker's
// origin pools. Requests and cache fills in flight keep the generation they started on (their
// route, pools and metric slots stay valid); a worker frees an old generation when its last
// user ends. Generation is read-only and shared; a WorkerGeneration is its worker's only.

#include "lacquer/config/config.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/proxy/route_table.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace lacquer::net {
class Worker;
class TlsServerContext;
} // namespace lacquer::net

namespace lacquer::proxy {

struct ProxyMetrics;

struct Generation {
    std::uint64_t number = 1; // 1 at start, +1 per successful reload
    config::Config config;
    std::unique_ptr<RouteTable> routes;
    std::vector<origin::OriginPoolSpec> pool_specs;
    const ProxyMetrics* metrics = nullptr; // slots for this config's routes and origins
    // Per config.listen entry: its certificates (read when this generation was built), or
    // nullptr for a plain listener. New handshakes use the current generation's.
    std::vector<std::shared_ptr<const net::TlsServerContext>> listener_tls;
};

class WorkerGeneration {
public:
    // On the worker's thread: builds that worker's pools, counting into `shard`.
    WorkerGeneration(net::Worker& worker, std::shared_ptr<const Generation> generation,
                     unsigned worker_count, metrics::Shard* shard);
    WorkerGeneration(const WorkerGeneration&) = delete;
    WorkerGeneration& operator=(const WorkerGeneration&) = delete;

    const Generation& shared() const { return *generation_; }
    const config::Config& config() const { return generation_->config; }
    const RouteTable& routes() const { return *generation_->routes; }
    const ProxyMetrics* metrics() const { return generation_->metrics; }
    origin::OriginPool& pool(std::size_t index) { return *pools_[index]; }

    std::size_t users = 0; // requests and cache fills running on it

private:
    std::shared_ptr<const Generation> generation_;
    std::vector<std::unique_ptr<origin::OriginPool>> pools_; // index = config origin index
};

} // namespace lacquer::proxy
