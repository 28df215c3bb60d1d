#pragma once
// The configuration as plain data (CONFIG.md is the user-facing contract). Built and fully
// validated by load_config_file(); immutable afterwards. No yaml-cpp type appears here.
// Every list item keeps the SourceMark of its YAML node so that later stages (route
// compilation, feature checks) can report errors as FILE:LINE:COL too.

#include "lacquer/config/address_range.h"
#include "lacquer/config/log_fields.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::config {

using Duration = std::chrono::milliseconds;

// Where a YAML node stands in its file; line and column are 1-based.
struct SourceMark {
    std::string file;
    int line = 0;
    int column = 0;
    std::string text() const; // "FILE:LINE:COL"
};

struct HostPort {
    std::string host; // IPv4 literal, IPv6 literal (without brackets) or a name
    std::uint16_t port = 0;
    std::string text() const; // "host:port", "[v6]:port"
};

// "host:port" (a host name or IPv4 literal) or "[v6]:port"; the port must lie in
// [min_port, 65535]. nullopt with the problem in words otherwise. text() of the answer parses
// back to the same value.
std::optional<HostPort> parse_host_port(std::string_view text, std::uint16_t min_port,
                                        std::string& problem);

// A certificate chain and its key (PEM files), and the SNI names it answers (exact or
// "*.suffix"; none for a listener's default certificate).
struct TlsCertificateConfig {
    std::string certificate;
    std::string private_key;
    std::vector<std::string> names;
    SourceMark mark;      // where it was written (errors in the files are reported here)
    std::string ocsp;     // `ocsp:` a DER OCSP response to staple ("" = none)
    SourceMark ocsp_mark; // where `ocsp` was written
};

struct ListenerTls {
    std::vector<TlsCertificateConfig> certificates; // [0]: the default; then the `sni` entries
    std::string ciphers;                            // TLS 1.2 cipher list; "": OpenSSL's default
    std::string ciphersuites;                       // TLS 1.3 suites; "": OpenSSL's default
    SourceMark mark;
};

struct ListenerConfig {
    HostPort address;                       // a TCP listener
    std::string unix_path;                  // set instead for `address: unix:PATH`
    std::optional<std::uint32_t> unix_mode; // the socket file's mode (`mode: "0660"`)
    std::string unix_owner;                 // "user" or "user:group"; "": the process's
    std::optional<ListenerTls> tls;
    // PROXY protocol v1/v2: peers in proxy_from must send the header (it gives the client's
    // address); other peers are direct clients, and a PROXY header from them is refused.
    bool proxy_protocol = false;
    std::vector<AddressRange> proxy_from;
    // `balance: exact` (default): a worker holding two connections more than another passes a
    // new one to it (net/connection_balancer.h); `kernel`: each stays where SO_REUSEPORT put it.
    bool balance_exact = true;
    SourceMark mark;
    // "unix:/run/lacquer/http.sock" or "host:port": as the config wrote it.
    std::string address_text() const {
        return unix_path.empty() ? address.text() : "unix:" + unix_path;
    }
};

struct AdminConfig {
    bool present = false; // the `admin` section was written
    HostPort address{"127.0.0.1", 9190};
    std::string token_file; // empty: no token
    // Clients in these ranges may send PURGE to the client listeners; empty: PURGE is not
    // special there (it goes to the origin like any other method).
    std::vector<AddressRange> purge_from;
    SourceMark mark;
};

struct Limits {
    std::uint64_t max_header_bytes = 32 * 1024;
    std::uint64_t max_uri_bytes = 8 * 1024;
    std::uint64_t max_body_bytes = 16 * 1024 * 1024;
    std::uint32_t max_connections = 20000;
    Duration client_header_timeout = std::chrono::seconds(10);
    // Request bodies are read whole before the origin is asked (a slow client must never hold
    // an origin connection): at most this long between two reads of a body -> 408 and close,
    Duration client_body_timeout = std::chrono::seconds(10);
    // and at most this long for a whole request, from its first byte to the end of its body.
    Duration client_request_timeout = std::chrono::seconds(60);
    // A body up to this size is held in memory; a larger one goes on in an unlinked temporary
    // file in client_body_temp_dir (an absolute path).
    std::uint64_t client_body_buffer = 64 * 1024;
    std::string client_body_temp_dir = "/var/tmp";
    Duration client_idle_timeout = std::chrono::seconds(60);
    // SIGTERM: requests in flight get this long to finish, then are cut (and logged).
    Duration drain_timeout = std::chrono::seconds(10);
};

// How the store picks what to drop at its budget (cache/object_store.h).
enum class Eviction : std::uint8_t { S3Fifo, Clock, TinyLfu };

struct StorageConfig {
    bool present = false;
    std::uint64_t memory = 1ULL << 30;
    std::uint64_t max_object_size = 8 * 1024 * 1024;
    Eviction eviction = Eviction::TinyLfu; // measured best (perf/store_sim.sh, issue 22)
    SourceMark eviction_mark;              // line 0: not written
    // Warm restart (server/snapshot_files.h): the store is written to this absolute path when
    // lacquerd stops and read back when it starts; empty: no snapshot.
    std::string snapshot;
    SourceMark snapshot_mark; // line 0: not written
    // Also write it this often while running (bounds what a crash loses); 0: only at stop.
    Duration snapshot_every = Duration(0);
    SourceMark mark;
};

enum class AccessLogTarget : std::uint8_t { Stdout, Off, File };
enum class AccessLogFormat : std::uint8_t { Combined, Json, Custom };
enum class TraceparentMode : std::uint8_t { Pass, Start };

// One entry of log.fields: the field and the name it was written with (a JSON line's key).
struct LogFieldSpec {
    LogField field{};
    std::string name;
    bool operator==(const LogFieldSpec&) const = default;
};

struct LogConfig {
    AccessLogTarget access = AccessLogTarget::Stdout;
    std::string access_path; // when access == File
    AccessLogFormat format = AccessLogFormat::Combined;
    // combined: `name=value` after the NCSA line; json: the keys; custom: the values, in
    // order. Empty: the format's default (proxy/access_log.h).
    std::vector<LogFieldSpec> fields;
    // X-Request-Id: the client's when it is valid, else a new one; sent to the origin, logged.
    bool request_id = true;
    TraceparentMode traceparent = TraceparentMode::Pass; // Start: a new trace when absent
    bool operator==(const LogConfig&) const = default;
};

struct OriginServerConfig {
    HostPort address;
    std::uint32_t weight = 1; // 1..1000
    SourceMark mark;
};

enum class Balance : std::uint8_t { RoundRobin, LeastConnections, ConsistentHash };

struct OriginTls {
    bool enabled = false;
    bool verify = true;
    std::string ca_file;
    std::string server_name;
    std::string certificate; // mTLS: the client chain (PEM); "" = none
    std::string private_key;
};

struct HealthProbeConfig {
    std::string path = "/healthz";
    Duration interval = std::chrono::seconds(2);
    Duration timeout = std::chrono::seconds(1);
    std::uint32_t unhealthy_after = 3;
    std::uint32_t healthy_after = 2;
    int expect_status = 200; // the status a good probe answers
    SourceMark mark;
};

// Passive health (outlier detection): a server whose exchanges fail `consecutive_failures` times
// in a row (connect error, reset, timeout, 5xx) is ejected for `base_ejection_time`, doubled each
// time it is ejected again without a success in between, up to `max_ejection_time`; at most
// `max_ejected_percent` of a pool's servers are ejected at once.
struct OutlierDetectionConfig {
    bool enabled = true;
    std::uint32_t consecutive_failures = 5;
    Duration base_ejection_time = std::chrono::seconds(10);
    Duration max_ejection_time = std::chrono::seconds(300);
    std::uint32_t max_ejected_percent = 50;
};

// Retries of a failed origin exchange (origin/retry_policy.h says which failures).
struct OriginRetryConfig {
    std::uint32_t retries = 1;         // 0..10 per request, on another server when there is one
    std::uint32_t budget_percent = 20; // retries at most this share of requests (10 s window)
    bool on_503 = false;               // retry a 503 whose Retry-After is absent or 0
    bool non_idempotent = false;       // POST, PATCH, ... too (nginx's non_idempotent)
};

// Admission to the pool, process-wide (origin/admission.h).
struct OriginAdmissionConfig {
    std::uint32_t max_in_flight = 0; // 0: no limit
    std::uint32_t max_queue = 128;   // exchanges waiting for a slot; more get 503 at once
    Duration queue_timeout = std::chrono::seconds(1); // then 503 with Retry-After
};

struct OriginPoolConfig {
    std::string name;
    std::vector<OriginServerConfig> servers; // at least one
    Balance balance = Balance::RoundRobin;
    SourceMark balance_mark;
    OriginTls tls;
    SourceMark tls_mark;
    Duration connect_timeout = std::chrono::seconds(1);
    Duration first_byte_timeout = std::chrono::seconds(15);
    Duration between_bytes_timeout = std::chrono::seconds(10);
    std::uint32_t max_connections_per_server = 256;
    std::optional<HealthProbeConfig> health;
    OutlierDetectionConfig outlier_detection;
    Duration slow_start{0}; // a recovered server's weight ramps from 10% to 100% over this
    // Server names (not literals) are re-resolved this often; 0: resolved at start and reload only.
    Duration resolve_every = std::chrono::seconds(30);
    OriginRetryConfig retry;
    OriginAdmissionConfig admission;
    SourceMark mark;
};

struct VariantConfig {
    std::string name;
    std::vector<std::string> sources; // "query:locale", "cookie:cur", "header:Accept-Language"
    std::vector<std::string> values;  // the closed set, non-empty, no duplicates
    std::string default_value;        // one of values
    std::string forward_header;       // default: "X-Lacquer-<Name>"
    SourceMark mark;
};

enum class UnknownParams : std::uint8_t { Strip, Pass, Reject };

struct CachePolicyConfig {
    bool all_params = false;             // key_params: all
    std::vector<std::string> key_params; // when !all_params
    UnknownParams unknown_params = UnknownParams::Strip;
    std::vector<std::string> variants;        // names from Config::variants
    std::vector<std::string> forward_headers; // empty + !forward_headers_set: all but hop-by-hop
    bool forward_headers_set = false;
    Duration ttl = std::chrono::minutes(5);
    bool override_ttl = false;
    Duration stale = std::chrono::minutes(10);
    Duration stale_if_error = std::chrono::minutes(15);
    Duration hit_for_miss = std::chrono::seconds(60);
    // How long a miss waits for another request's fetch of the key (until its head arrives)
    // before fetching alone; zero: the origin's connect + first_byte timeouts + 1 s.
    Duration wait_timeout{0};
    std::string tags_header;
    // RFC 9111 §3: a 5xx with explicit freshness may be stored; true refuses every 5xx.
    bool refuse_5xx = false;
    // RFC 9213 targeted cache-control fields, in order of precedence: the first one present
    // and valid outranks Cache-Control and Expires for this cache.
    std::vector<std::string> targeted_cache_control{"CDN-Cache-Control"};
    bool remove_targeted_cache_control = false; // drop those fields from the response
    SourceMark mark;
};

struct RouteMatch {
    std::string host;        // empty: any; "*.example.com": suffix match
    std::string path_prefix; // at most one of path_prefix / path_regex
    std::string path_regex;  // RE2 syntax, compiled (and refused) with the routes
    SourceMark path_regex_mark;
    std::vector<std::string> methods{"GET", "HEAD"};
    SourceMark mark;
};

struct RouteConfig {
    std::string name;
    RouteMatch match;
    std::string origin; // a name from Config::origins; default: the first origin
    bool pass = false;
    // Request header names with '_' are forwarded (nginx's underscores_in_headers); by default
    // they are dropped, since CGI-style stacks read X_Forwarded_Host as X-Forwarded-Host.
    bool underscores_in_headers = false;
    // The route's requests with a body (held whole before it goes out) may be retried like
    // idempotent ones, whatever their method (the pool's retry_non_idempotent, for one route).
    bool retry_non_idempotent = false;
    std::optional<CachePolicyConfig> cache; // set when the route caches
    SourceMark mark;
};

struct DefaultRouteConfig {
    bool present = false;
    bool reject = false; // default_route: reject -> 404
    std::string origin;  // default: the first origin
    bool pass = false;
    bool underscores_in_headers = false; // as RouteConfig's
    bool retry_non_idempotent = false;   // likewise
    CachePolicyConfig cache;             // all_params = true by default here
    SourceMark mark;
};

struct Config {
    std::string file;     // the path it was loaded from (or the name given for a string)
    unsigned workers = 0; // 0 = auto (number of CPUs)
    SourceMark workers_mark;
    std::vector<ListenerConfig> listen; // at least one
    // Runs of '/' in a request path count as one for routing, keys and the origin (nginx's
    // merge_slashes); dot-segments are always removed.
    bool merge_slashes = true;
    AdminConfig admin;
    Limits limits;
    StorageConfig storage;
    LogConfig log;
    std::vector<OriginPoolConfig> origins; // file order; at least one
    std::vector<VariantConfig> variants;   // file order
    std::vector<RouteConfig> routes;       // file order; first match wins
    SourceMark routes_mark;
    DefaultRouteConfig default_route;

    const OriginPoolConfig* find_origin(std::string_view name) const;
};

} // namespace lacquer::config
