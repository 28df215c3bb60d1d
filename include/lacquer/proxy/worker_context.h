#pragma once
// What a worker's client sessions share: the generation of the config new requests run on (its
// compiled routes and this worker's origin pools; older generations stay while requests that
// started on them run), the process-wide cache and the process-wide connection count. Built on
// the worker's thread; used only there (the connection count is the one atomic).

#include "lacquer/config/config.h"
#include "lacquer/core/clock.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/origin/origin_pool.h"
#include "lacquer/proxy/access_log.h"
#include "lacquer/proxy/generation.h"
#include "lacquer/proxy/route_table.h"
#include "lacquer/proxy/transaction_log.h"

#include <atomic>
#include <memory>
#include <string_view>
#include <vector>

namespace lacquer::net {
class Worker;
class ConnectionBalancer;
} // namespace lacquer::net
namespace lacquer::cache {
class ObjectStore;
class Coalescer;
} // namespace lacquer::cache

namespace lacquer::proxy {

class ClientSession;
class CacheFill;
struct ProxyMetrics;

struct WorkerContext {
    WorkerContext(net::Worker& w, std::atomic<std::uint32_t>& open)
        : worker(w), open_connections(open) {}

    net::Worker& worker;
    std::atomic<std::uint32_t>& open_connections; // process-wide
    WorkerGeneration* current = nullptr;          // what new requests run on
    // `current` last; older ones until their last user ends.
    std::vector<std::unique_ptr<WorkerGeneration>> generations;
    AccessLog* access_log = nullptr;       // nullptr: off
    cache::ObjectStore* store = nullptr;   // process-wide, thread-safe
    cache::Coalescer* coalescer = nullptr; // process-wide, thread-safe
    std::size_t live_sessions = 0;         // this worker's client connections
    // The same count where the other workers read it, and the balancer that moves new
    // connections between workers (net/connection_balancer.h); both may be null.
    std::atomic<std::uint32_t>* balance_load = nullptr;
    net::ConnectionBalancer* balancer = nullptr;
    ClientSession* sessions = nullptr;  // intrusive list of the live ones, for shutdown
    CacheFill* fills = nullptr;         // the cache fills running on this worker, likewise
    bool draining = false;              // shutting down: answer what is in flight, then close
    core::Instant body_file_reported{}; // the last report of a request body's failed file
    metrics::Shard* shard = nullptr;    // this worker's counts
    std::string_view admin_token;       // never sent to an origin (http::ForwardedRequest)
    // The live transaction log: each finished request loads this flag (relaxed) and, only when
    // someone watches, writes its record into transactions->ring(worker.index()).
    TransactionLog* transactions = nullptr;
    const std::atomic<bool>* transactions_watched = &kNobodyWatches;

    const config::Config& config() const { return current->config(); }
    // The current generation's slots (nullptr: nothing counted). Slots of series that do not
    // depend on routes or origins are the same in every generation.
    const ProxyMetrics* metrics() const { return current->metrics(); }
    http::HeadLimits head_limits() const {
        return {static_cast<std::size_t>(config().limits.max_header_bytes),
                static_cast<std::size_t>(config().limits.max_uri_bytes)};
    }
    // A request or a fill starts on the current generation; release() when it ends.
    WorkerGeneration& acquire() {
        ++current->users;
        return *current;
    }
    void release(WorkerGeneration& generation);
    // On the worker's thread: new requests run on `next` from now on.
    void switch_to(std::unique_ptr<WorkerGeneration> next);

    void count(std::uint32_t slot, std::uint64_t n = 1) const {
        if (shard != nullptr) {
            shard->add(slot, n);
        }
    }
};

// Ends every session and cache fill of a stopped worker (its thread has been joined); each
// request still in flight is logged as cut (ClientSession::cut_at_shutdown). What they dispose
// (connections, fills) waits in the worker's graveyard: Worker::destroy_disposed() next, before
// the context and its generations go.
void close_all_sessions(WorkerContext& context);
// On the worker's thread: from now on every connection closes after the request in flight, and
// idle ones close at once (graceful shutdown). `serve_new` (a worker a reload removes): a
// connection that has not sent its first request yet gets one answer first.
void drain_sessions(WorkerContext& context, bool serve_new = false);

} // namespace lacquer::proxy
