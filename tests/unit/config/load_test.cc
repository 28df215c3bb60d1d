// Valid configs: the CONFIG.md example with every value checked, the defaults, and the forms
// each key may take. Errors are in load_errors_test.cc.
#include "lacquer/config/load.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>

namespace lacquer::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::string source_dir() {
    const char* from_env = std::getenv("LACQUER_SOURCE_DIR");
    return from_env != nullptr ? from_env : LACQUER_SOURCE_DIR_DEFAULT;
}

// The smallest valid config; other tests append to it.
constexpr std::string_view kMinimal = R"(listen:
  - address: 127.0.0.1:8080
origins:
  api:
    servers:
      - address: 127.0.0.1:9000
)";

Config load(std::string_view extra) {
    return load_config_string(std::string(kMinimal) + std::string(extra), "t.yaml");
}

void expect_mark(const SourceMark& mark, const std::string& file, int line, int column) {
    EXPECT_EQ(mark.file, file);
    EXPECT_EQ(mark.line, line);
    EXPECT_EQ(mark.column, column);
}

TEST(LoadFullExample, EveryValueOfConfigMd) {
    const std::string path = source_dir() + "/vcl-like-config/examples/full.yaml";
    const Config config = load_config_file(path);
    EXPECT_EQ(config.file, path);
    EXPECT_EQ(config.workers, 0U);

    ASSERT_EQ(config.listen.size(), 3U);
    EXPECT_EQ(config.listen[0].address.text(), "0.0.0.0:8080");
    EXPECT_FALSE(config.listen[0].tls);
    EXPECT_EQ(config.listen[1].address.host, "0.0.0.0");
    EXPECT_EQ(config.listen[1].address.port, 8443);
    ASSERT_TRUE(config.listen[1].tls);
    EXPECT_EQ(config.listen[1].tls->certificates.at(0).certificate, "/etc/lacquer/tls/server.pem");
    EXPECT_EQ(config.listen[1].tls->certificates.at(0).private_key, "/etc/lacquer/tls/server.key");
    ASSERT_EQ(config.listen[1].tls->certificates.size(), 2U);
    EXPECT_EQ(config.listen[1].tls->certificates[1].names,
              (std::vector<std::string>{"api.example.com", "*.api.example.com"}));
    EXPECT_EQ(config.listen[1].tls->certificates[1].certificate, "/etc/lacquer/tls/api.pem");
    EXPECT_EQ(config.listen[2].unix_path, "/run/lacquer/http.sock");
    EXPECT_EQ(config.listen[2].unix_mode, 0660U);
    EXPECT_TRUE(config.listen[2].proxy_protocol);
    ASSERT_EQ(config.listen[2].proxy_from.size(), 1U);
    expect_mark(config.listen[0].mark, path, 7, 5);

    EXPECT_TRUE(config.admin.present);
    EXPECT_EQ(config.admin.address.text(), "127.0.0.1:9190");
    EXPECT_EQ(config.admin.token_file, "/etc/lacquer/admin.token");
    ASSERT_EQ(config.admin.purge_from.size(), 2u);
    EXPECT_EQ(config.admin.purge_from[1].text, "::1");

    EXPECT_EQ(config.limits.max_header_bytes, 32U * 1024);
    EXPECT_EQ(config.limits.max_uri_bytes, 8U * 1024);
    EXPECT_EQ(config.limits.max_body_bytes, 16U * 1024 * 1024);
    EXPECT_EQ(config.limits.max_connections, 20000U);
    EXPECT_EQ(config.limits.client_header_timeout, seconds(10));
    EXPECT_EQ(config.limits.client_body_timeout, seconds(10));
    EXPECT_EQ(config.limits.client_request_timeout, seconds(60));
    EXPECT_EQ(config.limits.client_body_buffer, 64U * 1024);
    EXPECT_EQ(config.limits.client_body_temp_dir, "/var/tmp");
    EXPECT_EQ(config.limits.client_idle_timeout, seconds(60));
    EXPECT_EQ(config.limits.drain_timeout, seconds(10));

    EXPECT_TRUE(config.storage.present);
    EXPECT_EQ(config.storage.memory, 1ULL << 30);
    EXPECT_EQ(config.storage.max_object_size, 8U * 1024 * 1024);
    EXPECT_EQ(config.storage.eviction, Eviction::TinyLfu);

    EXPECT_EQ(config.log.access, AccessLogTarget::Stdout);
    EXPECT_EQ(config.log.format, AccessLogFormat::Combined);

    ASSERT_EQ(config.origins.size(), 1U);
    const OriginPoolConfig& api = config.origins[0];
    EXPECT_EQ(api.name, "api");
    EXPECT_EQ(config.find_origin("api"), &api);
    EXPECT_EQ(config.find_origin("nope"), nullptr);
    ASSERT_EQ(api.servers.size(), 2U);
    EXPECT_EQ(api.servers[0].address.text(), "127.0.0.1:9000");
    EXPECT_EQ(api.servers[0].weight, 1U);
    EXPECT_EQ(api.servers[1].address.text(), "10.0.0.12:9000");
    EXPECT_EQ(api.servers[1].weight, 2U);
    EXPECT_EQ(api.balance, Balance::RoundRobin);
    EXPECT_FALSE(api.tls.enabled);
    EXPECT_EQ(api.connect_timeout, seconds(1));
    EXPECT_EQ(api.first_byte_timeout, seconds(15));
    EXPECT_EQ(api.between_bytes_timeout, seconds(10));
    EXPECT_EQ(api.max_connections_per_server, 256U);
    ASSERT_TRUE(api.health);
    EXPECT_EQ(api.health->path, "/healthz");
    EXPECT_EQ(api.health->interval, seconds(2));
    EXPECT_EQ(api.health->timeout, seconds(1));
    EXPECT_EQ(api.health->unhealthy_after, 3U);
    EXPECT_EQ(api.health->healthy_after, 2U);

    ASSERT_EQ(config.variants.size(), 3U);
    EXPECT_EQ(config.variants[0].name, "locale");
    EXPECT_EQ(config.variants[0].sources, (std::vector<std::string>{"query:locale", "cookie:locale",
                                                                    "header:Accept-Language"}));
    EXPECT_EQ(config.variants[0].values,
              (std::vector<std::string>{"en-US", "en-GB", "de-DE", "fr-FR", "ja-JP"}));
    EXPECT_EQ(config.variants[0].default_value, "en-US");
    EXPECT_EQ(config.variants[0].forward_header, "X-Locale");
    EXPECT_EQ(config.variants[1].name, "currency");
    EXPECT_EQ(config.variants[1].default_value, "USD");
    EXPECT_EQ(config.variants[2].name, "region");
    EXPECT_EQ(config.variants[2].sources,
              (std::vector<std::string>{"header:X-Region", "cookie:region"}));
    EXPECT_EQ(config.variants[2].forward_header, "X-Region");

    ASSERT_EQ(config.routes.size(), 2U);
    const RouteConfig& listings = config.routes[0];
    EXPECT_EQ(listings.name, "listings");
    EXPECT_EQ(listings.match.host, "api.example.com");
    EXPECT_EQ(listings.match.path_prefix, "/v3/listings");
    EXPECT_EQ(listings.match.path_regex, "");
    EXPECT_EQ(listings.match.methods, (std::vector<std::string>{"GET", "HEAD"}));
    EXPECT_EQ(listings.origin, "api");
    EXPECT_FALSE(listings.pass);
    ASSERT_TRUE(listings.cache);
    const CachePolicyConfig& cache = *listings.cache;
    EXPECT_FALSE(cache.all_params);
    EXPECT_EQ(cache.key_params,
              (std::vector<std::string>{"limit", "offset", "sort_on", "category_id"}));
    EXPECT_EQ(cache.unknown_params, UnknownParams::Strip);
    EXPECT_EQ(cache.variants, (std::vector<std::string>{"locale", "currency", "region"}));
    EXPECT_TRUE(cache.forward_headers_set);
    EXPECT_EQ(cache.forward_headers, (std::vector<std::string>{"Accept", "User-Agent"}));
    EXPECT_EQ(cache.ttl, minutes(5));
    EXPECT_FALSE(cache.override_ttl);
    EXPECT_EQ(cache.stale, minutes(10));
    EXPECT_EQ(cache.stale_if_error, minutes(15));
    EXPECT_EQ(cache.hit_for_miss, seconds(60));
    EXPECT_EQ(cache.tags_header, "Surrogate-Key");

    const RouteConfig& users = config.routes[1];
    EXPECT_EQ(users.name, "users");
    EXPECT_EQ(users.match.path_prefix, "/v3/users");
    EXPECT_EQ(users.match.methods, (std::vector<std::string>{"GET", "HEAD"}));
    EXPECT_TRUE(users.pass);
    EXPECT_FALSE(users.cache);

    EXPECT_FALSE(config.default_route.present);
    EXPECT_FALSE(config.default_route.reject);
    EXPECT_EQ(config.default_route.origin, "api");
    EXPECT_TRUE(config.default_route.cache.all_params);
    EXPECT_EQ(config.default_route.cache.ttl, milliseconds(0)); // origin freshness only
}

TEST(LoadDefaults, MinimalConfigGetsTheDocumentedDefaults) {
    const Config config = load("");
    EXPECT_EQ(config.file, "t.yaml");
    EXPECT_EQ(config.workers, 0U);
    EXPECT_FALSE(config.admin.present);
    EXPECT_EQ(config.admin.address.text(), "127.0.0.1:9190");
    EXPECT_EQ(config.admin.token_file, "");
    EXPECT_EQ(config.limits.max_header_bytes, 32U * 1024);
    EXPECT_EQ(config.limits.client_idle_timeout, seconds(60));
    EXPECT_EQ(config.limits.client_body_timeout, seconds(10));
    EXPECT_EQ(config.limits.client_request_timeout, seconds(60));
    EXPECT_EQ(config.limits.client_body_buffer, 64U * 1024);
    EXPECT_EQ(config.limits.client_body_temp_dir, "/var/tmp");
    EXPECT_EQ(config.limits.drain_timeout, seconds(10));
    EXPECT_FALSE(config.storage.present);
    EXPECT_EQ(config.storage.memory, 1ULL << 30);
    EXPECT_EQ(config.log.access, AccessLogTarget::Stdout);
    EXPECT_EQ(config.log.format, AccessLogFormat::Combined);
    const OriginPoolConfig& api = config.origins.at(0);
    EXPECT_EQ(api.servers.at(0).weight, 1U);
    EXPECT_EQ(api.balance, Balance::RoundRobin);
    EXPECT_FALSE(api.tls.enabled);
    EXPECT_FALSE(api.health);
    EXPECT_TRUE(api.outlier_detection.enabled); // passive ejection is on by default
    EXPECT_EQ(api.outlier_detection.consecutive_failures, 5U);
    EXPECT_EQ(api.outlier_detection.base_ejection_time, seconds(10));
    EXPECT_EQ(api.outlier_detection.max_ejection_time, seconds(300));
    EXPECT_EQ(api.outlier_detection.max_ejected_percent, 50U);
    EXPECT_EQ(api.slow_start, seconds(0));
    EXPECT_EQ(api.resolve_every, seconds(30));
    EXPECT_EQ(api.max_connections_per_server, 256U);
    EXPECT_TRUE(config.variants.empty());
    EXPECT_TRUE(config.routes.empty());

    const DefaultRouteConfig& fallback = config.default_route;
    EXPECT_FALSE(fallback.present);
    EXPECT_FALSE(fallback.reject);
    EXPECT_FALSE(fallback.pass);
    EXPECT_EQ(fallback.origin, "api");
    EXPECT_TRUE(fallback.cache.all_params);
    EXPECT_FALSE(fallback.cache.forward_headers_set);
    EXPECT_TRUE(fallback.cache.variants.empty());
    // Issue 19 item 1: the default route follows the origin (RFC 5861 windows only).
    EXPECT_EQ(fallback.cache.stale, minutes(0));
    EXPECT_EQ(fallback.cache.stale_if_error, minutes(0));
    EXPECT_EQ(fallback.cache.unknown_params, UnknownParams::Strip);
    EXPECT_EQ(fallback.cache.targeted_cache_control, std::vector<std::string>{"CDN-Cache-Control"});
    EXPECT_FALSE(fallback.cache.remove_targeted_cache_control);
    EXPECT_FALSE(fallback.cache.refuse_5xx);
}

TEST(LoadMarks, AreOneBasedAndPointAtTheNodes) {
    const Config config = load(R"(workers: 4
routes:
  - name: r
    match: { path_prefix: /a }
    cache:
      ttl: 1m
variants:
  lang:
    sources: [query:lang]
    values: [en]
)");
    EXPECT_EQ(config.workers, 4U);
    expect_mark(config.workers_mark, "t.yaml", 7, 10);
    expect_mark(config.listen[0].mark, "t.yaml", 2, 5);
    expect_mark(config.origins[0].mark, "t.yaml", 4, 3);
    expect_mark(config.origins[0].servers[0].mark, "t.yaml", 6, 9);
    expect_mark(config.routes_mark, "t.yaml", 9, 3);
    expect_mark(config.routes[0].mark, "t.yaml", 9, 5);
    expect_mark(config.routes[0].match.mark, "t.yaml", 10, 12);
    expect_mark(config.routes[0].cache->mark, "t.yaml", 12, 7);
    expect_mark(config.variants[0].mark, "t.yaml", 14, 3);
    EXPECT_EQ(config.routes[0].match.mark.text(), "t.yaml:10:12");
}

TEST(LoadStorage, EveryEvictionPolicyByName) {
    EXPECT_EQ(load("storage:\n  eviction: s3fifo\n").storage.eviction, Eviction::S3Fifo);
    EXPECT_EQ(load("storage:\n  eviction: tinylfu\n").storage.eviction, Eviction::TinyLfu);
    EXPECT_EQ(load("storage:\n  eviction: clock\n").storage.eviction, Eviction::Clock);
    EXPECT_EQ(load("storage:\n  memory: 64MiB\n").storage.eviction, Eviction::TinyLfu);
}

TEST(LoadWorkers, AutoIsZeroAndNumbersAreKept) {
    EXPECT_EQ(load("workers: auto\n").workers, 0U);
    EXPECT_EQ(load("workers: 1\n").workers, 1U);
    EXPECT_EQ(load("workers: 256\n").workers, 256U);
}

TEST(LoadListen, Ipv6AndPortZero) {
    const Config config = load_config_string(R"(listen:
  - address: "[::1]:8080"
  - address: 127.0.0.1:0
  - address: 127.0.0.1:0
  - address: localhost:8081
origins: { api: { servers: [ { address: "[2001:db8::1]:443" } ] } }
)",
                                             "t.yaml");
    ASSERT_EQ(config.listen.size(), 4U);
    EXPECT_EQ(config.listen[0].address.host, "::1");
    EXPECT_EQ(config.listen[0].address.port, 8080);
    EXPECT_EQ(config.listen[0].address.text(), "[::1]:8080");
    EXPECT_EQ(config.listen[1].address.port, 0);
    EXPECT_EQ(config.listen[3].address.host, "localhost");
    EXPECT_EQ(config.origins[0].servers[0].address.text(), "[2001:db8::1]:443");
}

TEST(LoadLimits, DrainTimeoutTakesDurationsAndZero) {
    EXPECT_EQ(load("limits:\n  drain_timeout: 300ms\n").limits.drain_timeout, milliseconds(300));
    EXPECT_EQ(load("limits:\n  drain_timeout: 0s\n").limits.drain_timeout, milliseconds(0));
    EXPECT_EQ(load("limits:\n  drain_timeout: 2m\n").limits.drain_timeout, minutes(2));
}

TEST(LoadAdmin, AddressAndToken) {
    const Config config = load("admin:\n  address: 0.0.0.0:9999\n  token_file: /t\n");
    EXPECT_TRUE(config.admin.present);
    EXPECT_EQ(config.admin.address.text(), "0.0.0.0:9999");
    EXPECT_EQ(config.admin.token_file, "/t");
    const Config defaults = load("admin: {}\n");
    EXPECT_TRUE(defaults.admin.present);
    EXPECT_EQ(defaults.admin.address.text(), "127.0.0.1:9190");
}

TEST(LoadLimits, RequestBodyKeys) {
    const Config config = load(R"(limits:
  client_body_timeout: 300ms
  client_request_timeout: 2m
  client_body_buffer: 1KiB
  client_body_temp_dir: /srv/lacquer/bodies
)");
    EXPECT_EQ(config.limits.client_body_timeout, milliseconds(300));
    EXPECT_EQ(config.limits.client_request_timeout, minutes(2));
    EXPECT_EQ(config.limits.client_body_buffer, 1024U);
    EXPECT_EQ(config.limits.client_body_temp_dir, "/srv/lacquer/bodies");
    EXPECT_EQ(config.limits.client_header_timeout, seconds(10)); // the others keep defaults
}

TEST(LoadAdmin, LoopbackNeedsNoTokenAnythingElseDoes) {
    for (const char* address : {"127.0.0.1:9190", "127.0.0.2:0", "'[::1]:9190'",
                                "'[::ffff:127.0.0.1]:9190'", "localhost:9190"}) {
        EXPECT_EQ(load(std::string("admin:\n  address: ") + address + "\n").admin.token_file, "")
            << address;
    }
    for (const char* address : {"0.0.0.0:9190", "10.0.0.5:9190", "'[::]:9190'"}) {
        EXPECT_EQ(load(std::string("admin:\n  address: ") + address + "\n  token_file: /t\n")
                      .admin.token_file,
                  "/t")
            << address;
    }
}

TEST(LoadLog, AccessTargetsAndFormats) {
    EXPECT_EQ(load("log: { access: 'off' }\n").log.access, AccessLogTarget::Off);
    const Config file = load("log: { access: /var/log/lacquer/access.log, format: json }\n");
    EXPECT_EQ(file.log.access, AccessLogTarget::File);
    EXPECT_EQ(file.log.access_path, "/var/log/lacquer/access.log");
    EXPECT_EQ(file.log.format, AccessLogFormat::Json);
    EXPECT_TRUE(file.log.fields.empty()); // the format's default
    EXPECT_TRUE(file.log.request_id);
    EXPECT_EQ(file.log.traceparent, TraceparentMode::Pass);
    const Config custom = load("log:\n  format: custom\n  fields: [time_iso8601, url, status, "
                               "request_id, term]\n  request_id: false\n  traceparent: start\n");
    EXPECT_EQ(custom.log.format, AccessLogFormat::Custom);
    ASSERT_EQ(custom.log.fields.size(), 5u);
    EXPECT_EQ(custom.log.fields[1].field, LogField::Target); // an alias, keyed by its own name
    EXPECT_EQ(custom.log.fields[1].name, "url");
    EXPECT_EQ(custom.log.fields[4].field, LogField::Term);
    EXPECT_FALSE(custom.log.request_id);
    EXPECT_EQ(custom.log.traceparent, TraceparentMode::Start);
}

TEST(LoadOrigins, ServerHealthKeys) {
    const Config config = load_config_string(R"(listen: [ { address: 127.0.0.1:8080 } ]
origins:
  api:
    servers: [ { address: a.internal:80 } ]
    health: { path: /ping, interval: 500ms, timeout: 200ms, expect_status: 204 }
    outlier_detection:
      consecutive_failures: 3
      base_ejection_time: 2s
      max_ejection_time: 1m
      max_ejected_percent: 34
    slow_start: 30s
    resolve_every: 5m
  web:
    servers: [ { address: b.internal:80 } ]
    outlier_detection: false
    resolve_every: 0s
)",
                                             "t.yaml");
    const OriginPoolConfig& api = config.origins.at(0);
    ASSERT_TRUE(api.health);
    EXPECT_EQ(api.health->expect_status, 204);
    EXPECT_EQ(api.health->interval, milliseconds(500));
    EXPECT_EQ(api.outlier_detection.consecutive_failures, 3U);
    EXPECT_EQ(api.outlier_detection.base_ejection_time, seconds(2));
    EXPECT_EQ(api.outlier_detection.max_ejection_time, seconds(60));
    EXPECT_EQ(api.outlier_detection.max_ejected_percent, 34U);
    EXPECT_EQ(api.slow_start, seconds(30));
    EXPECT_EQ(api.resolve_every, seconds(300));
    EXPECT_EQ(config.origins.at(1).resolve_every, seconds(0));
    EXPECT_FALSE(config.origins.at(1).outlier_detection.enabled);
}

TEST(LoadOrigins, KeepFileOrderTlsFormsAndBalance) {
    const Config config = load_config_string(R"(listen: [ { address: 127.0.0.1:8080 } ]
origins:
  zeta:
    servers: [ { address: a.internal:443 } ]
    tls: true
    balance: consistent_hash
  alpha:
    servers: [ { address: b.internal:443 } ]
    tls: { verify: false, ca_file: /ca.pem, server_name: api.internal }
    balance: least_connections
    health: { path: /ping }
routes:
  - { name: r, pass: true }
)",
                                             "t.yaml");
    ASSERT_EQ(config.origins.size(), 2U);
    EXPECT_EQ(config.origins[0].name, "zeta");
    EXPECT_TRUE(config.origins[0].tls.enabled);
    EXPECT_TRUE(config.origins[0].tls.verify);
    EXPECT_EQ(config.origins[0].balance, Balance::ConsistentHash);
    expect_mark(config.origins[0].tls_mark, "t.yaml", 5, 10);
    expect_mark(config.origins[0].balance_mark, "t.yaml", 6, 14);
    EXPECT_EQ(config.origins[1].name, "alpha");
    EXPECT_TRUE(config.origins[1].tls.enabled);
    EXPECT_FALSE(config.origins[1].tls.verify);
    EXPECT_EQ(config.origins[1].tls.ca_file, "/ca.pem");
    EXPECT_EQ(config.origins[1].tls.server_name, "api.internal");
    EXPECT_EQ(config.origins[1].balance, Balance::LeastConnections);
    ASSERT_TRUE(config.origins[1].health);
    EXPECT_EQ(config.origins[1].health->path, "/ping");
    EXPECT_EQ(config.origins[1].health->interval, seconds(2));
    // The first origin in the file is the default, not the first in name order.
    EXPECT_EQ(config.routes[0].origin, "zeta");
    EXPECT_EQ(config.default_route.origin, "zeta");
}

TEST(LoadOrigins, RetriesAndAdmissionHaveDefaultsAndMayBeSet) {
    const Config config = load_config_string(R"(listen: [ { address: 127.0.0.1:8080 } ]
origins:
  plain:
    servers: [ { address: a.internal:80 } ]
  guarded:
    servers: [ { address: b.internal:80 } ]
    retries: 3
    retry_budget: 5%
    retry_on_503: true
    retry_non_idempotent: true
    max_in_flight: 64
    max_queue: 0
    queue_timeout: 250ms
)",
                                             "t.yaml");
    ASSERT_EQ(config.origins.size(), 2U);
    const OriginPoolConfig& plain = config.origins[0];
    EXPECT_EQ(plain.retry.retries, 1U);
    EXPECT_EQ(plain.retry.budget_percent, 20U);
    EXPECT_FALSE(plain.retry.on_503);
    EXPECT_FALSE(plain.retry.non_idempotent);
    EXPECT_EQ(plain.admission.max_in_flight, 0U);
    EXPECT_EQ(plain.admission.max_queue, 128U);
    EXPECT_EQ(plain.admission.queue_timeout, seconds(1));
    const OriginPoolConfig& guarded = config.origins[1];
    EXPECT_EQ(guarded.retry.retries, 3U);
    EXPECT_EQ(guarded.retry.budget_percent, 5U);
    EXPECT_TRUE(guarded.retry.on_503);
    EXPECT_TRUE(guarded.retry.non_idempotent);
    EXPECT_EQ(guarded.admission.max_in_flight, 64U);
    EXPECT_EQ(guarded.admission.max_queue, 0U);
    EXPECT_EQ(guarded.admission.queue_timeout, milliseconds(250));
}

TEST(LoadVariants, DefaultsForDefaultValueAndForwardHeader) {
    const Config config = load("variants:\n  locale:\n    sources: [cookie:lang]\n"
                               "    values: [en-US, de-DE]\n");
    ASSERT_EQ(config.variants.size(), 1U);
    EXPECT_EQ(config.variants[0].default_value, "en-US");
    EXPECT_EQ(config.variants[0].forward_header, "X-Lacquer-Locale");
}

TEST(LoadRoutes, DefaultsAndForms) {
    const Config config = load(R"(routes:
  - match: { host: "*.Example.COM", path_regex: '^/v3/listings/[0-9]+$', methods: [GET] }
    cache: { key_params: all, unknown_params: reject, forward_headers: [], ttl: 0s }
  - name: second
    pass: false
    cache: { key_params: [], override_ttl: true, hit_for_miss: 0s, unknown_params: pass }
  - name: third
    match: { methods: [PURGE, M-SEARCH] }
    pass: true
)");
    ASSERT_EQ(config.routes.size(), 3U);
    const RouteConfig& first = config.routes[0];
    EXPECT_EQ(first.name, "routes[0]");
    EXPECT_EQ(first.origin, "api");
    EXPECT_EQ(first.match.host, "*.example.com");
    EXPECT_EQ(first.match.path_regex, "^/v3/listings/[0-9]+$");
    EXPECT_EQ(first.match.methods, (std::vector<std::string>{"GET"}));
    ASSERT_TRUE(first.cache);
    EXPECT_TRUE(first.cache->all_params);
    EXPECT_EQ(first.cache->unknown_params, UnknownParams::Reject);
    EXPECT_TRUE(first.cache->forward_headers_set);
    EXPECT_TRUE(first.cache->forward_headers.empty());
    EXPECT_EQ(first.cache->ttl, milliseconds(0));

    const RouteConfig& second = config.routes[1];
    EXPECT_EQ(second.match.methods, (std::vector<std::string>{"GET", "HEAD"}));
    ASSERT_TRUE(second.cache);
    EXPECT_FALSE(second.cache->all_params);
    EXPECT_TRUE(second.cache->key_params.empty());
    EXPECT_FALSE(second.cache->forward_headers_set);
    EXPECT_TRUE(second.cache->override_ttl);
    EXPECT_EQ(second.cache->unknown_params, UnknownParams::Pass);
    EXPECT_EQ(second.cache->stale, minutes(10));

    EXPECT_TRUE(config.routes[2].pass);
    EXPECT_EQ(config.routes[2].match.methods, (std::vector<std::string>{"PURGE", "M-SEARCH"}));
}

TEST(LoadDefaultRoute, Reject) {
    const Config config = load("default_route: reject\n");
    EXPECT_TRUE(config.default_route.present);
    EXPECT_TRUE(config.default_route.reject);
    expect_mark(config.default_route.mark, "t.yaml", 7, 16);
}

TEST(LoadDefaultRoute, MapKeepsAllParamsUnlessKeyParamsSaySo) {
    const Config kept = load("default_route:\n  cache: { ttl: 1m }\n");
    EXPECT_TRUE(kept.default_route.present);
    EXPECT_FALSE(kept.default_route.reject);
    EXPECT_TRUE(kept.default_route.cache.all_params);
    EXPECT_EQ(kept.default_route.cache.ttl, minutes(1));

    const Config listed = load("default_route:\n  cache: { key_params: [q] }\n");
    EXPECT_FALSE(listed.default_route.cache.all_params);
    EXPECT_EQ(listed.default_route.cache.key_params, (std::vector<std::string>{"q"}));

    const Config passed = load("default_route: { pass: true }\n");
    EXPECT_TRUE(passed.default_route.pass);
}

TEST(LoadRoutes, UnderscoresInHeadersAndMergeSlashes) {
    // Issue 15 items 2 and 7: both safe by default, both can be turned off.
    const Config defaults = load("routes:\n  - pass: true\n");
    EXPECT_TRUE(defaults.merge_slashes);
    EXPECT_FALSE(defaults.routes[0].underscores_in_headers);
    EXPECT_FALSE(defaults.default_route.underscores_in_headers);
    const Config c = load("merge_slashes: false\nroutes:\n  - pass: true\n"
                          "    underscores_in_headers: true\n"
                          "default_route: { underscores_in_headers: true }\n");
    EXPECT_FALSE(c.merge_slashes);
    EXPECT_TRUE(c.routes[0].underscores_in_headers);
    EXPECT_TRUE(c.default_route.underscores_in_headers);
    EXPECT_THROW(load("merge_slashes: maybe\n"), ConfigError);
}

TEST(LoadRoutes, RetryNonIdempotentPerRoute) {
    // Issue 17 item 3: a route may let its requests with a body be retried; off by default.
    const Config defaults = load("routes:\n  - pass: true\n");
    EXPECT_FALSE(defaults.routes[0].retry_non_idempotent);
    EXPECT_FALSE(defaults.default_route.retry_non_idempotent);
    const Config c = load("routes:\n  - pass: true\n    retry_non_idempotent: true\n"
                          "default_route: { pass: true, retry_non_idempotent: true }\n");
    EXPECT_TRUE(c.routes[0].retry_non_idempotent);
    EXPECT_TRUE(c.default_route.retry_non_idempotent);
    try {
        (void)load("routes:\n  - pass: true\n    retry_non_idempotent: often\n");
        ADD_FAILURE() << "a non-boolean was accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("t.yaml:9:27: routes[0].retry_non_idempotent", 0), 0u)
            << e.what();
    }
}

TEST(LoadFile, ReadsFromDisk) {
    const std::string path = testing::TempDir() + "/lacquer_config_load_test.yaml";
    {
        std::ofstream out(path);
        out << kMinimal << "workers: 3\n";
    }
    const Config config = load_config_file(path);
    EXPECT_EQ(config.workers, 3U);
    EXPECT_EQ(config.file, path);
    std::remove(path.c_str());
}

TEST(LoadFile, MissingFileIsAConfigErrorAtOneOne) {
    const std::string path = testing::TempDir() + "/lacquer_no_such_file.yaml";
    try {
        static_cast<void>(load_config_file(path));
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(std::string(error.what()),
                  path + ":1:1: cannot read file: No such file or directory");
        EXPECT_EQ(error.mark().line, 1);
        EXPECT_EQ(error.mark().column, 1);
        EXPECT_EQ(error.message(), "cannot read file: No such file or directory");
    }
}

TEST(LoadFile, DirectoryIsAConfigError) {
    try {
        static_cast<void>(load_config_file(testing::TempDir()));
        FAIL() << "expected a ConfigError";
    } catch (const ConfigError& error) {
        EXPECT_EQ(error.message(), "cannot read file: Is a directory");
    }
}

// Issue 19 items 3 and 4: RFC 9213 targeted fields and refuse_5xx, on a route and on the
// default route.
TEST(LoadRoutes, TargetedCacheControlAndRefuse5xx) {
    const Config config = load(R"(routes:
  - cache:
      targeted_cache_control: [Lacquer-Cache-Control, CDN-Cache-Control]
      remove_targeted_cache_control: true
      refuse_5xx: true
default_route:
  cache: { targeted_cache_control: [] }
)");
    ASSERT_TRUE(config.routes[0].cache);
    const CachePolicyConfig& cache = *config.routes[0].cache;
    EXPECT_EQ(cache.targeted_cache_control,
              (std::vector<std::string>{"Lacquer-Cache-Control", "CDN-Cache-Control"}));
    EXPECT_TRUE(cache.remove_targeted_cache_control);
    EXPECT_TRUE(cache.refuse_5xx);
    EXPECT_TRUE(config.default_route.cache.targeted_cache_control.empty());
    EXPECT_EQ(config.default_route.cache.stale, minutes(0)); // still the default route's own
}

} // namespace
} // namespace lacquer::config
