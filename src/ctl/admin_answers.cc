// Parsers for the admin listener's answers. They accept exactly what admin_server.cc and the
// metrics registry write, and skip (never guess at) anything else.
#include "ctl/admin_answers.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace lacquer::ctl {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
    std::string_view name;
    Labels labels;
    double value = 0;
};

void skip_spaces(std::string_view& text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
}

// `{name="value",...}` with the escapes \\, \" and \n; false on anything else.
bool parse_labels(std::string_view& text, Labels& labels) {
    text.remove_prefix(1); // '{'
    while (!text.empty() && text.front() != '}') {
        const std::size_t eq = text.find('=');
        if (eq == std::string_view::npos || eq + 1 >= text.size() || text[eq + 1] != '"') {
            return false;
        }
        std::string name(text.substr(0, eq));
        std::string value;
        std::size_t i = eq + 2;
        for (; i < text.size() && text[i] != '"'; ++i) {
            if (text[i] == '\\' && i + 1 < text.size()) {
                ++i;
                value.push_back(text[i] == 'n' ? '\n' : text[i]);
            } else {
                value.push_back(text[i]);
            }
        }
        if (i >= text.size()) {
            return false;
        }
        labels.emplace_back(std::move(name), std::move(value));
        text.remove_prefix(i + 1);
        if (!text.empty() && text.front() == ',') {
            text.remove_prefix(1);
        }
    }
    if (text.empty()) {
        return false;
    }
    text.remove_prefix(1); // '}'
    return true;
}

std::optional<Sample> parse_sample(std::string_view line) {
    Sample s;
    const std::size_t name_end = line.find_first_of("{ \t");
    if (name_end == 0 || name_end == std::string_view::npos) {
        return std::nullopt;
    }
    s.name = line.substr(0, name_end);
    line.remove_prefix(name_end);
    if (line.front() == '{' && !parse_labels(line, s.labels)) {
        return std::nullopt;
    }
    skip_spaces(line);
    const std::string value(line.substr(0, line.find_first_of(" \t")));
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size()) {
        return std::nullopt;
    }
    return s;
}

std::string_view label(const Labels& labels, std::string_view name) {
    for (const auto& [key, value] : labels) {
        if (key == name) {
            return value;
        }
    }
    return {};
}

std::uint64_t whole(double value) {
    return value > 0 && std::isfinite(value) ? static_cast<std::uint64_t>(std::llround(value)) : 0;
}

} // namespace

std::optional<std::uint64_t> json_count(std::string_view json, std::string_view key) {
    const std::string quoted = "\"" + std::string(key) + "\"";
    const std::size_t at = json.find(quoted);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view rest = json.substr(at + quoted.size());
    skip_spaces(rest);
    if (rest.empty() || rest.front() != ':') {
        return std::nullopt;
    }
    rest.remove_prefix(1);
    skip_spaces(rest);
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (error != std::errc() || end == rest.data()) {
        return std::nullopt;
    }
    return value;
}

std::optional<StoreStats> parse_store_stats(std::string_view json) {
    const auto objects = json_count(json, "objects");
    const auto bytes = json_count(json, "bytes");
    const auto budget = json_count(json, "budget");
    const auto evictions = json_count(json, "evictions");
    if (!objects || !bytes || !budget || !evictions) {
        return std::nullopt;
    }
    return StoreStats{*objects, *bytes, *budget, *evictions};
}

std::uint64_t MetricsSummary::requests_with(std::string_view cache_status) const {
    for (const auto& [status, count] : requests) {
        if (status == cache_status) {
            return count;
        }
    }
    return 0;
}

std::size_t MetricsSummary::servers_up() const {
    std::size_t n = 0;
    for (const OriginServerHealth& server : origin_servers) {
        n += server.up ? 1 : 0;
    }
    return n;
}

MetricsSummary summarise_metrics(std::string_view text) {
    MetricsSummary m;
    while (!text.empty()) {
        const std::size_t eol = text.find('\n');
        const std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const std::optional<Sample> s = parse_sample(line);
        if (!s) {
            continue;
        }
        if (s->name == "lacquer_requests_total") {
            const std::string status(label(s->labels, "cache_status"));
            bool counted = false;
            for (auto& [known, count] : m.requests) {
                if (known == status) {
                    count += whole(s->value);
                    counted = true;
                }
            }
            if (!counted) {
                m.requests.emplace_back(status, whole(s->value));
            }
        } else if (s->name == "lacquer_origin_server_up") {
            m.origin_servers.push_back({std::string(label(s->labels, "origin")),
                                        std::string(label(s->labels, "server")), s->value != 0});
        } else if (s->name == "lacquer_build_info") {
            m.version = std::string(label(s->labels, "version"));
        } else if (s->name == "lacquer_workers") {
            m.workers = whole(s->value);
        } else if (s->name == "lacquer_connections_open") {
            m.connections_open = whole(s->value);
        }
    }
    return m;
}

std::optional<double> HitRatio::ratio() const {
    if (cacheable == 0) {
        return std::nullopt;
    }
    return static_cast<double>(hits) / static_cast<double>(cacheable);
}

HitRatio hit_ratio(const MetricsSummary& metrics) {
    HitRatio r;
    for (const auto& [status, count] : metrics.requests) {
        if (status == "hit" || status == "stale") {
            r.hits += count;
        }
        if (status != "pass" && status != "synth") {
            r.cacheable += count;
        }
    }
    return r;
}

} // namespace lacquer::ctl
