#pragma once
// The parts of a client request that the cache key and the variant resolver read. Views only:
// the bytes belong to the connection's head arena and outlive one key build.

#include <string_view>

namespace lacquer::http {
struct HeaderList;
} // namespace lacquer::http

namespace lacquer::cache {

struct RequestView {
    std::string_view host;                     // the Host header (or authority), as sent
    std::string_view path;                     // request-target path, without '?' and query
    std::string_view query;                    // without the leading '?'; empty when none
    const http::HeaderList* headers = nullptr; // nullptr: the request has no headers
};

// The view of a request with this Host (or authority) and request-target ("/path?query").
inline RequestView request_view(std::string_view host, std::string_view target,
                                const http::HeaderList* headers) {
    const std::size_t query_at = target.find('?');
    RequestView view;
    view.host = host;
    view.path = target.substr(0, query_at);
    view.query =
        query_at == std::string_view::npos ? std::string_view() : target.substr(query_at + 1);
    view.headers = headers;
    return view;
}

} // namespace lacquer::cache
