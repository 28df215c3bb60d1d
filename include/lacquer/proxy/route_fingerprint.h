#pragma once
// What makes the keys of each route, as one number per route, for the warm restart
// (cache/snapshot.h): an object written under one config is read back only when the route that
// keys its URL now has the same fingerprint. The fingerprint covers the route's name and every
// setting that decides what a key holds or what the origin was asked for it: the params
// allow-list (or `all`), unknown_params, the variants with their sources, values, default and
// forward header, the forwarded and withheld headers, and the path rules. Freshness settings
// are not in it: a stored object keeps the windows it was stored with, as across a reload.
// Immutable once built; any thread.

#include "lacquer/proxy/route_table.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace lacquer::proxy {

class RouteFingerprints {
public:
    explicit RouteFingerprints(const RouteTable& routes);

    // The fingerprint of the route that a GET of the canonical key's URL matches now; 0 when
    // that route does not cache (or the key is malformed).
    std::uint64_t of_key(std::string_view canonical_key) const;

private:
    const RouteTable& routes_;
    std::vector<std::uint64_t> by_index_; // Route::index -> fingerprint (0: not caching)
};

} // namespace lacquer::proxy
