#include "shard_collector.h"

#include "lacquer/metrics/route_usage.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

namespace lacquer::metrics {

namespace {

constexpr std::size_t kBuckets = kLatencyBuckets.size() + 1; // + the +Inf bucket

std::uint64_t sum(std::span<const Shard* const> shards, std::uint32_t slot) {
    std::uint64_t total = 0;
    for (const Shard* s : shards) {
        total += s->get(slot);
    }
    return total;
}

std::vector<prometheus::ClientMetric::Label> labels_of(const Labels& pairs) {
    std::vector<prometheus::ClientMetric::Label> out;
    out.reserve(pairs.size());
    for (const auto& [name, value] : pairs) {
        out.push_back({name, value});
    }
    return out;
}

// Buckets as Prometheus wants them (cumulative); the +Inf bucket is the count, which
// TextSerializer writes itself. The count is the buckets' total, read once: consistent with
// +Inf even while workers count.
prometheus::ClientMetric::Histogram histogram_of(std::span<const Shard* const> shards,
                                                 std::uint32_t first) {
    prometheus::ClientMetric::Histogram h;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
        cumulative += sum(shards, first + static_cast<std::uint32_t>(b));
        if (b < kLatencyBuckets.size()) {
            h.bucket.push_back({cumulative, kLatencyBuckets[b]});
        }
    }
    h.sample_count = cumulative;
    h.sample_sum = static_cast<double>(sum(shards, first + kBuckets)) / 1e6;
    return h;
}

prometheus::MetricFamily gauge_family(std::string name, std::string help) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = prometheus::MetricType::Gauge;
    return f;
}

prometheus::ClientMetric gauge(std::vector<prometheus::ClientMetric::Label> labels, double value) {
    prometheus::ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    return m;
}

} // namespace

std::vector<prometheus::MetricFamily> ShardCollector::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    {
        std::lock_guard<std::mutex> lock(registry_.mutex_);
        out.reserve(registry_.families_.size() + 2);
        for (const Registry::Family& f : registry_.families_) {
            prometheus::MetricFamily family;
            family.name = f.name;
            family.help = f.help;
            family.type = f.kind == Registry::Kind::Counter ? prometheus::MetricType::Counter
                          : f.kind == Registry::Kind::Gauge ? prometheus::MetricType::Gauge
                                                            : prometheus::MetricType::Histogram;
            family.metric.reserve(f.series.size());
            for (const Registry::Series& s : f.series) {
                prometheus::ClientMetric m;
                m.label = labels_of(s.pairs);
                if (f.kind == Registry::Kind::Histogram) {
                    m.histogram = histogram_of(shards_, s.slot);
                } else {
                    const double value =
                        s.read ? s.read() : static_cast<double>(sum(shards_, s.slot));
                    (f.kind == Registry::Kind::Counter ? m.counter.value : m.gauge.value) = value;
                }
                family.metric.push_back(std::move(m));
            }
            out.push_back(std::move(family));
        }
    }
    collect_route_usage(out);
    return out;
}

void ShardCollector::collect_route_usage(std::vector<prometheus::MetricFamily>& out) const {
    const std::vector<RouteUsage> usage = read_route_usage(registry_, shards_, unix_now_);
    if (usage.empty()) {
        return;
    }
    prometheus::MetricFamily last =
        gauge_family("lacquer_route_last_request_timestamp_seconds",
                     "Unix time of the route's last request since lacquerd started (0: none yet).");
    prometheus::MetricFamily recent = gauge_family(
        "lacquer_route_recent_requests",
        "Requests to the route in the last 1h (5-minute steps), 24h or 7d (hourly and 6-hour "
        "steps), since lacquerd started.");
    for (const RouteUsage& u : usage) {
        last.metric.push_back(gauge({{"route", u.route}}, static_cast<double>(u.last_request)));
        const std::pair<const char*, std::uint64_t> windows[] = {
            {"1h", u.last_hour}, {"24h", u.last_day}, {"7d", u.last_week}};
        for (const auto& [window, count] : windows) {
            recent.metric.push_back(
                gauge({{"route", u.route}, {"window", window}}, static_cast<double>(count)));
        }
    }
    out.push_back(std::move(last));
    out.push_back(std::move(recent));
}

} // namespace lacquer::metrics
