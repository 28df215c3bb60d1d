#pragma once
// What lacquerctl prints: aligned text lines for people, one JSON object for scripts (--json).
// Pure formatting of what the admin listener answered; every output ends with a newline.

#include "ctl/admin_answers.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::ctl {

// 999 -> "999 B", 1536 -> "1.5 KiB", 1 << 30 -> "1.0 GiB".
std::string human_bytes(std::uint64_t bytes);

// The figures of `stats` (and the lower half of `status`). Without `store` (no /stats answer)
// the object lines are left out, or null in JSON.
std::string stats_text(const MetricsSummary& metrics, const StoreStats* store);
std::string stats_json(const MetricsSummary& metrics, const StoreStats* store);

struct StatusReport {
    std::string admin; // the endpoint asked
    bool live = false;
    bool ready = false;
    std::string ready_message; // /readyz's line: "ready" or "not ready: why"
    std::optional<MetricsSummary> metrics;
    std::optional<StoreStats> store;
};
std::string status_text(const StatusReport& report);
std::string status_json(const StatusReport& report);

// "purged 1 object", "banned 3 objects".
std::string count_text(std::string_view verb, std::uint64_t objects);

} // namespace lacquer::ctl
