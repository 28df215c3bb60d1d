#pragma once
// The one purge target: which stored objects a URL names. Client PURGE, the invalidation after an
// unsafe method (RFC 9111 §4.4) and the admin API's /purge/url all come here: the URL's path is
// normalised as requests' paths are, routed as a GET of it would be, and keyed by that route.
// Pure apart from writing into the caller's buffers; never allocates.

#include "lacquer/cache/cache_key.h"
#include "lacquer/proxy/route_table.h"

#include <span>
#include <string_view>

namespace lacquer::proxy {

// True, with `key` built (key.url and key.url_hash name every variant of the URL), when a GET
// of `target` ("/path?query") for `host` would be cached; false when no cache route takes it
// or it has no valid key. `path_buffer` receives the path if it needs normalising (it must
// hold target.size() bytes then; an empty span is enough for a target already normalised).
// `route`, when given, receives the route a GET of the URL takes (nullptr: the path is bad).
bool purge_key(const RouteTable& routes, std::string_view host, std::string_view target,
               const http::HeaderList* headers, std::span<char> path_buffer,
               cache::KeyBuffer& buffer, cache::BuiltKey& key, const Route** route = nullptr);

} // namespace lacquer::proxy
