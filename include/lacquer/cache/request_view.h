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

} // namespace lacquer::cache
