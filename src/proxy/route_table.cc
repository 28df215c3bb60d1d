#include "lacquer/proxy/route_table.h"

#include "lacquer/config/load.h"
#include "lacquer/http/head.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/request_trace.h"

#include <algorithm>

namespace lacquer::proxy {

namespace {

std::size_t pool_index(const config::Config& config, const std::string& name) {
    if (name.empty()) {
        return 0;
    }
    for (std::size_t i = 0; i < config.origins.size(); ++i) {
        if (config.origins[i].name == name) {
            return i;
        }
    }
    return 0; // the loader has already refused unknown origin names
}

bool host_matches(std::string_view pattern, std::string_view host) {
    if (pattern.empty()) {
        return true;
    }
    if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
        const std::string_view suffix = pattern.substr(1); // ".example.com"
        return host.size() > suffix.size() &&
               http::iequals(host.substr(host.size() - suffix.size()), suffix);
    }
    return http::iequals(pattern, host);
}

std::unique_ptr<RouteCache> compile_cache(const config::CachePolicyConfig& policy,
                                          const cache::VariantSet& variants, bool default_route,
                                          bool allow_underscores) {
    auto rc = std::make_unique<RouteCache>();
    try {
        rc->key = cache::compile_key_policy(policy, variants);
    } catch (const std::invalid_argument& e) {
        throw config::ConfigError(policy.mark, e.what());
    }
    rc->freshness.ttl = policy.ttl;
    rc->freshness.override_ttl = policy.override_ttl;
    // The default route follows RFC 9111 as a shared cache does, heuristics included.
    rc->freshness.heuristic = default_route;
    rc->freshness.stale = policy.stale;
    rc->freshness.stale_if_error = policy.stale_if_error;
    // A window of 0 on the default route is the origin's to open (RFC 5861), up to the bound.
    if (default_route && policy.stale.count() == 0) {
        rc->freshness.origin_stale_bound = cache::kOriginStaleBound;
    }
    if (default_route && policy.stale_if_error.count() == 0) {
        rc->freshness.origin_stale_if_error_bound = cache::kOriginStaleBound;
    }
    rc->freshness.refuse_5xx = policy.refuse_5xx;
    rc->freshness.targeted_fields = policy.targeted_cache_control;
    if (policy.remove_targeted_cache_control) {
        rc->removed_fields = policy.targeted_cache_control;
    }
    // An origin's echo of the fetch's X-Request-Id is the leader's: never stored, never
    // replayed to the clients that share the answer (request_trace.h).
    rc->removed_fields.emplace_back(kRequestIdHeader);
    rc->forward_all_headers = !policy.forward_headers_set;
    rc->forward_headers = policy.forward_headers;
    rc->representation_only = !default_route && !policy.forward_headers_set;
    rc->allow_underscores = allow_underscores;
    for (std::size_t i = 0; i < rc->key.variants.size(); ++i) {
        for (const cache::Variant::Source& source : rc->key.variants[i]->sources) {
            if (source.kind != cache::Variant::Source::Kind::Header) {
                continue;
            }
            const bool named = std::any_of(
                policy.forward_headers.begin(), policy.forward_headers.end(),
                [&source](const std::string& h) { return http::iequals(h, source.name); });
            if (named) {
                if (rc->rewritten.size() == cache::kMaxKeyVariants) {
                    throw config::ConfigError(policy.mark,
                                              "forward_headers names more than " +
                                                  std::to_string(cache::kMaxKeyVariants) +
                                                  " header sources of the route's variants");
                }
                rc->rewritten.push_back({source.name, i});
            } else {
                rc->withheld_headers.push_back(source.name);
            }
        }
    }
    rc->hit_for_miss = policy.hit_for_miss;
    rc->wait_timeout = std::chrono::duration_cast<core::Millis>(policy.wait_timeout);
    rc->tags_header = policy.tags_header;
    return rc;
}

} // namespace

bool RouteCache::origin_receives(std::string_view name) const {
    for (const cache::Variant* variant : key.variants) {
        if (http::iequals(variant->forward_header, name)) {
            return false;
        }
    }
    for (const Rewrite& rewrite : rewritten) {
        if (http::iequals(rewrite.header, name)) {
            return false; // set by the proxy, from the key
        }
    }
    return http::forwards_header(shared_fetch_rules(), name);
}

http::ForwardedRequest RouteCache::shared_fetch_rules() const {
    http::ForwardedRequest rules;
    rules.allowed_headers = forward_all_headers ? nullptr : &forward_headers;
    rules.withheld_headers = &withheld_headers;
    rules.representation_only = representation_only;
    rules.allow_underscores = allow_underscores;
    rules.shared_fetch = true;
    return rules;
}

std::string_view host_without_port(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    const auto colon = host.rfind(':');
    return colon == std::string_view::npos ? host : host.substr(0, colon);
}

RouteTable::RouteTable(const config::Config& config) : variants_(config.variants) {
    path_rules_.merge_slashes = config.merge_slashes;
    for (const config::RouteConfig& rc : config.routes) {
        Route r;
        r.name = rc.name;
        r.index = routes_.size();
        r.pool = pool_index(config, rc.origin);
        r.pass = rc.pass;
        r.allow_underscores = rc.underscores_in_headers;
        r.retry_any_method = rc.retry_non_idempotent;
        r.host = rc.match.host;
        r.path_prefix = rc.match.path_prefix;
        r.methods = rc.match.methods;
        if (!rc.match.path_regex.empty()) {
            std::string error;
            r.path_regex = UrlPattern::compile(rc.match.path_regex, error);
            if (!r.path_regex) {
                throw config::ConfigError(
                    rc.match.path_regex_mark,
                    "routes[" + std::to_string(r.index) +
                        "].match.path_regex: the regex does not compile: " + error);
            }
        }
        if (rc.cache && !rc.pass) {
            r.cache = compile_cache(*rc.cache, variants_, false, rc.underscores_in_headers);
        }
        routes_.push_back(std::move(r));
    }
    default_.name = "default";
    default_.index = routes_.size();
    default_.pool = pool_index(config, config.default_route.origin);
    default_.reject = config.default_route.present && config.default_route.reject;
    default_.pass = config.default_route.pass;
    default_.allow_underscores = config.default_route.underscores_in_headers;
    default_.retry_any_method = config.default_route.retry_non_idempotent;
    if (!default_.pass && !default_.reject) {
        default_.cache = compile_cache(config.default_route.cache, variants_, true,
                                       config.default_route.underscores_in_headers);
    }
}

const Route& RouteTable::match(std::string_view host, std::string_view path,
                               std::string_view method) const {
    for (const Route& r : routes_) {
        if (!host_matches(r.host, host)) {
            continue;
        }
        if (!r.path_prefix.empty() && path.substr(0, r.path_prefix.size()) != r.path_prefix) {
            continue;
        }
        if (r.path_regex && !r.path_regex->matches(path)) {
            continue;
        }
        if (!r.methods.empty()) {
            bool found = false;
            for (const std::string& m : r.methods) {
                found = found || m == method;
            }
            if (!found) {
                continue;
            }
        }
        return r;
    }
    return default_;
}

} // namespace lacquer::proxy
