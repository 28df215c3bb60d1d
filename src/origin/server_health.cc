#include "lacquer/origin/server_health.h"

#include <algorithm>
#include <array>

namespace lacquer::origin {

namespace {
constexpr std::array<std::string_view, 5> kStateNames{"healthy", "ejected", "probed_down",
                                                      "draining", "disabled"};
static_assert(kStateNames.size() == static_cast<std::size_t>(ServerState::Disabled) + 1);

std::int64_t ticks(core::Instant t) {
    return t.time_since_epoch().count();
}
// A recovered server starts at this share of its weight (per mille) and ramps to all of it.
constexpr std::uint64_t kSlowStartFloor = 100;
} // namespace

std::string_view server_state_name(ServerState state) {
    return kStateNames[static_cast<std::size_t>(state)];
}

ServerState ServerHealth::state(core::Instant now) const {
    switch (mode()) {
    case AdminMode::Disabled:
        return ServerState::Disabled;
    case AdminMode::Draining:
        return ServerState::Draining;
    case AdminMode::Enabled:
        break;
    }
    if (!probe_up()) {
        return ServerState::ProbedDown;
    }
    return is_ejected(now) ? ServerState::Ejected : ServerState::Healthy;
}

void ServerHealth::set_mode(AdminMode mode, core::Instant now) {
    const auto old = static_cast<AdminMode>(
        mode_.exchange(static_cast<std::uint8_t>(mode), std::memory_order_relaxed));
    if (mode == AdminMode::Enabled && old != AdminMode::Enabled) {
        recovered_at_.store(ticks(now), std::memory_order_relaxed);
    }
}

bool ServerHealth::record_probe(bool ok, std::uint32_t unhealthy_after, std::uint32_t healthy_after,
                                core::Instant now) {
    (ok ? probes_ok : probes_failed).fetch_add(1, std::memory_order_relaxed);
    const bool up = probe_up();
    if (ok == up) {
        probe_streak_.store(0, std::memory_order_relaxed);
        return false;
    }
    const std::uint32_t streak = probe_streak_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (streak < (up ? unhealthy_after : healthy_after)) {
        return false;
    }
    probe_streak_.store(0, std::memory_order_relaxed);
    probe_up_.store(ok, std::memory_order_relaxed);
    if (ok) {
        // Back from down: the probe has seen it fail and recover, which also ends a passive
        // ejection (a server probed healthy all along keeps its ejection: its probe path may
        // answer while its requests fail).
        recovered_at_.store(ticks(now), std::memory_order_relaxed);
        consecutive_failures_.store(0, std::memory_order_relaxed);
        ejected_until_.store(0, std::memory_order_relaxed);
        ejection_streak_.store(0, std::memory_order_relaxed);
    }
    return true;
}

PoolHealth::PoolHealth(std::string name, config::OutlierDetectionConfig outlier,
                       core::Duration slow_start,
                       std::vector<std::shared_ptr<ServerHealth>> servers, const core::Clock& clock)
    : name_(std::move(name)), outlier_(outlier), slow_start_(slow_start),
      servers_(std::move(servers)), clock_(clock) {}

bool PoolHealth::record_response(std::size_t i, int status, core::Instant now) {
    if (status >= 500) {
        return record_failure(i, now);
    }
    ServerHealth& s = *servers_[i];
    s.exchanges.fetch_add(1, std::memory_order_relaxed);
    s.consecutive_failures_.store(0, std::memory_order_relaxed);
    if (!s.is_ejected(now)) {
        s.ejection_streak_.store(0, std::memory_order_relaxed);
    }
    return false;
}

bool PoolHealth::may_eject(std::size_t i, core::Instant now) const {
    std::size_t ejected = 1; // this one
    for (std::size_t k = 0; k < servers_.size(); ++k) {
        ejected += k != i && servers_[k]->is_ejected(now) ? 1 : 0;
    }
    return ejected * 100 <= outlier_.max_ejected_percent * servers_.size();
}

bool PoolHealth::record_failure(std::size_t i, core::Instant now) {
    ServerHealth& s = *servers_[i];
    s.exchanges.fetch_add(1, std::memory_order_relaxed);
    s.failures.fetch_add(1, std::memory_order_relaxed);
    const std::uint32_t n = s.consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!outlier_.enabled || n < outlier_.consecutive_failures || s.is_ejected(now) ||
        !may_eject(i, now)) {
        return false;
    }
    // The time doubles with each ejection in a row (no success between), up to the maximum.
    const std::uint32_t streak = std::min<std::uint32_t>(s.ejection_streak_.load(), 20);
    const core::Duration base = outlier_.base_ejection_time;
    const core::Duration time =
        std::min<core::Duration>(base * (std::int64_t{1} << streak), outlier_.max_ejection_time);
    std::int64_t old = s.ejected_until_.load(std::memory_order_relaxed);
    if (old > ticks(now) || !s.ejected_until_.compare_exchange_strong(old, ticks(now + time),
                                                                      std::memory_order_relaxed)) {
        return false; // another worker ejected it first
    }
    s.ejection_streak_.fetch_add(1, std::memory_order_relaxed);
    s.consecutive_failures_.store(0, std::memory_order_relaxed);
    s.recovered_at_.store(ticks(now + time), std::memory_order_relaxed);
    s.ejections.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool PoolHealth::weights(std::span<const std::uint32_t> configured, core::Instant now,
                         std::span<std::uint32_t> out) const {
    bool any = false;
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        const ServerHealth& s = *servers_[i];
        if (s.state(now) != ServerState::Healthy) {
            out[i] = 0;
            continue;
        }
        std::uint64_t permille = 1000;
        if (slow_start_.count() > 0) {
            const core::Duration since = now - s.recovered_at();
            if (since < slow_start_) {
                permille = std::max<std::uint64_t>(
                    kSlowStartFloor,
                    static_cast<std::uint64_t>(std::max<std::int64_t>(0, since.count())) * 1000 /
                        static_cast<std::uint64_t>(slow_start_.count()));
            }
        }
        out[i] = static_cast<std::uint32_t>(configured[i] * permille / 10);
        any = true;
    }
    if (any) {
        return true;
    }
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        const AdminMode mode = servers_[i]->mode();
        out[i] = mode == AdminMode::Enabled ? configured[i] * 100 : 0;
        any = any || out[i] > 0;
    }
    return any;
}

bool PoolHealth::usable(std::size_t i, core::Instant now) const {
    const ServerHealth& s = *servers_[i];
    const std::uint32_t failing = outlier_.enabled ? outlier_.consecutive_failures : 0;
    return s.state(now) == ServerState::Healthy &&
           (failing == 0 || s.consecutive_failures_.load(std::memory_order_relaxed) < failing);
}

bool PoolHealth::any_usable(core::Instant now) const {
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        if (usable(i, now)) {
            return true;
        }
    }
    return false;
}

std::shared_ptr<ServerHealth> HealthBook::server(std::string_view pool, std::string_view server) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = servers_[{std::string(pool), std::string(server)}];
    if (!slot) {
        slot = std::make_shared<ServerHealth>();
    }
    return slot;
}

} // namespace lacquer::origin
