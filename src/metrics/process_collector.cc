#include "process_collector.h"

#include "lacquer/core/proc_file.h"

#include <charconv>
#include <filesystem>
#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace lacquer::metrics {

using core::read_proc_file;

namespace {

bool parse_u64(std::string_view field, std::uint64_t& out) {
    const auto r = std::from_chars(field.data(), field.data() + field.size(), out);
    return r.ec == std::errc() && r.ptr == field.data() + field.size();
}

// Entries of /proc/self/fd, less the one the directory iterator holds while it counts.
std::optional<double> open_fds() {
    std::error_code error;
    std::filesystem::directory_iterator it("/proc/self/fd", error);
    if (error) {
        return std::nullopt;
    }
    double n = 0;
    for (const std::filesystem::directory_iterator end; it != end; it.increment(error)) {
        if (error) {
            return std::nullopt;
        }
        ++n;
    }
    return n - 1;
}

void add_family(std::vector<prometheus::MetricFamily>& out, const char* name, const char* help,
                prometheus::MetricType type, std::optional<double> value) {
    if (!value) {
        return;
    }
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    prometheus::ClientMetric m;
    (type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value) = *value;
    f.metric.push_back(std::move(m));
    out.push_back(std::move(f));
}

} // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
    const std::size_t close = text.rfind(')');
    if (close == std::string_view::npos) {
        return std::nullopt;
    }
    text.remove_prefix(close + 1);
    // Fields after the name, numbered as in proc(5): state is field 3.
    ProcStat s;
    int field = 2;
    while (!text.empty() && field < 24) {
        while (!text.empty() && text.front() == ' ') {
            text.remove_prefix(1);
        }
        const std::size_t end = std::min(text.find_first_of(" \n"), text.size());
        const std::string_view value = text.substr(0, end);
        text.remove_prefix(end);
        if (value.empty()) {
            break;
        }
        ++field;
        std::uint64_t* target = field == 14   ? &s.utime_ticks
                                : field == 15 ? &s.stime_ticks
                                : field == 22 ? &s.start_ticks
                                : field == 23 ? &s.virtual_bytes
                                : field == 24 ? &s.resident_pages
                                              : nullptr;
        if (target == nullptr) {
            continue;
        }
        if (!parse_u64(value, *target)) {
            return std::nullopt;
        }
    }
    return field == 24 ? std::optional(s) : std::nullopt; // every field up to rss was there
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) {
    constexpr std::string_view kKey = "btime ";
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string_view line = text.substr(at, end - at);
        if (line.starts_with(kKey)) {
            std::uint64_t value = 0;
            return parse_u64(line.substr(kKey.size()), value) ? std::optional(value) : std::nullopt;
        }
        at = end + 1;
    }
    return std::nullopt;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const long page = ::sysconf(_SC_PAGESIZE);
    const std::optional<ProcStat> stat = parse_proc_stat(read_proc_file("/proc/self/stat"));
    const std::optional<std::uint64_t> boot = parse_boot_time(read_proc_file("/proc/stat"));
    std::optional<double> cpu;
    std::optional<double> start;
    std::optional<double> resident;
    std::optional<double> virtual_bytes;
    if (stat && ticks > 0 && page > 0) {
        cpu =
            static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks);
        if (boot) {
            start = static_cast<double>(*boot) +
                    static_cast<double>(stat->start_ticks) / static_cast<double>(ticks);
        }
        resident = static_cast<double>(stat->resident_pages) * static_cast<double>(page);
        virtual_bytes = static_cast<double>(stat->virtual_bytes);
    }
    std::optional<double> max_fds;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        max_fds = limit.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(limit.rlim_cur);
        if (*max_fds < 0) {
            max_fds.reset();
        }
    }
    add_family(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter, cpu);
    add_family(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
               open_fds());
    add_family(out, "process_max_fds", "Maximum number of open file descriptors.",
               MetricType::Gauge, max_fds);
    add_family(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
               MetricType::Gauge, virtual_bytes);
    add_family(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
               MetricType::Gauge, resident);
    add_family(out, "process_start_time_seconds",
               "Start time of the process since unix epoch in seconds.", MetricType::Gauge, start);
    return out;
}

} // namespace lacquer::metrics
