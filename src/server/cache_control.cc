#include "cache_control.h"

#include "lacquer/cache/cache_key.h"
#include "lacquer/http/request_target.h"

#include <regex>
#include <string>

namespace lacquer::server {

namespace {

core::Instant now() {
    return std::chrono::steady_clock::now();
} // the workers' clock

std::size_t purge_if(cache::ObjectStore& store,
                     const std::function<bool(const cache::StoredObject&)>& match, bool soft) {
    return soft ? store.mark_stale_if(match, now()) : store.remove_if(match);
}

} // namespace

admin::CacheControl make_cache_control(const CurrentRoutes& current_routes,
                                       cache::ObjectStore& store, std::size_t max_uri_bytes) {
    admin::CacheControl c;
    c.purge_url = [current_routes, &store, max_uri_bytes](
                      std::string_view url, std::string_view host, bool soft) -> std::size_t {
        const std::shared_ptr<const proxy::RouteTable> routes = current_routes();
        const std::size_t query_at = url.find('?');
        cache::RequestView view;
        view.host = host.empty() ? std::string_view("-") : host;
        // The path as requests are routed and keyed: "/a/../b" purges what "/b" stored.
        std::string normalised(url.size(), '\0');
        if (http::normalise_path(url.substr(0, query_at), routes->path_rules(), normalised,
                                 view.path) != http::TargetOutcome::Ok) {
            return 0;
        }
        view.query =
            query_at == std::string_view::npos ? std::string_view() : url.substr(query_at + 1);
        const proxy::Route& route = routes->match(proxy::host_without_port(host), view.path, "GET");
        if (route.cache == nullptr) {
            return 0; // nothing of that URL is ever stored
        }
        cache::KeyBuffer buffer(max_uri_bytes);
        cache::BuiltKey key;
        if (cache::build_key(route.cache->key, "GET", view, buffer, key) != cache::KeyOutcome::Ok) {
            return 0;
        }
        if (!host.empty()) { // one shard, every variant
            return soft ? store.mark_stale_url(key.url_hash, key.url, now())
                        : store.remove_url(key.url_hash, key.url);
        }
        const cache::KeyFields want = cache::key_fields(key.url);
        return purge_if(
            store,
            [&want](const cache::StoredObject& o) {
                const cache::KeyFields f = cache::key_fields(o.key());
                return f.method_class == want.method_class && f.path == want.path &&
                       f.params == want.params;
            },
            soft);
    };
    c.purge_prefix = [&store](std::string_view prefix, bool soft) {
        return purge_if(
            store,
            [prefix](const cache::StoredObject& o) {
                return cache::key_fields(o.key()).path.starts_with(prefix);
            },
            soft);
    };
    c.purge_tag = [&store](std::string_view tag, bool soft) {
        return purge_if(
            store, [tag](const cache::StoredObject& o) { return o.has_tag(tag); }, soft);
    };
    c.ban = [&store](std::string_view pattern) -> std::optional<std::size_t> {
        std::regex re;
        try {
            re = std::regex(pattern.begin(), pattern.end(), std::regex::ECMAScript);
        } catch (const std::regex_error&) {
            return std::nullopt;
        }
        std::string url;
        return store.remove_if([&re, &url](const cache::StoredObject& o) {
            const cache::KeyFields f = cache::key_fields(o.key());
            url.assign(f.path);
            if (!f.params.empty()) {
                url.push_back('?');
                url.append(f.params);
            }
            return std::regex_search(url, re);
        });
    };
    c.purge_all = [&store] {
        return store.remove_if([](const cache::StoredObject&) { return true; });
    };
    c.stats_json = [&store] {
        const cache::StoreStats st = store.stats();
        return "{\"objects\": " + std::to_string(st.objects) +
               ", \"bytes\": " + std::to_string(st.bytes) +
               ", \"budget\": " + std::to_string(store.budget()) +
               ", \"evictions\": " + std::to_string(st.evictions) + "}\n";
    };
    return c;
}

} // namespace lacquer::server
