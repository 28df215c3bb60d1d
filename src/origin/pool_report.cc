#include "lacquer/origin/pool_report.h"

#include <chrono>
#include <cstdio>

namespace lacquer::origin {

namespace {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        if (static_cast<unsigned char>(c) >= 0x20) {
            out.push_back(c);
        }
    }
    return out + "\"";
}

std::string_view balance_name(config::Balance balance) {
    switch (balance) {
    case config::Balance::RoundRobin:
        return "round_robin";
    case config::Balance::LeastConnections:
        return "least_connections";
    case config::Balance::ConsistentHash:
        return "consistent_hash";
    }
    return "?";
}

// "ok 200 1.2s ago", "failed (no answer) 0.3s ago", "failed (status 500) ...", "-" (none).
std::string last_probe(const OriginPoolSpec& pool, const ServerHealth& h, core::Instant now) {
    const int status = h.last_probe_status.load();
    if (!pool.probe || status == 0) {
        return "-";
    }
    const core::Instant at{core::Duration(h.last_probe_at.load())};
    const double ago = std::chrono::duration<double>(now - at).count();
    char when[32];
    std::snprintf(when, sizeof when, " %.1fs ago", ago);
    if (status == pool.probe->expect_status) {
        return "ok " + std::to_string(status) + when;
    }
    return (status < 0 ? std::string("failed (no answer)")
                       : "failed (status " + std::to_string(status) + ")") +
           when;
}

std::string permille_percent(std::uint32_t permille) {
    char text[16];
    std::snprintf(text, sizeof text, "%.1f%%", permille / 10.0);
    return text;
}

} // namespace

std::string origins_text(std::span<const OriginPoolSpec> pools, core::Instant now) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-12s %-24s %-11s %6s %9s %5s %7s %10s  %s\n", "POOL",
                  "SERVER", "STATE", "WEIGHT", "IN_FLIGHT", "OPEN", "ERRORS", "EJECTIONS",
                  "LAST_PROBE");
    out += line;
    for (const OriginPoolSpec& pool : pools) {
        for (std::size_t i = 0; i < pool.servers.size(); ++i) {
            const ServerHealth& h = pool.health->server(i);
            std::snprintf(line, sizeof line, "%-12s %-24s %-11s %6u %9d %5d %7s %10llu  %s\n",
                          pool.name.c_str(), pool.servers[i].name.c_str(),
                          std::string(server_state_name(h.state(now))).c_str(),
                          pool.servers[i].weight, h.in_flight.load(), h.open_connections.load(),
                          permille_percent(h.recent_error_permille.load()).c_str(),
                          static_cast<unsigned long long>(h.ejections.load()),
                          last_probe(pool, h, now).c_str());
            out += line;
        }
    }
    return out;
}

std::string origins_json(std::span<const OriginPoolSpec> pools, core::Instant now) {
    std::string out = "{\"pools\": [";
    for (std::size_t p = 0; p < pools.size(); ++p) {
        const OriginPoolSpec& pool = pools[p];
        out += (p == 0 ? "" : ", ");
        out += "{\"name\": " + json_string(pool.name) + ", \"balance\": \"" +
               std::string(balance_name(pool.balance)) + "\", \"servers\": [";
        for (std::size_t i = 0; i < pool.servers.size(); ++i) {
            const ServerHealth& h = pool.health->server(i);
            out += (i == 0 ? "" : ", ");
            out += "{\"server\": " + json_string(pool.servers[i].name) + ", \"state\": \"" +
                   std::string(server_state_name(h.state(now))) +
                   "\", \"weight\": " + std::to_string(pool.servers[i].weight) +
                   ", \"in_flight\": " + std::to_string(h.in_flight.load()) +
                   ", \"open_connections\": " + std::to_string(h.open_connections.load()) +
                   ", \"exchanges\": " + std::to_string(h.exchanges.load()) +
                   ", \"failures\": " + std::to_string(h.failures.load()) +
                   ", \"recent_error_ratio\": " +
                   std::to_string(h.recent_error_permille.load() / 1000.0) +
                   ", \"ejections\": " + std::to_string(h.ejections.load()) +
                   ", \"last_probe\": " + json_string(last_probe(pool, h, now)) + "}";
        }
        out += "]}";
    }
    return out + "]}\n";
}

int set_server_mode(std::span<const OriginPoolSpec> pools, std::string_view pool,
                    std::string_view server, std::string_view action, core::Instant now,
                    std::string& message) {
    AdminMode mode = AdminMode::Enabled;
    if (action == "drain") {
        mode = AdminMode::Draining;
    } else if (action == "disable") {
        mode = AdminMode::Disabled;
    } else if (action != "enable") {
        message = "unknown action '" + std::string(action) + "' (drain, disable or enable)";
        return 400;
    }
    for (const OriginPoolSpec& p : pools) {
        if (p.name != pool) {
            continue;
        }
        for (std::size_t i = 0; i < p.servers.size(); ++i) {
            if (p.servers[i].name == server) {
                p.health->server(i).set_mode(mode, now);
                message = "origin " + p.name + " server " + p.servers[i].name + " is now " +
                          std::string(server_state_name(p.health->server(i).state(now)));
                return 200;
            }
        }
        message = "origin " + std::string(pool) + " has no server '" + std::string(server) + "'";
        return 404;
    }
    message = "no origin pool '" + std::string(pool) + "'";
    return 404;
}

} // namespace lacquer::origin
