// The `origins` section: named pools of servers, with balancing, TLS, timeouts and probes.
#include "field_syntax.h"
#include "lacquer/config/load.h"
#include "lacquer/config/units.h"
#include "sections.h"

#include <unordered_set>

namespace lacquer::config::detail {

namespace {

constexpr std::uint32_t kMaxWeight = 1000;
constexpr std::uint32_t kMaxConnectionsPerServer = 100'000;
constexpr std::uint32_t kMaxProbeCount = 100;
constexpr std::uint32_t kMaxRetries = 10;
constexpr std::uint32_t kMaxInFlight = 1'000'000;
constexpr std::uint32_t kMaxQueue = 1'000'000;

std::vector<OriginServerConfig> read_servers(const YamlValue& value) {
    std::vector<OriginServerConfig> servers;
    std::unordered_set<std::string> seen;
    for (const YamlValue& item : value.as_list()) {
        const YamlMap map = YamlMap::with_keys(item, {"address", "weight"});
        OriginServerConfig server;
        server.mark = item.mark();
        const YamlValue address = map.require("address");
        const std::string text = address.as_string();
        std::string problem;
        std::optional<HostPort> parsed = parse_host_port(text, 1, problem);
        if (!parsed) {
            address.fail(problem + ", got " + quoted(text));
        }
        server.address = std::move(*parsed);
        if (!seen.insert(server.address.text()).second) {
            address.fail(server.address.text() + " is listed twice (use `weight` instead)");
        }
        if (const std::optional<YamlValue> weight = map.find("weight")) {
            server.weight = static_cast<std::uint32_t>(weight->as_uint(1, kMaxWeight));
        }
        servers.push_back(std::move(server));
    }
    if (servers.empty()) {
        value.fail("at least one server is required");
    }
    return servers;
}

// mTLS: `certificate` and `private_key` go together.
void read_client_certificate(const YamlMap& map, OriginTls& tls) {
    const std::optional<YamlValue> certificate = map.find("certificate");
    const std::optional<YamlValue> key = map.find("private_key");
    if (certificate.has_value() != key.has_value()) {
        (certificate ? *certificate : *key).fail("certificate and private_key go together");
    }
    if (certificate) {
        tls.certificate = certificate->as_string();
        tls.private_key = key->as_string();
        if (tls.certificate.empty() || tls.private_key.empty()) {
            (tls.certificate.empty() ? *certificate : *key).fail("expected a file path, got \"\"");
        }
    }
}

OriginTls read_tls(const YamlValue& value) {
    OriginTls tls;
    if (!value.is_map()) {
        const std::optional<bool> enabled = value.bool_value();
        if (!enabled) {
            value.fail("expected true, false or a map with verify, ca_file, server_name, "
                       "certificate and private_key, got " +
                       value.describe());
        }
        tls.enabled = *enabled;
        return tls;
    }
    const YamlMap map = YamlMap::with_keys(
        value, {"verify", "ca_file", "server_name", "certificate", "private_key"});
    tls.enabled = true;
    if (const std::optional<YamlValue> verify = map.find("verify")) {
        tls.verify = verify->as_bool();
    }
    if (const std::optional<YamlValue> ca_file = map.find("ca_file")) {
        tls.ca_file = ca_file->as_string();
        if (tls.ca_file.empty()) {
            ca_file->fail("expected a file path, got \"\"");
        }
    }
    if (const std::optional<YamlValue> server_name = map.find("server_name")) {
        tls.server_name = server_name->as_string();
        if (!is_host_name(tls.server_name)) {
            server_name->fail("expected a host name, got " + quoted(tls.server_name));
        }
    }
    read_client_certificate(map, tls);
    return tls;
}

HealthProbeConfig read_health(const YamlValue& value) {
    const YamlMap map = YamlMap::with_keys(value, {"path", "interval", "timeout", "unhealthy_after",
                                                   "healthy_after", "expect_status"});
    HealthProbeConfig health;
    health.mark = value.mark();
    if (const std::optional<YamlValue> path = map.find("path")) {
        health.path = path->as_string();
        if (health.path.empty() || health.path.front() != '/' ||
            health.path.find(' ') != std::string::npos) {
            path->fail("expected a path starting with '/' and without spaces, got " +
                       quoted(health.path));
        }
    }
    const std::optional<YamlValue> interval = map.find("interval");
    const std::optional<YamlValue> timeout = map.find("timeout");
    if (interval) {
        health.interval = interval->as_duration(Duration(1));
    }
    if (timeout) {
        health.timeout = timeout->as_duration(Duration(1));
    }
    if (health.timeout > health.interval) {
        // Probes must not overlap; the defaults fit, so one of the two was written.
        const std::string both = "(timeout " + format_duration(health.timeout) + " > interval " +
                                 format_duration(health.interval) + ")";
        (timeout ? *timeout : *interval).fail("the timeout must not exceed the interval " + both);
    }
    for (auto [key, field] : {std::pair{"unhealthy_after", &health.unhealthy_after},
                              std::pair{"healthy_after", &health.healthy_after}}) {
        if (const std::optional<YamlValue> count = map.find(key)) {
            *field = static_cast<std::uint32_t>(count->as_uint(1, kMaxProbeCount));
        }
    }
    if (const std::optional<YamlValue> status = map.find("expect_status")) {
        health.expect_status = static_cast<int>(status->as_uint(100, 599));
    }
    return health;
}

// `outlier_detection: false`, or a map of the passive-ejection settings.
OutlierDetectionConfig read_outlier_detection(const YamlValue& value) {
    OutlierDetectionConfig outlier;
    if (!value.is_map()) {
        const std::optional<bool> enabled = value.bool_value();
        if (!enabled) {
            value.fail("expected true, false or a map with consecutive_failures, "
                       "base_ejection_time, max_ejection_time and max_ejected_percent, got " +
                       value.describe());
        }
        outlier.enabled = *enabled;
        return outlier;
    }
    const YamlMap map = YamlMap::with_keys(value, {"consecutive_failures", "base_ejection_time",
                                                   "max_ejection_time", "max_ejected_percent"});
    if (const std::optional<YamlValue> n = map.find("consecutive_failures")) {
        outlier.consecutive_failures = static_cast<std::uint32_t>(n->as_uint(1, kMaxProbeCount));
    }
    const std::optional<YamlValue> base = map.find("base_ejection_time");
    const std::optional<YamlValue> max = map.find("max_ejection_time");
    if (base) {
        outlier.base_ejection_time = base->as_duration(Duration(1));
    }
    if (max) {
        outlier.max_ejection_time = max->as_duration(Duration(1));
    }
    if (outlier.max_ejection_time < outlier.base_ejection_time) {
        (max ? *max : *base)
            .fail("max_ejection_time must not be below base_ejection_time (" +
                  format_duration(outlier.max_ejection_time) + " < " +
                  format_duration(outlier.base_ejection_time) + ")");
    }
    if (const std::optional<YamlValue> percent = map.find("max_ejected_percent")) {
        outlier.max_ejected_percent = static_cast<std::uint32_t>(percent->as_uint(0, 100));
    }
    return outlier;
}

// The pool keys of server health: passive ejection and slow start.
void read_server_health(const YamlMap& map, OriginPoolConfig& pool) {
    if (const std::optional<YamlValue> outlier = map.find("outlier_detection")) {
        pool.outlier_detection = read_outlier_detection(*outlier);
    }
    if (const std::optional<YamlValue> slow_start = map.find("slow_start")) {
        pool.slow_start = slow_start->as_duration();
    }
}

// "20%": a whole percentage from 0 to 100.
std::uint32_t read_percent(const YamlValue& value) {
    const std::string text = value.as_string();
    std::uint32_t n = 0;
    bool ok = text.size() >= 2 && text.size() <= 4 && text.back() == '%';
    for (std::size_t i = 0; ok && i + 1 < text.size(); ++i) {
        ok = text[i] >= '0' && text[i] <= '9';
        n = n * 10 + static_cast<std::uint32_t>(text[i] - '0');
    }
    if (!ok || n > 100) {
        value.fail("expected a percentage from 0% to 100%, got " + quoted(text));
    }
    return n;
}

// retries, retry_budget, retry_on_503, retry_non_idempotent (origin/retry_policy.h).
OriginRetryConfig read_retry(const YamlMap& map) {
    OriginRetryConfig retry;
    if (const std::optional<YamlValue> retries = map.find("retries")) {
        retry.retries = static_cast<std::uint32_t>(retries->as_uint(0, kMaxRetries));
    }
    if (const std::optional<YamlValue> budget = map.find("retry_budget")) {
        retry.budget_percent = read_percent(*budget);
    }
    if (const std::optional<YamlValue> on_503 = map.find("retry_on_503")) {
        retry.on_503 = on_503->as_bool();
    }
    if (const std::optional<YamlValue> any = map.find("retry_non_idempotent")) {
        retry.non_idempotent = any->as_bool();
    }
    return retry;
}

// max_in_flight, max_queue, queue_timeout (origin/admission.h).
OriginAdmissionConfig read_admission(const YamlMap& map) {
    OriginAdmissionConfig admission;
    if (const std::optional<YamlValue> max = map.find("max_in_flight")) {
        admission.max_in_flight = static_cast<std::uint32_t>(max->as_uint(0, kMaxInFlight));
    }
    if (const std::optional<YamlValue> queue = map.find("max_queue")) {
        admission.max_queue = static_cast<std::uint32_t>(queue->as_uint(0, kMaxQueue));
    }
    if (const std::optional<YamlValue> timeout = map.find("queue_timeout")) {
        admission.queue_timeout = timeout->as_duration(Duration(1));
    }
    return admission;
}

OriginPoolConfig read_pool(const YamlMap::Entry& entry) {
    const YamlMap map = YamlMap::with_keys(
        entry.value, {"servers", "balance", "tls", "connect_timeout", "first_byte_timeout",
                      "between_bytes_timeout", "max_connections_per_server", "health",
                      "outlier_detection", "slow_start", "resolve_every",
                      // retries and admission
                      "retries", "retry_budget", "retry_on_503", "retry_non_idempotent",
                      "max_in_flight", "max_queue", "queue_timeout"});
    OriginPoolConfig pool;
    pool.name = entry.key;
    pool.mark = entry.key_mark;
    pool.balance_mark = entry.value.mark();
    pool.tls_mark = entry.value.mark();
    pool.servers = read_servers(map.require("servers"));
    if (const std::optional<YamlValue> balance = map.find("balance")) {
        pool.balance_mark = balance->mark();
        pool.balance = balance->as_enum<Balance>({{"round_robin", Balance::RoundRobin},
                                                  {"least_connections", Balance::LeastConnections},
                                                  {"consistent_hash", Balance::ConsistentHash}});
    }
    if (const std::optional<YamlValue> tls = map.find("tls")) {
        pool.tls_mark = tls->mark();
        pool.tls = read_tls(*tls);
    }
    for (auto [key, field] : {std::pair{"connect_timeout", &pool.connect_timeout},
                              std::pair{"first_byte_timeout", &pool.first_byte_timeout},
                              std::pair{"between_bytes_timeout", &pool.between_bytes_timeout}}) {
        if (const std::optional<YamlValue> timeout = map.find(key)) {
            *field = timeout->as_duration(Duration(1));
        }
    }
    if (const std::optional<YamlValue> max = map.find("max_connections_per_server")) {
        pool.max_connections_per_server =
            static_cast<std::uint32_t>(max->as_uint(1, kMaxConnectionsPerServer));
    }
    if (const std::optional<YamlValue> health = map.find("health")) {
        pool.health = read_health(*health);
    }
    if (const std::optional<YamlValue> every = map.find("resolve_every")) {
        pool.resolve_every = every->as_duration(Duration(0)); // 0: never re-resolved
        if (pool.resolve_every.count() > 0 && pool.resolve_every < std::chrono::seconds(1)) {
            every->fail("resolve_every: at least 1s (or 0 to resolve at start and reload only)");
        }
    }
    read_server_health(map, pool);
    pool.retry = read_retry(map);
    pool.admission = read_admission(map);
    return pool;
}

} // namespace

std::vector<OriginPoolConfig> read_origins(const YamlValue& value) {
    const YamlMap map = YamlMap::with_any_keys(value);
    std::vector<OriginPoolConfig> origins;
    for (const YamlMap::Entry& entry : map.entries()) {
        if (!is_name(entry.key)) {
            throw ConfigError(entry.key_mark,
                              "origins: " + quoted(entry.key) +
                                  " is not a valid pool name (1 to 64 letters, digits, '_', "
                                  "'-' or '.')");
        }
        origins.push_back(read_pool(entry));
    }
    if (origins.empty()) {
        value.fail("at least one origin pool is required");
    }
    return origins;
}

} // namespace lacquer::config::detail
