#pragma once
// The health of origin servers as every thread sees it: what the operator set (drain, disable),
// what the active probe found, and passive ejection (outlier detection) from the exchanges of
// every worker. One ServerHealth per (pool name, server name) lives as long as any generation
// names it, so a reload keeps a server's state. Everything is a relaxed atomic: a decision may
// see a state a moment old, never a torn one. Two workers ejecting at the same instant may
// exceed max_ejected_percent by one server; nothing else depends on exact agreement.

#include "lacquer/config/config.h"
#include "lacquer/core/clock.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lacquer::origin {

// Also the `state` names of `lacquerctl origins` and of /origins.
#define LACQUER_SERVER_STATES(X)                                                                   \
    X(Healthy)                                                                                     \
    X(Ejected)    /* passive detection: too many failures in a row */                              \
    X(ProbedDown) /* the active probe failed unhealthy_after times */                              \
    X(Draining)   /* operator: no new requests, those in flight finish */                          \
    X(Disabled)   /* operator: no requests */

enum class ServerState : std::uint8_t {
#define LACQUER_AS_ENUM(name) name,
    LACQUER_SERVER_STATES(LACQUER_AS_ENUM)
#undef LACQUER_AS_ENUM
};
std::string_view server_state_name(ServerState state); // "healthy", "ejected", "probed_down", ...

enum class AdminMode : std::uint8_t { Enabled, Draining, Disabled };

// One server's shared state. Written by the workers (exchanges), the probe loop (probes) and
// the admin thread (mode); read by anyone.
class ServerHealth {
public:
    // Servers start healthy (CONFIG.md): traffic flows at once, a probe or failures take it out.
    ServerHealth() = default;

    ServerState state(core::Instant now) const;
    bool is_ejected(core::Instant now) const { return ejected_until() > now; }
    core::Instant ejected_until() const {
        return core::Instant(core::Duration(ejected_until_.load(std::memory_order_relaxed)));
    }

    // Operator control (admin thread). Enabling again starts a slow start.
    void set_mode(AdminMode mode, core::Instant now);
    AdminMode mode() const { return static_cast<AdminMode>(mode_.load(std::memory_order_relaxed)); }

    // Probe loop only: one probe result; true when the probe state changed. Coming back up
    // also ends a passive ejection.
    bool record_probe(bool ok, std::uint32_t unhealthy_after, std::uint32_t healthy_after,
                      core::Instant now);
    bool probe_up() const { return probe_up_.load(std::memory_order_relaxed); }
    // Called when the pool no longer probes this server (a reload removed `health`).
    void forget_probe() { probe_up_.store(true, std::memory_order_relaxed); }

    // When the server last became usable again (slow start ramps from there).
    core::Instant recovered_at() const {
        return core::Instant(core::Duration(recovered_at_.load(std::memory_order_relaxed)));
    }

    // Shared gauges for the operator: exchanges in flight and open connections, all workers.
    std::atomic<std::int32_t> in_flight{0};
    std::atomic<std::int32_t> open_connections{0};
    // Totals since start, for error rates and metrics.
    std::atomic<std::uint64_t> exchanges{0};
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> ejections{0};
    std::atomic<std::uint64_t> probes_ok{0};
    std::atomic<std::uint64_t> probes_failed{0};
    // The last probe: its status (0: none yet, -1: no answer), its time (ns of core::Instant).
    std::atomic<int> last_probe_status{0};
    std::atomic<std::int64_t> last_probe_at{0};
    // The error ratio of the last window, in per mille (the probe loop computes it).
    std::atomic<std::uint32_t> recent_error_permille{0};

private:
    friend class PoolHealth;
    std::atomic<std::uint8_t> mode_{static_cast<std::uint8_t>(AdminMode::Enabled)};
    std::atomic<bool> probe_up_{true};
    std::atomic<std::uint32_t> probe_streak_{0}; // results in a row against probe_up_
    std::atomic<std::int64_t> ejected_until_{0};
    std::atomic<std::int64_t> recovered_at_{0};
    std::atomic<std::uint32_t> consecutive_failures_{0};
    std::atomic<std::uint32_t> ejection_streak_{0}; // ejections without a success between
};

// One pool's servers in config order, with the pool's ejection and slow-start settings.
// Shared by every worker's OriginPool of one generation.
class PoolHealth {
public:
    PoolHealth(std::string name, config::OutlierDetectionConfig outlier, core::Duration slow_start,
               std::vector<std::shared_ptr<ServerHealth>> servers, const core::Clock& clock);

    const std::string& name() const { return name_; }
    std::size_t size() const { return servers_.size(); }
    ServerHealth& server(std::size_t i) const { return *servers_[i]; }
    const std::shared_ptr<ServerHealth>& shared(std::size_t i) const { return servers_[i]; }
    const core::Clock& clock() const { return clock_; }
    const config::OutlierDetectionConfig& outlier() const { return outlier_; }

    // Any worker, once per exchange: its head arrived (`status`), or it failed before that.
    // A 5xx head counts as a failure. Returns true when this call ejected the server.
    bool record_response(std::size_t i, int status, core::Instant now);
    bool record_failure(std::size_t i, core::Instant now);

    // The weights the balancer uses now (0: skip), scaled by 100 so a slow start ramps
    // smoothly. Healthy servers only; when none is, every server that is neither draining nor
    // disabled (panic: a pool-wide outage still sends traffic, so that errors reach the cache
    // and stale-if-error still works). Returns false when no server may be used at all.
    bool weights(std::span<const std::uint32_t> configured, core::Instant now,
                 std::span<std::uint32_t> out) const;
    // Server i is healthy and its last exchanges are not failing: fewer than
    // consecutive_failures in a row (a server that max_ejected_percent keeps in rotation while
    // it fails, such as the only one of a pool, is not usable). lacquer_origin_server_up and
    // /readyz say this.
    bool usable(std::size_t i, core::Instant now) const;
    bool any_usable(core::Instant now) const;

private:
    bool may_eject(std::size_t i, core::Instant now) const;

    std::string name_;
    config::OutlierDetectionConfig outlier_;
    core::Duration slow_start_;
    std::vector<std::shared_ptr<ServerHealth>> servers_;
    const core::Clock& clock_;
};

// The server-owned registry that hands the same ServerHealth to every generation naming
// (pool, server). Any thread (a mutex; used when a config is loaded, never per request).
class HealthBook {
public:
    explicit HealthBook(const core::Clock& clock) : clock_(clock) {}
    std::shared_ptr<ServerHealth> server(std::string_view pool, std::string_view server);
    const core::Clock& clock() const { return clock_; }

private:
    const core::Clock& clock_;
    std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, std::shared_ptr<ServerHealth>> servers_;
};

} // namespace lacquer::origin
