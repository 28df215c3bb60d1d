#pragma once
// What a worker's client sessions share: the config they run on, its compiled routes, this
// worker's origin pools, the process-wide cache and the process-wide connection count. Built on the
// worker's thread; used only there (the connection count is the one atomic).

#include "lacquer/config/config.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/proxy/access_log.h"
#include "lacquer/proxy/route_table.h"

#include <atomic>
#include <memory>
#include <vector>

namespace lacquer::net {
class Worker;
}
namespace lacquer::cache {
class ObjectStore;
class Coalescer;
} // namespace lacquer::cache

namespace lacquer::proxy {

class ClientSession;
class CacheFill;
struct ProxyMetrics;

struct WorkerContext {
    net::Worker& worker;
    const config::Config& config;
    const RouteTable& routes;
    std::vector<std::unique_ptr<origin::OriginPool>> pools; // index = config origin index
    std::atomic<std::uint32_t>& open_connections;           // process-wide
    http::HeadLimits head_limits;
    AccessLog* access_log = nullptr;       // nullptr: off
    cache::ObjectStore* store = nullptr;   // process-wide, thread-safe
    cache::Coalescer* coalescer = nullptr; // process-wide, thread-safe
    std::size_t live_sessions = 0;         // this worker's client connections
    ClientSession* sessions = nullptr;     // intrusive list of the live ones, for shutdown
    CacheFill* fills = nullptr;            // the cache fills running on this worker, likewise
    bool draining = false;                 // shutting down: answer what is in flight, then close
    const ProxyMetrics* metrics = nullptr; // slots (nullptr: nothing counted)
    metrics::Shard* shard = nullptr;       // this worker's counts

    void count(std::uint32_t slot, std::uint64_t n = 1) const {
        if (shard != nullptr) {
            shard->add(slot, n);
        }
    }
};

// Ends every session and cache fill of a stopped worker (its thread has been joined).
void close_all_sessions(WorkerContext& context);
// On the worker's thread: from now on every connection closes after the request in flight, and
// idle ones close at once (graceful shutdown).
void drain_sessions(WorkerContext& context);

} // namespace lacquer::proxy
