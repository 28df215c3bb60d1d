#pragma once
// The admin API's purge, ban and stats, on the routes and the store of a running server.

#include "lacquer/admin/admin_server.h"
#include "lacquer/cache/object_store.h"
#include "lacquer/core/clock.h"
#include "lacquer/proxy/route_table.h"

#include <cstddef>
#include <functional>
#include <memory>

namespace lacquer::server {

// The routes the server runs now (they change on reload); safe to call from any thread.
using CurrentRoutes = std::function<std::shared_ptr<const proxy::RouteTable>()>;

// Keys are built as the route a GET of the URL takes builds them, so a purge names objects the
// way clients do. Runs on the admin thread; the store is thread-safe. A soft purge marks objects
// stale at `clock`'s now, the workers' clock (their ages are measured on it); `store` and `clock`
// must outlive the result.
admin::CacheControl make_cache_control(const CurrentRoutes& routes, cache::ObjectStore& store,
                                       const core::Clock& clock, std::size_t max_uri_bytes);

} // namespace lacquer::server
