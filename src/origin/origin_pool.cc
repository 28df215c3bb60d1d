#include "lacquer/origin/origin_pool.h"

#include "lacquer/config/load.h"
#include "lacquer/core/assert.h"
#include "lacquer/net/worker.h"

#include <algorithm>

namespace lacquer::origin {

namespace {
// The shared parts of a spec: its servers' health and, for consistent_hash, the table.
std::vector<std::string> names_of(const OriginPoolSpec& spec) {
    std::vector<std::string> names;
    for (const OriginServerSpec& server : spec.servers) {
        names.push_back(server.name);
    }
    return names;
}

std::vector<std::uint32_t> weights_of(const OriginPoolSpec& spec) {
    std::vector<std::uint32_t> weights;
    for (const OriginServerSpec& server : spec.servers) {
        weights.push_back(server.weight);
    }
    return weights;
}

// For a spec built by hand (tests): fresh health, default ejection settings.
std::shared_ptr<PoolHealth> standalone_health(const OriginPoolSpec& spec) {
    std::vector<std::shared_ptr<ServerHealth>> servers;
    for (std::size_t i = 0; i < spec.servers.size(); ++i) {
        servers.push_back(std::make_shared<ServerHealth>());
    }
    return std::make_shared<PoolHealth>(spec.name, config::OutlierDetectionConfig{},
                                        core::Duration(0), std::move(servers),
                                        core::system_clock());
}

void attach_health(OriginPoolSpec& spec, const config::OriginPoolConfig& pool, HealthBook* book) {
    std::vector<std::shared_ptr<ServerHealth>> servers;
    for (const OriginServerSpec& server : spec.servers) {
        servers.push_back(book != nullptr ? book->server(spec.name, server.name)
                                          : std::make_shared<ServerHealth>());
    }
    spec.health = std::make_shared<PoolHealth>(
        spec.name, pool.outlier_detection, pool.slow_start, std::move(servers),
        book != nullptr ? book->clock() : core::system_clock());
    if (spec.balance == config::Balance::ConsistentHash) {
        spec.maglev = std::make_shared<const MaglevTable>(names_of(spec), weights_of(spec));
    }
    spec.probe = pool.health;
}
} // namespace

std::vector<OriginPoolSpec> build_pool_specs(const config::Config& config, HealthBook* book,
                                             const std::vector<OriginPoolSpec>* running,
                                             NameBook* names) {
    std::vector<OriginPoolSpec> specs;
    specs.reserve(config.origins.size());
    for (const config::OriginPoolConfig& pool : config.origins) {
        OriginPoolSpec spec;
        spec.name = pool.name;
        spec.balance = pool.balance;
        spec.connect_timeout = pool.connect_timeout;
        spec.first_byte_timeout = pool.first_byte_timeout;
        spec.between_bytes_timeout = pool.between_bytes_timeout;
        spec.max_connections_per_server = pool.max_connections_per_server;
        spec.retry = {pool.retry.retries, pool.retry.on_503, pool.retry.non_idempotent};
        spec.queue_timeout = pool.admission.queue_timeout;
        for (std::size_t i = 0; running != nullptr && i < running->size(); ++i) {
            const OriginPoolSpec& old = (*running)[i];
            if (old.name == pool.name && old.guard &&
                old.guard->has_limits(pool.retry, pool.admission)) {
                spec.guard = old.guard;
            }
        }
        if (!spec.guard) {
            spec.guard = std::make_shared<PoolGuard>(pool.retry, pool.admission);
        }
        for (const config::OriginServerConfig& server : pool.servers) {
            std::string error;
            const std::vector<net::SocketAddress> found =
                names != nullptr
                    ? names->addresses(server.address, pool.resolve_every, error)
                    : net::resolve_all(server.address.host, server.address.port, error);
            if (found.empty()) {
                throw config::ConfigError(server.mark, "cannot resolve origin server '" +
                                                           server.address.text() + "': " + error);
            }
            // Every address of a name is a server; with several, each is named by both.
            for (const net::SocketAddress& address : found) {
                spec.servers.push_back({address,
                                        found.size() == 1
                                            ? server.address.text()
                                            : server.address.text() + "@" + address.text(),
                                        server.weight,
                                        {},
                                        server.address});
            }
        }
        attach_health(spec, pool, book);
        apply_origin_tls(pool, spec);
        specs.push_back(std::move(spec));
    }
    return specs;
}

UpstreamConnection::UpstreamConnection(OriginPool& pool, std::size_t server,
                                       std::unique_ptr<net::Connection> conn)
    : pool_(&pool), server_(server), conn_(std::move(conn)) {}

UpstreamConnection::~UpstreamConnection() {
    if (pool_ != nullptr) { // an idle one, closed with its pool
        --pool_->servers_[server_].open;
        pool_->health_->server(server_).open_connections.fetch_sub(1, std::memory_order_relaxed);
    }
}

void UpstreamConnection::on_readable(net::Connection&) {
    // An idle connection has nothing to say: bytes now mean a confused origin.
    if (pool_ != nullptr) {
        pool_->forget_idle(*this);
    }
}
void UpstreamConnection::on_drained(net::Connection&) {}
void UpstreamConnection::on_event(net::Connection&, net::ConnEvent) {
    if (pool_ != nullptr) {
        pool_->forget_idle(*this);
    }
}

OriginPool::OriginPool(net::Worker& worker, const OriginPoolSpec& spec, unsigned worker_count)
    : worker_(worker), spec_(spec), servers_(spec.servers.size()),
      health_(spec.health ? spec.health : standalone_health(spec)),
      maglev_(spec.maglev || spec.balance != config::Balance::ConsistentHash
                  ? spec.maglev
                  : std::make_shared<const MaglevTable>(names_of(spec), weights_of(spec))),
      balancer_(spec.balance, spec.servers.size(), maglev_.get()), weights_(spec.servers.size()),
      active_(spec.servers.size()) {
    // The cap is process-wide; each worker holds its share, at least one connection.
    const unsigned workers = std::max(1u, worker_count);
    cap_per_server_ =
        std::max<std::size_t>(1, (spec.max_connections_per_server + workers - 1) / workers);
    for (const OriginServerSpec& s : spec.servers) {
        configured_.push_back(s.weight);
    }
}

OriginPool::~OriginPool() {
    for (ServerState& s : servers_) {
        s.idle.clear();
    }
}

std::size_t OriginPool::idle_count() const {
    std::size_t n = 0;
    for (const ServerState& s : servers_) {
        n += s.idle.size();
    }
    return n;
}

std::size_t OriginPool::pick(std::uint64_t hash) {
    // Healthy servers only (or, when none is, every enabled one: see PoolHealth::weights).
    if (!health_->weights(configured_, worker_.now(), weights_)) {
        return servers_.size();
    }
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        active_[i] = servers_[i].active;
    }
    return balancer_.pick(hash, weights_, active_);
}

// Ejections are logged once, by the prober's sweep (health_probe.h), not by each worker.
void OriginPool::record_response(std::size_t server, int status) {
    (void)health_->record_response(server, status, worker_.now());
}

void OriginPool::record_failure(std::size_t server) {
    (void)health_->record_failure(server, worker_.now());
}

std::unique_ptr<UpstreamConnection> OriginPool::acquire(std::uint64_t hash,
                                                        net::ConnectionHandler* handler,
                                                        bool fresh_only, AcquireError& error,
                                                        std::size_t exclude) {
    error = AcquireError::None;
    const std::size_t n = servers_.size();
    const std::size_t first = pick(hash);
    if (first == n) {
        error = AcquireError::AllBusy; // every server is draining or disabled
        return nullptr;
    }
    // The chosen server first; if it is at its cap, the other usable ones in order; `exclude`
    // (the server a retry leaves) last.
    for (std::size_t k = 0; k <= n; ++k) {
        const std::size_t i = k < n ? (first + k) % n : exclude;
        if (i >= n || (k < n && i == exclude) || weights_[i] == 0) {
            continue;
        }
        ServerState& s = servers_[i];
        ServerHealth& health = health_->server(i);
        if (!fresh_only && !s.idle.empty()) {
            std::unique_ptr<UpstreamConnection> conn = std::move(s.idle.back());
            s.idle.pop_back();
            conn->idle_ = false;
            conn->reused_ = true;
            conn->conn_->set_handler(handler);
            conn->conn_->set_timeouts(core::Millis(0), core::Millis(0));
            ++s.active;
            health.in_flight.fetch_add(1, std::memory_order_relaxed);
            return conn;
        }
        if (s.open >= cap_per_server_) {
            if (!fresh_only || s.idle.empty()) {
                continue;
            }
            // A retry wants a fresh connection: the oldest idle one makes room under the cap.
            std::unique_ptr<UpstreamConnection> oldest = std::move(s.idle.front());
            s.idle.erase(s.idle.begin());
            retire(std::move(oldest));
        }
        int err = 0;
        auto raw = net::Connection::connect(worker_, spec_.servers[i].address, handler, err,
                                            &spec_.servers[i].tls);
        if (!raw) {
            error = AcquireError::ConnectFailed;
            failed_server_ = i;
            return nullptr;
        }
        ++s.open;
        ++s.active;
        health.open_connections.fetch_add(1, std::memory_order_relaxed);
        health.in_flight.fetch_add(1, std::memory_order_relaxed);
        return std::make_unique<UpstreamConnection>(*this, i, std::move(raw));
    }
    error = AcquireError::AllBusy;
    return nullptr;
}

void OriginPool::release(std::unique_ptr<UpstreamConnection> conn, bool reusable) {
    ServerState& s = servers_[conn->server_];
    LACQUER_ASSERT(s.active > 0);
    --s.active;
    health_->server(conn->server_).in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (!reusable || conn->conn_->input_size() != 0) {
        // Leftover bytes after a complete response: the origin framed badly; never reuse.
        retire(std::move(conn));
        return;
    }
    conn->idle_ = true;
    conn->conn_->set_handler(conn.get());
    conn->conn_->set_reading(true);
    conn->conn_->set_timeouts(spec_.idle_timeout, core::Millis(0));
    s.idle.push_back(std::move(conn));
}

void OriginPool::forget_idle(UpstreamConnection& conn) {
    ServerState& s = servers_[conn.server_];
    auto it =
        std::find_if(s.idle.begin(), s.idle.end(), [&](const auto& p) { return p.get() == &conn; });
    if (it == s.idle.end()) {
        return;
    }
    std::unique_ptr<UpstreamConnection> dead = std::move(*it);
    s.idle.erase(it);
    retire(std::move(dead)); // we are inside one of its callbacks
}

void OriginPool::retire(std::unique_ptr<UpstreamConnection> conn) {
    --servers_[conn->server_].open;
    health_->server(conn->server_).open_connections.fetch_sub(1, std::memory_order_relaxed);
    conn->pool_ = nullptr;
    // Late events go to the retired connection, which ignores them, not to the fetch that
    // let it go (and may have moved on to another connection: a retry).
    conn->conn_->set_handler(conn.get());
    conn->conn_->set_reading(false);
    // Destroyed after the current callback; by then this pool may be gone (its generation
    // ended in the same callback), which the connection no longer minds.
    worker_.dispose(std::make_unique<net::DisposableBox<UpstreamConnection>>(std::move(conn)));
}

} // namespace lacquer::origin
