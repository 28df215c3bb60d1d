#pragma once
// The process_* metrics every Prometheus client library exports (client_golang's names and
// meanings), read from /proc at the scrape on the scraping thread: resident and virtual memory,
// CPU seconds, start time, open and maximum file descriptors. Nothing is kept between scrapes.

#include <cstdint>
#include <optional>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <string_view>
#include <vector>

namespace lacquer::metrics {

// The fields of /proc/<pid>/stat that process_* uses (proc(5)); times in clock ticks.
struct ProcStat {
    std::uint64_t utime_ticks = 0;
    std::uint64_t stime_ticks = 0;
    std::uint64_t start_ticks = 0; // after boot
    std::uint64_t virtual_bytes = 0;
    std::uint64_t resident_pages = 0;
};

// The content of /proc/<pid>/stat; nullopt when it has not that shape. The command name (in
// parentheses) may hold spaces and parentheses: fields are counted after its last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// `btime` (boot time, Unix seconds) from the content of /proc/stat.
std::optional<std::uint64_t> parse_boot_time(std::string_view text);

class ProcessCollector final : public prometheus::Collectable {
public:
    // Families with no value are left out (a /proc that cannot be read): never a made-up 0.
    std::vector<prometheus::MetricFamily> Collect() const override;
};

} // namespace lacquer::metrics
