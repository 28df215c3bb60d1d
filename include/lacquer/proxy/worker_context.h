#pragma once
// What a worker's client sessions share: the config they run on, its compiled routes, this
// worker's origin pools, the process-wide cache and the process-wide connection count. Built on the
// worker's thread; used only there (the connection count is the one atomic).

#include "lacquer/config/config.h"
#include "lacquer/http/head_parser.h"
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
};

// Ends every session and cache fill of a stopped worker (its thread has been joined).
void close_all_sessions(WorkerContext& context);

} // namespace lacquer::proxy
