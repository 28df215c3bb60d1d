#include "routes_answer.h"

#include "lacquer/core/json_text.h"

#include <cstdio>
#include <ctime>

namespace lacquer::admin {

namespace {

// "2026-12-06T07:19:45Z"; "-" for 0 (no request since lacquerd started).
std::string iso8601(std::int64_t unix_seconds) {
    if (unix_seconds <= 0) {
        return "-";
    }
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (::gmtime_r(&t, &tm) == nullptr) {
        return "-";
    }
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

// "42s", "17m", "5h", "3d" ago; "never" for none.
std::string ago(std::int64_t unix_seconds, std::int64_t now) {
    if (unix_seconds <= 0) {
        return "never";
    }
    const std::int64_t s = std::max<std::int64_t>(0, now - unix_seconds);
    return s < 120      ? std::to_string(s) + "s ago"
           : s < 7200   ? std::to_string(s / 60) + "m ago"
           : s < 172800 ? std::to_string(s / 3600) + "h ago"
                        : std::to_string(s / 86400) + "d ago";
}

bool wants_text(std::string_view query) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        if (query.substr(0, amp) == "format=text") {
            return true;
        }
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    return false;
}

} // namespace

std::int64_t unix_now(const AdminState& state) {
    return state.clock != nullptr ? state.clock->unix_seconds() : std::time(nullptr);
}

std::string routes_json(const std::vector<metrics::RouteUsage>& usage, std::int64_t unix_now) {
    std::string out = "{\"now\": " + std::to_string(unix_now) + ", \"routes\": [";
    for (std::size_t i = 0; i < usage.size(); ++i) {
        const metrics::RouteUsage& u = usage[i];
        out.append(i == 0 ? "\n  {\"route\": " : ",\n  {\"route\": ");
        core::append_json_string(out, u.route);
        out.append(", \"last_request\": ");
        out.append(u.last_request > 0 ? std::to_string(u.last_request) : "null");
        out.append(", \"requests_1h\": " + std::to_string(u.last_hour));
        out.append(", \"requests_24h\": " + std::to_string(u.last_day));
        out.append(", \"requests_7d\": " + std::to_string(u.last_week) + "}");
    }
    out.append(usage.empty() ? "]}\n" : "\n]}\n");
    return out;
}

std::string routes_text(const std::vector<metrics::RouteUsage>& usage, std::int64_t unix_now) {
    std::size_t width = 5; // "ROUTE"
    for (const metrics::RouteUsage& u : usage) {
        width = std::max(width, u.route.size());
    }
    std::string out;
    const auto row = [&](std::string_view route, std::string_view last, std::string_view when,
                         std::string_view h1, std::string_view d1, std::string_view w1) {
        char buf[256];
        const int n = std::snprintf(
            buf, sizeof buf, "%-*.*s  %-20.*s  %-9.*s  %8.*s  %8.*s  %8.*s\n",
            static_cast<int>(width), static_cast<int>(route.size()), route.data(),
            static_cast<int>(last.size()), last.data(), static_cast<int>(when.size()), when.data(),
            static_cast<int>(h1.size()), h1.data(), static_cast<int>(d1.size()), d1.data(),
            static_cast<int>(w1.size()), w1.data());
        if (n >= static_cast<int>(sizeof buf)) { // a very long route name: unaligned, whole
            out.append(route);
            out.append("  ");
            out.append(std::string(last) + "  " + std::string(when) + "  " + std::string(h1) +
                       "  " + std::string(d1) + "  " + std::string(w1) + "\n");
        } else if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        }
    };
    row("ROUTE", "LAST REQUEST (UTC)", "", "1H", "24H", "7D");
    for (const metrics::RouteUsage& u : usage) {
        row(u.route, iso8601(u.last_request), ago(u.last_request, unix_now),
            std::to_string(u.last_hour), std::to_string(u.last_day), std::to_string(u.last_week));
    }
    return out;
}

AdminAnswer answer_routes(const http::RequestHead& request, std::string_view query,
                          const AdminState& state) {
    AdminAnswer a;
    if (!request.is_get() && !request.is_head()) {
        a.status = 405;
        a.body = "405 Method Not Allowed\n";
        return a;
    }
    const std::int64_t now = unix_now(state);
    const std::vector<metrics::RouteUsage> usage =
        state.registry != nullptr ? metrics::read_route_usage(*state.registry, state.shards, now)
                                  : std::vector<metrics::RouteUsage>{};
    if (wants_text(query)) {
        a.body = routes_text(usage, now);
    } else {
        a.content_type = "application/json";
        a.body = routes_json(usage, now);
    }
    return a;
}

} // namespace lacquer::admin
