// Text and JSON output of lacquerctl. Text labels are padded to one column so the values line
// up; JSON keys are stable (the man page lists them) and absent figures are null.
#include "ctl/report.h"

#include "lacquer/core/json_text.h"

#include <array>
#include <charconv>
#include <cstdio>

namespace lacquer::ctl {

namespace {

constexpr int kLabelWidth = 13;

std::string line(std::string_view label, std::string_view value) {
    std::string out(label);
    out.resize(std::max<std::size_t>(out.size() + 1, kLabelWidth), ' ');
    out.append(value).push_back('\n');
    return out;
}

std::string json_number(double value) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    return std::string(buf.data(), r.ptr);
}

// Members of one JSON object, in the order they are added; values are written by the caller.
class JsonObject {
public:
    JsonObject& raw(std::string_view key, std::string_view value) {
        out_.append(out_.size() > 1 ? ", " : "").append(core::json_string(key)).append(": ");
        out_.append(value);
        return *this;
    }
    JsonObject& number(std::string_view key, std::uint64_t value) {
        return raw(key, std::to_string(value));
    }
    JsonObject& maybe(std::string_view key, std::optional<std::uint64_t> value) {
        return raw(key, value ? std::to_string(*value) : "null");
    }
    JsonObject& flag(std::string_view key, bool value) {
        return raw(key, value ? "true" : "false");
    }
    JsonObject& text(std::string_view key, std::string_view value) {
        return raw(key, core::json_string(value));
    }
    std::string close() const { return out_ + "}"; }

private:
    std::string out_ = "{";
};

std::string percent(double ratio) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", ratio * 100.0);
    return buf;
}

} // namespace

std::string human_bytes(std::uint64_t bytes) {
    if (bytes < 1024) {
        return std::to_string(bytes) + " B";
    }
    constexpr std::array<const char*, 5> kUnits{"KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < kUnits.size()) {
        value /= 1024.0;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
    return buf;
}

std::string stats_text(const MetricsSummary& metrics, const StoreStats* store) {
    const HitRatio hits = hit_ratio(metrics);
    std::string out;
    if (const std::optional<double> ratio = hits.ratio()) {
        out += line("hit ratio", percent(*ratio) + " (" + std::to_string(hits.hits) + " of " +
                                     std::to_string(hits.cacheable) +
                                     " cacheable requests since start)");
    } else {
        out += line("hit ratio", "- (no cacheable requests yet)");
    }
    std::string requests;
    for (const auto& [status, count] : metrics.requests) {
        if (count > 0) {
            requests += (requests.empty() ? "" : ", ") + status + " " + std::to_string(count);
        }
    }
    out += line("requests", requests.empty() ? "none yet" : requests);
    if (store != nullptr) {
        out += line("objects", std::to_string(store->objects));
        out += line("bytes", human_bytes(store->bytes) + " (" + std::to_string(store->bytes) +
                                 ") of " + human_bytes(store->budget));
        out += line("evictions", std::to_string(store->evictions));
    }
    const std::size_t up = metrics.servers_up();
    out += line("origins", std::to_string(up) + " up, " +
                               std::to_string(metrics.origin_servers.size() - up) + " down");
    for (const OriginServerHealth& s : metrics.origin_servers) {
        out += "  " + s.origin + " " + s.server + (s.up ? " up\n" : " down\n");
    }
    return out;
}

namespace {

// stats_json() without its newline, to nest in status_json().
std::string stats_object(const MetricsSummary& metrics, const StoreStats* store) {
    const HitRatio hits = hit_ratio(metrics);
    const std::optional<double> ratio = hits.ratio();
    JsonObject requests;
    for (const auto& [status, count] : metrics.requests) {
        requests.number(status, count);
    }
    std::string servers = "[";
    for (const OriginServerHealth& s : metrics.origin_servers) {
        servers +=
            (servers.size() > 1 ? ", " : "") +
            JsonObject().text("origin", s.origin).text("server", s.server).flag("up", s.up).close();
    }
    servers += "]";
    const std::size_t up = metrics.servers_up();
    const auto from_store = [store](std::uint64_t StoreStats::*field) {
        return store != nullptr ? std::optional<std::uint64_t>(store->*field) : std::nullopt;
    };
    return JsonObject()
        .raw("hit_ratio", ratio ? json_number(*ratio) : "null")
        .number("hits", hits.hits)
        .number("cacheable_requests", hits.cacheable)
        .raw("requests", requests.close())
        .maybe("objects", from_store(&StoreStats::objects))
        .maybe("bytes", from_store(&StoreStats::bytes))
        .maybe("budget", from_store(&StoreStats::budget))
        .maybe("evictions", from_store(&StoreStats::evictions))
        .number("origin_servers_up", up)
        .number("origin_servers_down", metrics.origin_servers.size() - up)
        .raw("origin_servers", servers)
        .close();
}

} // namespace

std::string stats_json(const MetricsSummary& metrics, const StoreStats* store) {
    return stats_object(metrics, store) + "\n";
}

std::string status_text(const StatusReport& r) {
    std::string out;
    const std::string version =
        r.metrics && !r.metrics->version.empty() ? r.metrics->version + " " : "";
    out += line("lacquerd", version + "at " + r.admin);
    out += line("live", r.live ? "yes" : "no");
    out += line("ready", r.ready ? "yes" : "no (" + r.ready_message + ")");
    if (r.metrics) {
        if (r.metrics->workers) {
            out += line("workers", std::to_string(*r.metrics->workers));
        }
        if (r.metrics->connections_open) {
            out += line("connections", std::to_string(*r.metrics->connections_open) + " open");
        }
        out += stats_text(*r.metrics, r.store ? &*r.store : nullptr);
    }
    return out;
}

std::string status_json(const StatusReport& r) {
    JsonObject out;
    out.text("admin", r.admin);
    out.raw("version", r.metrics ? core::json_string(r.metrics->version) : "null");
    out.flag("live", r.live).flag("ready", r.ready).text("ready_message", r.ready_message);
    out.maybe("workers", r.metrics ? r.metrics->workers : std::nullopt);
    out.maybe("connections_open", r.metrics ? r.metrics->connections_open : std::nullopt);
    out.raw("stats", r.metrics ? stats_object(*r.metrics, r.store ? &*r.store : nullptr) : "null");
    return out.close() + "\n";
}

std::string count_text(std::string_view verb, std::uint64_t objects) {
    return std::string(verb) + " " + std::to_string(objects) +
           (objects == 1 ? " object\n" : " objects\n");
}

} // namespace lacquer::ctl
