#include "cache_control.h"

#include "lacquer/cache/cache_key.h"
#include "lacquer/proxy/purge_target.h"
#include "lacquer/proxy/url_pattern.h"

#include <string>

namespace lacquer::server {

namespace {

std::size_t purge_if(cache::ObjectStore& store, const core::Clock& clock,
                     const std::function<bool(const cache::StoredObject&)>& match, bool soft) {
    return soft ? store.mark_stale_if(match, clock.now()) : store.remove_if(match);
}

} // namespace

admin::CacheControl make_cache_control(const CurrentRoutes& current_routes,
                                       cache::ObjectStore& store, const core::Clock& clock,
                                       std::size_t max_uri_bytes) {
    admin::CacheControl c;
    c.purge_url = [current_routes, &store, &clock, max_uri_bytes](
                      std::string_view url, std::string_view host, bool soft) -> std::size_t {
        const std::shared_ptr<const proxy::RouteTable> routes = current_routes();
        std::string path_buffer(url.size(), '\0');
        cache::KeyBuffer buffer(max_uri_bytes);
        cache::BuiltKey key;
        if (!proxy::purge_key(*routes, host.empty() ? std::string_view("-") : host, url, nullptr,
                              path_buffer, buffer, key)) {
            return 0;
        }
        if (!host.empty()) { // one shard, every variant
            return soft ? store.mark_stale_url(key.url_hash, key.url, clock.now())
                        : store.remove_url(key.url_hash, key.url);
        }
        const cache::KeyFields want = cache::key_fields(key.url);
        return purge_if(
            store, clock,
            [&want](const cache::StoredObject& o) {
                const cache::KeyFields f = cache::key_fields(o.key());
                return f.method_class == want.method_class && f.path == want.path &&
                       f.params == want.params;
            },
            soft);
    };
    c.purge_prefix = [&store, &clock](std::string_view prefix, bool soft) {
        return purge_if(
            store, clock,
            [prefix](const cache::StoredObject& o) {
                return cache::key_fields(o.key()).path.starts_with(prefix);
            },
            soft);
    };
    c.purge_tag = [&store, &clock](std::string_view tag, bool soft) {
        return purge_if(
            store, clock, [tag](const cache::StoredObject& o) { return o.has_tag(tag); }, soft);
    };
    c.ban = [&store](std::string_view pattern, std::string& error) -> std::optional<std::size_t> {
        // RE2, and the store tests each URL without its shard lock: a pattern that a
        // backtracking engine takes minutes on costs one pass over each URL here, and hits go
        // on meanwhile.
        const std::optional<proxy::UrlPattern> re = proxy::UrlPattern::compile(pattern, error);
        if (!re) {
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
            return re->matches(url);
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
