#pragma once
// Reading what the admin listener answers: the small JSON objects of /stats, /purge/* and /ban,
// and the few series of /metrics that `status` and `stats` show. Pure functions of the text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lacquer::ctl {

// The value of `"key": <unsigned integer>` in a flat JSON object; nullopt when absent.
std::optional<std::uint64_t> json_count(std::string_view json, std::string_view key);

// GET /stats.
struct StoreStats {
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0;  // bookkeeping included
    std::uint64_t budget = 0; // storage.memory
    std::uint64_t evictions = 0;
};
// nullopt when a field is missing (a lacquerd that answers something else).
std::optional<StoreStats> parse_store_stats(std::string_view json);

struct OriginServerHealth {
    std::string origin; // pool name
    std::string server; // host:port
    bool up = false;
};

// The series of /metrics lacquerctl reports.
struct MetricsSummary {
    // lacquer_requests_total summed over routes, per cache_status, in the order of /metrics.
    std::vector<std::pair<std::string, std::uint64_t>> requests;
    std::vector<OriginServerHealth> origin_servers; // lacquer_origin_server_up
    std::string version;                            // lacquer_build_info{version}
    std::optional<std::uint64_t> workers;           // lacquer_workers
    std::optional<std::uint64_t> connections_open;  // lacquer_connections_open

    std::uint64_t requests_with(std::string_view cache_status) const;
    std::size_t servers_up() const;
};

// Prometheus text exposition format; lines it does not understand are skipped.
MetricsSummary summarise_metrics(std::string_view prometheus_text);

// The dashboard's hit ratio (packaging/grafana): hit and stale answers over every request but
// pass and synth, since lacquerd started.
struct HitRatio {
    std::uint64_t hits = 0;
    std::uint64_t cacheable = 0;
    std::optional<double> ratio() const; // nullopt before the first cacheable request
};
HitRatio hit_ratio(const MetricsSummary& metrics);

} // namespace lacquer::ctl
