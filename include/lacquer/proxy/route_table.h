#pragma once
// The ordered routes of a config, compiled once when the config loads (regexes built, origin
// names turned into pool indexes), and the pure decision "which route serves this request".

#include "lacquer/cache/cache_key.h"
#include "lacquer/cache/freshness.h"
#include "lacquer/cache/variant_set.h"
#include "lacquer/config/config.h"
#include "lacquer/core/clock.h"
#include "lacquer/http/request_target.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/url_pattern.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::proxy {

// What a caching route does with a request, compiled from its `cache` policy.
struct RouteCache {
    cache::KeyPolicy key; // points into the RouteTable's VariantSet
    cache::FreshnessPolicy freshness;
    bool forward_all_headers = true;          // else only Host and forward_headers
    std::vector<std::string> forward_headers; // when !forward_all_headers
    // A shared fetch on a named route without forward_headers sends only the representation
    // headers (Accept, Accept-Encoding, ...); the default route sends all but the client-routing
    // ones (http::ForwardedRequest::representation_only).
    bool representation_only = false;
    bool allow_underscores = false; // the route's underscores_in_headers
    // The header sources of the route's variants: the origin never gets the client's value of
    // them, only the normalised one (in the variant's forward_header, and in the source header
    // itself when forward_headers names it: `rewritten`).
    std::vector<std::string> withheld_headers;
    struct Rewrite {
        std::string header;        // a source header that forward_headers names
        std::size_t variant_index; // into key.variants
    };
    std::vector<Rewrite> rewritten;
    core::Millis hit_for_miss{0};
    core::Millis wait_timeout{0}; // zero: derived from the origin's timeouts
    std::string tags_header;
    // RFC 9213 targeted fields taken out of the responses (remove_targeted_cache_control);
    // empty: they go on to the client as the origin sent them.
    std::vector<std::string> removed_fields;

    // True when a client header of this name reaches the origin on a cache fetch: not a
    // variant's forward header (the proxy sets those), not a conditional or range header, and
    // allowed by forward_headers.
    bool origin_receives(std::string_view name) const;
    // The header rules of this route's shared fetches (without the per-request parts).
    http::ForwardedRequest shared_fetch_rules() const;
};

struct Route {
    std::string name;
    std::size_t index = 0; // config order; the default route comes after the routes (metrics)
    std::size_t pool = 0;  // index into the config's origins
    bool pass = true;
    bool reject = false;               // default_route: reject -> 404
    bool allow_underscores = false;    // underscores_in_headers
    bool retry_any_method = false;     // retry_non_idempotent (a pass's body is held whole)
    std::unique_ptr<RouteCache> cache; // set when the route caches (GET and HEAD)
    // Match
    std::string host;                     // empty: any; "*.x.com" matches subdomains of x.com
    std::string path_prefix;              // empty: any
    std::optional<UrlPattern> path_regex; // RE2: linear in the path, whatever the pattern
    std::vector<std::string> methods;     // empty: any
};

class RouteTable {
public:
    // Throws config::ConfigError (at the FILE:LINE:COL of the value) for what only compiling
    // reveals: a path_regex that is not RE2 syntax, a key policy that cannot be built.
    explicit RouteTable(const config::Config& config);
    RouteTable(const RouteTable&) = delete;
    RouteTable& operator=(const RouteTable&) = delete;

    // First matching route, else the default route. `host` without port, lower case or not.
    const Route& match(std::string_view host, std::string_view path, std::string_view method) const;
    const std::vector<Route>& routes() const { return routes_; }
    const Route& default_route() const { return default_; }
    // How request paths are normalised before match() (merge_slashes).
    const http::PathRules& path_rules() const { return path_rules_; }

private:
    http::PathRules path_rules_;
    cache::VariantSet variants_; // before the routes: their key policies point into it
    std::vector<Route> routes_;
    Route default_;
};

// "Host: a.example.com:8080" -> "a.example.com"; "[::1]:80" -> "[::1]".
std::string_view host_without_port(std::string_view host);

} // namespace lacquer::proxy
