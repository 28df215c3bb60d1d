#pragma once
// A named pool of origin servers as one worker sees it: balancing, the per-server connection cap
// and the keep-alive connections that worker holds. Each worker has its own OriginPool built
// from the same immutable OriginPoolSpec; the only state shared between threads is the servers'
// health (server_health.h), which every worker reads and reports exchanges into.

#include "lacquer/config/config.h"
#include "lacquer/metrics/registry.h"
#include "lacquer/net/address.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/tls_context.h"
#include "lacquer/origin/admission.h"
#include "lacquer/origin/balancer.h"
#include "lacquer/origin/name_book.h"
#include "lacquer/origin/retry_budget.h"
#include "lacquer/origin/retry_policy.h"
#include "lacquer/origin/server_health.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lacquer::net {
class Worker;
}

namespace lacquer::origin {

struct OriginServerSpec {
    net::SocketAddress address;
    std::string name; // "host:port" as configured, "host:port@address" for one of several
    std::uint32_t weight = 1;
    net::TlsTarget tls;          // context nullptr: plain (origin_tls.cc fills it)
    config::HostPort configured; // its host is the TLS name, its text the probes' Host
};

// What every worker's copy of one pool shares to protect the origin tier: the retry budget and
// the admission limit (both thread-safe). Made with the spec; a reload makes new ones.
struct PoolGuard {
    PoolGuard(const config::OriginRetryConfig& retry, const config::OriginAdmissionConfig& admit)
        : retry_budget(retry.budget_percent),
          admission(admit.max_in_flight, admit.max_queue), limits{retry.budget_percent,
                                                                  admit.max_in_flight,
                                                                  admit.max_queue} {}
    // Whether a reloaded pool with these settings may go on with this guard (its exchanges in
    // flight stay counted, its budget's window goes on).
    bool has_limits(const config::OriginRetryConfig& retry,
                    const config::OriginAdmissionConfig& admit) const {
        return limits == std::array<std::uint32_t, 3>{retry.budget_percent, admit.max_in_flight,
                                                      admit.max_queue};
    }
    RetryBudget retry_budget;
    Admission admission;
    const std::array<std::uint32_t, 3> limits;
};

// Immutable, built once from the config (addresses resolved at start-up or reload).
struct OriginPoolSpec {
    std::string name;
    std::vector<OriginServerSpec> servers;
    config::Balance balance = config::Balance::RoundRobin;
    core::Millis connect_timeout{1000};
    core::Millis first_byte_timeout{15000};
    core::Millis between_bytes_timeout{10000};
    core::Millis idle_timeout{30000}; // keep-alive connections unused this long are closed
    std::uint32_t max_connections_per_server = 256;   // process-wide
    std::shared_ptr<PoolHealth> health;               // shared by every worker, never null
    std::shared_ptr<const MaglevTable> maglev;        // consistent_hash only
    std::optional<config::HealthProbeConfig> probe;   // the active probe, when configured
    std::shared_ptr<const net::TlsClientContext> tls; // the servers' TlsTarget point here
    RetryRules retry;
    core::Millis queue_timeout{1000};
    std::shared_ptr<PoolGuard> guard; // nullptr: no retry budget, no admission limit
};

// origin_tls.cc: with `pool.tls` enabled, makes the pool's TLS context (reading its CA and
// client certificate files: ConfigError at the tls key when they cannot be used) and each
// server's target (SNI and verified name: server_name, else the server's host; sessions kept
// per server). `verify: false` is said on stderr.
void apply_origin_tls(const config::OriginPoolConfig& pool, OriginPoolSpec& spec);

// Throws config::ConfigError (with the server's file:line:col) when a name does not resolve.
// Every address a name resolves to becomes a server (named "host:port@address" when there are
// several), taken from `names` when given (its last addresses when the name has stopped
// resolving), else resolved now. Each server's health comes from `book` (kept across reloads),
// or is new without one. `running` (a reload): a pool of the same name and limits keeps its
// PoolGuard.
std::vector<OriginPoolSpec> build_pool_specs(const config::Config& config,
                                             HealthBook* book = nullptr,
                                             const std::vector<OriginPoolSpec>* running = nullptr,
                                             NameBook* names = nullptr);

class OriginPool;

// A connection to one origin server, on loan to one fetch or parked idle in its pool. Once its
// pool retires it (closed, handed to Worker::dispose), it no longer refers to the pool: a
// disposed connection may outlive its pool (a reload's old generation ending in the same
// callback, or shutdown).
class UpstreamConnection final : private net::ConnectionHandler {
public:
    UpstreamConnection(OriginPool& pool, std::size_t server, std::unique_ptr<net::Connection> conn);
    ~UpstreamConnection();

    net::Connection& connection() { return *conn_; }
    std::size_t server() const { return server_; }
    bool reused() const { return reused_; }

private:
    friend class OriginPool;
    // While idle: any byte, EOF, error or the idle timeout ends the connection.
    void on_readable(net::Connection& conn) override;
    void on_drained(net::Connection& conn) override;
    void on_event(net::Connection& conn, net::ConnEvent event) override;

    OriginPool* pool_; // nullptr once retired
    std::size_t server_;
    std::unique_ptr<net::Connection> conn_;
    bool reused_ = false;
    bool idle_ = false;
};

enum class AcquireError : std::uint8_t { None, AllBusy, ConnectFailed };

// Where a pool's exchanges are counted: slots declared by the server at start-up, the same for
// every worker; each worker's pool counts into that worker's shard.
struct OriginCounters {
    std::vector<std::uint32_t> requests;                 // per server
    std::vector<std::array<std::uint32_t, 5>> responses; // per server: 1xx .. 5xx
    // [server][FetchFault]; the last row counts faults with no server (all busy).
    std::vector<std::vector<std::uint32_t>> errors;
    std::vector<metrics::HistogramSlots> duration; // per server
    // Retries (per RetryReason), retries the budget refused, and admission waits.
    std::array<std::uint32_t, kRetryReasonCount> retries{};
    std::uint32_t retry_budget_exhausted = 0;
    metrics::HistogramSlots queue_wait;
};

class OriginPool {
public:
    OriginPool(net::Worker& worker, const OriginPoolSpec& spec, unsigned worker_count);
    ~OriginPool();
    OriginPool(const OriginPool&) = delete;
    OriginPool& operator=(const OriginPool&) = delete;

    const OriginPoolSpec& spec() const { return spec_; }
    PoolHealth& health() const { return *health_; }
    net::Worker& worker() const { return worker_; }

    // A connection to the next server by the balancing policy: an idle keep-alive one when
    // there is one, else a new connect (its Connected event goes to `handler`). `hash` feeds
    // consistent_hash. `fresh_only` skips idle connections (used for a retry). `exclude` (a
    // server index, or kNoServer) is tried only when no other server can be.
    static constexpr std::size_t kNoServer = static_cast<std::size_t>(-1);
    std::unique_ptr<UpstreamConnection> acquire(std::uint64_t hash, net::ConnectionHandler* handler,
                                                bool fresh_only, AcquireError& error,
                                                std::size_t exclude = kNoServer);
    // Returns a connection after a complete exchange; kept when `reusable`, else closed.
    void release(std::unique_ptr<UpstreamConnection> conn, bool reusable);

    // Counting (optional): `counters` outlives the pool; `shard` is this worker's.
    void count_into(const OriginCounters* counters, metrics::Shard* shard) {
        counters_ = counters;
        shard_ = shard;
    }
    const OriginCounters* counters() const { return counters_; }
    metrics::Shard* shard() const { return shard_; }

    // The server of the last acquire() that failed with ConnectFailed.
    std::size_t failed_server() const { return failed_server_; }

    // The outcome of one exchange with `server` (a head with `status`, or a failure before
    // any head), for passive ejection.
    void record_response(std::size_t server, int status);
    void record_failure(std::size_t server);

    std::size_t idle_count() const;
    std::size_t open_count(std::size_t server) const { return servers_[server].open; }

private:
    friend class UpstreamConnection;
    struct ServerState {
        std::size_t open = 0; // leased + idle
        std::size_t active = 0;
        std::vector<std::unique_ptr<UpstreamConnection>> idle;
    };
    std::size_t pick(std::uint64_t hash);       // servers_.size(): none may be used
    void forget_idle(UpstreamConnection& conn); // the idle connection ended by itself
    // Closes `conn` after the current callback: it leaves the server's count now and forgets
    // this pool, so that nothing disposed refers to a pool (which may go before it).
    void retire(std::unique_ptr<UpstreamConnection> conn);

    net::Worker& worker_;
    const OriginPoolSpec& spec_;
    std::size_t cap_per_server_;
    std::vector<ServerState> servers_;
    std::shared_ptr<PoolHealth> health_;        // spec_.health, or its own for a bare spec
    std::shared_ptr<const MaglevTable> maglev_; // likewise
    Balancer balancer_;
    std::vector<std::uint32_t> configured_; // weights from the config
    std::vector<std::uint32_t> weights_;    // scratch: this pick's weights (0: skip)
    std::vector<std::size_t> active_;       // scratch: this pick's exchanges in flight
    std::size_t failed_server_ = 0;
    const OriginCounters* counters_ = nullptr;
    metrics::Shard* shard_ = nullptr;
};

} // namespace lacquer::origin
