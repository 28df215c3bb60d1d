#include "lacquer/proxy/purge_target.h"

#include "lacquer/http/request_target.h"

namespace lacquer::proxy {

bool purge_key(const RouteTable& routes, std::string_view host, std::string_view target,
               const http::HeaderList* headers, std::span<char> path_buffer,
               cache::KeyBuffer& buffer, cache::BuiltKey& key, const Route** route_taken) {
    const std::size_t query_at = target.find('?');
    cache::RequestView view;
    view.host = host;
    view.query =
        query_at == std::string_view::npos ? std::string_view() : target.substr(query_at + 1);
    view.headers = headers;
    if (route_taken != nullptr) {
        *route_taken = nullptr;
    }
    if (http::normalise_path(target.substr(0, query_at), routes.path_rules(), path_buffer,
                             view.path) != http::TargetOutcome::Ok) {
        return false;
    }
    const Route& route = routes.match(host_without_port(host), view.path, "GET");
    if (route_taken != nullptr) {
        *route_taken = &route;
    }
    if (route.cache == nullptr) {
        return false; // nothing of that URL is ever stored
    }
    return cache::build_key(route.cache->key, "GET", view, buffer, key) == cache::KeyOutcome::Ok;
}

} // namespace lacquer::proxy
