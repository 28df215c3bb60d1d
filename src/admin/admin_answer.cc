#include "lacquer/admin/admin_answer.h"

#include "admin_observe.h"
#include "bearer.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/http/ascii.h"
#include "lacquer/metrics/exposition.h"
#include "routes_answer.h"

#include <optional>
#include <string>

namespace lacquer::admin {

namespace {

// The value of query parameter `name` (percent-decoded); nullopt when absent or badly encoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) != name) {
            continue;
        }
        const std::string_view raw =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        std::string value;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] != '%') {
                value.push_back(raw[i] == '+' ? ' ' : raw[i]);
                continue;
            }
            const int hi = i + 2 < raw.size() ? http::hex_value(raw[i + 1]) : -1;
            const int lo = i + 2 < raw.size() ? http::hex_value(raw[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            value.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        }
        return value;
    }
    return std::nullopt;
}

AdminAnswer json_count(std::string_view name, std::size_t n) {
    AdminAnswer a;
    a.content_type = "application/json";
    a.body = "{\"" + std::string(name) + "\": " + std::to_string(n) + "}\n";
    return a;
}

AdminAnswer text(int status, std::string body) {
    AdminAnswer a;
    a.status = status;
    a.body = std::move(body);
    return a;
}

// GET /origins[?format=json]; POST /origin/drain|disable|enable?pool=P&server=S.
AdminAnswer answer_origins(const http::RequestHead& request, std::string_view path,
                           std::string_view query, const OriginControl& origins) {
    if (!origins.list || !origins.set_mode) {
        return text(404, "404 Not Found: no origin control here\n");
    }
    if (path == "/origins") {
        if (!request.is_get() && !request.is_head()) {
            return text(405, "405 Method Not Allowed\n");
        }
        const bool json = query_param(query, "format").value_or("text") == "json";
        AdminAnswer a;
        if (json) {
            a.content_type = "application/json";
        }
        a.body = origins.list(json);
        return a;
    }
    if (request.method != "POST") {
        return text(405, "405 Method Not Allowed: /origin/... is POST\n");
    }
    const auto pool = query_param(query, "pool");
    const auto server = query_param(query, "server");
    if (!pool || !server || pool->empty() || server->empty()) {
        return text(400, "400 Bad Request: pool=P&server=HOST:PORT are required\n");
    }
    std::string message;
    const int status = origins.set_mode(*pool, *server, path.substr(8), message);
    return text(status, (status == 200 ? "" : std::to_string(status) + " ") + message + "\n");
}

} // namespace

bool bearer_matches(std::string_view value, std::string_view token) {
    constexpr std::string_view kScheme = "Bearer ";
    if (value.size() != kScheme.size() + token.size() || !value.starts_with(kScheme)) {
        return false;
    }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        diff |= static_cast<unsigned char>(value[kScheme.size() + i] ^ token[i]);
    }
    return diff == 0;
}

AdminAnswer answer(const http::RequestHead& request, const AdminState& state) {
    const std::string_view target = request.target;
    const std::size_t query_at = target.find('?');
    const std::string_view path = target.substr(0, query_at);
    const std::string_view query =
        query_at == std::string_view::npos ? std::string_view() : target.substr(query_at + 1);
    const bool read = request.is_get() || request.is_head();
    if (auto config_answer = answer_config_api(request, path, state)) {
        return *config_answer; // POST /reload, GET /config: admin_config.cc
    }
    if (path == "/metrics" || path == "/healthz" || path == "/readyz") {
        if (!read) {
            return text(405, "405 Method Not Allowed\n");
        }
        AdminAnswer a;
        if (path == "/metrics") {
            a.content_type = metrics::kExpositionContentType;
            metrics::write_exposition(a.body, *state.registry, state.shards, unix_now(state));
        } else if (path == "/healthz") {
            a.body = "ok\n";
        } else if (state.ready == nullptr || !state.ready->load()) {
            return text(503, "not ready: starting or stopping\n");
        } else if (state.origin_up && !state.origin_up()) {
            return text(503, "not ready: no pool that a route uses has a usable origin server\n");
        } else {
            a.body = "ready\n";
        }
        return a;
    }
    const bool origin_api = path == "/origins" || path.starts_with("/origin/");
    const bool cache_api = path.starts_with("/purge/") || path == "/ban" || path == "/stats";
    const bool routes_api = path == "/routes";
    const bool observe_api = path == "/log" || path == "/debug/object";
    if (!cache_api && !origin_api && !routes_api && !observe_api) {
        return text(404, "404 Not Found: /metrics, /healthz, /readyz, /purge/..., /ban, /stats, "
                         "/origins, /origin/..., /routes, /log, /debug/object, /reload, /config\n");
    }
    if (!state.token.empty()) {
        const http::Header* auth = request.headers.find("Authorization");
        if (auth == nullptr || !bearer_matches(auth->value, state.token)) {
            return text(401, "401 Unauthorized: Authorization: Bearer <admin token>\n");
        }
    }
    if (origin_api) {
        return answer_origins(request, path, query, state.origins);
    }
    if (routes_api) {
        return answer_routes(request, query, state);
    }
    if (path == "/log") {
        return answer_log(request, query, state.observe);
    }
    if (path == "/debug/object") {
        return answer_debug_object(request, query_param(query, "url"), query_param(query, "host"),
                                   query_param(query, "format").value_or("json") == "json",
                                   state.observe);
    }
    if (path == "/stats") {
        if (!read) {
            return text(405, "405 Method Not Allowed\n");
        }
        AdminAnswer a;
        a.content_type = "application/json";
        a.body = state.cache.stats_json();
        return a;
    }
    if (request.method != "POST") {
        return text(405, "405 Method Not Allowed: purge and ban are POST\n");
    }
    const bool soft = query_param(query, "soft").value_or("0") != "0";
    if (path == "/purge/url") {
        const auto url = query_param(query, "url");
        if (!url || url->empty() || url->front() != '/') {
            return text(400, "400 Bad Request: url=/path?query (percent-encoded) is required\n");
        }
        return json_count(
            "purged", state.cache.purge_url(*url, query_param(query, "host").value_or(""), soft));
    }
    if (path == "/purge/prefix") {
        const auto prefix = query_param(query, "path");
        if (!prefix || prefix->empty() || prefix->front() != '/') {
            return text(400, "400 Bad Request: path=/prefix is required\n");
        }
        return json_count("purged", state.cache.purge_prefix(*prefix, soft));
    }
    if (path == "/purge/all") {
        return json_count("purged", state.cache.purge_all());
    }
    if (path == "/ban") {
        const auto regex = query_param(query, "regex");
        if (!regex || regex->empty()) {
            return text(400, "400 Bad Request: regex=... is required\n");
        }
        std::string error;
        const std::optional<std::size_t> banned = state.cache.ban(*regex, error);
        if (!banned) {
            return text(400, "400 Bad Request: the regex does not compile: " + error + "\n");
        }
        return json_count("banned", *banned);
    }
    if (path == "/purge/tag") {
        const auto tag = query_param(query, "tag");
        if (!tag || tag->empty()) {
            return text(400, "400 Bad Request: tag=... is required\n");
        }
        return json_count("purged", state.cache.purge_tag(*tag, soft));
    }
    return text(404, "404 Not Found\n");
}

} // namespace lacquer::admin
