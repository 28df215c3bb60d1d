// The `routes` list and `default_route`: how a request is matched and what happens to it.
// Origin and variant names are resolved here, against the sections already read.
#include "field_syntax.h"
#include "lacquer/config/load.h"
#include "sections.h"

#include <algorithm>
#include <unordered_map>

namespace lacquer::config::detail {

namespace {

std::string defined_origins(const Config& config) {
    std::vector<std::string> names;
    for (const OriginPoolConfig& pool : config.origins) {
        names.push_back(pool.name);
    }
    return listed(names);
}

std::string defined_variants(const Config& config) {
    std::vector<std::string> names;
    for (const VariantConfig& variant : config.variants) {
        names.push_back(variant.name);
    }
    return names.empty() ? "none are defined" : listed(names);
}

std::string check_header_name(std::string_view text) {
    return is_token(text) ? "" : "expected an HTTP field name";
}

std::string check_param_name(std::string_view text) {
    if (text.empty() || text.find_first_of(" &=#") != std::string_view::npos) {
        return "expected a query parameter name without spaces, '&', '=' or '#'";
    }
    return "";
}

std::string read_origin_name(const YamlValue& value, const Config& config) {
    std::string name = value.as_string();
    if (config.find_origin(name) == nullptr) {
        value.fail("expected a defined origin (" + defined_origins(config) + "), got " +
                   quoted(name));
    }
    return name;
}

CachePolicyConfig read_cache(const YamlValue& value, const Config& config,
                             CachePolicyConfig cache) {
    const YamlMap map =
        YamlMap::with_keys(value, {"key_params", "unknown_params", "variants", "forward_headers",
                                   "ttl", "override_ttl", "stale", "stale_if_error", "hit_for_miss",
                                   "wait_timeout", "tags_header", "refuse_5xx",
                                   "targeted_cache_control", "remove_targeted_cache_control"});
    cache.mark = value.mark();
    if (const std::optional<YamlValue> params = map.find("key_params")) {
        cache.all_params = params->is_scalar() && params->node().Scalar() == "all";
        if (!cache.all_params) {
            if (!params->is_list()) {
                params->fail("expected `all` or a list of parameter names, got " +
                             params->describe());
            }
            cache.key_params = params->as_string_set(check_param_name);
        }
    }
    if (const std::optional<YamlValue> unknown = map.find("unknown_params")) {
        cache.unknown_params = unknown->as_enum<UnknownParams>({{"strip", UnknownParams::Strip},
                                                                {"pass", UnknownParams::Pass},
                                                                {"reject", UnknownParams::Reject}});
    }
    if (const std::optional<YamlValue> variants = map.find("variants")) {
        cache.variants = variants->as_string_set([&config](std::string_view name) {
            const auto defined = [name](const VariantConfig& v) { return v.name == name; };
            return std::any_of(config.variants.begin(), config.variants.end(), defined)
                       ? std::string()
                       : "expected a defined variant (" + defined_variants(config) + ")";
        });
    }
    if (const std::optional<YamlValue> headers = map.find("forward_headers")) {
        cache.forward_headers = headers->as_string_set(check_header_name, true);
        cache.forward_headers_set = true;
    }
    for (auto [key, field] : {std::pair{"ttl", &cache.ttl}, std::pair{"stale", &cache.stale},
                              std::pair{"stale_if_error", &cache.stale_if_error},
                              std::pair{"hit_for_miss", &cache.hit_for_miss}}) {
        if (const std::optional<YamlValue> duration = map.find(key)) {
            *field = duration->as_duration();
        }
    }
    if (const std::optional<YamlValue> wait = map.find("wait_timeout")) {
        cache.wait_timeout = wait->as_duration();
        if (cache.wait_timeout.count() <= 0) {
            wait->fail("expected a duration above zero, got " + quoted(wait->node().Scalar()));
        }
    }
    for (auto [key, field] :
         {std::pair{"override_ttl", &cache.override_ttl},
          std::pair{"refuse_5xx", &cache.refuse_5xx},
          std::pair{"remove_targeted_cache_control", &cache.remove_targeted_cache_control}}) {
        if (const std::optional<YamlValue> flag = map.find(key)) {
            *field = flag->as_bool();
        }
    }
    if (const std::optional<YamlValue> targeted = map.find("targeted_cache_control")) {
        cache.targeted_cache_control = targeted->as_string_set(check_header_name, true);
    }
    if (const std::optional<YamlValue> tags = map.find("tags_header")) {
        cache.tags_header = tags->as_string();
        if (!is_token(cache.tags_header)) {
            tags->fail("expected an HTTP field name, got " + quoted(cache.tags_header));
        }
    }
    return cache;
}

RouteMatch read_match(const YamlValue& value) {
    const YamlMap map = YamlMap::with_keys(value, {"host", "path_prefix", "path_regex", "methods"});
    RouteMatch match;
    match.mark = value.mark();
    if (const std::optional<YamlValue> host = map.find("host")) {
        match.host = host->as_string();
        if (const std::string problem = check_host_pattern(match.host); !problem.empty()) {
            host->fail(problem + ", got " + quoted(match.host));
        }
        // Host names compare case-insensitively; the matcher can then compare bytes.
        for (char& c : match.host) {
            c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
    }
    const YamlMap::Entry* prefix = map.find_entry("path_prefix");
    const YamlMap::Entry* regex = map.find_entry("path_regex");
    if (prefix != nullptr && regex != nullptr) {
        const bool regex_later = regex->key_mark.line > prefix->key_mark.line ||
                                 (regex->key_mark.line == prefix->key_mark.line &&
                                  regex->key_mark.column > prefix->key_mark.column);
        const YamlValue& later = regex_later ? regex->value : prefix->value;
        throw ConfigError(later.mark(), map.path() + ": set path_prefix or path_regex, not both");
    }
    if (prefix != nullptr) {
        match.path_prefix = prefix->value.as_string();
        if (match.path_prefix.empty() || match.path_prefix.front() != '/' ||
            match.path_prefix.find(' ') != std::string::npos) {
            prefix->value.fail("expected a path starting with '/' and without spaces, got " +
                               quoted(match.path_prefix));
        }
    }
    if (regex != nullptr) {
        match.path_regex = regex->value.as_string();
        match.path_regex_mark = regex->value.mark();
        if (const std::string problem = check_path_regex(match.path_regex); !problem.empty()) {
            regex->value.fail(problem);
        }
    }
    if (const std::optional<YamlValue> methods = map.find("methods")) {
        match.methods = methods->as_string_set([](std::string_view text) {
            return is_method(text) ? "" : "expected an HTTP method in upper case, such as GET";
        });
        if (match.methods.empty()) {
            methods->fail("at least one method is required");
        }
    }
    return match;
}

// `pass` and `cache` of a route or of the default route. A passed request is never stored, so
// a cache policy beside `pass: true` could only mislead the reader.
void read_pass_and_cache(const YamlMap& map, const Config& config, bool& pass,
                         std::optional<CachePolicyConfig>& cache, const CachePolicyConfig& base) {
    if (const std::optional<YamlValue> value = map.find("pass")) {
        pass = value->as_bool();
    }
    if (const YamlMap::Entry* entry = map.find_entry("cache")) {
        if (pass) {
            throw ConfigError(entry->key_mark, map.path() + ": `cache` is not allowed with "
                                                            "`pass: true`");
        }
        cache = read_cache(entry->value, config, base);
    }
}

// Route name -> its index, for "already the name of routes[i]".
using RouteNames = std::unordered_map<std::string, std::size_t>;

RouteConfig read_route(const YamlValue& item, std::size_t index, const Config& config,
                       const std::vector<RouteConfig>& earlier, RouteNames& names) {
    const YamlMap map =
        YamlMap::with_keys(item, {"name", "match", "origin", "pass", "cache",
                                  "underscores_in_headers", "retry_non_idempotent"});
    RouteConfig route;
    route.mark = item.mark();
    route.name = "routes[" + std::to_string(index) + "]";
    if (const std::optional<YamlValue> name = map.find("name")) {
        route.name = name->as_string();
        if (!is_name(route.name)) {
            name->fail("expected 1 to 64 letters, digits, '_', '-' or '.', got " +
                       quoted(route.name));
        }
        // Default names ("routes[3]") cannot collide: is_name() refuses brackets.
        if (const auto [first, added] = names.emplace(route.name, index); !added) {
            name->fail(quoted(route.name) + " is already the name of routes[" +
                       std::to_string(first->second) + "] (line " +
                       std::to_string(earlier[first->second].mark.line) + ")");
        }
    }
    route.match.mark = item.mark();
    if (const std::optional<YamlValue> match = map.find("match")) {
        route.match = read_match(*match);
    }
    route.origin = config.origins.front().name;
    if (const std::optional<YamlValue> origin = map.find("origin")) {
        route.origin = read_origin_name(*origin, config);
    }
    read_pass_and_cache(map, config, route.pass, route.cache, CachePolicyConfig{});
    if (const std::optional<YamlValue> underscores = map.find("underscores_in_headers")) {
        route.underscores_in_headers = underscores->as_bool();
    }
    if (const std::optional<YamlValue> retry = map.find("retry_non_idempotent")) {
        route.retry_non_idempotent = retry->as_bool();
    }
    if (!route.pass && !route.cache) {
        item.fail("a route needs `pass: true` or `cache`");
    }
    return route;
}

} // namespace

std::vector<RouteConfig> read_routes(const YamlValue& value, const Config& config) {
    std::vector<RouteConfig> routes;
    if (value.is_null()) {
        return routes;
    }
    const std::vector<YamlValue> items = value.as_list();
    RouteNames names;
    for (std::size_t i = 0; i < items.size(); ++i) {
        routes.push_back(read_route(items[i], i, config, routes, names));
    }
    return routes;
}

DefaultRouteConfig read_default_route(const std::optional<YamlValue>& value,
                                      const SourceMark& fallback, const Config& config) {
    DefaultRouteConfig route;
    route.origin = config.origins.front().name;
    route.cache.all_params = true; // CONFIG.md: every query param in the key, sorted
    // CONFIG.md: freshness from the origin's headers only, unless the config sets a ttl.
    route.cache.ttl = Duration(0);
    // CONFIG.md: the default route follows the origin: no stale window of its own, only the
    // origin's stale-while-revalidate / stale-if-error (RFC 5861) open one, under the hard bound.
    route.cache.stale = Duration(0);
    route.cache.stale_if_error = Duration(0);
    route.mark = fallback;
    route.cache.mark = fallback;
    if (!value) {
        return route;
    }
    route.present = true;
    route.mark = value->mark();
    route.cache.mark = value->mark();
    if (value->is_scalar() && value->node().Scalar() == "reject") {
        route.reject = true;
        return route;
    }
    if (!value->is_map()) {
        value->fail("expected `reject` or a map with origin, pass and cache, got " +
                    value->describe());
    }
    const YamlMap map = YamlMap::with_keys(
        *value, {"origin", "pass", "cache", "underscores_in_headers", "retry_non_idempotent"});
    if (const std::optional<YamlValue> origin = map.find("origin")) {
        route.origin = read_origin_name(*origin, config);
    }
    if (const std::optional<YamlValue> underscores = map.find("underscores_in_headers")) {
        route.underscores_in_headers = underscores->as_bool();
    }
    if (const std::optional<YamlValue> retry = map.find("retry_non_idempotent")) {
        route.retry_non_idempotent = retry->as_bool();
    }
    std::optional<CachePolicyConfig> cache;
    read_pass_and_cache(map, config, route.pass, cache, route.cache);
    if (cache) {
        route.cache = std::move(*cache);
    }
    return route;
}

} // namespace lacquer::config::detail
