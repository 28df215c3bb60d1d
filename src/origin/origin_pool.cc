#include "lacquer/origin/origin_pool.h"

#include "lacquer/config/load.h"
#include "lacquer/core/assert.h"
#include "lacquer/net/worker.h"

#include <algorithm>
#include <cmath>

namespace lacquer::origin {

std::vector<OriginPoolSpec> build_pool_specs(const config::Config& config,
                                             const std::vector<OriginPoolSpec>* running) {
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
            auto address = net::resolve(server.address.host, server.address.port, error);
            if (!address) {
                throw config::ConfigError(server.mark, "cannot resolve origin server '" +
                                                           server.address.text() + "': " + error);
            }
            spec.servers.push_back({*address, server.address.text(), server.weight});
        }
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
    : worker_(worker), spec_(spec), servers_(spec.servers.size()) {
    // The cap is process-wide; each worker holds its share, at least one connection.
    const unsigned workers = std::max(1u, worker_count);
    cap_per_server_ =
        std::max<std::size_t>(1, (spec.max_connections_per_server + workers - 1) / workers);
    for (const OriginServerSpec& s : spec.servers) {
        total_weight_ += s.weight;
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
    const std::size_t n = servers_.size();
    switch (spec_.balance) {
    case config::Balance::RoundRobin: {
        // Smooth weighted round robin (as nginx): evenly interleaved, weights respected.
        std::size_t best = 0;
        for (std::size_t i = 0; i < n; ++i) {
            servers_[i].current_weight += spec_.servers[i].weight;
            if (servers_[i].current_weight > servers_[best].current_weight) {
                best = i;
            }
        }
        servers_[best].current_weight -= total_weight_;
        return best;
    }
    case config::Balance::LeastConnections: {
        std::size_t best = 0;
        for (std::size_t i = 1; i < n; ++i) {
            // active_i / weight_i < active_best / weight_best, without division
            if (servers_[i].active * spec_.servers[best].weight <
                servers_[best].active * spec_.servers[i].weight) {
                best = i;
            }
        }
        return best;
    }
    case config::Balance::ConsistentHash: {
        // Weighted rendezvous hashing: a key keeps its server while the set is unchanged, and
        // only the keys of a removed server move.
        std::size_t best = 0;
        double best_score = -1.0;
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t h = hash ^ (0x9e3779b97f4a7c15ULL * (i + 1));
            h ^= h >> 33;
            h *= 0xff51afd7ed558ccdULL;
            h ^= h >> 33;
            h *= 0xc4ceb9fe1a85ec53ULL;
            h ^= h >> 33;
            const double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
            const double score = spec_.servers[i].weight / -std::log(u);
            if (score > best_score) {
                best_score = score;
                best = i;
            }
        }
        return best;
    }
    }
    return 0;
}

std::unique_ptr<UpstreamConnection> OriginPool::acquire(std::uint64_t hash,
                                                        net::ConnectionHandler* handler,
                                                        bool fresh_only, AcquireError& error,
                                                        std::size_t exclude) {
    error = AcquireError::None;
    const std::size_t n = servers_.size();
    const std::size_t first = pick(hash);
    // The chosen server first; if it is at its cap, the others in order; `exclude` last.
    for (std::size_t k = 0; k <= n; ++k) {
        const std::size_t i = k < n ? (first + k) % n : exclude;
        if (i >= n || (k < n && i == exclude)) {
            continue;
        }
        ServerState& s = servers_[i];
        if (!fresh_only && !s.idle.empty()) {
            std::unique_ptr<UpstreamConnection> conn = std::move(s.idle.back());
            s.idle.pop_back();
            conn->idle_ = false;
            conn->reused_ = true;
            conn->conn_->set_handler(handler);
            conn->conn_->set_timeouts(core::Millis(0), core::Millis(0));
            ++s.active;
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
        auto raw = net::Connection::connect(worker_, spec_.servers[i].address, handler, err);
        if (!raw) {
            error = AcquireError::ConnectFailed;
            failed_server_ = i;
            return nullptr;
        }
        ++s.open;
        ++s.active;
        return std::make_unique<UpstreamConnection>(*this, i, std::move(raw));
    }
    error = AcquireError::AllBusy;
    return nullptr;
}

void OriginPool::release(std::unique_ptr<UpstreamConnection> conn, bool reusable) {
    ServerState& s = servers_[conn->server_];
    LACQUER_ASSERT(s.active > 0);
    --s.active;
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
